/**
 * A running demo checkpointed and resumed, or moved to a second process over a local socket,
 * ends exactly as the uninterrupted run: same counts per vCPU and per source (no interrupt lost
 * or counted twice) and the same `info pic`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'xive-demo-'));

/** The statistics and info pic part of a demo's output, without the timing. */
function result(out: string): string {
  const at = out.indexOf('\nstatistics (');
  assert.ok(at >= 0, out);
  return out.slice(at).replace(/, \d+ ms in this process/, '');
}

for (const [icMode, guest] of [['xive', 'xive'], ['dual', 'xics']] as const) {
  test(`checkpoint and resume (${icMode} machine, ${guest} guest) ends as the uninterrupted run`, async () => {
    const args = ['--smp', '3', '--ic-mode', icMode, '--guest', guest, '--events', '12000', '--seed', '11'];
    const full = await runCli('demo', ...args);
    assert.equal(full.code, 0, full.err);
    const f = join(dir, `${icMode}.ckpt`);
    const first = await runCli('demo', ...args, '--at', '5000', '--checkpoint', f);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /checkpoint after \d+ of 12000 events .* lost 0\)/);
    const second = await runCli('demo', '--resume', f);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /^resumed: 3 vCPUs/m);
    assert.equal(result(second.out), result(full.out));
    assert.match(result(second.out), / lost 0\n/);
  });
}

test('a damaged checkpoint is refused with one line', async () => {
  const f = join(dir, 'bad.ckpt');
  writeFileSync(f, 'XIVEDEMO garbage');
  const r = await runCli('demo', '--resume', f);
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  const good = join(dir, 'xive.ckpt');
  const bytes = readFileSync(good);
  writeFileSync(f, bytes.subarray(0, bytes.length - 10));
  const t = await runCli('demo', '--resume', f);
  assert.equal(t.code, 2);
  assert.match(t.err, /snapshot|checkpoint/);
});

test('a demo moved to a second process over a local socket ends as the uninterrupted run', async () => {
  const args = ['--smp', '2', '--events', '8000', '--seed', '4'];
  const full = await runCli('demo', ...args);
  const child = spawn(process.execPath, ['bin/xive.mjs', 'demo', '--listen', '0'], { cwd: new URL('../../', import.meta.url).pathname });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no port announced: ${out}`)), 20000);
    child.stdout.on('data', () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  const sent = await runCli('demo', ...args, '--at', '3000', '--migrate-to', String(port));
  assert.equal(sent.code, 0, sent.err);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, out);
  assert.equal(result(out), result(full.out));
});
