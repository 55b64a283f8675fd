/**
 * The pseries machine around the XIVE controller (docs/spapr-xive.md §1): what is claimed at build
 * time, claim/free semantics on the EAS and the LSI bitmap (§1.3), the machine reset (§1.5),
 * the MMIO map (§1.4) and CPU hotplug (a new vCPU gets its thread context and becomes a valid
 * hcall target).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as H from '../../src/spapr/hcall.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { LINE_INT, LineState } from '../../src/ports/lines.ts';
import { eas, endWords, expectError, expectOk } from './helpers.ts';
import { M64 } from '../support/hcall.ts';
import { freshMachine, negotiatedMachine } from '../support/machine.ts';
import { TIMA_HV, TIMA_OS, esbLoad, mgmtPage, trigger, triggerPage } from '../support/mmio.ts';

const OS = 0x10;
const RESET_END = [0, 0x5000_0000, 0, 0, 0, 0, 0, 0];
const CLAIMED_EAS: [number, number] = [0x8000_0000, 0x8000_0000];
const DEFAULT_CLAIMED = [0x1000, 0x1001, 0x1100, 0x1101, 0x1200, 0x1201, 0x1202, 0x1203];

/** The 16 OS-ring bytes of a vCPU's thread context. */
function osRing(m: SpaprMachine, vcpu: number): number[] {
  return Array.from(m.xive!.tctxById[vcpu]!.regs.subarray(OS, OS + 16));
}

function claimedLisns(m: SpaprMachine): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.xive!.nrIrqs; i++) if (m.xive!.router.easValid(i)) out.push(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
describe('machine build (§1.1, §1.2)', () => {
  test('IPIs 0..maxCpus-1 and the default devices are claimed, masked, nothing routed', () => {
    const m = freshMachine();
    assert.deepEqual(claimedLisns(m), [0, 1, ...DEFAULT_CLAIMED]);
    for (const l of claimedLisns(m)) assert.deepEqual(eas(m, l), CLAIMED_EAS, `EAS ${l.toString(16)}`);
    assert.deepEqual(eas(m, 2), [0, 0]);
    assert.deepEqual(eas(m, 0x1fff), [0, 0]);
    const src = m.xive!.source;
    for (let l = 0; l < 0x2000; l++) assert.equal(src.isLsi(l), l >= 0x1200 && l <= 0x1203, `LSI bit of ${l.toString(16)}`);
    for (let l = 0; l < 0x2000; l += 0x7f) assert.equal(src.status[l], 0x01, 'PQ OFF');
  });

  test('parameters: 0x2000 LISNs, nr_ends = 8 x max CPUs, the pseries base addresses', () => {
    const m = freshMachine({ smp: 2, maxCpus: 5 });
    const x = m.xive!;
    assert.equal(x.nrIrqs, 0x2000);
    assert.equal(x.nrEnds, 40);
    assert.equal(x.vcBase, 0x0006_0100_0000_0000);
    assert.equal(x.endBase, 0x0006_0100_4000_0000);
    assert.equal(x.tmBase, 0x0006_0302_0318_0000);
    assert.equal(x.hvPrio, 7);
    assert.deepEqual(claimedLisns(m).slice(0, 6), [0, 1, 2, 3, 4, 0x1000]);
    for (let e = 0; e < 40; e++) assert.deepEqual(endWords(m, e), RESET_END);
  });

  test("devices 'none' claims only the IPIs", () => {
    const m = freshMachine({ smp: 3, devices: 'none' });
    assert.deepEqual(claimedLisns(m), [0, 1, 2]);
  });

  test('every vCPU has a reset thread context with its OS CAM line pushed', () => {
    const m = freshMachine({ smp: 3 });
    for (let v = 0; v < 3; v++) {
      // NSR CPPR IPB LSMFB ACK# INC AGE PIPR | word2 | unused
      assert.deepEqual(osRing(m, v), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0x80, 0, 0x04, v, 0, 0, 0, 0]);
      assert.equal(m.xive!.tctxById[v]!.word2(OS), 0x8000_0400 + v);
      const regs = m.xive!.tctxById[v]!.regs;
      assert.deepEqual(Array.from(regs.subarray(0x30, 0x40)), [0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual(Array.from(regs.subarray(0, 0x10)), new Array(16).fill(0));
      assert.deepEqual(Array.from(regs.subarray(0x20, 0x30)), new Array(16).fill(0));
    }
  });

  test('XIVE MMIO is live from the start: TIMA word2 via the HV page, ESB GET on the management page', () => {
    const m = freshMachine();
    assert.equal(m.activeController(), 'xive');
    assert.equal(m.mmioRead(1, TIMA_HV + 0x18, 4), 0x8000_0401);
    assert.equal(m.mmioRead(0, TIMA_HV + 0x18, 4), 0x8000_0400);
    assert.equal(esbLoad(m, 0x1200, 0x800), 1n);
    // the END ESB region is never mapped: reads 0, writes ignored
    assert.equal(m.mmioRead64(0, 0x0006_0100_4000_0000 + 0x800), 0n);
    m.mmioWrite(0, 0x0006_0100_4000_0000, 8, 0, 0);
    assert.deepEqual(endWords(m, 0), RESET_END);
  });

  test('bad machine parameters are refused', () => {
    assert.throws(() => new SpaprMachine({ smp: 0, icMode: 'xive' }), XiveUsageError);
    assert.throws(() => new SpaprMachine({ smp: 2, maxCpus: 1, icMode: 'xive' }), XiveUsageError);
    assert.throws(() => new SpaprMachine({ smp: 1, maxCpus: 4097, icMode: 'xive' }), XiveUsageError);
  });
});

// ---------------------------------------------------------------------------------------------
describe('claim / free (§1.3)', () => {
  test('claim traces, sets VALID|MASKED; a second claim returns false and changes nothing', () => {
    const m = freshMachine();
    const tb = new TraceBuffer();
    m.setTrace(tb);
    assert.equal(m.claimIrq(0x1300, false), true);
    assert.deepEqual(eas(m, 0x1300), CLAIMED_EAS);
    assert.equal(m.xive!.source.isLsi(0x1300), false);
    assert.equal(m.claimIrq(0x1300, true), false, 'already claimed');
    assert.equal(m.xive!.source.isLsi(0x1300), false, 'a refused LSI claim does not mark the source');
    assert.equal(m.claimIrq(0x1000, false), false, 'default device already claimed');
    assert.deepEqual(tb.events, [
      { name: 'spapr_xive_claim_irq', lisn: 0x1300, lsi: false },
      { name: 'spapr_xive_claim_irq', lisn: 0x1300, lsi: true },
      { name: 'spapr_xive_claim_irq', lisn: 0x1000, lsi: false },
    ]);
    assert.equal(m.claimIrq(0x1301, true), true);
    assert.equal(m.xive!.source.isLsi(0x1301), true);
  });

  test('free clears only VALID: masking, routing and data are kept, and a re-claim ORs VALID|MASKED back', () => {
    const m = negotiatedMachine();
    const tb = new TraceBuffer();
    m.setTrace(tb);
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1000n, 1n, 6n, 0x11n]);
    assert.deepEqual(eas(m, 0x1000), [0x8000_000e, 0x0000_0011]);
    tb.clear();
    m.freeIrq(0x1000);
    assert.deepEqual(tb.events, [{ name: 'spapr_xive_free_irq', lisn: 0x1000 }]);
    assert.deepEqual(eas(m, 0x1000), [0x0000_000e, 0x0000_0011]);
    expectError(m, H.H_INT_GET_SOURCE_INFO, [0n, 0x1000n], H.H_P2);
    expectError(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1000n, 1n, 6n, 0x11n], H.H_P2);
    // freeing twice is harmless
    m.freeIrq(0x1000);
    assert.deepEqual(eas(m, 0x1000), [0x0000_000e, 0x0000_0011]);
    assert.equal(m.claimIrq(0x1000, false), true);
    assert.deepEqual(eas(m, 0x1000), [0x8000_000e, 0x8000_0011]);
    // a masked source stays masked across free
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [3n, 0x1001n, 0n, 5n, 0x22n]);
    m.freeIrq(0x1001);
    assert.deepEqual(eas(m, 0x1001), [0x0000_0005, 0x8000_0022]);
  });

  test('the LSI bit survives free, re-claim as MSI and machine reset', () => {
    const m = negotiatedMachine();
    m.freeIrq(0x1200);
    assert.equal(m.xive!.source.isLsi(0x1200), true);
    m.reset();
    assert.equal(m.xive!.source.isLsi(0x1200), true);
    assert.deepEqual(eas(m, 0x1200), [0, 0], 'a free EAS is cleared by reset');
    assert.equal(m.claimIrq(0x1200, false), true);
    assert.equal(m.xive!.source.isLsi(0x1200), true);
    m.cas(0x40);
    assert.deepEqual(expectOk(m, H.H_INT_GET_SOURCE_INFO, [0n, 0x1200n]).slice(0, 4), [0xcn, M64, M64, 0x10n]);
  });

  test('device IRQs must be in 0x1000..0x1FFF', () => {
    const m = freshMachine();
    for (const irq of [0, 1, 0xfff, 0x2000, 0x3000, -1, 4096.5, Number.NaN]) {
      assert.throws(() => m.claimIrq(irq, false), XiveUsageError, `claim ${irq}`);
      assert.throws(() => m.freeIrq(irq), XiveUsageError, `free ${irq}`);
    }
    assert.deepEqual(eas(m, 0), CLAIMED_EAS, 'IPI untouched');
    assert.equal(m.claimIrq(0x1fff, true), true);
    m.freeIrq(0x1fff);
  });
});

// ---------------------------------------------------------------------------------------------
describe('machine reset (§1.5)', () => {
  test('sources OFF, claimed EAS masked without routing, free EAS zero, ENDs reset, contexts reset, ov5 empty', () => {
    const lines = new LineState();
    const m = negotiatedMachine({ lines });
    // Build some state: queues, routes, a freed-but-routed LISN, an asserted LSI, pending IPIs.
    expectOk(m, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x4a90000n, 16n]);
    expectOk(m, H.H_INT_SET_QUEUE_CONFIG, [1n, 1n, 6n, 0x4530000n, 16n]);
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 0n, 0n, 6n, 0x10n]);
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1200n, 1n, 6n, 0x20n]);
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1100n, 1n, 6n, 0x12n]);
    m.freeIrq(0x1100);
    m.mmioWrite(0, TIMA_OS + 0x11, 1, 0xff);
    esbLoad(m, 0, 0xc00);
    trigger(m, 0);
    assert.equal(lines.level(0, LINE_INT), true, 'IPI presented to vCPU 0');
    assert.equal(m.xive!.tctxById[0]!.regs[OS]!, 0x80);
    expectOk(m, H.H_INT_ESB, [0n, 0x1200n, 0xc00n, 0n]);
    m.setIrq(0x1200, true);
    assert.equal(m.xive!.source.status[0x1200], 0x06, 'LSI asserted and pending');

    m.reset();
    const x = m.xive!;
    for (let l = 0; l < 0x2000; l++) assert.equal(x.source.status[l], 0x01, `status ${l.toString(16)}`);
    for (const l of [0, 1, 0x1000, 0x1001, 0x1101, 0x1200, 0x1201, 0x1202, 0x1203]) assert.deepEqual(eas(m, l), CLAIMED_EAS);
    assert.deepEqual(eas(m, 0x1100), [0, 0]);
    assert.deepEqual(claimedLisns(m), [0, 1, 0x1000, 0x1001, 0x1101, 0x1200, 0x1201, 0x1202, 0x1203]);
    for (let e = 0; e < x.nrEnds; e++) assert.deepEqual(endWords(m, e), RESET_END);
    for (const v of [0, 1]) assert.deepEqual(osRing(m, v), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0x80, 0, 0x04, v, 0, 0, 0, 0]);
    assert.equal(lines.level(0, LINE_INT), false, 'output line lowered');
    assert.equal(m.ov5Cas.every((b) => b === 0), true);
    assert.equal(m.activeController(), 'xive');
    assert.equal(x.mmioEnabled, true);
    expectError(m, H.H_INT_GET_SOURCE_CONFIG, [0n, 0n], H.H_FUNCTION);
    // RAM is not the controller's: the queue entry written before the reset stays
    assert.equal(m.memory.read32(0x4a90000), 0x8000_0010);
  });
});

// ---------------------------------------------------------------------------------------------
describe('CPU hotplug', () => {
  test('plugging vCPU 3 (smp 2, maxCpus 4) creates its context and makes it a valid target', () => {
    const lines = new LineState();
    const m = negotiatedMachine({ smp: 2, maxCpus: 4, lines });
    // IPIs of all possible vCPUs are claimed from the start
    assert.deepEqual(claimedLisns(m).slice(0, 5), [0, 1, 2, 3, 0x1000]);
    for (const l of [0n, 1n, 2n, 3n]) expectOk(m, H.H_INT_GET_SOURCE_INFO, [0n, l]);
    expectError(m, H.H_INT_GET_SOURCE_INFO, [0n, 4n], H.H_P2);
    // before the plug: vCPU 3 is no target
    expectError(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 3n, 3n, 6n, 0x10n], H.H_P3);
    expectError(m, H.H_INT_GET_QUEUE_INFO, [0n, 3n, 6n], H.H_P2);
    expectError(m, H.H_INT_SET_QUEUE_CONFIG, [1n, 3n, 6n, 0x100000n, 16n], H.H_P2);
    expectError(m, H.H_INT_GET_QUEUE_CONFIG, [1n, 3n, 6n], H.H_P2);
    assert.equal(m.xive!.tctxById[3], undefined);
    assert.throws(() => m.hcall(3, H.H_INT_GET_SOURCE_INFO, [0n, 0n]), XiveUsageError, 'no such vCPU to make the call');

    m.plugCpu(3);
    assert.deepEqual(m.vcpus, [0, 1, 3]);
    assert.equal(m.xive!.tctxById[3]!.word2(OS), 0x8000_0403);
    assert.deepEqual(osRing(m, 3), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0x80, 0, 0x04, 0x03, 0, 0, 0, 0]);
    assert.equal(m.mmioRead(3, TIMA_HV + 0x18, 4), 0x8000_0403);
    assert.equal(m.ov5Cas[23], 0x40, 'hotplug does not touch the negotiation');

    assert.deepEqual(expectOk(m, H.H_INT_GET_QUEUE_INFO, [0n, 3n, 6n]).slice(0, 2), [0x0006_0100_4000_0000n + 30n * 0x20000n, 0n]);
    expectOk(m, H.H_INT_SET_QUEUE_CONFIG, [1n, 3n, 6n, 0x100000n, 16n]);
    assert.deepEqual(endWords(m, 30), [0xe004_0000, 0x0040_0000, 0, 0x10_0000, 0, 0, 0x403, 0x0006_0000]);
    expectOk(m, H.H_INT_SET_SOURCE_CONFIG, [2n, 3n, 3n, 6n, 0x10n]);
    assert.deepEqual(expectOk(m, H.H_INT_GET_SOURCE_CONFIG, [0n, 3n]).slice(0, 3), [3n, 6n, 0x10n]);
    assert.deepEqual(expectOk(m, H.H_INT_GET_QUEUE_CONFIG, [1n, 3n, 6n]).slice(0, 4), [0x4000_0000_0000_0001n, 0x100000n, 16n, 0n]);
    // vCPU 2 is still absent
    expectError(m, H.H_INT_GET_QUEUE_INFO, [0n, 2n, 6n], H.H_P2);

    // The new vCPU takes an IPI end to end: CPPR 0xFF, unmask, trigger, ACK.
    m.mmioWrite(3, TIMA_OS + 0x11, 1, 0xff);
    assert.equal(m.mmioRead64(3, mgmtPage(3) + 0xc00), 1n);
    m.mmioWrite(0, triggerPage(3), 8, 0, 0);
    assert.equal(m.memory.read32(0x100000), 0x8000_0010);
    assert.equal(lines.level(3, LINE_INT), true);
    assert.equal(m.mmioRead(3, TIMA_OS + 0x810, 2), 0x8006);
    assert.equal(lines.level(3, LINE_INT), false);
    // hcalls made by the new vCPU work too
    expectOk(m, H.H_INT_GET_SOURCE_INFO, [0n, 3n], 3);
  });

  test('plugging outside max CPUs or twice is refused', () => {
    const m = freshMachine({ smp: 2, maxCpus: 4 });
    assert.throws(() => m.plugCpu(4), XiveUsageError);
    assert.throws(() => m.plugCpu(1), XiveUsageError);
    assert.throws(() => m.plugCpu(-1), XiveUsageError);
    m.plugCpu(2);
    assert.throws(() => m.plugCpu(2), XiveUsageError);
    assert.equal(m.xive!.tctxById[2]!.word2(OS), 0x8000_0402);
  });

  test('a reset after hotplug keeps the plugged vCPU and re-pushes its CAM line', () => {
    const m = negotiatedMachine({ smp: 1, maxCpus: 2 });
    m.plugCpu(1);
    m.mmioWrite(1, TIMA_OS + 0x11, 1, 0xff);
    assert.equal(m.xive!.tctxById[1]!.regs[OS + 1], 0xff);
    m.reset();
    assert.deepEqual(osRing(m, 1), [0, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0x80, 0, 0x04, 0x01, 0, 0, 0, 0]);
    m.cas(0x40);
    expectOk(m, H.H_INT_GET_QUEUE_INFO, [0n, 1n, 6n]);
  });
});
