/**
 * Presenter (docs/xive.md §4.3–§4.5, §5) on a sPAPR XIVE: OS CAM matching, "not dispatched" and
 * "already found" errors, ring priority PHYS > POOL > OS, EBB (format 1) matching, the IPI round
 * trip and coalescing sequences of the Linux captures, and a property checking the CAM lookup
 * against a plain scan of every thread after random context pushes and pulls through the TIMA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as R from '../../src/xive/regs.ts';
import { XivePresenter } from '../../src/xive/presenter.ts';
import { ThreadContext } from '../../src/xive/tctx.ts';
import { LINE_INT } from '../../src/ports/lines.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import type { SpaprXive } from '../../src/spapr/spapr-xive.ts';
import { esbLoad, esbStore, makeSpapr, mgmtPage, timaLoad, timaStore, trigPage } from './helpers.ts';
import { eventNames, eventsNamed, guestErrors } from '../support/trace.ts';

const QADDR = 0x100_0000;
const qaddrOf = (vcpu: number, prio: number): number => QADDR + (vcpu * 8 + prio) * 0x1000;

/** Routes `lisn` to (vcpu, prio) with `eisn` the way H_INT_SET_SOURCE_CONFIG / SET_QUEUE_CONFIG do. */
function routeTo(xive: SpaprXive, lisn: number, vcpu: number, prio: number, eisn: number): void {
  const endIdx = vcpu * 8 + prio;
  xive.router.setEas(lisn, R.EAS_HI_VALID | endIdx, eisn);
  const r = xive.router;
  const qaddr = qaddrOf(vcpu, prio);
  r.setEndWord(endIdx, 0, R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY);
  r.setEndWord(endIdx, 1, R.END_W1_GENERATION);
  r.setEndWord(endIdx, 2, Math.floor(qaddr / 2 ** 32));
  r.setEndWord(endIdx, 3, qaddr % 2 ** 32);
  r.setEndWord(endIdx, 6, 0x400 + vcpu);
  r.setEndWord(endIdx, 7, prio << 16);
}

const osRing = (t: ThreadContext): number[] => [...t.regs.subarray(0x10, 0x18)];

// ---- §5 sequences ----------------------------------------------------------------------------

test('IPI round trip vCPU 0 -> vCPU 1 (§5): events in capture order, EQ entry 0x80000010', () => {
  const { xive, trace, lines, memory, cpus } = makeSpapr(2);
  const [c0, c1] = [cpus[0]!, cpus[1]!];
  routeTo(xive, 1, 1, 6, 0x10);
  esbLoad(xive, mgmtPage(1) + 0xc00); // ready
  timaStore(xive, c1, 0x20011, 1, 0xff);
  trace.clear();
  lines.clear();

  esbStore(xive, trigPage(1), 0); // performed by vCPU 0
  assert.equal(memory.read32(qaddrOf(1, 6)), 0x8000_0010);
  assert.deepEqual(trace.events, [
    { name: 'xive_source_esb_write', addr: 0x20000n, srcno: 1, value: 0n },
    { name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x401, ring: 0x10 },
    { name: 'xive_tctx_notify', target: 1, ring: 0x10, ipb: 0x02, pipr: 0x06, cppr: 0xff, nsr: 0x80 },
  ]);
  assert.deepEqual(lines.calls, [{ cpu: 1, line: LINE_INT, level: true }]);
  trace.clear();

  assert.equal(timaLoad(xive, c1, 0x20810, 2), 0x8006n);
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xc00), 2n);
  timaStore(xive, c1, 0x20011, 1, 0xff);
  assert.deepEqual(trace.events, [
    { name: 'xive_tctx_accept', target: 1, ring: 0x10, ipb: 0x00, pipr: 0xff, cppr: 0x06, nsr: 0x00 },
    { name: 'xive_tctx_tm_read', offset: 0x20810n, size: 2, value: 0x8006n },
    { name: 'xive_source_esb_read', addr: 0x30c00n, srcno: 1, value: 2n },
    { name: 'xive_tctx_tm_write', offset: 0x20011n, size: 1, value: 0xffn },
    { name: 'xive_tctx_set_cppr', target: 1, ring: 0x10, ipb: 0x00, pipr: 0xff, cppr: 0xff, nsr: 0x00 },
  ]);
  assert.deepEqual(lines.calls.at(-1), { cpu: 1, line: LINE_INT, level: false });
  assert.deepEqual(osRing(c0), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff], 'vCPU 0 untouched');
  assert.deepEqual(guestErrors(trace), []);
});

test('coalescing sequence (§5): Q set, re-trigger at CPPR = priority, replay ACK 0x0006, spurious 0x8006', () => {
  const { xive, trace, lines, memory, cpus } = makeSpapr(2);
  const c1 = cpus[1]!;
  routeTo(xive, 1, 1, 6, 0x10);
  esbLoad(xive, mgmtPage(1) + 0xc00);
  timaStore(xive, c1, 0x20011, 1, 0xff);
  esbStore(xive, trigPage(1)); // delivered
  esbStore(xive, trigPage(1)); // P set: PQ 11, no notification
  assert.equal(xive.source.getPq(1), 0b11);
  assert.equal(memory.read32(qaddrOf(1, 6) + 4), 0, 'coalesced: not routed');
  assert.equal(timaLoad(xive, c1, 0x20810, 2), 0x8006n);
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xc00), 3n);
  trace.clear();
  lines.clear();
  esbStore(xive, trigPage(1)); // Linux re-triggers
  assert.deepEqual(eventNames(trace), ['xive_source_esb_write', 'xive_presenter_notify']);
  assert.deepEqual(osRing(c1).slice(0, 3), [0x00, 0x06, 0x02]);
  assert.equal(c1.regs[0x17], 6);
  assert.deepEqual(lines.calls, []);
  assert.equal(timaLoad(xive, c1, 0x20810, 2), 0x0006n);
  assert.equal(memory.read32(qaddrOf(1, 6) + 4), 0x8000_0010);
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xc00), 2n);
  trace.clear();
  timaStore(xive, c1, 0x20011, 1, 0xff);
  assert.deepEqual(eventNames(trace), ['xive_tctx_tm_write', 'xive_tctx_set_cppr', 'xive_tctx_notify']);
  assert.equal(timaLoad(xive, c1, 0x20810, 2), 0x8006n);
});

// ---- §4.3/§4.4 matching --------------------------------------------------------------------

test('match via the OS CAM of each vCPU (0x8000_0400 | vcpu)', () => {
  const { xive, cpus, trace } = makeSpapr(3);
  assert.equal(cpus[2]!.word2(R.TM_QW1_OS), 0x8000_0402);
  for (const v of [0, 1, 2]) {
    trace.clear();
    assert.equal(xive.presenter.match(0, 0, 0x400 + v, false, 4, 0), true);
    assert.deepEqual(trace.events, [{ name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x400 + v, ring: 0x10 }]);
    assert.equal(cpus[v]!.regs[0x12], 0x08);
    assert.equal(cpus[v]!.regs[0x17], 4);
  }
});

test('no dispatched thread: "XIVE: NVT 0/402 is not dispatched", nothing delivered', () => {
  const { xive, cpus, trace, lines, memory } = makeSpapr(3);
  const c2 = cpus[2]!;
  assert.equal(timaLoad(xive, c2, 0x10818, 4), 0x8000_0402n); // pull OS context
  routeTo(xive, 0x1000, 2, 5, 0x77);
  xive.source.setPq(0x1000, 0);
  timaStore(xive, c2, 0x20011, 1, 0xff);
  trace.clear();
  lines.clear();
  xive.setIrq(0x1000, true);
  assert.deepEqual(guestErrors(trace), ['XIVE: NVT 0/402 is not dispatched']);
  assert.equal(eventsNamed(trace, 'xive_presenter_notify').length, 0);
  assert.equal(memory.read32(qaddrOf(2, 5)), 0x8000_0077, 'left in the EQ');
  assert.deepEqual(lines.calls, []);
  for (const t of cpus) assert.equal(t.regs[0x12], 0);
  // bare presenter, no thread at all
  const p = new XivePresenter();
  const tr = new TraceBuffer();
  p.tracer.sink = tr;
  assert.equal(p.match(0, 0, 0x402, false, 5, 0), false);
  assert.equal(p.match(0, 3, 0x7_ffff, false, 5, 0), false);
  assert.deepEqual(guestErrors(tr), ['XIVE: NVT 0/402 is not dispatched', 'XIVE: NVT 3/7ffff is not dispatched']);
});

test('two threads on the same CAM: "already found a thread context", nothing delivered', () => {
  const { xive, cpus, trace, lines } = makeSpapr(2);
  const [c0, c1] = [cpus[0]!, cpus[1]!];
  timaStore(xive, c1, 0x10018, 4, 0x8000_0400); // vCPU 1 pushes vCPU 0's NVT
  for (const t of cpus) timaStore(xive, t, 0x20011, 1, 0xff);
  trace.clear();
  lines.clear();
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 3, 0), false);
  assert.deepEqual(guestErrors(trace), ['XIVE: already found a thread context NVT 0/400']);
  assert.equal(eventsNamed(trace, 'xive_presenter_notify').length, 0);
  assert.equal(c0.regs[0x12], 0);
  assert.equal(c1.regs[0x12], 0);
  assert.deepEqual(lines.calls, []);
  // NVT 0x401 is now dispatched nowhere
  trace.clear();
  assert.equal(xive.presenter.match(0, 0, 0x401, false, 3, 0), false);
  assert.deepEqual(guestErrors(trace), ['XIVE: NVT 0/401 is not dispatched']);
});

test('lookups follow WORD2 changes: pull, push back, push another NVT, raw HV store', () => {
  const { xive, cpus, trace } = makeSpapr(2);
  const [c0, c1] = [cpus[0]!, cpus[1]!];
  timaLoad(xive, c0, 0x10818, 4); // pull vCPU 0
  trace.clear();
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 7, 0), false);
  timaStore(xive, c0, 0x10018, 4, 0x8000_0400); // push back
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 7, 0), true);
  assert.equal(c0.regs[0x12], 0x01);
  // vCPU 1 pulled, vCPU 0 now runs NVT 0x401
  timaLoad(xive, c1, 0x10818, 8);
  timaStore(xive, c0, 0x00018, 4, 0x8000_0401); // from the HW page
  c0.regs[0x12] = 0;
  assert.equal(xive.presenter.match(0, 0, 0x401, false, 2, 0), true);
  assert.equal(c0.regs[0x12], 0x20);
  assert.equal(c1.regs[0x12], 0);
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 2, 0), false);
  // raw 8-byte store from the HV page at +0x18 rewrites WORD2 too
  timaStore(xive, c1, 0x10018, 8, 0x8000_0400_0000_0000n);
  assert.equal(c1.word2(R.TM_QW1_OS), 0x8000_0400);
  c1.regs[0x12] = 0;
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 1, 0), true);
  assert.equal(c1.regs[0x12], 0x40);
  // OS CAM is the low 24 bits: block 1 NVT 0x400
  timaStore(xive, c1, 0x10018, 4, 0x8000_0000 | R.camLine(1, 0x400));
  assert.equal(xive.presenter.match(0, 1, 0x400, false, 1, 0), true);
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 1, 0), false);
  // VO clear with the right CAM: no match
  timaStore(xive, c1, 0x10018, 4, R.camLine(1, 0x400));
  assert.equal(xive.presenter.match(0, 1, 0x400, false, 1, 0), false);
});

test('ring priority inside one thread: PHYS, then POOL, then OS; one thread counted once', () => {
  const { xive, cpus, trace } = makeSpapr(2);
  const c1 = cpus[1]!;
  // POOL word2 (only writable byte 0 from the HW page): VP | cam 0x401
  timaStore(xive, c1, 0x00028, 4, 0x8000_0401);
  assert.equal(c1.word2(R.TM_QW2_HV_POOL), 0x8000_0401);
  trace.clear();
  assert.equal(xive.presenter.match(0, 0, 0x401, false, 4, 0), true);
  assert.deepEqual(eventsNamed(trace, 'xive_presenter_notify'), [{ name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x401, ring: 0x20 }]);
  assert.equal(c1.regs[0x22], 0x08);
  assert.equal(c1.regs[0x12], 0);
  assert.deepEqual(guestErrors(trace), []);
  // PHYS: VT push makes the HW CAM (0x80 | PIR) match
  timaStore(xive, c1, 0x10038, 1, 0x80);
  trace.clear();
  assert.equal(xive.presenter.match(0, 0, 0x81, false, 3, 0), true);
  assert.deepEqual(eventsNamed(trace, 'xive_presenter_notify')[0]!.ring, 0x30);
  assert.equal(c1.regs[0x32], 0x10);
  assert.equal(xive.presenter.match(0, 0, 0x80, false, 3, 0), false, 'vCPU 0 has no VT');
  // VT cleared again: back to POOL for 0x401, nothing for 0x81
  timaStore(xive, c1, 0x10038, 1, 0x00);
  assert.equal(xive.presenter.match(0, 0, 0x81, false, 3, 0), false);
});

test('EBB (format 1): OS CAM plus QW0 VU and the logical server id select the USER ring', () => {
  const { xive, cpus, trace } = makeSpapr(2);
  const c0 = cpus[0]!;
  assert.equal(xive.presenter.match(1, 0, 0x400, false, 3, 0x1234), false, 'VU clear');
  c0.setWord2(R.TM_QW0_USER, 0x8000_1234);
  xive.presenter.update(c0);
  trace.clear();
  assert.equal(xive.presenter.match(1, 0, 0x400, false, 3, 0x1234), true);
  assert.deepEqual(eventsNamed(trace, 'xive_presenter_notify')[0]!.ring, 0x00);
  assert.equal(c0.regs[0x02], 0x10);
  assert.equal(xive.presenter.match(1, 0, 0x400, false, 3, 0x1235), false, 'other logical server');
  assert.equal(xive.presenter.match(1, 0, 0x401, false, 3, 0x1234), false, 'other NVT');
  timaLoad(xive, c0, 0x10818, 4);
  assert.equal(xive.presenter.match(1, 0, 0x400, false, 3, 0x1234), false, 'VO clear');
});

test('cam_ignore (logical server NVT) is unsupported: no delivery', () => {
  const { xive, cpus, trace } = makeSpapr(2);
  assert.equal(xive.presenter.match(0, 0, 0x400, true, 3, 0), false);
  assert.ok(guestErrors(trace).some((m) => m === 'XIVE: no support for LS NVT 0/400'));
  assert.equal(eventsNamed(trace, 'xive_presenter_notify').length, 0);
  assert.equal(cpus[0]!.regs[0x12], 0);
});

test('presenter notify may only update IPB/PIPR (CPPR <= priority): no line, no tctx_notify', () => {
  const { xive, cpus, trace, lines } = makeSpapr(1);
  const c0 = cpus[0]!;
  timaStore(xive, c0, 0x20011, 1, 4);
  trace.clear();
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 4, 0), true);
  assert.deepEqual(eventNames(trace), ['xive_presenter_notify']);
  assert.deepEqual(lines.calls, []);
  assert.deepEqual(osRing(c0).slice(0, 3), [0, 4, 0x08]);
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 3, 0), true);
  assert.deepEqual(eventNames(trace), ['xive_presenter_notify', 'xive_presenter_notify', 'xive_tctx_notify']);
  assert.equal(lines.raises().length, 1);
});

test('sPAPR NVT check before presenting: NVT 0x400 + vcpu exists iff the vCPU does', () => {
  const { xive, trace, memory } = makeSpapr(2, 4);
  const r = xive.router;
  for (const [endIdx, nvt] of [
    [0, 0x3ff],
    [1, 0x402],
    [2, 0x7_ffff],
  ] as const) {
    r.setEndWord(endIdx, 0, R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY);
    r.setEndWord(endIdx, 1, R.END_W1_GENERATION);
    r.setEndWord(endIdx, 3, QADDR + endIdx * 0x1000);
    r.setEndWord(endIdx, 6, nvt);
    r.setEndWord(endIdx, 7, 5 << 16);
    r.endTrigger(0, endIdx, 0x42);
    assert.equal(memory.read32(QADDR + endIdx * 0x1000), 0x8000_0042);
  }
  assert.deepEqual(guestErrors(trace), ['XIVE: no NVT 0/3ff', 'XIVE: no NVT 0/402', 'XIVE: no NVT 0/7ffff']);
  assert.equal(eventsNamed(trace, 'xive_presenter_notify').length, 0);
});

test('sPAPR LSI end to end: asserted line delivered, re-delivered on EOI while still asserted', () => {
  const { xive, cpus, memory, trace } = makeSpapr(1);
  const c0 = cpus[0]!;
  assert.equal(xive.claim(0x1200, true), true);
  routeTo(xive, 0x1200, 0, 5, 0x1200);
  xive.source.setPq(0x1200, 0);
  timaStore(xive, c0, 0x20011, 1, 0xff);
  xive.setIrq(0x1200, true);
  assert.equal(memory.read32(qaddrOf(0, 5)), 0x8000_1200);
  assert.equal(timaLoad(xive, c0, 0x20810, 2), 0x8005n);
  assert.equal(esbLoad(xive, mgmtPage(0x1200)), 1n, 'load EOI: re-presented');
  assert.equal(memory.read32(qaddrOf(0, 5) + 4), 0x8000_1200);
  assert.equal(c0.regs[0x12], 0x04);
  xive.setIrq(0x1200, false);
  assert.equal(timaLoad(xive, c0, 0x20810, 2), 0x0005n, 'CPPR 5 = priority: not presented');
  assert.equal(esbLoad(xive, mgmtPage(0x1200)), 0n);
  assert.equal(xive.source.getPq(0x1200), 0);
  assert.deepEqual(guestErrors(trace), []);
});

test('a removed thread context no longer matches', () => {
  const { xive, cpus } = makeSpapr(2);
  xive.presenter.remove(cpus[1]!);
  assert.equal(xive.presenter.match(0, 0, 0x401, false, 3, 0), false);
  assert.equal(xive.presenter.match(0, 0, 0x400, false, 3, 0), true);
});

// ---- property: CAM index == scan of every thread -------------------------------------------

const CAMS = [0x400, 0x401, 0x402, 0x80, 0x81, 0x82, R.camLine(1, 0x400)];

type POp =
  | { k: 'pushOs'; cpu: number; cam: number; vo: boolean }
  | { k: 'pullOs'; cpu: number }
  | { k: 'pool'; cpu: number; cam: number; vp: boolean }
  | { k: 'pullPool'; cpu: number }
  | { k: 'vt'; cpu: number; on: boolean }
  | { k: 'rawOs'; cpu: number; cam: number; vo: boolean };

const cpuArb = fc.integer({ min: 0, max: 2 });
const camArb = fc.constantFrom(...CAMS);
const pOpArb: fc.Arbitrary<POp> = fc.oneof(
  fc.record({ k: fc.constant('pushOs' as const), cpu: cpuArb, cam: camArb, vo: fc.boolean() }),
  fc.record({ k: fc.constant('pullOs' as const), cpu: cpuArb }),
  fc.record({ k: fc.constant('pool' as const), cpu: cpuArb, cam: camArb, vp: fc.boolean() }),
  fc.record({ k: fc.constant('pullPool' as const), cpu: cpuArb }),
  fc.record({ k: fc.constant('vt' as const), cpu: cpuArb, on: fc.boolean() }),
  fc.record({ k: fc.constant('rawOs' as const), cpu: cpuArb, cam: camArb, vo: fc.boolean() }),
);

function applyPOp(xive: SpaprXive, cpus: ThreadContext[], op: POp): void {
  const t = cpus[op.cpu]!;
  switch (op.k) {
    case 'pushOs':
      timaStore(xive, t, 0x10018, 4, (op.vo ? 0x8000_0000 : 0) | op.cam);
      return;
    case 'pullOs':
      timaLoad(xive, t, 0x10818, 4);
      return;
    case 'pool':
      timaStore(xive, t, 0x00028, 4, (op.vp ? 0x8000_0000 : 0) | op.cam);
      return;
    case 'pullPool':
      timaLoad(xive, t, 0x10828, 4);
      return;
    case 'vt':
      timaStore(xive, t, 0x10038, 1, op.on ? 0x80 : 0);
      return;
    case 'rawOs':
      timaStore(xive, t, 0x10018, 8, BigInt((op.vo ? 0x8000_0000 : 0) | op.cam) << 32n);
      return;
  }
}

/** §4.3/§4.4 scan, format 0: the (cpu, ring) found, or an error string. */
function refScan(cpus: ThreadContext[], cam: number): { cpu: number; ring: number } | 'none' | 'multiple' {
  const hits: { cpu: number; ring: number }[] = [];
  for (const t of cpus) {
    const r = t.regs;
    const w2 = (o: number): number => ((r[o]! << 24) | (r[o + 1]! << 16) | (r[o + 2]! << 8) | r[o + 3]!) >>> 0;
    let ring = -1;
    if (r[0x38]! & 0x80 && cam === ((0 << 19) | 0x80 | (t.pir & 0x7f))) ring = 0x30;
    else if (w2(0x28) & 0x8000_0000 && cam === (w2(0x28) & 0xff_ffff)) ring = 0x20;
    else if (w2(0x18) & 0x8000_0000 && cam === (w2(0x18) & 0xff_ffff)) ring = 0x10;
    if (ring >= 0) hits.push({ cpu: t.cpuIndex, ring });
  }
  if (hits.length === 0) return 'none';
  if (hits.length > 1) return 'multiple';
  return hits[0]!;
}

test('property: the presenter finds exactly what a scan of all threads finds', () => {
  fc.assert(
    fc.property(fc.array(pOpArb, { maxLength: 25 }), fc.array(camArb, { minLength: 1, maxLength: 6 }), (ops, probes) => {
      const { xive, cpus, trace } = makeSpapr(3);
      for (const op of ops) applyPOp(xive, cpus, op);
      for (const cam of probes) {
        for (const t of cpus) for (const o of [0x02, 0x12, 0x22, 0x32]) t.regs[o] = 0;
        trace.clear();
        const want = refScan(cpus, cam);
        const got = xive.presenter.match(0, (cam >>> 19) & 0xf, cam & 0x7ffff, false, 7, 0);
        const blkIdx = `${((cam >>> 19) & 0xf).toString(16)}/${(cam & 0x7ffff).toString(16)}`;
        const delivered = cpus.flatMap((t) => [0x02, 0x12, 0x22, 0x32].filter((o) => t.regs[o] !== 0).map((o) => ({ cpu: t.cpuIndex, ring: o - 2 })));
        if (want === 'none') {
          assert.equal(got, false);
          assert.deepEqual(guestErrors(trace), [`XIVE: NVT ${blkIdx} is not dispatched`]);
          assert.deepEqual(delivered, []);
        } else if (want === 'multiple') {
          assert.equal(got, false);
          assert.deepEqual(guestErrors(trace), [`XIVE: already found a thread context NVT ${blkIdx}`]);
          assert.deepEqual(delivered, []);
        } else {
          assert.equal(got, true);
          assert.deepEqual(delivered, [want]);
          assert.deepEqual(eventsNamed(trace, 'xive_presenter_notify').map((e) => e.ring), [want.ring]);
        }
      }
    }),
    { numRuns: 300 },
  );
});
