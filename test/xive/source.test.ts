/**
 * XIVE interrupt source (docs/xive.md §1.1, §1.3–§1.6): MSI/LSI input levels, the ESB load and store
 * decoding of the management page for every offset range, trigger pages, the 4K pattern inside
 * 64K pages, the other ESB geometries, PQ_DISABLE, reset, guest errors and trace ordering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESB_ALL_ONES, XiveSource } from '../../src/xive/source.ts';
import { ESB_4K, ESB_4K_2PAGE, ESB_64K, SRC_FLAG_PQ_DISABLE, SRC_FLAG_STORE_EOI } from '../../src/xive/regs.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { MMIO_INVALID, MMIO_OK } from '../../src/spapr/spapr-xive.ts';
import { esbLoad, esbStore, makeSpapr, mgmtPage, trigPage } from './helpers.ts';
import { eventNames, eventsNamed, guestErrors } from '../support/trace.ts';

interface Fwd {
  n: number;
  checked: boolean;
}

/** A 64K_2PAGE source (the sPAPR layout) with recorded forwards; the notifier marks the trace. */
function setup(nrIrqs = 16, shift?: number, flags = 0): { src: XiveSource; fwd: Fwd[]; trace: TraceBuffer } {
  const src = shift === undefined ? new XiveSource(nrIrqs) : new XiveSource(nrIrqs, shift, flags);
  const trace = new TraceBuffer();
  const fwd: Fwd[] = [];
  src.tracer.sink = trace;
  src.notifier = {
    notify: (n, checked) => {
      fwd.push({ n, checked });
      trace.emit({ name: 'guest_error', message: `NOTIFIED ${n}` });
    },
  };
  return { src, fwd, trace };
}

const T = (n: number, off = 0): number => n * 0x20000 + off; // trigger page
const M = (n: number, off = 0): number => n * 0x20000 + 0x10000 + off; // management page

const realErrors = (trace: TraceBuffer): string[] => guestErrors(trace).filter((m) => !m.startsWith('NOTIFIED'));

// ---- §1.1 state and reset ------------------------------------------------------------------

test('reset: every status byte becomes 0x01 (PQ OFF, not asserted); the LSI bitmap is kept', () => {
  const { src } = setup(64);
  src.setLsi(3, true);
  src.setLsi(40, true);
  src.setIrq(3, true);
  src.setPq(7, 3);
  assert.equal(src.isAsserted(3), true);
  src.reset();
  for (let i = 0; i < 64; i++) assert.equal(src.status[i], 0x01, `status ${i}`);
  assert.equal(src.isLsi(3), true);
  assert.equal(src.isLsi(40), true);
  assert.equal(src.isLsi(4), false);
  assert.equal(src.isAsserted(3), false);
});

test('LSI bitmap: set and clear per source, independent bits', () => {
  const { src } = setup(70);
  src.setLsi(0, true);
  src.setLsi(31, true);
  src.setLsi(32, true);
  src.setLsi(69, true);
  assert.deepEqual(
    Array.from({ length: 70 }, (_, i) => i).filter((i) => src.isLsi(i)),
    [0, 31, 32, 69],
  );
  src.setLsi(31, false);
  assert.equal(src.isLsi(31), false);
  assert.equal(src.isLsi(32), true);
});

// ---- §1.3 input levels -------------------------------------------------------------------------

test('MSI input: level 1 runs the ESB trigger, level 0 does nothing', () => {
  const { src, fwd } = setup();
  src.setPq(2, 0);
  src.setIrq(2, true);
  assert.deepEqual(fwd, [{ n: 2, checked: true }]);
  assert.equal(src.getPq(2), 0b10);
  src.setIrq(2, false);
  assert.equal(src.getPq(2), 0b10);
  src.setIrq(2, true);
  assert.equal(src.getPq(2), 0b11);
  src.setIrq(2, true);
  assert.equal(src.getPq(2), 0b11);
  assert.equal(fwd.length, 1);
  assert.equal(src.isAsserted(2), false, 'an MSI never records ASSERTED');
  // OFF: absorbed
  src.setPq(2, 0b01);
  src.setIrq(2, true);
  assert.equal(src.getPq(2), 0b01);
  assert.equal(fwd.length, 1);
});

test('LSI input: assertion from 00 forwards and sets PQ 10; never gets Q from its input', () => {
  const { src, fwd } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0);
  src.setIrq(4, true);
  assert.equal(src.isAsserted(4), true);
  assert.equal(src.getPq(4), 0b10);
  assert.deepEqual(fwd, [{ n: 4, checked: true }]);
  src.setIrq(4, true);
  src.setIrq(4, true);
  assert.equal(src.getPq(4), 0b10, 'no Q from a repeated assertion');
  assert.equal(fwd.length, 1);
  src.setIrq(4, false);
  assert.equal(src.isAsserted(4), false);
  assert.equal(src.getPq(4), 0b10, 'lowering leaves PQ alone');
  assert.equal(fwd.length, 1);
});

test('LSI input: assertion while PQ is 01, 10 or 11 only records ASSERTED', () => {
  for (const pq of [0b01, 0b10, 0b11]) {
    const { src, fwd } = setup();
    src.setLsi(4, true);
    src.setPq(4, pq);
    src.setIrq(4, true);
    assert.equal(src.isAsserted(4), true);
    assert.equal(src.getPq(4), pq);
    assert.equal(fwd.length, 0);
  }
});

test('LSI EOI while still asserted: re-presented (PQ 10, forwarded, load returns 1)', () => {
  const { src, fwd, trace } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0);
  src.setIrq(4, true);
  fwd.length = 0;
  trace.clear();
  assert.equal(src.esbLoad(M(4, 0x000)), 1);
  assert.equal(src.getPq(4), 0b10);
  assert.equal(src.isAsserted(4), true);
  assert.deepEqual(fwd, [{ n: 4, checked: true }]);
  const reads = eventsNamed(trace, 'xive_source_esb_read');
  assert.equal(reads.length, 1);
  assert.equal(reads[0]!.value, 1n);
});

test('LSI EOI after the line dropped: plain ESB EOI (10 -> 00, no forward)', () => {
  const { src, fwd } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0);
  src.setIrq(4, true);
  src.setIrq(4, false);
  fwd.length = 0;
  assert.equal(src.esbLoad(M(4, 0x000)), 0);
  assert.equal(src.getPq(4), 0b00);
  assert.equal(fwd.length, 0);
});

test('LSI EOI from 11 while asserted: PQ 10 after the EOI, so not forwarded (result 0)', () => {
  const { src, fwd } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0b11);
  src.setIrq(4, true); // asserted, PQ stays 11
  assert.equal(src.esbLoad(M(4, 0x000)), 0);
  assert.equal(src.getPq(4), 0b10);
  assert.equal(src.isAsserted(4), true);
  assert.equal(fwd.length, 0);
});

test('LSI EOI from 11 when not asserted: forwarded like an MSI', () => {
  const { src, fwd } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0b11);
  assert.equal(src.esbLoad(M(4, 0x000)), 1);
  assert.equal(src.getPq(4), 0b10);
  assert.deepEqual(fwd, [{ n: 4, checked: true }]);
});

test('LSI EOI while OFF and asserted: stays 01, nothing forwarded', () => {
  const { src, fwd } = setup();
  src.setLsi(4, true);
  src.setPq(4, 0b01);
  src.setIrq(4, true);
  assert.equal(src.esbLoad(M(4, 0x000)), 0);
  assert.equal(src.getPq(4), 0b01);
  assert.equal(src.isAsserted(4), true);
  assert.equal(fwd.length, 0);
});

test('LSI trigger store: generic trigger (Q can be set) with the "queued an event" guest error', () => {
  const { src, fwd, trace } = setup();
  src.setLsi(5, true);
  src.setPq(5, 0);
  src.esbStore(T(5), 0);
  assert.equal(src.getPq(5), 0b10);
  assert.equal(fwd.length, 1);
  assert.deepEqual(realErrors(trace), []);
  src.esbStore(T(5), 0);
  assert.equal(src.getPq(5), 0b11);
  assert.equal(fwd.length, 1);
  assert.deepEqual(realErrors(trace), ['XIVE: queued an event on LSI IRQ 5']);
  // Same from the management page trigger offsets.
  const b = setup();
  b.src.setLsi(12, true);
  b.src.setPq(12, 0b10);
  b.src.esbStore(M(12, 0x3f8), 0);
  assert.equal(b.src.getPq(12), 0b11);
  assert.deepEqual(realErrors(b.trace), ['XIVE: queued an event on LSI IRQ 12']);
});

test('LSI trigger store while OFF: no Q, no error', () => {
  const { src, fwd, trace } = setup();
  src.setLsi(5, true);
  src.setPq(5, 0b01);
  src.esbStore(T(5), 0);
  assert.equal(src.getPq(5), 0b01);
  assert.equal(fwd.length, 0);
  assert.deepEqual(realErrors(trace), []);
});

// ---- §1.5 management page loads ------------------------------------------------------------

const EOI_OFFSETS = [0x000, 0x008, 0x1f0, 0x3f8, 0x400, 0x408, 0x600, 0x7f8];
const GET_OFFSETS = [0x800, 0x808, 0xa00, 0xbf8];
const SET_OFFSETS: [number, number][] = [
  [0xc00, 0b00],
  [0xc08, 0b00],
  [0xcf8, 0b00],
  [0xd00, 0b01],
  [0xd80, 0b01],
  [0xdf8, 0b01],
  [0xe00, 0b10],
  [0xe48, 0b10],
  [0xef8, 0b10],
  [0xf00, 0b11],
  [0xf10, 0b11],
  [0xff8, 0b11],
];

test('ESB loads 0x000-0x7FF: EOI, returning 1 when forwarded and 0 otherwise', () => {
  const expect: Record<number, [number, number]> = { 0b00: [0b00, 0], 0b01: [0b01, 0], 0b10: [0b00, 0], 0b11: [0b10, 1] };
  for (const off of EOI_OFFSETS) {
    for (const pq of [0, 1, 2, 3]) {
      const { src, fwd } = setup();
      src.setPq(3, pq);
      const [next, ret] = expect[pq]!;
      assert.equal(src.esbLoad(M(3, off)), ret, `off ${off.toString(16)} pq ${pq}`);
      assert.equal(src.getPq(3), next);
      assert.deepEqual(fwd, ret === 1 ? [{ n: 3, checked: true }] : []);
    }
  }
});

test('ESB loads 0x800-0xBFF: GET returns PQ without changing it', () => {
  for (const off of GET_OFFSETS) {
    for (const pq of [0, 1, 2, 3]) {
      const { src, fwd } = setup();
      src.setPq(3, pq);
      assert.equal(src.esbLoad(M(3, off)), pq);
      assert.equal(src.getPq(3), pq);
      assert.equal(fwd.length, 0);
    }
  }
});

test('ESB loads 0xC00-0xFFF: SET_PQ_xx returns the previous PQ, never forwards (even 10)', () => {
  for (const [off, v] of SET_OFFSETS) {
    for (const pq of [0, 1, 2, 3]) {
      const { src, fwd } = setup();
      src.setPq(3, pq);
      assert.equal(src.esbLoad(M(3, off)), pq, `off ${off.toString(16)}`);
      assert.equal(src.getPq(3), v, `off ${off.toString(16)}`);
      assert.equal(fwd.length, 0);
    }
  }
});

test('SET_PQ loads keep the LSI ASSERTED bit', () => {
  const { src } = setup();
  src.setLsi(6, true);
  src.setPq(6, 0b01);
  src.setIrq(6, true);
  src.esbLoad(M(6, 0xc00));
  assert.equal(src.isAsserted(6), true);
  assert.equal(src.getPq(6), 0);
});

// ---- §1.5 management page stores -----------------------------------------------------------

test('ESB stores 0x000-0x3FF on the management page: trigger', () => {
  for (const off of [0x000, 0x008, 0x200, 0x3f8]) {
    const { src, fwd } = setup();
    src.setPq(3, 0);
    src.esbStore(M(3, off), 0);
    assert.equal(src.getPq(3), 0b10);
    src.esbStore(M(3, off), 0);
    assert.equal(src.getPq(3), 0b11);
    assert.deepEqual(fwd, [{ n: 3, checked: true }]);
  }
});

test('ESB stores 0x400-0x7FF without STORE_EOI: refused with the exact guest error, nothing else', () => {
  for (const off of [0x400, 0x408, 0x5f0, 0x7f8]) {
    const { src, fwd, trace } = setup();
    src.setPq(9, 0b11);
    src.esbStore(M(9, off), 0x1234);
    assert.equal(src.getPq(9), 0b11);
    assert.equal(fwd.length, 0);
    assert.deepEqual(realErrors(trace), ['XIVE: invalid Store EOI for IRQ 9']);
    assert.deepEqual(eventNames(trace), ['xive_source_esb_write', 'guest_error']);
  }
  // decimal srcno in the message
  const { src, trace } = setup(0x20);
  src.esbStore(M(0x1a, 0x400), 0);
  assert.deepEqual(realErrors(trace), ['XIVE: invalid Store EOI for IRQ 26']);
});

test('ESB stores 0x400-0x7FF with STORE_EOI: an EOI (11 -> 10 forwards, LSI re-presented)', () => {
  const { src, fwd, trace } = setup(16, 17, SRC_FLAG_STORE_EOI);
  src.setPq(9, 0b11);
  src.esbStore(M(9, 0x400), 0);
  assert.equal(src.getPq(9), 0b10);
  assert.deepEqual(fwd, [{ n: 9, checked: true }]);
  src.esbStore(M(9, 0x7f8), 0);
  assert.equal(src.getPq(9), 0b00);
  assert.equal(fwd.length, 1);
  src.setLsi(10, true);
  src.setPq(10, 0);
  src.setIrq(10, true);
  src.esbStore(M(10, 0x400), 0);
  assert.equal(src.getPq(10), 0b10);
  assert.equal(fwd.length, 3);
  assert.deepEqual(realErrors(trace), []);
});

test('ESB stores 0x800-0xBFF: INJECT forwards whatever the PQ, PQ untouched', () => {
  for (const off of [0x800, 0x808, 0xb00, 0xbf8]) {
    for (const pq of [0, 1, 2, 3]) {
      const { src, fwd } = setup();
      src.setPq(3, pq);
      src.esbStore(M(3, off), 0);
      assert.equal(src.getPq(3), pq);
      assert.deepEqual(fwd, [{ n: 3, checked: true }]);
    }
  }
});

test('ESB stores 0xC00-0xFFF: PQ := (offset >> 8) & 3, no forwarding', () => {
  for (const [off, v] of SET_OFFSETS) {
    for (const pq of [0, 1, 2, 3]) {
      const { src, fwd } = setup();
      src.setPq(3, pq);
      src.esbStore(M(3, off), 0);
      assert.equal(src.getPq(3), v);
      assert.equal(fwd.length, 0);
    }
  }
});

// ---- trigger page ----------------------------------------------------------------------------

test('trigger page loads: all ones, guest error with the address, no trace event, no change', () => {
  for (const off of [0x0, 0x800, 0xc00, 0xf00, 0x1800, 0xfff8]) {
    const { src, fwd, trace } = setup();
    src.setPq(3, 0b11);
    assert.equal(src.esbLoad(T(3, off)), ESB_ALL_ONES);
    assert.equal(src.getPq(3), 0b11);
    assert.equal(fwd.length, 0);
    assert.deepEqual(trace.events, [{ name: 'guest_error', message: `XIVE: invalid load on IRQ 3 trigger page at 0x${T(3, off).toString(16)}` }]);
  }
});

test('trigger page stores at any offset: trigger', () => {
  for (const off of [0x0, 0x400, 0x800, 0xc00, 0xd00, 0xf00, 0x1400, 0xfff8]) {
    const { src, fwd } = setup();
    src.setPq(3, 0);
    src.esbStore(T(3, off), 0);
    assert.equal(src.getPq(3), 0b10, `off ${off.toString(16)}`);
    src.esbStore(T(3, off), 0);
    assert.equal(src.getPq(3), 0b11);
    assert.deepEqual(fwd, [{ n: 3, checked: true }]);
  }
});

test('sPAPR trigger-page load: the guest sees 0xFFFF_FFFF_FFFF_FFFF', () => {
  const { xive, trace } = makeSpapr(1);
  assert.equal(esbLoad(xive, trigPage(0x1001) + 0x10), 0xffff_ffff_ffff_ffffn);
  assert.deepEqual(guestErrors(trace), [`XIVE: invalid load on IRQ 4097 trigger page at 0x${(trigPage(0x1001) + 0x10).toString(16)}`]);
  assert.equal(eventsNamed(trace, 'xive_source_esb_read').length, 0);
});

// ---- 4K pattern inside 64K pages -----------------------------------------------------------

test('the 4K pattern repeats inside a 64K management page', () => {
  const { src, fwd } = setup();
  src.setPq(2, 0b10);
  assert.equal(src.esbLoad(M(2, 0x1800)), 0b10, '+0x1800 acts as GET');
  assert.equal(src.esbLoad(M(2, 0x1c00)), 0b10, '+0x1C00 acts as SET_PQ_00');
  assert.equal(src.getPq(2), 0);
  assert.equal(src.esbLoad(M(2, 0xfd00)), 0, '+0xFD00 acts as SET_PQ_01');
  assert.equal(src.getPq(2), 1);
  src.esbStore(M(2, 0x7e00), 0); // store set 10
  assert.equal(src.getPq(2), 0b10);
  src.esbStore(M(2, 0x3000), 0); // trigger
  assert.equal(src.getPq(2), 0b11);
  assert.equal(src.esbLoad(M(2, 0x5000)), 1, '+0x5000 acts as load EOI');
  assert.equal(src.getPq(2), 0b10);
  src.esbStore(M(2, 0xa800), 0); // inject
  assert.equal(fwd.length, 2);
  const { src: s2, trace } = setup();
  s2.esbStore(M(7, 0xf400), 0);
  assert.deepEqual(realErrors(trace), ['XIVE: invalid Store EOI for IRQ 7']);
});

// ---- other geometries (§1.4) ---------------------------------------------------------------

test('4K (shift 12): one page per source, management ops and triggers on it', () => {
  const { src, fwd, trace } = setup(16, ESB_4K);
  src.setPq(5, 0);
  src.esbStore(5 * 0x1000 + 0x000, 0);
  assert.deepEqual(fwd, [{ n: 5, checked: true }]);
  assert.equal(src.esbLoad(5 * 0x1000 + 0x800), 0b10);
  assert.equal(src.esbLoad(5 * 0x1000 + 0xc00), 0b10);
  assert.equal(src.esbLoad(5 * 0x1000 + 0x000), 0);
  assert.equal(src.getPq(5), 0);
  assert.equal(realErrors(trace).length, 0, 'no trigger-page error in 1-page mode');
  src.esbStore(5 * 0x1000 + 0x400, 0);
  assert.deepEqual(realErrors(trace), ['XIVE: invalid Store EOI for IRQ 5']);
});

test('4K_2PAGE (shift 13): even page triggers, odd page manages', () => {
  const { src, fwd, trace } = setup(16, ESB_4K_2PAGE);
  src.setPq(6, 0);
  assert.equal(src.esbLoad(6 * 0x2000 + 0x800), ESB_ALL_ONES);
  assert.deepEqual(realErrors(trace), [`XIVE: invalid load on IRQ 6 trigger page at 0x${(6 * 0x2000 + 0x800).toString(16)}`]);
  src.esbStore(6 * 0x2000 + 0xc00, 0); // trigger despite the SET offset
  assert.equal(src.getPq(6), 0b10);
  assert.equal(fwd.length, 1);
  assert.equal(src.esbLoad(6 * 0x2000 + 0x1000 + 0x800), 0b10);
  assert.equal(src.esbLoad(6 * 0x2000 + 0x1000 + 0xf00), 0b10);
  assert.equal(src.getPq(6), 0b11);
});

test('64K (shift 16): one page per source, the 4K pattern repeats in it', () => {
  const { src, fwd } = setup(16, ESB_64K);
  src.setPq(3, 0);
  src.esbStore(3 * 0x10000 + 0x8000, 0); // trigger (offset 0 of the pattern)
  assert.deepEqual(fwd, [{ n: 3, checked: true }]);
  assert.equal(src.esbLoad(3 * 0x10000 + 0x9800), 0b10);
  assert.equal(src.esbLoad(3 * 0x10000 + 0x2f00), 0b10);
  assert.equal(src.getPq(3), 0b11);
});

test('source number = addr >> esb_shift', () => {
  const { src } = setup(0x40);
  src.setPq(0x3f, 2);
  src.setPq(0x3e, 1);
  assert.equal(src.esbLoad(0x3f * 0x20000 + 0x10800), 2);
  assert.equal(src.esbLoad(0x3e * 0x20000 + 0x1fbf8), 1); // last GET dword of 0x3e's management page
});

// ---- PQ_DISABLE ------------------------------------------------------------------------------

test('PQ_DISABLE: MSI triggers always forward with pq_checked=false, PQ untouched, EOI refused', () => {
  const { src, fwd, trace } = setup(16, 17, SRC_FLAG_PQ_DISABLE);
  src.setPq(2, 0b11);
  src.setIrq(2, true);
  src.esbStore(T(2), 0);
  assert.deepEqual(fwd, [
    { n: 2, checked: false },
    { n: 2, checked: false },
  ]);
  assert.equal(src.getPq(2), 0b11);
  assert.equal(src.esbLoad(M(2, 0x000)), 0);
  assert.equal(src.getPq(2), 0b11);
  assert.equal(fwd.length, 2);
  assert.deepEqual(realErrors(trace), ['XIVE: invalid EOI for IRQ 2']);
  // LSIs keep their PQ logic
  src.setLsi(3, true);
  src.setPq(3, 0);
  src.setIrq(3, true);
  assert.deepEqual(fwd[2], { n: 3, checked: true });
  assert.equal(src.getPq(3), 0b10);
});

// ---- trace events ----------------------------------------------------------------------------

test('trace: esb_write is emitted before acting, with address, srcno and data', () => {
  const { src, trace } = setup();
  src.setPq(1, 0);
  src.esbStore(T(1, 0x18), 0x89ab_cdef, 0x0123_4567);
  assert.deepEqual(trace.events, [
    { name: 'xive_source_esb_write', addr: BigInt(T(1, 0x18)), srcno: 1, value: 0x0123_4567_89ab_cdefn },
    { name: 'guest_error', message: 'NOTIFIED 1' },
  ]);
});

test('trace: esb_read is emitted after acting, with the returned value', () => {
  const { src, trace } = setup();
  src.setPq(1, 0b11);
  assert.equal(src.esbLoad(M(1, 0x10)), 1);
  assert.deepEqual(trace.events, [
    { name: 'guest_error', message: 'NOTIFIED 1' },
    { name: 'xive_source_esb_read', addr: BigInt(M(1, 0x10)), srcno: 1, value: 1n },
  ]);
  trace.clear();
  src.esbLoad(M(1, 0xc00));
  assert.deepEqual(trace.events, [{ name: 'xive_source_esb_read', addr: BigInt(M(1, 0xc00)), srcno: 1, value: 2n }]);
});

test('trace: every store is traced, including refused and set-PQ ones', () => {
  const { src, trace } = setup();
  for (const off of [0x000, 0x400, 0x800, 0xc00, 0xf00]) src.esbStore(M(4, off), off);
  const writes = eventsNamed(trace, 'xive_source_esb_write');
  assert.deepEqual(
    writes.map((w) => [w.addr, w.value]),
    [0x000, 0x400, 0x800, 0xc00, 0xf00].map((off) => [BigInt(M(4, off)), BigInt(off)]),
  );
});

// ---- sPAPR MMIO size rules -------------------------------------------------------------------

test('sPAPR ESB region: only 8-byte aligned accesses reach the source', () => {
  const { xive, trace } = makeSpapr(1);
  xive.source.setPq(0, 0b10);
  const out = new Uint32Array([7, 7]);
  assert.equal(xive.esbRead(0x10800, 4, out), MMIO_INVALID);
  assert.deepEqual([...out], [0, 0]);
  assert.deepEqual(guestErrors(trace), ["Invalid read at addr 0x10800, size 4, region 'xive.esb-emulated', reason: invalid size (min:8 max:8)"]);
  assert.equal(eventsNamed(trace, 'xive_source_esb_read').length, 0);
  trace.clear();
  assert.equal(xive.esbWrite(0x10c00, 4, 0, 0), MMIO_INVALID);
  assert.equal(xive.source.getPq(0), 0b10, 'write dropped');
  assert.equal(eventsNamed(trace, 'xive_source_esb_write').length, 0);
  assert.equal(xive.esbRead(0x10804, 8, out), MMIO_INVALID, 'unaligned');
  assert.equal(xive.esbRead(0x10800, 8, out), MMIO_OK);
  assert.equal(out[0], 0b10);
});

test('sPAPR: an IPI sent through the trigger page and EOIed with SET_PQ_00 (Linux pattern)', () => {
  const { xive, trace } = makeSpapr(2);
  xive.source.reset();
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xc00), 0b01n, 'unmask at startup: old PQ 01');
  esbStore(xive, trigPage(1), 0);
  assert.equal(xive.source.getPq(1), 0b10);
  esbStore(xive, trigPage(1), 0);
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xc00), 0b11n, 'Q was set');
  assert.equal(esbLoad(xive, mgmtPage(1) + 0xd00), 0b00n);
  assert.equal(esbLoad(xive, mgmtPage(1) + 0x800), 0b01n);
  assert.ok(eventsNamed(trace, 'xive_source_esb_read').length === 4);
});
