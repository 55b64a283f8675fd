/**
 * Migration through the KVM-style API (docs/kvm-device-api.md §8): state read out of one machine with getAttr /
 * getOneReg (and the ESB pages), written into a fresh machine with setAttr / setOneReg, must
 * give the same `info pic` and the same model bytes — and both machines must then behave the
 * same under the same further activity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpaprMachine, type MachineOptions } from '../../src/spapr/machine.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { KvmVm, type KvmDevice } from '../../src/kvm/device.ts';
import { restoreXics, saveXics, xiveRestoreAndRun, xiveRun, xiveSave, xiveStop, type XicsMigrationState } from '../../src/kvm/migrate.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { U, copyRam, device, expectRc, icpWord, rig, runXicsOps, xicsOps, type Rig, type XicsOp } from './helpers.ts';
import { ESB_BASE, TIMA_OS } from '../support/mmio.ts';
import { assertSameModel, modelParts } from '../support/state.ts';

// ---- XICS ------------------------------------------------------------------------------------------------

function xicsRig(): Rig {
  const r = rig('xics');
  r.m.claimIrq(0x1300, false);
  return r;
}

/** The kernel's ICP_STATE consistency rule, on a saved word. */
function icpConsistent(w: bigint): boolean {
  const cppr = Number((w >> 56n) & 0xffn);
  const xisr = Number((w >> 32n) & 0xff_ffffn);
  const mfrr = Number((w >> 24n) & 0xffn);
  const ppri = Number((w >> 16n) & 0xffn);
  if (xisr === 0) return ppri === 0xff;
  if (xisr === 2) return ppri === mfrr && ppri < cppr;
  return ppri < mfrr && ppri < cppr;
}

function migrateXics(src: Rig): { dst: Rig; rc: number; state: XicsMigrationState } {
  const state = saveXics(src.vm, src.dev);
  assert.ok(typeof state !== 'number', `save: ${String(state)}`);
  const dst = xicsRig();
  return { dst, rc: restoreXics(dst.vm, dst.dev, state), state };
}

test('XICS migration: info pic and every model byte reproduced on a fresh machine', () => {
  const src = xicsRig();
  const ops: XicsOp[] = [
    { k: 'cppr', cpu: 0, cppr: 0xff },
    { k: 'cppr', cpu: 1, cppr: 0xff },
    { k: 'xive', irq: 0x1300, server: 1, prio: 5 },
    { k: 'xive', irq: 0x1001, server: 1, prio: 6 },
    { k: 'xive', irq: 0x1200, server: 0, prio: 4 },
    { k: 'xive', irq: 0x1000, server: 0, prio: 3 },
    { k: 'line', irq: 0x1300, up: true }, // presented on vCPU 1
    { k: 'line', irq: 0x1001, up: true }, // refused: waits for a resend
    { k: 'line', irq: 0x1200, up: true }, // LSI presented on vCPU 0
    { k: 'xirr', cpu: 0 }, // taken, not EOIed: CPPR 4
    { k: 'off', irq: 0x1000, on: false },
    { k: 'line', irq: 0x1000, up: true }, // latched while masked
    { k: 'ipi', cpu: 0, server: 0, mfrr: 2 }, // IPI on vCPU 0
  ];
  runXicsOps(src.m, ops, src.vm);
  const pic = infoPic(src.m);
  assert.match(pic, /XIRR=04000002/);
  assert.match(pic, /XIRR=ff001300/);
  const { dst, rc, state } = migrateXics(src);
  expectRc(rc, 0);
  assert.equal(state.icps.length, 2);
  assert.equal(infoPic(dst.m), pic);
  assertSameModel(dst.m, src.m);
});

test('XICS migration property: identical info pic, then identical behaviour (or EINVAL for an ICP state the kernel refuses)', () => {
  let restored = 0;
  let refused = 0;
  fc.assert(
    fc.property(xicsOps(), xicsOps(30), (before, after) => {
      const src = xicsRig();
      runXicsOps(src.m, before, src.vm);
      const pic = infoPic(src.m);
      const { dst, rc, state } = migrateXics(src);
      if (rc !== 0) {
        // Only QEMU-emulated presenter states outside the kernel's rules are refused.
        expectRc(rc, -U.EINVAL);
        assert.ok(state.icps.some((i) => !icpConsistent(i.state)), 'EINVAL for a consistent ICP state');
        refused++;
        return;
      }
      assert.ok(state.icps.every((i) => icpConsistent(i.state)));
      restored++;
      assert.equal(infoPic(dst.m), pic);
      assertSameModel(dst.m, src.m, 'restored');
      runXicsOps(src.m, after, src.vm);
      runXicsOps(dst.m, after, dst.vm);
      assert.equal(infoPic(dst.m), infoPic(src.m));
      assertSameModel(dst.m, src.m, 'afterwards');
    }),
    { numRuns: 200 },
  );
  assert.ok(restored > refused, `restored ${restored}, refused ${refused}`);
});

test('XICS: a QEMU-emulated presenter state the kernel does not allow is refused, with nothing restored', () => {
  const src = xicsRig();
  // IPI latched at MFRR 2, then MFRR made less favoured: QEMU keeps XISR 2 with PP 2, MFRR 0xFF.
  runXicsOps(src.m, [
    { k: 'cppr', cpu: 0, cppr: 0xff },
    { k: 'ipi', cpu: 0, server: 0, mfrr: 2 },
    { k: 'ipi', cpu: 0, server: 0, mfrr: 0xff },
  ]);
  const b = new Uint8Array(8);
  expectRc(src.vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, b), 0);
  assert.equal(new DataView(b.buffer).getBigUint64(0, true), icpWord(0xff, 2, 0xff, 2));
  const { dst, rc } = migrateXics(src);
  expectRc(rc, -U.EINVAL);
  assert.equal(dst.m.xics!.icpOfCpu(0)!.xirr, 0);
});

// ---- XIVE ------------------------------------------------------------------------------------------------

const MSIS = [0x1300, 0x1301, 0x1302];
const LSIS = [0x1200, 0x1201];

interface XiveSide {
  m: SpaprMachine;
  mem: SparseGuestMemory;
  vm: KvmVm;
}

/** A machine of the test's configuration: the default devices plus the MSIs of MSIS claimed. */
function xiveMachine(opts: Partial<MachineOptions>): XiveSide {
  const mem = new SparseGuestMemory(1 << 30);
  const m = new SpaprMachine({ smp: 2, icMode: 'xive', memory: mem, ...opts });
  for (const l of MSIS) assert.equal(m.claimIrq(l, false), true);
  return { m, mem, vm: new KvmVm(m) };
}

function connectXive(s: XiveSide): KvmDevice {
  const dev = device(s.vm.createDevice('xive'));
  for (const v of s.m.vcpus) expectRc(s.vm.connectVcpu(v, dev), 0);
  return dev;
}

type GuestOp = { k: 'ipi'; from: number; to: number } | { k: 'msi'; lisn: number } | { k: 'lsi'; lisn: number } | { k: 'handle'; cpu: number };
type RawOp =
  | { k: 'msi'; lisn: number }
  | { k: 'lsi'; lisn: number; up: boolean }
  | { k: 'ipi'; cpu: number }
  | { k: 'ack'; cpu: number }
  | { k: 'eoi'; lisn: number }
  | { k: 'cppr'; cpu: number; cppr: number };

const cpuArb = fc.integer({ min: 0, max: 1 });
const guestOps = fc.array(
  fc.oneof(
    fc.record({ k: fc.constant('ipi' as const), from: cpuArb, to: cpuArb }),
    fc.record({ k: fc.constant('msi' as const), lisn: fc.constantFrom(...MSIS) }),
    fc.record({ k: fc.constant('lsi' as const), lisn: fc.constantFrom(...LSIS) }),
    fc.record({ k: fc.constant('handle' as const), cpu: cpuArb }),
  ),
  { maxLength: 40 },
);
const rawOps = fc.array(
  fc.oneof(
    fc.record({ k: fc.constant('msi' as const), lisn: fc.constantFrom(...MSIS) }),
    fc.record({ k: fc.constant('lsi' as const), lisn: fc.constantFrom(...LSIS), up: fc.boolean() }),
    fc.record({ k: fc.constant('ipi' as const), cpu: cpuArb }),
    fc.record({ k: fc.constant('ack' as const), cpu: cpuArb }),
    fc.record({ k: fc.constant('eoi' as const), lisn: fc.constantFrom(0, 1, ...MSIS, ...LSIS) }),
    fc.record({ k: fc.constant('cppr' as const), cpu: cpuArb, cppr: fc.constantFrom(0, 5, 6, 0xff) }),
  ),
  { maxLength: 30 },
);

/** A booted Linux-like guest: queues, IPIs, 3 MSIs and 2 LSIs routed; LSIs dropped by their handler. */
function bootGuest(s: XiveSide): XiveGuest {
  const g = new XiveGuest(s.m);
  g.boot();
  MSIS.forEach((l, i) => g.configureSource(l, i % 2));
  LSIS.forEach((l, i) => g.configureSource(l, (i + 1) % 2));
  g.onEvent = (_cpu, src) => {
    if (LSIS.includes(src.lisn)) g.deviceLsi(src.lisn, false);
  };
  return g;
}

function runGuest(g: XiveGuest, ops: readonly GuestOp[]): void {
  for (const o of ops) {
    if (o.k === 'ipi') g.sendIpi(o.from, o.to);
    else if (o.k === 'msi') g.deviceMsi(o.lisn);
    else if (o.k === 'lsi') g.deviceLsi(o.lisn, true);
    else g.handleInterrupts(o.cpu);
  }
}

/** Device and guest MMIO activity that needs no driver state, replayable on two machines. */
function runRaw(m: SpaprMachine, ops: readonly RawOp[]): void {
  for (const o of ops) {
    if (o.k === 'msi') m.pulseMsi(o.lisn);
    else if (o.k === 'lsi') m.setIrq(o.lisn, o.up);
    else if (o.k === 'ipi') m.mmioWrite(0, ESB_BASE + o.cpu * 0x2_0000, 8, 0, 0);
    else if (o.k === 'ack') m.mmioRead(o.cpu, TIMA_OS + 0x810, 2);
    else if (o.k === 'eoi') m.mmioRead64(0, ESB_BASE + o.lisn * 0x2_0000 + 0x1_0000);
    else m.mmioWrite(o.cpu, TIMA_OS + 0x11, 1, o.cppr);
  }
}

/** Stop, save, restore into a fresh machine (RAM copied), run both. */
function migrateXive(src: XiveSide, opts: Partial<MachineOptions>): { dst: XiveSide; rc: number } {
  const sdev = connectXive(src);
  const pq = xiveStop(src.vm, sdev);
  assert.ok(typeof pq !== 'number');
  const state = xiveSave(src.vm, sdev, pq);
  assert.ok(typeof state !== 'number', `save: ${String(state)}`);
  const dst = xiveMachine(opts);
  if (dst.m.xics !== null) assert.equal(dst.m.cas(0x40).ok, true); // the negotiated ic-mode travels too
  copyRam(src.mem, dst.mem);
  const ddev = connectXive(dst);
  const rc = xiveRestoreAndRun(dst.vm, ddev, state);
  expectRc(xiveRun(src.vm, sdev, pq), 0);
  return { dst, rc };
}

test('XIVE migration (QEMU 7.2 sequence): identical info pic and model bytes, source unchanged after resume', () => {
  for (const icMode of ['xive', 'dual'] as const) {
    const src = xiveMachine({ icMode });
    const g = bootGuest(src);
    runGuest(g, [
      { k: 'msi', lisn: 0x1300 },
      { k: 'handle', cpu: 0 },
      { k: 'msi', lisn: 0x1301 },
      { k: 'msi', lisn: 0x1301 },
      { k: 'lsi', lisn: 0x1200 },
      { k: 'ipi', from: 0, to: 1 },
      { k: 'ipi', from: 1, to: 0 },
    ]);
    const pic = infoPic(src.m);
    const bytes = modelParts(src.m);
    assert.match(pic, /LSI P-A/);
    const { dst, rc } = migrateXive(src, { icMode });
    expectRc(rc, 0, icMode);
    assert.equal(infoPic(dst.m), pic, icMode);
    assertSameModel(dst.m, bytes, icMode);
    assert.equal(infoPic(src.m), pic, `${icMode}: the source resumes as it was`);
    assertSameModel(src.m, bytes, `${icMode} source`);
  }
});

test('XIVE migration: a trigger that arrives while stopped is replayed when the VM runs', () => {
  const src = xiveMachine({});
  bootGuest(src);
  const dev = connectXive(src);
  const pq = xiveStop(src.vm, dev);
  assert.ok(typeof pq !== 'number');
  assert.equal(pq.get(0x1300), 0, 'ready before the stop');
  assert.equal(src.m.xive!.source.getPq(0x1300), 2, 'parked at PQ 10 while stopped');
  src.m.pulseMsi(0x1300); // 10 → 11: nothing forwarded
  const idx = (e: number) => src.m.xive!.router.endQueueIndex(e);
  const before = idx(0 * 8 + 6);
  expectRc(xiveRun(src.vm, dev, pq), 0);
  assert.equal(idx(0 * 8 + 6), before + 1, 'the stopped-time trigger was delivered on resume');
  assert.equal(src.m.xive!.source.getPq(0x1300), 2);
});

test('XIVE migration property: identical info pic and bytes, then identical behaviour', () => {
  fc.assert(
    fc.property(guestOps, rawOps, (before, after) => {
      const src = xiveMachine({});
      runGuest(bootGuest(src), before);
      const pic = infoPic(src.m);
      const bytes = modelParts(src.m);
      const { dst, rc } = migrateXive(src, {});
      expectRc(rc, 0);
      assert.equal(infoPic(dst.m), pic);
      assertSameModel(dst.m, bytes, 'restored');
      assertSameModel(src.m, bytes, 'source resumed');
      runRaw(src.m, after);
      runRaw(dst.m, after);
      assert.equal(infoPic(dst.m), infoPic(src.m));
      assertSameModel(dst.m, src.m, 'afterwards');
    }),
    { numRuns: 60 },
  );
});

test('XIVE restore: a source whose queue is missing goes where the kernel puts it, or fails with EBUSY', () => {
  const src = xiveMachine({});
  bootGuest(src);
  const sdev = connectXive(src);
  const pq = xiveStop(src.vm, sdev);
  assert.ok(typeof pq !== 'number');
  const state = xiveSave(src.vm, sdev, pq);
  assert.ok(typeof state !== 'number');
  const queues = state.queues;
  assert.deepEqual(queues.map((q) => [q.server, q.priority]), [[0, 6], [1, 6]]);
  // Without vCPU 0's queue, its sources are taken by the first vCPU that has one: vCPU 1.
  const one = xiveMachine({});
  const d1 = connectXive(one);
  expectRc(xiveRestoreAndRun(one.vm, d1, { ...state, queues: queues.filter((q) => q.server === 1) }), 0);
  assert.equal(one.m.xive!.router.easEndIndex(0x1300), 1 * 8 + 6, 'configured for vCPU 0, routed to vCPU 1');
  // Without any queue there is no room anywhere.
  const none = xiveMachine({});
  const d2 = connectXive(none);
  expectRc(xiveRestoreAndRun(none.vm, d2, { ...state, queues: [] }), -U.EBUSY);
});
