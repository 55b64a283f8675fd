/**
 * The interrupt cycle of the benchmark and the machine sizes it runs on: every cycle delivers
 * its event with the EISN the C reference sums, at small and large sizes and split into lanes;
 * a pseries machine of 2^20 LISNs decodes ESB addresses whose offsets exceed 2^31 exactly like
 * small ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCycleRig, runCycles, expectedCheck } from '../../bench/cycle.ts';
import { measureStages } from '../../bench/stages.ts';
import { SpaprMachine, MAX_XIVE_IRQS } from '../../src/spapr/machine.ts';
import { SPAPR_IRQ_NR_IPIS } from '../../src/spapr/irq-map.ts';
import { FlatGuestMemory } from '../../src/ports/memory.ts';
import { SPAPR_XIVE_VC_BASE } from '../../src/spapr/spapr-xive.ts';
import * as H from '../../src/spapr/hcall.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { XiveUsageError } from '../../src/base/errors.ts';

test('every cycle delivers its event (check = sum of EISNs, as the C reference computes it)', () => {
  const rig = buildCycleRig({ sources: 512, vcpus: 4 });
  // More cycles than a queue has entries: the queues wrap and the toggle flips.
  const n = 3 * 16384 + 77;
  assert.equal(runCycles(rig, 0, n), n);
  assert.equal(rig.check, expectedCheck(512, n));
});

test('stage costs: batches run every stage on the cycle\'s state and leave the rig able to cycle on', () => {
  // 8,192 sources on 8 vCPUs: two 4,096-source windows, 512 entries per vCPU and window.
  const rig = buildCycleRig({ sources: 8192, vcpus: 8 });
  assert.equal(runCycles(rig, 0, 100), 100);
  const st = measureStages(rig, 5);
  for (const k of ['trigger_ns', 'ack_ns', 'queue_read_ns', 'eoi_ns', 'cppr_ns'] as const) assert.ok(Number.isFinite(st[k]) && st[k] >= 0, k);
  assert.equal(st.sum_ns, st.trigger_ns + st.ack_ns + st.queue_read_ns + st.eoi_ns + st.cppr_ns);
  // The queues were read in step: the cycle goes on delivering every event.
  rig.delivered = 0;
  rig.check = 0;
  assert.equal(runCycles(rig, 0, 20_000), 20_000);
  assert.equal(rig.check, expectedCheck(8192, 20_000));
});

test('the C reference check for its default run', () => {
  // xive_cycle 4096 4 20000000 prints "check": 41268722048.
  assert.equal(expectedCheck(4096, 20_000_000), 41268722048);
});

test('lanes split sources and vCPUs, each lane delivering its own events', () => {
  for (const lane of [0, 1]) {
    const rig = buildCycleRig({ sources: 256, vcpus: 4, lanes: 2, lane });
    assert.equal(runCycles(rig, 0, 1000), 1000);
    assert.equal(rig.check, expectedCheck(128, 1000, lane * 128));
  }
  assert.throws(() => buildCycleRig({ sources: 255, vcpus: 4, lanes: 2 }), RangeError);
});

test('a 2^20-source machine: the last LISN, 128 GiB into the ESB region, triggers and EOIs', () => {
  const nrIrqs = 1 << 20;
  const trace = new TraceBuffer();
  const m = new SpaprMachine({ smp: 2, icMode: 'xive', nrXirqs: nrIrqs - SPAPR_IRQ_NR_IPIS, memory: new FlatGuestMemory(1 << 20), trace, devices: 'none' });
  m.cas(0x40);
  const lisn = nrIrqs - 1;
  assert.equal(m.claimIrq(lisn, false), true);
  const info = m.hcall(0, H.H_INT_GET_SOURCE_INFO, [0n, BigInt(lisn)]);
  assert.equal(info.ret, H.H_SUCCESS);
  const trigger = Number(info.regs[2]!);
  const mgmt = Number(info.regs[1]!);
  assert.equal(trigger, SPAPR_XIVE_VC_BASE + lisn * 0x20000);
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 1n, 6n, 0x10000n, 16n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, BigInt(lisn), 1n, 6n, 0x1234n]).ret, H.H_SUCCESS);
  assert.equal(m.mmioRead(0, mgmt + 0xc00, 8), 1); // was off
  m.mmioWrite(1, 0x0006_0302_0318_0000 + 0x20011, 1, 0xff); // vCPU 1 accepts every priority
  trace.clear();
  m.mmioWrite(0, trigger, 8, 0, 0);
  assert.equal(m.memory.read32(0x10000), (0x8000_0000 | 0x1234) >>> 0);
  assert.equal(m.mmioRead(1, 0x0006_0302_0318_0000 + 0x20810, 2) >>> 8, 0x80);
  assert.equal(m.mmioRead(0, mgmt + 0xc00, 8), 2); // PQ was 10
  const lines = trace.events.map(formatTraceEvent);
  assert.equal(lines[0], `xive_source_esb_write @0x${(lisn * 0x20000).toString(16)} IRQ 0x${lisn.toString(16)} val=0x0`);
  assert.ok(lines.includes(`xive_source_esb_read @0x${(lisn * 0x20000 + 0x10c00).toString(16)} IRQ 0x${lisn.toString(16)} val=0x2`));
  assert.ok(lines.some((l) => l.startsWith('xive_tctx_accept target=1 ring=0x10')));
});

test('the machine refuses sizes it cannot address and unknown vCPUs', () => {
  const memory = new FlatGuestMemory(1 << 16);
  assert.throws(() => new SpaprMachine({ smp: 1, icMode: 'xive', nrXirqs: MAX_XIVE_IRQS - SPAPR_IRQ_NR_IPIS + 1, memory }), XiveUsageError);
  assert.throws(() => new SpaprMachine({ smp: 1, maxCpus: 4097, icMode: 'xive', memory }), XiveUsageError);
  const m = new SpaprMachine({ smp: 1, icMode: 'xive', memory });
  assert.throws(() => m.mmioRead(3, 0x0006_0302_0318_0000 + 0x20810, 2), XiveUsageError);
});
