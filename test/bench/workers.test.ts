/**
 * Two worker threads drive one controller in shared memory: each triggers interrupts taken by the
 * other's vCPUs as well as its own and handles its own vCPUs' interrupts, so triggers race EOIs on
 * the same PQ bits, both enqueue into the same event queues and presentations race ACKs. Every
 * trigger must come out as exactly one delivery. Also the throughput run the benchmark uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkerStress, runWorkerThroughput } from '../../bench/workers.ts';

test('2 workers: no interrupt lost or duplicated', { timeout: 20_000 }, async () => {
  const r = await runWorkerStress(2, 256, 4, 200);
  assert.equal(r.stalled, false, 'a worker stopped making progress: an event was lost');
  assert.deepEqual(r.mismatched, []);
  assert.equal(r.unknownEntries, 0);
  assert.equal(r.triggers, 256 * 200);
  assert.equal(r.deliveries, 256 * 200);
});

test('worker throughput: every cycle of every lane delivered', { timeout: 20_000 }, async () => {
  const r = await runWorkerThroughput(2, 512, 4, 20_000, 1_000);
  assert.equal(r.ok, true);
  assert.equal(r.workers, 2);
  assert.ok(r.cycles_per_s > 0);
});
