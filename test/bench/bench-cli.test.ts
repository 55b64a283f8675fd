/**
 * `xive bench`: its JSON report (the last line of --json output) carries the numbers the
 * performance section quotes, and bad options are usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCommand, BENCH_HELP } from '../../src/cli/bench.ts';
import { UsageFailure } from '../../src/cli/args.ts';

function capture(): { io: { out(s: string): void; err(s: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s) => out.push(s), err: (s) => err.push(s) }, out, err };
}

test('bench --json --quick: one JSON object on the last line with the cycle, replay and snapshot numbers', { timeout: 60_000 }, async () => {
  const c = capture();
  const code = await benchCommand(['--json', '--quick', '--no-c', '--cycles', '5000', '--only', 'cycle,replay,snapshot'], c.io);
  assert.equal(code, 0);
  const lines = c.out.join('').trimEnd().split('\n');
  const report = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  const cycle = report.cycle as { sources: number; vcpus: number; cycle_ns: number }[];
  assert.deepEqual(
    cycle.map((x) => [x.sources, x.vcpus]),
    [
      [4096, 4],
      [1048576, 4096],
    ],
  );
  for (const x of cycle) assert.ok(x.cycle_ns > 0);
  for (const k of ['replay_events_per_s', 'snapshot_ms', 'restore_ms', 'heap_mb']) assert.equal(typeof report[k], 'number', k);
  assert.equal(report.c_reference, null);
  assert.equal(report.c_reference_reason, 'skipped (--no-c)');
  assert.ok(c.err.join('').includes('replay'), 'progress goes to standard error');
});

test('bench --help and bad options', async () => {
  const c = capture();
  assert.equal(await benchCommand(['--help'], c.io), 0);
  assert.equal(c.out.join(''), BENCH_HELP);
  await assert.rejects(() => Promise.resolve(benchCommand(['--only', 'everything'], c.io)), UsageFailure);
  await assert.rejects(() => Promise.resolve(benchCommand(['--cycles', '12'], c.io)), UsageFailure);
  await assert.rejects(() => Promise.resolve(benchCommand(['extra'], c.io)), UsageFailure);
});
