/**
 * `info pic` formatting rules (QEMU 7.2, docs/spapr-xive.md §5), on states the reference captures do
 * not show: large queue indexes, the queue window wrapping around, asserted LSIs, P/Q flags,
 * an unconfigured END, a failing queue read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import * as H from '../../src/spapr/hcall.ts';
import type { GuestMemory } from '../../src/ports/memory.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { negotiatedMachine } from '../support/machine.ts';
import { ESB_BASE } from '../support/mmio.ts';

function machine(memory?: GuestMemory): SpaprMachine {
  return negotiatedMachine({ smp: 1, memory });
}

function lineOf(m: SpaprMachine, lisn: number): string {
  const l = infoPic(m)
    .split('\n')
    .find((s) => s.startsWith(`  ${lisn.toString(16).padStart(8, '0')} `));
  assert.ok(l !== undefined, `no line for LISN ${lisn}`);
  return l;
}

test('reset state of a vCPU and the masked LISN lines', () => {
  const m = machine();
  const pic = infoPic(m).split('\n');
  assert.deepEqual(pic.slice(0, 5), [
    'CPU[0000]:   QW   NSR CPPR IPB LSMFB ACK# INC AGE PIPR  W2',
    'CPU[0000]: USER    00   00  00    00   00  00  00   00  00000000',
    'CPU[0000]:   OS    00   00  00    ff   ff  00  ff   ff  80000400',
    'CPU[0000]: POOL    00   00  00    00   00  00  00   00  00000000',
    'CPU[0000]: PHYS    00   00  00    00   00  00  00   ff  00000000',
  ]);
  assert.equal(pic[5], '  LISN         PQ    EISN     CPU/PRIO EQ');
  assert.equal(pic[6], '  00000000 MSI -Q  M 00000000 ');
  assert.equal(lineOf(m, 0x1200), '  00001200 LSI -Q  M 00000000 ');
  assert.equal(pic[pic.length - 2], 'irqchip: emulated');
});

test('window wraps around the queue end; index and size columns', () => {
  const m = machine();
  // 4 KiB queue = 1024 entries for vCPU 0 priority 6; LISN 0x1000 routed there with EISN 0x55.
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x100000n, 12n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1000n, 0n, 6n, 0x55n]).ret, H.H_SUCCESS);
  m.mmioRead(0, ESB_BASE + 0x1000 * 0x20000 + 0x10000 + 0xc00, 8); // PQ 00
  for (let i = 0; i < 1026; i++) {
    m.pulseMsi(0x1000);
    m.mmioRead(0, ESB_BASE + 0x1000 * 0x20000 + 0x10000 + 0xc00, 8); // EOI through SET_PQ_00
  }
  // index 2, generation toggled to 0: entries 1021..1023 from the first pass (gen 1), 0..1 second pass (gen 0)
  assert.equal(
    lineOf(m, 0x1000),
    '  00001000 MSI --    00000055   0/6      2/ 1024 @100000 ^0 [ 80000055 80000055 80000055 00000055 00000055 ^80000055 ]',
  );
});

test('queue index above 99999 takes 7 columns; 524288-entry queue', () => {
  const m = machine();
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 3n, 0x200000n, 21n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 0n, 0n, 3n, 0x10n]).ret, H.H_SUCCESS);
  const end = 0 * 8 + 3;
  const r = m.xive!.router;
  r.setEndWord(end, 1, (r.endWord(end, 1) & ~0x3fffff) | 123456);
  assert.match(lineOf(m, 0), /^ {2}00000000 MSI -Q {4}00000010 {3}0\/3  123456\/524288 @200000 \^1 \[ /);
});

test('P, Q and A flags; asserted LSI', () => {
  const m = machine();
  m.claimIrq(0x1300, true);
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x100000n, 12n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1300n, 0n, 6n, 0x20n]).ret, H.H_SUCCESS);
  m.hcall(0, H.H_INT_ESB, [0n, 0x1300n, 0xc00n, 0n]); // PQ 00
  m.setIrq(0x1300, true);
  assert.match(lineOf(m, 0x1300), /^ {2}00001300 LSI P-A {3}00000020 /);
  m.mmioRead(0, ESB_BASE + 0x1300 * 0x20000 + 0x10000 + 0xf00, 8); // PQ 11
  assert.match(lineOf(m, 0x1300), /^ {2}00001300 LSI PQA {3}00000020 /);
});

test('an unmasked LISN whose END is not valid prints only up to the EISN', () => {
  const m = machine();
  m.xive!.router.setEas(0x1000, 0x8000_0000 | 5, 0x42);
  assert.equal(lineOf(m, 0x1000), '  00001000 MSI -Q    00000042 ');
});

test('an END whose NVT index is 0 prints target -1024', () => {
  const m = machine();
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x100000n, 12n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1000n, 0n, 6n, 0x1n]).ret, H.H_SUCCESS);
  m.xive!.router.setEndWord(6, 6, 0);
  assert.match(lineOf(m, 0x1000), /^ {2}00001000 MSI -Q {4}00000001 -1024\/6 /);
});

test('the window stops at an entry that cannot be read', () => {
  const ram = new SparseGuestMemory(1 << 30);
  let failFrom = Infinity;
  const mem: GuestMemory = {
    isRam: (a, l) => ram.isRam(a, l),
    read32: (a) => (a >= failFrom ? -1 : ram.read32(a)),
    write32: (a, v) => ram.write32(a, v),
  };
  const m = machine(mem);
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x100000n, 12n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 0x1000n, 0n, 6n, 0x1n]).ret, H.H_SUCCESS);
  failFrom = 0x100000 + 4 * 1021; // window is 1019..1023, 0: third entry fails
  assert.equal(lineOf(m, 0x1000), '  00001000 MSI -Q    00000001   0/6      0/ 1024 @100000 ^1 [ 00000000 00000000 ');
});
