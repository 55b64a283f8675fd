/**
 * The XICS device (KVM_DEV_TYPE_XICS) of the KVM-style API: KVM_DEV_XICS_GRP_SOURCES with good
 * and bad input and the kernel's errno, the mapping between the 64-bit source word and the
 * emulated ICS status, KVM_REG_PPC_ICP_STATE, and a guest-like sequence driven through the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as H from '../../src/spapr/hcall.ts';
import { LINE_INT } from '../../src/ports/lines.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { XICS_PIC_POINTER } from '../../src/xics/info-pic.ts';
import { xicsSourceWord } from '../../src/kvm/device.ts';
import { U, XICS_OP_IRQS, expectFails, expectRc, getU64, icpWord, rig, runXicsOps, u64, xicsOps, xicsWord, type Rig } from './helpers.ts';

const SRC = U.KVM_DEV_XICS_GRP_SOURCES;
const { KVM_XICS_MASKED: MASKED, KVM_XICS_PENDING: PENDING, KVM_XICS_PRESENTED: PRESENTED, KVM_XICS_QUEUED: QUEUED, KVM_XICS_LEVEL_SENSITIVE: LSI } = U;
const MSI_IRQ = 0x1000; // EPOW, claimed as MSI
const LSI_IRQ = 0x1200; // PHB 0 INTA

function get(r: Rig, irq: number): bigint {
  const b = new Uint8Array(8);
  expectRc(r.dev.getAttr(SRC, BigInt(irq), b), 0, `GET 0x${irq.toString(16)}`);
  return getU64(b);
}

function set(r: Rig, irq: number, word: bigint): number {
  return r.dev.setAttr(SRC, BigInt(irq), u64(word));
}

function icp(r: Rig, vcpu: number): bigint {
  const b = new Uint8Array(8);
  expectRc(r.vm.getOneReg(vcpu, U.KVM_REG_PPC_ICP_STATE, b), 0);
  return getU64(b);
}

function setIcp(r: Rig, vcpu: number, word: bigint): number {
  return r.vm.setOneReg(vcpu, U.KVM_REG_PPC_ICP_STATE, u64(word));
}

const srcno = (r: Rig, irq: number) => irq - r.m.xics!.ics.offset;

test('XICS HAS_DEVICE_ATTR: group SOURCES for 16..0xFFFFF, nothing else (no CTRL on the legacy device)', () => {
  const { dev } = rig('xics');
  for (const a of [16n, 0x1000n, 0xf_ffffn]) expectRc(dev.hasAttr(SRC, a), 0);
  for (const a of [0n, 2n, 15n, 0x10_0000n, 0xffff_ffff_ffff_ffffn]) expectRc(dev.hasAttr(SRC, a), -U.ENXIO);
  expectRc(dev.hasAttr(U.KVM_DEV_XICS_GRP_CTRL, BigInt(U.KVM_DEV_XICS_NR_SERVERS)), -U.ENXIO);
  for (const g of [0, 3, 0xffff_ffff]) expectRc(dev.hasAttr(g, 0x1000n), -U.ENXIO);
});

test('XICS GET: the words of the reset sources', () => {
  const r = rig('xics');
  assert.equal(get(r, MSI_IRQ), MASKED | xicsWord(0, 0xff));
  assert.equal(get(r, LSI_IRQ), LSI | MASKED | xicsWord(0, 0xff));
});

test('XICS GET errors: ENOENT for absent blocks and sources never set, EFAULT last, ENXIO for other groups', () => {
  const r = rig('xics');
  const b = new Uint8Array(8);
  for (const a of [0n, 2n, 16n, 0xfffn, 0x1500n, 0x2000n, 0xf_ffffn, 0x10_0000n, 0xffff_ffff_ffff_ffffn]) {
    expectFails(r.m, -U.ENOENT, () => r.dev.getAttr(SRC, a, b), `GET 0x${a.toString(16)}`);
  }
  expectRc(r.dev.getAttr(SRC, 0x1500n, new Uint8Array(0)), -U.ENOENT, 'ENOENT before any copy');
  expectRc(r.dev.getAttr(SRC, BigInt(MSI_IRQ), new Uint8Array(7)), -U.EFAULT);
  expectRc(r.dev.getAttr(SRC, BigInt(MSI_IRQ)), -U.EFAULT, 'no buffer = NULL pointer');
  expectRc(r.dev.getAttr(U.KVM_DEV_XICS_GRP_CTRL, 1n, b), -U.ENXIO);
  expectRc(r.dev.getAttr(0, BigInt(MSI_IRQ), b), -U.ENXIO);
});

test('XICS SET errors, in the kernel order, leave everything unchanged', () => {
  const r = rig('xics', { smp: 2, maxCpus: 4 });
  r.m.plugCpu(2); // present but not connected
  const good = u64(xicsWord(0, 5));
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(SRC, 15n, good));
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(SRC, 0n, new Uint8Array(0)), 'range before the copy');
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(SRC, 0x10_0000n, good));
  expectFails(r.m, -U.ENOENT, () => r.dev.setAttr(SRC, 0xffff_ffff_ffff_ffffn, good));
  // Blocks outside the model's ICS (0x1000..0x1FFF) cannot be created.
  expectFails(r.m, -U.ENOMEM, () => r.dev.setAttr(SRC, 16n, good));
  expectFails(r.m, -U.ENOMEM, () => r.dev.setAttr(SRC, 0x2000n, new Uint8Array(0)));
  expectFails(r.m, -U.EFAULT, () => r.dev.setAttr(SRC, BigInt(MSI_IRQ), new Uint8Array(7)));
  expectFails(r.m, -U.EFAULT, () => r.dev.setAttr(SRC, BigInt(MSI_IRQ)));
  expectFails(r.m, -U.EINVAL, () => set(r, MSI_IRQ, xicsWord(7, 5)), 'no such server');
  expectFails(r.m, -U.EINVAL, () => set(r, MSI_IRQ, xicsWord(2, 5)), 'vCPU 2 is not connected');
  expectFails(r.m, -U.EINVAL, () => set(r, MSI_IRQ, xicsWord(7, 5, MASKED)), 'masked, but the priority field is not 0xFF');
  expectFails(r.m, -U.ENXIO, () => r.dev.setAttr(U.KVM_DEV_XICS_GRP_CTRL, BigInt(U.KVM_DEV_XICS_NR_SERVERS), new Uint8Array(4)));
  // Priority 0xFF: the server is not checked.
  expectRc(set(r, MSI_IRQ, xicsWord(7, 0xff)), 0);
  assert.equal(get(r, MSI_IRQ), MASKED | xicsWord(7, 0xff));
});

test('XICS SET writes server, priorities and kind into the ICS, and claims a new source', () => {
  const r = rig('xics');
  const ics = r.m.xics!.ics;
  expectRc(set(r, MSI_IRQ, xicsWord(1, 5)), 0);
  assert.deepEqual([ics.server[0], ics.priority[0], ics.savedPriority[0], ics.status[0]], [1, 5, 5, 0]);
  expectRc(set(r, MSI_IRQ, xicsWord(1, 4, MASKED)), 0);
  assert.deepEqual([ics.priority[0], ics.savedPriority[0]], [0xff, 4]);
  assert.equal(get(r, MSI_IRQ), xicsWord(1, 4, MASKED));
  // A source never claimed: SET makes it exist (an LSI here).
  const n = srcno(r, 0x1500);
  assert.equal(ics.isClaimed(n), false);
  expectRc(set(r, 0x1500, xicsWord(0, 6, LSI)), 0);
  assert.equal(ics.isLsi(n), true);
  assert.equal(get(r, 0x1500), xicsWord(0, 6, LSI));
  assert.match(infoPic(r.m), /\n {2}1500 LSI 06 00\n/);
  // The kind follows bit 40.
  expectRc(set(r, LSI_IRQ, xicsWord(0, 0xff, MASKED)), 0);
  assert.equal(ics.isLsi(srcno(r, LSI_IRQ)), false);
});

test('XICS source words for each emulated status, and back', () => {
  const r = rig('xics');
  const ics = r.m.xics!.ics;
  const rtas = (name: string, args: number[]) => assert.equal(r.m.rtas(0, name, args, 1)[0], 0);
  const s = (irq: number) => ics.status[srcno(r, irq)]!;
  // LSI asserted and presented: ASSERTED|SENT.
  expectRc(setIcp(r, 0, icpWord(0xff, 0, 0xff, 0xff)), 0);
  rtas('ibm,set-xive', [LSI_IRQ, 0, 5]);
  expectRc(r.vm.irqLine(LSI_IRQ, U.KVM_INTERRUPT_SET_LEVEL), 0);
  assert.equal(s(LSI_IRQ), 0x03);
  assert.equal(get(r, LSI_IRQ), xicsWord(0, 5, LSI | PENDING | PRESENTED));
  // Deasserted, not yet EOIed: SENT only.
  expectRc(r.vm.irqLine(LSI_IRQ, U.KVM_INTERRUPT_UNSET), 0);
  assert.equal(s(LSI_IRQ), 0x02);
  assert.equal(get(r, LSI_IRQ), xicsWord(0, 5, LSI | PRESENTED));
  // MSI to a closed presenter (vCPU 1, CPPR 0): REJECTED.
  rtas('ibm,set-xive', [MSI_IRQ, 1, 5]);
  expectRc(r.vm.irqLine(MSI_IRQ, U.KVM_INTERRUPT_SET), 0);
  assert.equal(s(MSI_IRQ), 0x04);
  assert.equal(get(r, MSI_IRQ), xicsWord(1, 5, PENDING | PRESENTED));
  // Masked while rejected, fired again: REJECTED|MASKED_PENDING.
  rtas('ibm,int-off', [MSI_IRQ]);
  expectRc(r.vm.irqLine(MSI_IRQ, U.KVM_INTERRUPT_SET), 0);
  assert.equal(s(MSI_IRQ), 0x0c);
  assert.equal(get(r, MSI_IRQ), xicsWord(1, 5, MASKED | PENDING | PRESENTED | QUEUED));
  // A masked MSI that fired: MASKED_PENDING.
  rtas('ibm,int-off', [0x1001]);
  expectRc(r.vm.irqLine(0x1001, U.KVM_INTERRUPT_SET), 0);
  assert.equal(s(0x1001), 0x08);
  assert.equal(get(r, 0x1001), xicsWord(0, 0xff, MASKED | PENDING));
  // Every word written into a fresh machine gives back the same source.
  const fresh = rig('xics');
  const fics = fresh.m.xics!.ics;
  for (const irq of [LSI_IRQ, MSI_IRQ, 0x1001]) {
    expectRc(set(fresh, irq, get(r, irq)), 0);
    const n = srcno(r, irq);
    assert.deepEqual([fics.server[n], fics.priority[n], fics.savedPriority[n], fics.status[n], fics.flags[n]], [ics.server[n], ics.priority[n], ics.savedPriority[n], ics.status[n], ics.flags[n]], `0x${irq.toString(16)}`);
  }
});

test('XICS SET with PENDING offers the source to its presenter at once', () => {
  const r = rig('xics');
  const ics = r.m.xics!.ics;
  expectRc(setIcp(r, 1, icpWord(0xff, 0, 0xff, 0xff)), 0);
  expectRc(set(r, 0x1300, xicsWord(1, 5, PENDING)), 0);
  assert.equal(icp(r, 1), icpWord(0xff, 0x1300, 0xff, 5));
  assert.equal(r.m.lineLevel(1, LINE_INT), true);
  assert.equal(ics.status[srcno(r, 0x1300)], 0);
  // vCPU 0's presenter is closed (CPPR 0): the offer is refused and the MSI waits for a resend.
  expectRc(set(r, 0x1301, xicsWord(0, 5, PENDING)), 0);
  assert.equal(ics.status[srcno(r, 0x1301)], 0x04);
  assert.equal(get(r, 0x1301), xicsWord(0, 5, PENDING | PRESENTED));
  // An LSI asserted and not presented is sent; asserted and presented is left as it is.
  expectRc(setIcp(r, 0, icpWord(0xff, 0, 0xff, 0xff)), 0);
  expectRc(set(r, 0x1202, xicsWord(0, 3, LSI | PENDING)), 0);
  assert.equal(icp(r, 0), icpWord(0xff, 0x1202, 0xff, 3));
  assert.equal(ics.status[srcno(r, 0x1202)], 0x03);
  expectRc(set(r, 0x1203, xicsWord(0, 2, LSI | PENDING | PRESENTED)), 0);
  assert.equal(icp(r, 0), icpWord(0xff, 0x1202, 0xff, 3), 'a presented LSI is not offered twice');
  // Masked: PENDING alone latches it; QUEUED without PENDING is one more event owed.
  expectRc(set(r, 0x1302, xicsWord(0, 4, MASKED | PENDING)), 0);
  assert.equal(ics.status[srcno(r, 0x1302)], 0x08);
  expectRc(set(r, 0x1303, xicsWord(0, 4, MASKED | QUEUED)), 0);
  assert.equal(ics.status[srcno(r, 0x1303)], 0x08);
  expectRc(set(r, 0x1304, xicsWord(0, 4, QUEUED)), 0);
  assert.equal(ics.status[srcno(r, 0x1304)], 0x04);
  // PRESENTED alone on an MSI: the emulated ICS keeps nothing for an interrupt already presented.
  expectRc(set(r, 0x1305, xicsWord(0, 4, PRESENTED)), 0);
  assert.equal(ics.status[srcno(r, 0x1305)], 0);
});

test('ICP_STATE: the reset presenter, and the layout CPPR|XISR|MFRR|PPRI', () => {
  const r = rig('xics');
  assert.equal(icp(r, 0), 0x0000_0000_ffff_0000n);
  expectRc(setIcp(r, 0, icpWord(0x05, 0, 0x04, 0xff) | 0xabcdn), 0, 'bits 15..0 are ignored');
  const i = r.m.xics!.icpOfCpu(0)!;
  assert.deepEqual([i.cppr, i.xisr, i.mfrr, i.pendingPriority], [5, 0, 4, 0xff]);
  assert.equal(icp(r, 0), icpWord(0x05, 0, 0x04, 0xff));
});

test('ICP_STATE SET: the kernel consistency rules (EINVAL) change nothing', () => {
  const r = rig('xics');
  const bad: [bigint, string][] = [
    [icpWord(0xff, 0, 0xff, 0x05), 'no XISR but PPRI'],
    [icpWord(0xff, 2, 0x05, 0x04), 'IPI with PPRI != MFRR'],
    [icpWord(0x05, 2, 0x05, 0x05), 'IPI not below CPPR'],
    [icpWord(0xff, 0x1300, 0x05, 0x05), 'source PPRI not below MFRR'],
    [icpWord(0x05, 0x1300, 0xff, 0x05), 'source PPRI not below CPPR'],
    [icpWord(0xff, 0x500, 0xff, 0x05), 'no ICS block for XISR'],
    [icpWord(0xff, 0x2000, 0xff, 0x05), 'no ICS block for XISR'],
    [icpWord(0xff, 1, 0xff, 0x05), 'XISR 1'],
    [icpWord(0xff, 0xff_ffff, 0xff, 0x05), 'XISR beyond every block'],
  ];
  for (const [w, what] of bad) expectFails(r.m, -U.EINVAL, () => setIcp(r, 0, w), what);
});

test('ICP_STATE SET of a pending source: no reject of the displaced one, the ICS owns the XISR', () => {
  const r = rig('xics');
  const ics = r.m.xics!.ics;
  expectRc(setIcp(r, 0, icpWord(0xff, 0x1300, 0xff, 0x05)), 0);
  const i = r.m.xics!.icpOfCpu(0)!;
  assert.equal(i.owner, ics);
  assert.equal(i.outputLevel, true);
  assert.match(infoPic(r.m), new RegExp(`CPU 0 XIRR=ff001300 \\(${XICS_PIC_POINTER}\\) PP=05 MFRR=ff`));
  // Replaced wholesale: 0x1300 is not rejected back to its ICS.
  expectRc(setIcp(r, 0, icpWord(0xff, 2, 0x03, 0x03)), 0);
  assert.equal(ics.status[srcno(r, 0x1300)], 0);
  assert.equal(i.owner, null);
  assert.equal(icp(r, 0), icpWord(0xff, 2, 0x03, 0x03));
  expectRc(setIcp(r, 0, icpWord(0xff, 0, 0xff, 0xff)), 0);
  assert.equal(i.outputLevel, false);
});

test('XICS guest-like sequence: sources set, interrupts raised through KVM_IRQ_LINE, presenter read back', () => {
  const r = rig('xics');
  // Open vCPU 1's presenter and route two MSIs and an LSI to it.
  expectRc(setIcp(r, 1, icpWord(0xff, 0, 0xff, 0xff)), 0);
  expectRc(set(r, 0x1300, xicsWord(1, 5)), 0);
  expectRc(set(r, 0x1301, xicsWord(1, 6)), 0);
  expectRc(set(r, LSI_IRQ, xicsWord(1, 3, LSI)), 0);
  expectRc(r.vm.irqLine(0x1300, U.KVM_INTERRUPT_SET), 0);
  assert.equal(icp(r, 1), icpWord(0xff, 0x1300, 0xff, 5));
  assert.equal(r.m.lineLevel(1, LINE_INT), true);
  // Less favoured than the pending one: refused, kept for a resend.
  expectRc(r.vm.irqLine(0x1301, U.KVM_INTERRUPT_SET), 0);
  assert.equal(get(r, 0x1301), xicsWord(1, 6, PENDING | PRESENTED));
  // The LSI is more favoured: it displaces 0x1300, which goes back to wait.
  expectRc(r.vm.irqLine(LSI_IRQ, U.KVM_INTERRUPT_SET_LEVEL), 0);
  assert.equal(icp(r, 1), icpWord(0xff, LSI_IRQ, 0xff, 3));
  assert.equal(get(r, 0x1300), xicsWord(1, 5, PENDING | PRESENTED));
  assert.equal(get(r, LSI_IRQ), xicsWord(1, 3, LSI | PENDING | PRESENTED));
  // The guest takes the LSI, the device drops the line, the guest EOIs: the resend brings 0x1300.
  const xirr = r.m.hcall(1, H.H_XIRR, []);
  assert.equal(xirr.regs[0], 0xff00_1200n);
  assert.equal(icp(r, 1), icpWord(3, 0, 0xff, 0xff));
  expectRc(r.vm.irqLine(LSI_IRQ, U.KVM_INTERRUPT_UNSET), 0);
  r.m.hcall(1, H.H_EOI, [0xff00_1200n]);
  assert.equal(get(r, LSI_IRQ), xicsWord(1, 3, LSI));
  assert.equal(icp(r, 1), icpWord(0xff, 0x1300, 0xff, 5));
  assert.equal(get(r, 0x1300), xicsWord(1, 5));
  assert.equal(get(r, 0x1301), xicsWord(1, 6, PENDING | PRESENTED), 'still refused: 0x1300 is more favoured');
});

test('property: a source word read out and written into a fresh machine gives back the same source', () => {
  fc.assert(
    fc.property(xicsOps(), (ops) => {
      const r = rig('xics');
      r.m.claimIrq(0x1300, false);
      runXicsOps(r.m, ops, r.vm);
      const fresh = rig('xics');
      const a = r.m.xics!.ics;
      const b = fresh.m.xics!.ics;
      for (const irq of XICS_OP_IRQS) {
        const n = irq - a.offset;
        expectRc(set(fresh, irq, xicsSourceWord(a, n)), 0);
        assert.deepEqual([b.server[n], b.priority[n], b.savedPriority[n], b.status[n], b.flags[n]], [a.server[n], a.priority[n], a.savedPriority[n], a.status[n], a.flags[n]], `0x${irq.toString(16)}`);
      }
    }),
    { numRuns: 300 },
  );
});
