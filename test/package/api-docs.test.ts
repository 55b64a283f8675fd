/**
 * The API reference (docs/api/, generated from the TSDoc comments by `npm run docs:api`) is up to
 * date, and every public export is documented: typedoc.json has typedoc's validation fail on an
 * undocumented export, so the generation into a temporary folder fails first when one is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMMITTED = join(ROOT, 'docs/api');

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

test('docs/api is what npm run docs:api generates, and typedoc finds no undocumented export', { timeout: 120_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'xive-api-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const out = join(tmp, 'api');
  const r = await new Promise<{ code: number | null; log: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--out', out, '--logLevel', 'Warn'], { cwd: ROOT });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.on('close', (code) => resolve({ code, log }));
  });
  assert.equal(r.code, 0, `typedoc (npm run docs:api) failed:\n${r.log}`);
  const want = files(out).map((f) => relative(out, f));
  const have = files(COMMITTED).map((f) => relative(COMMITTED, f));
  assert.deepEqual(have, want, 'docs/api lists other files than typedoc generates: run npm run docs:api');
  const stale = want.filter((f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(COMMITTED, f), 'utf8'));
  assert.deepEqual(stale, [], 'docs/api is out of date: run npm run docs:api');
});
