/**
 * `xive demo --trace FILE` writes the run as a QEMU-format log (plain, or gzip for a .gz name)
 * that `xive replay` with the same machine options replays with no divergence; the replay reads
 * the gzip file directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCli } from '../support/cli.ts';

for (const [machine, file] of [
  [['--smp', '4', '--ic-mode', 'xive'], 'xive.trace'],
  [['--smp', '2', '--ic-mode', 'xics'], 'xics.trace.gz'],
  [['--smp', '2', '--ic-mode', 'dual', '--guest', 'xics'], 'dual.trace'],
] as const) {
  test(`xive demo ${machine.join(' ')} --trace ${file} replays with no divergence`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'xive-demo-trace-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, file);
    const demo = await runCli('demo', ...machine, '--events', '3000', '--trace', path);
    assert.equal(demo.code, 0, demo.err);
    const m = /wrote .* \((\d+) trace lines, (\d+) bytes\)/.exec(demo.out);
    assert.ok(m !== null, demo.out);
    const raw = readFileSync(path);
    assert.equal(raw.length, Number(m[2]));
    const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('latin1');
    assert.equal(text.split('\n').length - 1, Number(m[1]));
    const replayArgs = machine.filter((_, i) => machine[i] !== '--guest' && machine[i - 1] !== '--guest');
    const r = await runCli('replay', path, ...replayArgs);
    assert.equal(r.err, '');
    assert.equal(r.code, 0, r.out.slice(0, 2000));
    assert.match(r.out, /no divergence\n$/);
    const replayed = Number(/replayed (\d+) actions/.exec(r.out)![1]);
    assert.ok(replayed > 3000, `${replayed} actions`);
  });
}
