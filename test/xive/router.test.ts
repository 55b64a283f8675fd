/**
 * XIVE router (docs/xive.md §2.1, §2.2, §3): EAS decoding and the event arrival checks, END trigger step
 * by step (invalid END, enqueue with the generation bit, masked END, ESn coalescing, NVT checks,
 * presenter call, backlog, escalation with ESe coalescing), EQ wrap and failed writes, and a
 * property with a Linux-style queue consumer. END words are built by hand from regs.ts masks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as R from '../../src/xive/regs.ts';
import { NVT_INVALID, NVT_MISSING, NVT_VALID, XiveRouter, type NvtStore, type Presenter } from '../../src/xive/router.ts';
import { XiveSource } from '../../src/xive/source.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { eventNames, eventsNamed, guestErrors } from '../support/trace.ts';

interface PresCall {
  format: number;
  nvtBlk: number;
  nvtIdx: number;
  camIgnore: boolean;
  priority: number;
  logicServ: number;
}

interface Fixture {
  router: XiveRouter;
  memory: SparseGuestMemory;
  trace: TraceBuffer;
  calls: PresCall[];
  backlogs: [number, number, number][];
  nvt: Map<number, number>;
  answer: { found: boolean };
}

function setup(blockId = 0, nrIrqs = 64, nrEnds = 16): Fixture {
  const memory = new SparseGuestMemory(2 ** 36);
  const trace = new TraceBuffer();
  const calls: PresCall[] = [];
  const backlogs: [number, number, number][] = [];
  const nvt = new Map<number, number>();
  const answer = { found: true };
  const nvts: NvtStore = {
    lookup: (_blk, idx) => nvt.get(idx) ?? NVT_VALID,
    backlog: (blk, idx, ipb) => {
      backlogs.push([blk, idx, ipb]);
    },
  };
  const presenter: Presenter = {
    match: (format, nvtBlk, nvtIdx, camIgnore, priority, logicServ) => {
      calls.push({ format, nvtBlk, nvtIdx, camIgnore, priority, logicServ });
      trace.emit({ name: 'xive_presenter_notify', nvtBlk, nvtIdx, ring: 0x10 });
      return answer.found;
    },
  };
  const router = new XiveRouter(blockId, nrIrqs, nrEnds, memory, nvts, presenter);
  router.tracer.sink = trace;
  return { router, memory, trace, calls, backlogs, nvt, answer };
}

interface EndCfg {
  w0?: number;
  qsize?: number;
  esn?: number;
  ese?: number;
  gen?: number;
  index?: number;
  qaddr?: number;
  escBlk?: number;
  escIdx?: number;
  escData?: number;
  w5?: number;
  format?: number;
  nvtBlk?: number;
  nvtIdx?: number;
  prio?: number;
  w7?: number;
}

const QBASE = 0x1_2340_0000; // above 4 GiB: exercises OP_DESC_HI
const qaddrOf = (endIdx: number): number => QBASE + endIdx * 0x10_0000;

/** Writes the 8 END words of `idx` from the named fields. */
function writeEnd(router: XiveRouter, idx: number, c: EndCfg): void {
  const qaddr = c.qaddr ?? qaddrOf(idx);
  const w0 = (c.w0 ?? R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY) | ((c.qsize ?? 0) << R.END_W0_QSIZE_SHIFT);
  const w1 = ((c.esn ?? 0) << R.END_W1_ESN_SHIFT) | ((c.ese ?? 0) << R.END_W1_ESE_SHIFT) | ((c.gen ?? 1) !== 0 ? R.END_W1_GENERATION : 0) | (c.index ?? 0);
  const w2 = Math.floor(qaddr / 2 ** 32) & R.END_W2_OP_DESC_HI;
  const w3 = qaddr % 2 ** 32;
  const w4 = ((c.escBlk ?? 0) << R.END_W4_ESC_END_BLOCK_SHIFT) | (c.escIdx ?? 0);
  const w5 = c.w5 ?? c.escData ?? 0;
  const w6 = ((c.format ?? 0) !== 0 ? R.END_W6_FORMAT_BIT : 0) | ((c.nvtBlk ?? 0) << R.END_W6_NVT_BLOCK_SHIFT) | (c.nvtIdx ?? 0x400);
  const w7 = c.w7 ?? (c.prio ?? 5) << R.END_W7_F0_PRIORITY_SHIFT;
  [w0, w1, w2, w3, w4, w5, w6, w7].forEach((w, i) => router.setEndWord(idx, i, w >>> 0));
}

const esn = (r: XiveRouter, idx: number): number => (r.endWord(idx, 1) >>> R.END_W1_ESN_SHIFT) & 3;
const ese = (r: XiveRouter, idx: number): number => (r.endWord(idx, 1) >>> R.END_W1_ESE_SHIFT) & 3;
const pageOff = (r: XiveRouter, idx: number): number => r.endWord(idx, 1) & R.END_W1_PAGE_OFF;
const genBit = (r: XiveRouter, idx: number): number => ((r.endWord(idx, 1) & R.END_W1_GENERATION) !== 0 ? 1 : 0);
const eqEntry = (f: Fixture, endIdx: number, slot: number): number => f.memory.read32(qaddrOf(endIdx) + 4 * slot);

/** A valid, unmasked EAS for `lisn` routed to (blk, idx) with `data`. */
function route(r: XiveRouter, lisn: number, endIdx: number, data: number, endBlk = 0): void {
  r.setEas(lisn, R.EAS_HI_VALID | (endBlk << R.EAS_HI_END_BLOCK_SHIFT) | endIdx, data);
}

// ---- §3.1 event arrival --------------------------------------------------------------------

test('LISN beyond the EAT: "XIVE: Unknown LISN %x"', () => {
  const f = setup();
  f.router.notify(0x40, true);
  f.router.notify(0x1234, true);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: Unknown LISN 40', 'XIVE: Unknown LISN 1234']);
  assert.equal(f.calls.length, 0);
});

test('EAS not VALID: "XIVE: invalid LISN %x", nothing else', () => {
  const f = setup();
  writeEnd(f.router, 0, {});
  f.router.setEas(0x2a, 0x0000_0000, 0x1234); // routed to END 0 but not VALID
  f.router.notify(0x2a, true);
  assert.deepEqual(f.trace.events, [{ name: 'guest_error', message: 'XIVE: invalid LISN 2a' }]);
  assert.equal(pageOff(f.router, 0), 0);
});

test('EAS MASKED: dropped silently', () => {
  const f = setup();
  writeEnd(f.router, 0, {});
  f.router.setEas(3, R.EAS_HI_VALID, R.EAS_LO_MASKED | 0x10);
  f.router.notify(3, true);
  assert.deepEqual(f.trace.events, []);
  assert.equal(pageOff(f.router, 0), 0);
  assert.equal(f.calls.length, 0);
  // the sPAPR "claimed, never configured" value VALID|MASKED
  f.router.setEas(4, 0x8000_0000, 0x8000_0000);
  assert.equal(f.router.easValid(4), true);
  assert.equal(f.router.easMasked(4), true);
  f.router.notify(4, true);
  assert.deepEqual(f.trace.events, []);
});

test('EAS decoding: END block/index/data fields and LISN block/index (block 3 router)', () => {
  const f = setup(3);
  // END 0xB of block 3 is invalid: its trace shows what the router decoded.
  f.router.setEas(5, R.EAS_HI_VALID | (3 << 24) | 0x0b, 0x7654_3210);
  f.router.notify(0x3000_0005, true);
  assert.deepEqual(eventsNamed(f.trace, 'xive_router_end_notify'), [{ name: 'xive_router_end_notify', endBlk: 3, endIdx: 0x0b, endData: 0x7654_3210 }]);
  assert.equal(f.router.easEndBlock(5), 3);
  assert.equal(f.router.easEndIndex(5), 0x0b);
  assert.equal(f.router.easData(5), 0x7654_3210);
  // stored big-endian, 8 bytes per LISN
  assert.equal(f.router.eas.getUint8(5 * 8), 0x83);
  assert.equal(f.router.eas.getUint8(5 * 8 + 3), 0x0b);
  assert.equal(f.router.eas.getUint8(5 * 8 + 7), 0x10);
});

test('EAS END_DATA is 31 bits; MASKED bit is not data', () => {
  const f = setup();
  writeEnd(f.router, 1, {});
  route(f.router, 7, 1, 0x7fff_ffff);
  f.router.notify(7, true);
  assert.equal(eqEntry(f, 1, 0), 0xffff_ffff);
  assert.equal(f.router.easData(7), 0x7fff_ffff);
  f.router.setEas(8, R.EAS_HI_VALID | 1, R.EAS_LO_MASKED | 0x55);
  assert.equal(f.router.easData(8), 0x55);
});

// ---- §3.2 END trigger ----------------------------------------------------------------------

test('END index beyond the ENDT: "XIVE: No END %x/%x"', () => {
  const f = setup();
  route(f.router, 1, 0x10, 0x10);
  f.router.notify(1, true);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: No END 0/10']);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_notify').length, 0);
});

test('invalid END: xive_router_end_notify trace, then "XIVE: END %x/%x is invalid"', () => {
  const f = setup();
  writeEnd(f.router, 0xc, { w0: R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY });
  route(f.router, 9, 0xc, 0x1d);
  f.router.notify(9, true);
  assert.deepEqual(f.trace.events, [
    { name: 'xive_router_end_notify', endBlk: 0, endIdx: 0xc, endData: 0x1d },
    { name: 'guest_error', message: 'XIVE: END 0/c is invalid' },
  ]);
  assert.equal(pageOff(f.router, 0xc), 0, 'nothing enqueued');
  assert.equal(f.calls.length, 0);
});

test('xive_router_end_notify fires only for an invalid END', () => {
  const f = setup();
  writeEnd(f.router, 2, {});
  route(f.router, 1, 2, 0x10);
  f.router.notify(1, true);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_notify').length, 0);
});

test('enqueue: BE entry (gen << 31) | data at base + 4*index, index advances, END written back', () => {
  const f = setup();
  writeEnd(f.router, 3, { index: 5 });
  route(f.router, 1, 3, 0x10);
  f.router.notify(1, true);
  const addr = qaddrOf(3) + 4 * 5;
  assert.equal(f.memory.read32(addr), 0x8000_0010);
  assert.deepEqual([0, 1, 2, 3].map((i) => f.memory.read8(addr + i)), [0x80, 0x00, 0x00, 0x10]);
  assert.equal(f.memory.read32(addr - 4), 0, 'neighbour untouched');
  assert.equal(f.memory.read32(addr + 4), 0, 'neighbour untouched');
  assert.equal(pageOff(f.router, 3), 6);
  assert.equal(genBit(f.router, 3), 1);
  route(f.router, 2, 3, 0x1234_5678);
  f.router.notify(2, true);
  assert.equal(f.memory.read32(addr + 4), 0x9234_5678);
  assert.equal(pageOff(f.router, 3), 7);
  assert.equal(f.calls.length, 2);
});

test('enqueue with generation 0 writes bit 31 clear; other w1 bits are preserved', () => {
  const f = setup();
  writeEnd(f.router, 3, { gen: 0, esn: 0b11, ese: 0b01, index: 0x3ff - 1 });
  f.router.endTrigger(0, 3, 0x42);
  assert.equal(eqEntry(f, 3, 0x3fe), 0x0000_0042);
  assert.equal(esn(f.router, 3), 0b11);
  assert.equal(ese(f.router, 3), 0b01);
  assert.equal(pageOff(f.router, 3), 0x3ff);
  assert.equal(genBit(f.router, 3), 0);
});

test('data passed to the END trigger is truncated to 31 bits in the entry', () => {
  const f = setup();
  writeEnd(f.router, 0, { gen: 0 });
  f.router.endTrigger(0, 0, 0xffff_ffff);
  assert.equal(eqEntry(f, 0, 0), 0x7fff_ffff);
});

test('EQ wrap (QSIZE 0 = 4K = 1024 entries): index returns to 0 and the generation toggles', () => {
  const f = setup();
  writeEnd(f.router, 4, { qsize: 0, index: 1023, gen: 1 });
  assert.equal(f.router.endQueueEntries(4), 1024);
  f.router.endTrigger(0, 4, 0x11);
  assert.equal(eqEntry(f, 4, 1023), 0x8000_0011);
  assert.equal(pageOff(f.router, 4), 0);
  assert.equal(genBit(f.router, 4), 0);
  f.router.endTrigger(0, 4, 0x12);
  assert.equal(eqEntry(f, 4, 0), 0x0000_0012);
  assert.equal(pageOff(f.router, 4), 1);
  assert.equal(f.memory.read32(qaddrOf(4) + 4096), 0, 'never writes past the 4K queue');
  // and back to generation 1 after another wrap
  writeEnd(f.router, 4, { qsize: 0, index: 1023, gen: 0 });
  f.router.endTrigger(0, 4, 0x13);
  assert.equal(eqEntry(f, 4, 1023), 0x0000_0013);
  assert.equal(genBit(f.router, 4), 1);
  assert.equal(pageOff(f.router, 4), 0);
});

test('EQ sizes: QSIZE n gives 2^(n+10) entries; QSIZE 4 (64K) wraps after 16384', () => {
  const f = setup();
  for (let q = 0; q <= 9; q++) {
    writeEnd(f.router, 5, { qsize: q });
    assert.equal(f.router.endQueueEntries(5), 2 ** (q + 10));
  }
  writeEnd(f.router, 5, { qsize: 4, index: 16383, gen: 1 });
  f.router.endTrigger(0, 5, 0x7);
  assert.equal(eqEntry(f, 5, 16383), 0x8000_0007);
  assert.equal(pageOff(f.router, 5), 0);
  assert.equal(genBit(f.router, 5), 0);
  writeEnd(f.router, 5, { qsize: 4, index: 1023, gen: 1 });
  f.router.endTrigger(0, 5, 0x8);
  assert.equal(pageOff(f.router, 5), 1024, 'no wrap at 1024 for a 64K queue');
  assert.equal(genBit(f.router, 5), 1);
});

test('EQ address = ((w2 & 0x0FFFFFFF) << 32) | w3; MIGRATION_REG bits are ignored', () => {
  const f = setup();
  writeEnd(f.router, 6, { qaddr: 0x3_0000_1000 });
  f.router.setEndWord(6, 2, f.router.endWord(6, 2) | R.END_W2_MIGRATION_REG);
  assert.equal(f.router.endQueueAddr(6), 0x3_0000_1000);
  f.router.endTrigger(0, 6, 0x99);
  assert.equal(f.memory.read32(0x3_0000_1000), 0x8000_0099);
});

test('failed EQ write: guest error with the address, index and generation unchanged', () => {
  const f = setup();
  const bad = 0x0fff_ffff * 2 ** 32; // far beyond RAM
  writeEnd(f.router, 7, { qaddr: bad, index: 3 });
  const w1 = f.router.endWord(7, 1);
  f.router.endTrigger(0, 7, 0x10);
  assert.deepEqual(guestErrors(f.trace), [`XIVE: failed to write END data @0x${(bad + 12).toString(16)}`]);
  assert.equal(f.router.endWord(7, 1), w1);
  // last entry of a queue ending exactly at the end of RAM: that one works, the wrap is clean
  const g = setup();
  writeEnd(g.router, 1, { qaddr: 2 ** 36 - 4096, index: 1023 });
  g.router.endTrigger(0, 1, 0x5);
  assert.equal(g.memory.read32(2 ** 36 - 4), 0x8000_0005);
  assert.deepEqual(guestErrors(g.trace), []);
});

test('ENQUEUE clear: nothing written, notification still happens', () => {
  const f = setup();
  writeEnd(f.router, 2, { w0: R.END_W0_VALID | R.END_W0_UCOND_NOTIFY });
  f.router.endTrigger(0, 2, 0x10);
  assert.equal(eqEntry(f, 2, 0), 0);
  assert.equal(pageOff(f.router, 2), 0);
  assert.equal(f.calls.length, 1);
});

test('END priority 0xFF (format 0) = masked: data enqueued, no notification, ESn untouched', () => {
  const f = setup();
  writeEnd(f.router, 2, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, prio: 0xff, esn: 0 });
  f.router.endTrigger(0, 2, 0x21);
  f.router.endTrigger(0, 2, 0x22);
  assert.equal(eqEntry(f, 2, 0), 0x8000_0021);
  assert.equal(eqEntry(f, 2, 1), 0x8000_0022);
  assert.equal(f.calls.length, 0);
  assert.equal(esn(f.router, 2), 0);
  assert.deepEqual(f.trace.events, []);
});

test('format 1 (EBB) END: priority field 0xFF is not "masked"; presenter gets format 1 and the logical server', () => {
  const f = setup();
  writeEnd(f.router, 2, { format: 1, w7: 0x00ff_0005 });
  f.router.endTrigger(0, 2, 0x21);
  assert.equal(f.calls.length, 1);
  assert.equal(f.calls[0]!.format, 1);
  assert.equal(f.calls[0]!.logicServ, 0x00ff_0005);
  assert.equal(f.calls[0]!.priority, 0xff);
});

test('presenter call arguments: format 0, NVT block/index from w6, priority/ignore/logic_serv from w7', () => {
  const f = setup();
  writeEnd(f.router, 2, { nvtBlk: 0x5, nvtIdx: 0x7_fff0, w7: (3 << 16) | 0x1234 });
  f.router.endTrigger(0, 2, 0x21);
  assert.deepEqual(f.calls, [{ format: 0, nvtBlk: 5, nvtIdx: 0x7_fff0, camIgnore: false, priority: 3, logicServ: 0x0003_1234 }]);
  writeEnd(f.router, 3, { w7: R.END_W7_F0_IGNORE | (6 << 16) });
  f.router.endTrigger(0, 3, 0x22);
  assert.equal(f.calls[1]!.camIgnore, true);
  assert.equal(f.calls[1]!.priority, 6);
});

test('ESn coalescing without UCOND_NOTIFY: only the 00 -> 10 transition notifies; every event is enqueued', () => {
  const f = setup();
  writeEnd(f.router, 1, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, esn: 0b00 });
  for (let i = 0; i < 4; i++) f.router.endTrigger(0, 1, 0x30 + i);
  assert.equal(f.calls.length, 1);
  assert.equal(esn(f.router, 1), 0b11);
  assert.deepEqual([0, 1, 2, 3].map((i) => eqEntry(f, 1, i)), [0x8000_0030, 0x8000_0031, 0x8000_0032, 0x8000_0033]);
  assert.equal(pageOff(f.router, 1), 4);
});

test('ESn from 10 goes to 11 without notifying; from 01 (reset value) never notifies', () => {
  const f = setup();
  writeEnd(f.router, 1, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, esn: 0b10 });
  f.router.endTrigger(0, 1, 1);
  assert.equal(esn(f.router, 1), 0b11);
  writeEnd(f.router, 2, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, esn: 0b01, ese: 0b01 });
  f.router.endTrigger(0, 2, 1);
  f.router.endTrigger(0, 2, 2);
  assert.equal(esn(f.router, 2), 0b01);
  assert.equal(f.router.endWord(2, 1) & ~(R.END_W1_PAGE_OFF | R.END_W1_GENERATION), R.END_W1_RESET);
  assert.equal(f.calls.length, 0);
  assert.equal(pageOff(f.router, 2), 2);
});

test('UCOND_NOTIFY: every event notifies, ESn untouched', () => {
  const f = setup();
  writeEnd(f.router, 1, { esn: 0b00 });
  for (let i = 0; i < 3; i++) f.router.endTrigger(0, 1, i);
  assert.equal(f.calls.length, 3);
  assert.equal(esn(f.router, 1), 0b00);
});

test('NVT missing / invalid: guest errors, no presenter call', () => {
  const f = setup();
  f.nvt.set(0x401, NVT_MISSING);
  f.nvt.set(0x402, NVT_INVALID);
  writeEnd(f.router, 1, { nvtIdx: 0x401 });
  writeEnd(f.router, 2, { nvtIdx: 0x402 });
  f.router.endTrigger(0, 1, 1);
  f.router.endTrigger(0, 2, 1);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: no NVT 0/401', 'XIVE: NVT 0/402 is invalid']);
  assert.equal(f.calls.length, 0);
  assert.equal(eqEntry(f, 1, 0), 0x8000_0001, 'enqueued before the NVT check');
});

test('thread found: no backlog, no escalation', () => {
  const f = setup();
  writeEnd(f.router, 1, {
    w0: R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_BACKLOG | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE,
    escIdx: 2,
  });
  writeEnd(f.router, 2, {});
  f.router.endTrigger(0, 1, 1);
  assert.equal(f.calls.length, 1);
  assert.deepEqual(f.backlogs, []);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 0);
});

test('no thread + BACKLOG (format 0): prio_to_ipb(priority) recorded in the NVT, then escalation', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 1, {
    w0: R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_BACKLOG | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE,
    nvtBlk: 2,
    nvtIdx: 0x433,
    prio: 5,
    escIdx: 3,
    escData: 0x77,
  });
  writeEnd(f.router, 3, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, prio: 0xff });
  f.router.endTrigger(0, 1, 1);
  assert.deepEqual(f.backlogs, [[2, 0x433, 0x04]]);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 1);
  assert.equal(eqEntry(f, 3, 0), 0x8000_0077);
});

test('no thread + BACKLOG with format 1: "invalid config: F1 & backlog", no escalation', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 6, {
    w0: R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_BACKLOG | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE,
    format: 1,
    escIdx: 3,
  });
  writeEnd(f.router, 3, {});
  f.router.endTrigger(0, 6, 1);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: END 0/6 invalid config: F1 & backlog']);
  assert.deepEqual(f.backlogs, []);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 0);
  assert.equal(f.calls.length, 1);
});

test('no thread, no BACKLOG: nothing recorded; no ESCALATE_CTL: no escalation', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 1, { escIdx: 2 });
  writeEnd(f.router, 2, {});
  f.router.endTrigger(0, 1, 1);
  assert.deepEqual(f.backlogs, []);
  assert.deepEqual(eventNames(f.trace), ['xive_presenter_notify']);
  assert.equal(eqEntry(f, 2, 0), 0);
});

test('escalation with ESe coalescing: xive_router_end_escalate then the escalation END is triggered', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 2, {
    w0: R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_ESCALATE_CTL,
    ese: 0b00,
    escIdx: 9,
    w5: 0x8000_1234, // bit 0 of w5 is not data
    nvtIdx: 0x400,
  });
  writeEnd(f.router, 9, { nvtIdx: 0x401, prio: 3 });
  f.router.endTrigger(0, 2, 0x55);
  assert.deepEqual(f.trace.events, [
    { name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x400, ring: 0x10 },
    { name: 'xive_router_end_escalate', endBlk: 0, endIdx: 2, escBlk: 0, escIdx: 9, endData: 0x1234 },
    { name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x401, ring: 0x10 },
  ]);
  assert.equal(eqEntry(f, 2, 0), 0x8000_0055);
  assert.equal(eqEntry(f, 9, 0), 0x8000_1234);
  assert.equal(ese(f.router, 2), 0b10);
  assert.deepEqual(f.calls.map((c) => [c.nvtIdx, c.priority]), [
    [0x400, 5],
    [0x401, 3],
  ]);
  // second and third events: ESe 10 -> 11 -> 11, no escalation
  f.trace.clear();
  f.router.endTrigger(0, 2, 0x56);
  f.router.endTrigger(0, 2, 0x57);
  assert.equal(ese(f.router, 2), 0b11);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 0);
  assert.equal(pageOff(f.router, 9), 1);
  assert.equal(pageOff(f.router, 2), 3);
});

test('escalation: ESe 01 blocks it; UNCOND_ESCALATE bypasses ESe', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 2, { w0: R.END_W0_VALID | R.END_W0_UCOND_NOTIFY | R.END_W0_ESCALATE_CTL, ese: 0b01, escIdx: 9 });
  writeEnd(f.router, 9, { prio: 0xff });
  f.router.endTrigger(0, 2, 1);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 0);
  assert.equal(ese(f.router, 2), 0b01);
  writeEnd(f.router, 3, { w0: R.END_W0_VALID | R.END_W0_UCOND_NOTIFY | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE, ese: 0b01, escIdx: 9 });
  for (let i = 0; i < 3; i++) f.router.endTrigger(0, 3, 1);
  assert.equal(eventsNamed(f.trace, 'xive_router_end_escalate').length, 3);
  assert.equal(ese(f.router, 3), 0b01);
  assert.equal(pageOff(f.router, 9), 3);
});

test('SILENT_ESCALATE: enqueue, skip notification, go straight to escalation', () => {
  const f = setup();
  writeEnd(f.router, 2, {
    w0: R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_SILENT_ESCALATE | R.END_W0_ESCALATE_CTL,
    ese: 0,
    esn: 0,
    escIdx: 4,
    escData: 0x66,
  });
  writeEnd(f.router, 4, { w0: R.END_W0_VALID | R.END_W0_ENQUEUE, prio: 0xff });
  f.router.endTrigger(0, 2, 0x11);
  assert.equal(f.calls.length, 0);
  assert.equal(eqEntry(f, 2, 0), 0x8000_0011);
  assert.equal(eqEntry(f, 4, 0), 0x8000_0066);
  assert.equal(esn(f.router, 2), 0, 'ESn not used');
  assert.equal(ese(f.router, 2), 0b10);
  assert.deepEqual(eventNames(f.trace), ['xive_router_end_escalate']);
});

test('escalation to an invalid END: end_notify trace for the escalation END and its guest error', () => {
  const f = setup();
  f.answer.found = false;
  writeEnd(f.router, 2, { w0: R.END_W0_VALID | R.END_W0_UCOND_NOTIFY | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE, escIdx: 0xd, escData: 0x99 });
  f.router.endTrigger(0, 2, 1);
  assert.deepEqual(eventNames(f.trace), ['xive_presenter_notify', 'xive_router_end_escalate', 'xive_router_end_notify', 'guest_error']);
  assert.deepEqual(eventsNamed(f.trace, 'xive_router_end_notify')[0], { name: 'xive_router_end_notify', endBlk: 0, endIdx: 0xd, endData: 0x99 });
  assert.deepEqual(guestErrors(f.trace), ['XIVE: END 0/d is invalid']);
});

test('pq_checked=false (PQ_DISABLE source): the router runs the trigger on the source PQ first', () => {
  const f = setup();
  const src = new XiveSource(64, R.ESB_64K_2PAGE, R.SRC_FLAG_PQ_DISABLE);
  src.notifier = f.router;
  f.router.pqSource = src;
  writeEnd(f.router, 1, {});
  route(f.router, 6, 1, 0x60);
  src.setPq(6, 0);
  src.setIrq(6, true); // forwarded unconditionally by the source, coalesced by the router
  assert.equal(src.getPq(6), 0b10);
  assert.equal(eqEntry(f, 1, 0), 0x8000_0060);
  src.setIrq(6, true);
  assert.equal(src.getPq(6), 0b11);
  assert.equal(pageOff(f.router, 1), 1, 'second event coalesced');
  // the PQ check happens before the EAS validity check
  src.setPq(7, 0);
  f.router.notify(7, false);
  assert.equal(src.getPq(7), 0b10);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid LISN 7']);
});

// ---- property: Linux-style EQ consumer -------------------------------------------------------

const Q_ENTRIES = 1024;

function queueFixture(): { f: Fixture; qaddr: number } {
  const f = setup();
  f.router.tracer.sink = null;
  writeEnd(f.router, 1, { qsize: 0, gen: 1, index: 0 });
  return { f, qaddr: qaddrOf(1) };
}

/** Linux's rule: an entry is valid when bit 31 != toggle (starts 0); toggle flips on wrap. */
class Consumer {
  idx = 0;
  toggle = 0;
  constructor(
    readonly memory: SparseGuestMemory,
    readonly qaddr: number,
  ) {}
  next(): number | null {
    const e = this.memory.read32(this.qaddr + 4 * this.idx);
    if (e >>> 31 === this.toggle) return null;
    this.idx = (this.idx + 1) % Q_ENTRIES;
    if (this.idx === 0) this.toggle ^= 1;
    return e & 0x7fff_ffff;
  }
}

test('property: a consumer keeping up reads every event in order; generation toggles each wrap', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0x7fff_ffff }), { minLength: 1, maxLength: 3000 }), (data) => {
      const { f, qaddr } = queueFixture();
      const c = new Consumer(f.memory, qaddr);
      for (let k = 0; k < data.length; k++) {
        f.router.endTrigger(0, 1, data[k]!);
        assert.equal(c.next(), data[k]);
        assert.equal(c.next(), null, 'queue empty after consuming');
        const n = k + 1;
        assert.equal(pageOff(f.router, 1), n % Q_ENTRIES);
        assert.equal(genBit(f.router, 1), 1 ^ (Math.floor(n / Q_ENTRIES) & 1));
      }
      assert.equal(f.calls.length, data.length);
    }),
    { numRuns: 20 },
  );
});

test('property: without consumption, slot k mod 1024 holds the last event k with bit 31 = 1 ^ wrap parity', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 0x7fff_ffff }), (n, seed) => {
      const { f, qaddr } = queueFixture();
      const dataOf = (k: number): number => (seed + k * 0x9e37_79b1) & 0x7fff_ffff;
      for (let k = 0; k < n; k++) f.router.endTrigger(0, 1, dataOf(k));
      for (let s = 0; s < Q_ENTRIES; s++) {
        const got = f.memory.read32(qaddr + 4 * s);
        if (s >= n) {
          assert.equal(got, 0);
          continue;
        }
        const k = s + Q_ENTRIES * Math.floor((n - 1 - s) / Q_ENTRIES); // last event written to slot s
        const bit = 1 ^ (Math.floor(k / Q_ENTRIES) & 1);
        assert.equal(got, ((bit << 31) | dataOf(k)) >>> 0, `slot ${s}`);
      }
      // A consumer starting now reads exactly min(n, 1024) entries in order when nothing
      // wrapped over unread data.
      if (n <= Q_ENTRIES) {
        const c = new Consumer(f.memory, qaddr);
        for (let k = 0; k < n; k++) assert.equal(c.next(), dataOf(k));
        assert.equal(c.next(), null);
      }
    }),
    { numRuns: 25 },
  );
});
