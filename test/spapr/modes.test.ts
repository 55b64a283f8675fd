/**
 * ic-mode xics | xive | dual (docs/spapr-xive.md §4.3, docs/xics.md §4 and §8.3): which backends exist,
 * which is active before and after CAS, how hcalls and RTAS calls are gated, claims going to both
 * backends, CAS refusals, and `info pic` showing the active controller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import * as H from '../../src/spapr/hcall.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { TIMA_OS, triggerPage } from '../support/mmio.ts';

test('xics: no XIVE at all; XIVE hcalls are unknown; XICS works from the start', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'xics' });
  assert.equal(m.xive, null);
  assert.equal(m.activeController(), 'xics');
  assert.equal(m.hcall(0, H.H_INT_GET_SOURCE_INFO, [0n, 0x1000n]).ret, H.H_FUNCTION);
  assert.equal(m.hcall(0, H.H_CPPR, [0xffn]).ret, H.H_SUCCESS);
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1000, 1, 5], 1), [0]);
  assert.deepEqual(m.rtas(0, 'ibm,get-xive', [0x1000], 3), [0, 1, 5]);
  assert.match(infoPic(m), /^CPU 0 XIRR=ff000000 \(\(nil\)\) PP=ff MFRR=ff\nCPU 1 XIRR=00000000 \(\(nil\)\) PP=ff MFRR=ff\nICS 1000\.\.1fff /);
  // A guest asking for XIVE on a XICS-only machine stops the VM (QEMU exits).
  const out = m.cas(0x40);
  assert.equal(out.ok, false);
  assert.match(m.halted!, /unavailable interrupt mode \(XIVE\)/);
});

test('xive: no XICS; XICS hcalls and RTAS calls are unknown; a XICS guest is refused at CAS', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'xive' });
  assert.equal(m.xics, null);
  assert.equal(m.activeController(), 'xive');
  assert.equal(m.hcall(0, H.H_CPPR, [0xffn]).ret, H.H_FUNCTION);
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1000, 0, 5], 1), [-3]);
  assert.equal(m.cas(0x00).ok, false);
  assert.match(m.halted!, /unavailable interrupt mode \(XICS\)/);
});

test('dual: XICS until CAS; a XIVE guest switches to XIVE and XICS calls then fail with H_HARDWARE', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'dual' });
  assert.equal(m.activeController(), 'xics');
  assert.equal(m.hcall(0, H.H_INT_GET_SOURCE_INFO, [0n, 0x1000n]).ret, H.H_FUNCTION); // not negotiated
  assert.equal(m.hcall(0, H.H_CPPR, [0xffn]).ret, H.H_SUCCESS);
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1000, 1, 5], 1), [0]);
  assert.deepEqual(m.cas(0x40), { ok: true, xive: true });
  assert.equal(m.activeController(), 'xive');
  assert.equal(m.hcall(0, H.H_CPPR, [0xffn]).ret, H.H_HARDWARE);
  assert.deepEqual(m.rtas(0, 'ibm,get-xive', [0x1000], 3), [-1]);
  assert.equal(m.hcall(0, H.H_INT_GET_SOURCE_INFO, [0n, 0x1000n]).ret, H.H_SUCCESS);
  assert.match(infoPic(m), /^CPU\[0000\]: {3}QW/);
  // The XICS side kept nothing from before the switch.
  assert.equal(m.xics!.ics.priority[0], 0xff);
  assert.equal(m.xics!.icpOfCpu(0)!.cppr, 0);
  // A machine reset forgets the negotiation: XICS again.
  m.reset();
  assert.equal(m.activeController(), 'xics');
  assert.equal(m.hcall(0, H.H_INT_GET_SOURCE_INFO, [0n, 0x1000n]).ret, H.H_FUNCTION);
});

test('dual: a XICS guest keeps XICS; XIVE MMIO stays unmapped', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'dual' });
  assert.deepEqual(m.cas(0x00), { ok: true, xive: false });
  assert.equal(m.activeController(), 'xics');
  m.mmioWrite(0, triggerPage(0), 8, 0, 0); // IPI trigger page of LISN 0: unassigned now
  assert.equal(m.xive!.source.getPq(0), 1);
  assert.equal(m.mmioRead(0, TIMA_OS + 0x810, 2), 0);
  assert.equal(m.hcall(0, H.H_INT_RESET, [0n]).ret, H.H_FUNCTION);
});

test('dual: every claim reaches both backends; a guest byte 0x80 is refused', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'dual', devices: 'none' });
  assert.equal(m.claimIrq(0x1300, false), true);
  assert.equal(m.claimIrq(0x1200, true), true);
  assert.equal(m.xics!.ics.isClaimed(0x300), true);
  assert.equal(m.xics!.ics.isLsi(0x200), true);
  assert.equal(m.xive!.router.easValid(0x1300), true);
  assert.equal(m.xive!.source.isLsi(0x1200), true);
  assert.equal(m.claimIrq(0x1300, false), false);
  assert.equal(m.cas(0x80).ok, false);
  assert.equal(m.halted, 'guest requested an invalid interrupt mode');
});

test('device interrupts go to the active controller only', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'dual' });
  m.hcall(0, H.H_CPPR, [0xffn]);
  m.rtas(0, 'ibm,set-xive', [0x1000, 0, 5], 1);
  m.pulseMsi(0x1000);
  assert.equal(m.xics!.icpOfCpu(0)!.xisr, 0x1000);
  assert.equal(m.lineLevel(0, 0), true);
  assert.equal(m.xive!.source.getPq(0x1000), 1); // XIVE untouched
});
