/**
 * The XIVE native device (KVM_DEV_TYPE_XIVE) of the KVM-style API: every group and attribute
 * with good and bad input and the kernel's errno (CTRL RESET / EQ_SYNC / NR_SERVERS, SOURCE,
 * SOURCE_CONFIG, EQ_CONFIG, SOURCE_SYNC), VP_STATE, the ESB and TIMA mappings, and a guest-like
 * sequence driven through the API only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as H from '../../src/spapr/hcall.ts';
import * as R from '../../src/xive/regs.ts';
import { LINE_INT } from '../../src/ports/lines.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { KvmFault, KvmVm, type KvmEsbMapping, type KvmTimaMapping } from '../../src/kvm/device.ts';
import { U, device, eqBuf, eqId, expectFails, expectRc, readEq, rig, srcCfg, u32, u64, type Rig } from './helpers.ts';
import { modelState } from '../support/state.ts';

const CTRL = U.KVM_DEV_XIVE_GRP_CTRL;
const SOURCE = U.KVM_DEV_XIVE_GRP_SOURCE;
const CONFIG = U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG;
const EQ = U.KVM_DEV_XIVE_GRP_EQ_CONFIG;
const SYNC = U.KVM_DEV_XIVE_GRP_SOURCE_SYNC;
const QPAGE = 0x400_0000n;
const MSI = 0x1300;

function setEq(r: Rig, server: number, prio: number, qaddr: bigint, extra: { flags?: number; qtoggle?: number; qindex?: number; qshift?: number } = {}): number {
  return r.dev.setAttr(EQ, eqId(server, prio), eqBuf({ qshift: 16, qaddr, ...extra }));
}

function getEq(r: Rig, server: number, prio: number): ReturnType<typeof readEq> {
  const b = new Uint8Array(64);
  expectRc(r.dev.getAttr(EQ, eqId(server, prio), b), 0);
  return readEq(b);
}

function esb(r: Rig): KvmEsbMapping {
  const m = r.dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 2 * r.m.xive!.nrIrqs);
  assert.ok(typeof m !== 'number' && m.kind === 'esb');
  return m;
}

/** Byte offset of `op` on source `lisn`'s management page in the ESB mapping. */
const mgmt = (lisn: number, op: number) => (2 * lisn + 1) * 0x1_0000 + op;

function vp(r: Rig, vcpu: number): number[] {
  const b = new Uint8Array(16);
  expectRc(r.vm.getOneReg(vcpu, U.KVM_REG_PPC_VP_STATE, b), 0);
  return Array.from(b);
}

test('XIVE HAS_DEVICE_ATTR for every group', () => {
  const { dev } = rig('xive');
  for (const a of [1n, 2n, 3n]) expectRc(dev.hasAttr(CTRL, a), 0);
  for (const a of [0n, 4n, 1n << 40n]) expectRc(dev.hasAttr(CTRL, a), -U.ENXIO);
  for (const g of [SOURCE, CONFIG, SYNC]) {
    for (const a of [0n, 0x1300n, 0xf_ffffn]) expectRc(dev.hasAttr(g, a), 0);
    for (const a of [0x10_0000n, 0xffff_ffff_ffff_ffffn]) expectRc(dev.hasAttr(g, a), -U.ENXIO);
  }
  for (const a of [0n, 7n, 0xffff_ffff_ffff_ffffn]) expectRc(dev.hasAttr(EQ, a), 0);
  for (const g of [0, 6, 0xffff_ffff]) expectRc(dev.hasAttr(g, 0n), -U.ENXIO);
});

test('XIVE GET exists for EQ_CONFIG only; unknown groups and CTRL attributes are ENXIO', () => {
  const r = rig('xive');
  const b = new Uint8Array(64);
  for (const g of [CTRL, SOURCE, CONFIG, SYNC, 0, 6]) expectFails(r.m, -U.ENXIO, () => r.dev.getAttr(g, 1n, b), `GET group ${g}`);
  for (const g of [0, 6, 100]) expectFails(r.m, -U.ENXIO, () => r.dev.setAttr(g, 1n, b), `SET group ${g}`);
  for (const a of [0n, 4n]) expectFails(r.m, -U.ENXIO, () => r.dev.setAttr(CTRL, a, b), `CTRL ${a}`);
});

test('CTRL NR_SERVERS: EFAULT, EINVAL for 0 and above KVM_MAX_VCPU_IDS, clamp, EBUSY once a vCPU is connected', () => {
  // A VM whose vCPUs are not connected yet.
  const vm = new KvmVm(new SpaprMachine({ smp: 2, icMode: 'xive' }));
  const dev = device(vm.createDevice('xive'));
  const NR = BigInt(U.KVM_DEV_XIVE_NR_SERVERS);
  expectRc(dev.setAttr(CTRL, NR, new Uint8Array(3)), -U.EFAULT);
  expectRc(dev.setAttr(CTRL, NR), -U.EFAULT);
  expectRc(dev.setAttr(CTRL, NR, u32(0)), -U.EINVAL);
  expectRc(dev.setAttr(CTRL, NR, u32(U.KVM_MAX_VCPU_IDS + 1)), -U.EINVAL);
  expectRc(dev.setAttr(CTRL, NR, u32(U.KVM_MAX_VCPU_IDS)), 0);
  assert.equal((dev as unknown as { nrServers: number }).nrServers, U.KVM_MAX_VCPUS, 'clamped to KVM_MAX_VCPUS');
  expectRc(dev.setAttr(CTRL, NR, u32(2)), 0);
  expectRc(vm.connectVcpu(0, dev), 0);
  expectRc(dev.setAttr(CTRL, NR, u32(4)), -U.EBUSY);
  expectRc(dev.setAttr(CTRL, NR, u32(0)), -U.EINVAL, 'EINVAL is checked before EBUSY');
});

test('CTRL EQ_SYNC succeeds and changes nothing; SOURCE_SYNC: ENOENT / EINVAL / 0', () => {
  const r = rig('xive');
  const before = modelState(r.m);
  expectRc(r.dev.setAttr(CTRL, BigInt(U.KVM_DEV_XIVE_EQ_SYNC)), 0);
  expectRc(r.dev.setAttr(SYNC, 0x1000n), 0, 'a valid source; the data is not read');
  expectRc(r.dev.setAttr(SYNC, 0x1002n), -U.EINVAL, 'not valid, block 4 exists');
  expectRc(r.dev.setAttr(SYNC, 0x1500n), -U.ENOENT, 'block 5 was never allocated');
  expectRc(r.dev.setAttr(SYNC, 0x800n), -U.ENOENT);
  expectRc(r.dev.setAttr(SYNC, 0x2000n), -U.ENOENT);
  expectRc(r.dev.setAttr(SYNC, 0xffff_ffff_ffff_ffffn), -U.ENOENT);
  assert.equal(modelState(r.m), before);
});

test('SOURCE: E2BIG, ENOMEM beyond the model, EFAULT; creates a valid masked source with PQ 01', () => {
  const r = rig('xive');
  const x = r.m.xive!;
  expectFails(r.m, -U.E2BIG, () => r.dev.setAttr(SOURCE, 0x10_0000n, u64(0n)));
  expectFails(r.m, -U.E2BIG, () => r.dev.setAttr(SOURCE, 0xffff_ffff_ffff_ffffn));
  expectFails(r.m, -U.ENOMEM, () => r.dev.setAttr(SOURCE, 0x2000n, u64(0n)));
  expectFails(r.m, -U.ENOMEM, () => r.dev.setAttr(SOURCE, 0xf_ffffn));
  expectFails(r.m, -U.EFAULT, () => r.dev.setAttr(SOURCE, 0x1500n, new Uint8Array(7)));
  assert.equal(x.router.easValid(0x1500), false);
  expectRc(r.dev.setAttr(SOURCE, 0x1500n, u64(0n)), 0);
  assert.equal(x.router.easValid(0x1500), true);
  assert.equal(x.router.easMasked(0x1500), true);
  assert.equal(x.source.getPq(0x1500), R.PQ_OFF);
  assert.equal(x.source.isLsi(0x1500), false);
  // Its block now exists: SOURCE_CONFIG finds it.
  expectRc(r.dev.setAttr(SYNC, 0x1501n), -U.EINVAL);
  // ASSERTED counts only with LEVEL_SENSITIVE; neither bit is ever cleared by SOURCE.
  expectRc(r.dev.setAttr(SOURCE, 0x1501n, u64(U.KVM_XIVE_LEVEL_ASSERTED)), 0);
  assert.equal(x.source.isAsserted(0x1501), false);
  expectRc(r.dev.setAttr(SOURCE, 0x1501n, u64(U.KVM_XIVE_LEVEL_SENSITIVE | U.KVM_XIVE_LEVEL_ASSERTED)), 0);
  assert.equal(x.source.isLsi(0x1501), true);
  assert.equal(x.source.isAsserted(0x1501), true);
  expectRc(r.dev.setAttr(SOURCE, 0x1501n, u64(0n)), 0);
  assert.equal(x.source.isLsi(0x1501), true);
  assert.equal(x.source.isAsserted(0x1501), true);
  // On a routed source: masked again, PQ back to 01.
  expectRc(setEq(r, 0, 6, QPAGE), 0);
  expectRc(r.dev.setAttr(CONFIG, BigInt(MSI - 1), u64(0n)), -U.EINVAL, '0x12ff is not valid');
  x.source.setPq(0x1000, R.PQ_RESET);
  expectRc(r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(0, 6, 0x33))), 0);
  expectRc(r.dev.setAttr(SOURCE, 0x1000n, u64(0n)), 0);
  assert.equal(x.router.easMasked(0x1000), true);
  assert.equal(x.source.getPq(0x1000), R.PQ_OFF);
});

test('SOURCE_CONFIG errors in the kernel order change nothing', () => {
  const r = rig('xive', { smp: 2, maxCpus: 4 });
  r.m.plugCpu(2); // present but not connected
  const cfg = u64(srcCfg(0, 6, 0x10));
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(CONFIG, 0x2000n, cfg), 'beyond the model');
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(CONFIG, 0x10_0000n, cfg));
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(CONFIG, 0x900n, cfg), 'block 2 never allocated');
  expectFails(r.m, -U.EINVAL, () => r.dev.setAttr(CONFIG, 0x1002n, new Uint8Array(0)), 'not valid, before the copy');
  expectFails(r.m, -U.EFAULT, () => r.dev.setAttr(CONFIG, 0x1000n, new Uint8Array(7)));
  expectFails(r.m, -U.EINVAL, () => r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(0, 7, 0x10))), 'priority 7');
  expectFails(r.m, -U.EINVAL, () => r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(9, 6, 0x10))), 'no such server');
  expectFails(r.m, -U.EINVAL, () => r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(2, 6, 0x10))), 'vCPU 2 not connected');
  expectFails(r.m, -U.EBUSY, () => r.dev.setAttr(CONFIG, 0x1000n, cfg), 'no queue of priority 6 anywhere');
  // Priority 7 is refused even masked; a masked config needs no server nor queue.
  expectFails(r.m, -U.EINVAL, () => r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(0, 7, 0x10, true))));
  expectRc(r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(9, 6, 0x10, true))), 0);
});

test('SOURCE_CONFIG routes to the requested queue, else to the first vCPU that has one', () => {
  const r = rig('xive', { smp: 3 });
  const rt = r.m.xive!.router;
  expectRc(setEq(r, 1, 5, QPAGE), 0);
  expectRc(r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(1, 5, 0x77))), 0);
  assert.deepEqual([rt.easMasked(0x1000), rt.easEndIndex(0x1000), rt.easData(0x1000)], [false, 1 * 8 + 5, 0x77]);
  // vCPU 2 has no priority-5 queue: the kernel picks vCPU 1's.
  expectRc(r.dev.setAttr(CONFIG, 0x1001n, u64(srcCfg(2, 5, 0x78))), 0);
  assert.equal(rt.easEndIndex(0x1001), 1 * 8 + 5);
  expectRc(setEq(r, 0, 5, QPAGE + 0x1_0000n), 0);
  expectRc(r.dev.setAttr(CONFIG, 0x1100n, u64(srcCfg(2, 5, 0x79))), 0);
  assert.equal(rt.easEndIndex(0x1100), 0 * 8 + 5, 'the first vCPU in creation order');
  // Masked: the target and EISN stay in the table, routing is off.
  expectRc(r.dev.setAttr(CONFIG, 0x1101n, u64(srcCfg(2, 3, 0x7a, true))), 0);
  assert.deepEqual([rt.easMasked(0x1101), rt.easEndIndex(0x1101), rt.easData(0x1101)], [true, 2 * 8 + 3, 0x7a]);
  // Same server, priority and EISN as the active routing: nothing changes, not even the mask.
  expectRc(r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(1, 5, 0x77, true))), 0);
  assert.equal(rt.easMasked(0x1000), false);
  expectRc(r.dev.setAttr(CONFIG, 0x1000n, u64(srcCfg(1, 5, 0x76, true))), 0);
  assert.equal(rt.easMasked(0x1000), true);
  // The EISN is 31 bits.
  expectRc(r.dev.setAttr(CONFIG, 0x1001n, u64(srcCfg(1, 5, 0x7fff_ffff))), 0);
  assert.equal(rt.easData(0x1001), 0x7fff_ffff);
});

test('EQ_CONFIG SET errors in the kernel order change nothing', () => {
  const r = rig('xive', { smp: 2, maxCpus: 4 });
  r.m.plugCpu(2);
  expectFails(r.m, -U.EFAULT, () => r.dev.setAttr(EQ, eqId(9, 7), new Uint8Array(63)), 'the struct is copied first');
  expectFails(r.m, -U.ENOENT, () => setEq(r, 9, 6, QPAGE));
  expectFails(r.m, -U.ENOENT, () => setEq(r, 2, 6, QPAGE), 'vCPU 2 not connected');
  expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 7, QPAGE));
  expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 7, QPAGE, { qshift: 0 }), 'priority before the reset case');
  for (const flags of [0, 2, 3]) expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 6, QPAGE, { flags }), `flags ${flags}`);
  for (const qshift of [12, 15, 17, 21, 24]) expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 6, QPAGE, { qshift }), `qshift ${qshift}`);
  expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 6, QPAGE + 0x1000n), 'not 64K aligned');
  expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 6, 1n << 30n), 'beyond guest RAM');
  expectFails(r.m, -U.EINVAL, () => setEq(r, 0, 6, 1n << 63n));
  // The server field is bits 31..3; bits 63..32 of the identifier are not looked at.
  expectRc(r.dev.setAttr(EQ, eqId(1, 6) | (0xdeadn << 32n), eqBuf({ qshift: 16, qaddr: QPAGE })), 0);
});

test('EQ_CONFIG SET builds the END as H_INT_SET_QUEUE_CONFIG does; qshift 0 resets it', () => {
  const r = rig('xive');
  const rt = r.m.xive!.router;
  expectRc(setEq(r, 1, 6, QPAGE), 0);
  const e = 1 * 8 + 6;
  assert.equal(rt.endWord(e, 0), (R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | (4 << R.END_W0_QSIZE_SHIFT)) >>> 0);
  assert.equal(rt.endWord(e, 1), R.END_W1_GENERATION);
  assert.equal(rt.endQueueAddr(e), Number(QPAGE));
  assert.equal(rt.endNvtIndex(e), 0x401);
  assert.equal(rt.endPriority(e), 6);
  // A queue state to restore: (toggle, index) other than the fresh (1, 0).
  expectRc(setEq(r, 1, 6, QPAGE, { qtoggle: 0, qindex: 0x123 }), 0);
  assert.deepEqual([rt.endGeneration(e), rt.endQueueIndex(e)], [0, 0x123]);
  assert.deepEqual(getEq(r, 1, 6), { flags: 1, qshift: 16, qaddr: QPAGE, qtoggle: 0, qindex: 0x123 });
  expectRc(setEq(r, 1, 6, QPAGE, { qshift: 0, flags: 0 }), 0, 'reset: flags are not checked');
  assert.equal(rt.endValid(e), false);
  assert.equal(rt.endWord(e, 1), R.END_W1_RESET);
});

test('EQ_CONFIG GET: ENOENT, EINVAL, nothing written for an unconfigured queue, EFAULT last', () => {
  const r = rig('xive');
  const b = new Uint8Array(64).fill(0xee);
  expectRc(r.dev.getAttr(EQ, eqId(5, 6), b), -U.ENOENT);
  expectRc(r.dev.getAttr(EQ, eqId(0, 7), b), -U.EINVAL);
  expectRc(r.dev.getAttr(EQ, eqId(0, 6), b), 0);
  assert.ok(b.every((v) => v === 0xee), 'an unconfigured queue leaves the buffer alone');
  expectRc(r.dev.getAttr(EQ, eqId(0, 6)), 0, 'even without a buffer');
  expectRc(setEq(r, 0, 6, QPAGE), 0);
  expectRc(r.dev.getAttr(EQ, eqId(0, 6), new Uint8Array(63)), -U.EFAULT);
  expectRc(r.dev.getAttr(EQ, eqId(0, 6), b), 0);
  assert.deepEqual(readEq(b), { flags: 1, qshift: 16, qaddr: QPAGE, qtoggle: 1, qindex: 0 });
  assert.ok(b.subarray(24).every((v) => v === 0), 'the pad is zeroed');
});

test('EQ_CONFIG GET reads queues the guest configured with hcalls too', () => {
  const r = rig('xive');
  assert.equal(r.m.cas(0x40).ok, true);
  // A 4 KiB queue without "always notify": only the hcall accepts it.
  const ret = r.m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [0n, 1n, 3n, 0x50_1000n, 12n]);
  assert.equal(ret.ret, H.H_SUCCESS);
  assert.deepEqual(getEq(r, 1, 3), { flags: 0, qshift: 12, qaddr: 0x50_1000n, qtoggle: 1, qindex: 0 });
});

test('CTRL RESET: queues of connected vCPUs torn down, valid unmasked sources masked with PQ 01', () => {
  const r = rig('xive', { smp: 2, maxCpus: 3 });
  const x = r.m.xive!;
  const rt = x.router;
  r.m.plugCpu(2);
  expectRc(setEq(r, 0, 6, QPAGE), 0);
  expectRc(setEq(r, 1, 2, QPAGE + 0x1_0000n), 0);
  // vCPU 2 is not connected: its queue, configured by the guest, survives.
  assert.equal(r.m.cas(0x40).ok, true);
  assert.equal(r.m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 2n, 6n, 0x50_0000n, 16n]).ret, H.H_SUCCESS);
  for (const lisn of [0, 1, 0x1000]) {
    x.source.setPq(lisn, R.PQ_RESET);
    expectRc(r.dev.setAttr(CONFIG, BigInt(lisn), u64(srcCfg(lisn === 1 ? 1 : 0, lisn === 1 ? 2 : 6, 0x10 + lisn))), 0);
  }
  expectRc(r.dev.setAttr(CONFIG, 0x1001n, u64(srcCfg(0, 6, 0x55, true))), 0);
  x.source.setPq(0x1001, R.PQ_PENDING);
  expectRc(r.dev.setAttr(CTRL, BigInt(U.KVM_DEV_XIVE_RESET)), 0);
  for (const e of [6, 8 + 2]) assert.equal(rt.endValid(e), false, `END ${e}`);
  assert.equal(rt.endValid(2 * 8 + 6), true);
  for (const lisn of [0, 1, 0x1000]) {
    assert.deepEqual([rt.easHi(lisn), rt.easLo(lisn)], [R.EAS_HI_VALID, R.EAS_LO_MASKED], `EAS ${lisn}`);
    assert.equal(x.source.getPq(lisn), R.PQ_OFF);
  }
  // Already masked: left as it was.
  assert.deepEqual([rt.easEndIndex(0x1001), rt.easData(0x1001), x.source.getPq(0x1001)], [6, 0x55, R.PQ_PENDING]);
});

test('VP_STATE: OS ring words 0-1 as in memory, word 1 zero; SET loads them and follows NSR for the line', () => {
  const r = rig('xive');
  const t = r.m.xive!.tctxById[1]!;
  // Reset OS ring: NSR 0, CPPR 0, IPB 0, LSMFB ff, ACK# ff, INC 0, AGE ff, PIPR ff.
  assert.deepEqual(vp(r, 1), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
  const state = Uint8Array.from([0x80, 0x05, 0x04, 0xff, 0xff, 0, 0xff, 0x05, 1, 2, 3, 4, 5, 6, 7, 8]);
  expectRc(r.vm.setOneReg(1, U.KVM_REG_PPC_VP_STATE, state), 0);
  assert.deepEqual(Array.from(t.regs.subarray(0x10, 0x18)), [0x80, 0x05, 0x04, 0xff, 0xff, 0, 0xff, 0x05]);
  assert.deepEqual(vp(r, 1), [...state.subarray(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(r.m.lineLevel(1, LINE_INT), true);
  assert.equal(t.word2(R.TM_QW1_OS) >>> 31, 1, 'the CAM line is not part of VP_STATE');
  state[0] = 0;
  expectRc(r.vm.setOneReg(1, U.KVM_REG_PPC_VP_STATE, state), 0);
  assert.equal(r.m.lineLevel(1, LINE_INT), false);
});

test('mmap: the two fixed regions and their size limits', () => {
  const r = rig('xive');
  const d = r.dev;
  expectRc(d.mmap(U.KVM_XIVE_TIMA_PAGE_OFFSET, 5) as number, -U.EINVAL);
  expectRc(d.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 2 * U.KVMPPC_XIVE_NR_IRQS + 1) as number, -U.EINVAL);
  for (const pgoff of [1, 2, 3, 5, 1000]) expectRc(d.mmap(pgoff, 1) as number, -U.EINVAL, `pgoff ${pgoff}`);
  expectRc(d.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 0) as number, -U.EINVAL);
  const tima = d.mmap(U.KVM_XIVE_TIMA_PAGE_OFFSET, 4);
  assert.ok(typeof tima !== 'number' && tima.kind === 'tima');
  tima.unmap();
  const full = d.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 2 * U.KVMPPC_XIVE_NR_IRQS);
  assert.ok(typeof full !== 'number');
  full.unmap();
});

test('ESB mapping: management-page loads and stores act on the source; faults on invalid sources', () => {
  const r = rig('xive');
  const x = r.m.xive!;
  const m = esb(r);
  assert.equal(m.load(mgmt(0x1000, 0x800)), 1n, 'reset PQ is 01');
  assert.equal(m.load(mgmt(0x1000, 0xc00)), 1n, 'set PQ 00 returns the old PQ');
  assert.equal(x.source.getPq(0x1000), 0);
  m.store(mgmt(0x1000, 0), 0n); // trigger: PQ 00 → 10 (EAS masked: no notification)
  assert.equal(x.source.getPq(0x1000), 2);
  m.store(2 * 0x1000 * 0x1_0000, 0n); // trigger page: 10 → 11
  assert.equal(m.load(mgmt(0x1000, 0x800)), 3n);
  assert.throws(() => m.load(mgmt(0x1002, 0x800)), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGBUS', 'source not valid');
  assert.throws(() => m.load(mgmt(0x1000, 0x804)), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGBUS', 'unaligned');
  assert.throws(() => m.load(m.bytes), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGSEGV', 'outside the mapping');
  m.unmap();
  assert.throws(() => m.load(mgmt(0x1000, 0x800)), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGSEGV');
});

test('TIMA mapping: the OS page of a connected vCPU; HW, HV and USER pages fault', () => {
  const r = rig('xive', { smp: 2, maxCpus: 3 });
  r.m.plugCpu(2);
  const m = r.dev.mmap(U.KVM_XIVE_TIMA_PAGE_OFFSET, 4) as KvmTimaMapping;
  const os = 2 * 0x1_0000;
  m.store(0, os + 0x11, 1, 0x05n); // CPPR
  assert.equal(r.m.xive!.tctxById[0]!.regs[0x11], 0x05);
  assert.equal(m.load(0, os + 0x10, 8) >> 48n & 0xffn, 0x05n);
  for (const page of [0, 1, 3]) assert.throws(() => m.load(0, page * 0x1_0000 + 0x10, 4), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGBUS');
  assert.throws(() => m.load(2, os + 0x10, 4), (e: unknown) => e instanceof KvmFault && e.signal === 'SIGBUS', 'vCPU 2 not connected');
  m.unmap();
});

test('XIVE guest-like sequence through the API: queues, sources, triggers, EQ and VP state read back', () => {
  const r = rig('xive');
  const mem = r.m.memory;
  const page = esb(r);
  // Queues (priority 6) for both vCPUs, an MSI routed to vCPU 1, its PQ opened; vCPU 1 accepts all.
  expectRc(setEq(r, 0, 6, QPAGE), 0);
  expectRc(setEq(r, 1, 6, QPAGE + 0x1_0000n), 0);
  expectRc(r.dev.setAttr(SOURCE, BigInt(MSI), u64(0n)), 0);
  expectRc(r.dev.setAttr(CONFIG, BigInt(MSI), u64(srcCfg(1, 6, 0x42))), 0);
  assert.equal(page.load(mgmt(MSI, 0xc00)), 1n);
  const cpu1 = Uint8Array.from([0, 0xff, 0, 0xff, 0xff, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
  expectRc(r.vm.setOneReg(1, U.KVM_REG_PPC_VP_STATE, cpu1), 0);
  // The device raises it.
  expectRc(r.vm.irqLine(MSI, U.KVM_INTERRUPT_SET), 0);
  assert.equal(mem.read32(Number(QPAGE) + 0x1_0000) >>> 0, 0x8000_0042);
  assert.deepEqual(getEq(r, 1, 6), { flags: 1, qshift: 16, qaddr: QPAGE + 0x1_0000n, qtoggle: 1, qindex: 1 });
  assert.deepEqual(vp(r, 1).slice(0, 8), [0x80, 0xff, 0x02, 0xff, 0xff, 0, 0xff, 6]);
  assert.equal(r.m.lineLevel(1, LINE_INT), true);
  assert.equal(page.load(mgmt(MSI, 0x800)), 2n, 'P set until the EOI');
  // A second trigger before the EOI is only queued (Q); the load-EOI lets it through.
  expectRc(r.vm.irqLine(MSI, U.KVM_INTERRUPT_SET), 0);
  assert.equal(getEq(r, 1, 6).qindex, 1);
  assert.equal(page.load(mgmt(MSI, 0x000)), 1n, 'load-EOI: re-notified');
  assert.equal(getEq(r, 1, 6).qindex, 2);
  // The IPI of vCPU 0, routed through the API too, wraps its queue: restore the index near the end.
  expectRc(setEq(r, 0, 6, QPAGE, { qtoggle: 1, qindex: 16383 }), 0);
  expectRc(r.dev.setAttr(CONFIG, 0n, u64(srcCfg(0, 6, 0x10))), 0);
  page.load(mgmt(0, 0xc00));
  page.store(mgmt(0, 0), 0n);
  assert.equal(mem.read32(Number(QPAGE) + 4 * 16383) >>> 0, 0x8000_0010);
  assert.deepEqual(getEq(r, 0, 6), { flags: 1, qshift: 16, qaddr: QPAGE, qtoggle: 0, qindex: 0 });
  // vCPU 0's CPPR is 0 (reset): pending in the IPB, no exception.
  assert.deepEqual(vp(r, 0).slice(0, 8), [0, 0, 0x02, 0xff, 0xff, 0, 0xff, 6]);
  assert.equal(r.m.lineLevel(0, LINE_INT), false);
  page.unmap();
});
