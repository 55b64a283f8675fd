/**
 * The reference XIVE's interrupt sources (docs/xive.md §1): the PQ state machine of each source on
 * trigger, EOI (End Of Interrupt) and device input (MSI edges, LSI levels), and the ESB (Event
 * State Buffer) pages through which the guest triggers, EOIs, reads and sets PQ. An event the PQ
 * bits let through goes on to the router; the ledger counts what happens to each one.
 */
import { ESB_PAGE, ESB_STRIDE, TRIGGER, type XiveState } from './ref-xive-defs.ts';
import type { LoadResult } from './ref-intc.ts';
import { forward } from './ref-xive-router.ts';

/** PQ after an EOI, indexed by the old PQ (docs/xive.md §1.2). */
const EOI = [0, 1, 0, 2];

function pq(x: XiveState, s: number): number {
  return x.status[s]! & 3;
}

function setPq(x: XiveState, s: number, next: number): void {
  const old = x.status[s]! & 3;
  if (old === 3 && next !== 3) x.led.qHeld--;
  if (next === 3 && old !== 3) x.led.qHeld++;
  x.status[s] = (x.status[s]! & ~3) | next;
  x.fx.touchedSrc.add(s);
}

/** A SET_PQ access by the guest: creating or discarding the event kept in Q is counted. */
function setPqByGuest(x: XiveState, s: number, next: number): number {
  const old = pq(x, s);
  if (old === 3 && next !== 3) x.led.qClearedByGuest++;
  if (next === 3 && old !== 3) x.led.qCreatedByGuest++;
  setPq(x, s, next);
  return old;
}

/** Generic ESB trigger; true when the event goes on to the router. */
function trigger(x: XiveState, s: number): boolean {
  const old = pq(x, s);
  x.led.trigger++;
  setPq(x, s, TRIGGER[old]!);
  switch (old) {
    case 0:
      x.led.fwdTrigger++;
      return true;
    case 2:
      x.led.coalescedQ++;
      return false;
    case 3:
      x.led.mergedQ++;
      return false;
    default:
      x.led.droppedOff++;
      return false;
  }
}

/** EOI (docs/xive.md §1.3): an LSI still asserted is presented again from PQ 00 only. */
function eoi(x: XiveState, s: number): boolean {
  x.led.eoi++;
  const old = pq(x, s);
  setPq(x, s, EOI[old]!);
  if (x.lsi[s] === 1 && (x.status[s]! & 4) !== 0) {
    if (pq(x, s) === 0) {
      setPq(x, s, 2);
      x.led.lsiRepresent++;
      return true;
    }
    if (old === 3) x.led.lsiEoiQDropped++;
    return false;
  }
  if (old === 3) x.led.fwdEoiQ++;
  return old === 3;
}

/** Device input: a raised MSI source triggers; an LSI source follows the level. */
export function setIrq(x: XiveState, lisn: number, level: boolean): void {
  x.fx.touchedSrc.add(lisn);
  if (x.lsi[lisn] === 1) {
    if (!level) {
      x.status[lisn] = x.status[lisn]! & ~4;
      return;
    }
    x.status[lisn] = x.status[lisn]! | 4;
    x.led.lsiRaise++;
    if (pq(x, lisn) === 0) {
      setPq(x, lisn, 2);
      x.led.lsiFwd++;
      forward(x, lisn);
    } else {
      x.led.lsiHeld++;
    }
  } else if (level && trigger(x, lisn)) {
    forward(x, lisn);
  }
}

/** 8-byte load at an 8-aligned offset inside the ESB region (docs/xive.md §1.5). */
export function esbLoad(x: XiveState, off: number): LoadResult {
  const s = Math.floor(off / ESB_STRIDE);
  if ((off & ESB_PAGE) === 0) return { lo: 0xffff_ffff, hi: 0xffff_ffff }; // trigger page
  const o = off & 0xfff;
  let r: number;
  if (o < 0x800) {
    r = eoi(x, s) ? 1 : 0;
    if (r === 1) forward(x, s);
  } else if (o < 0xc00) {
    r = pq(x, s);
  } else {
    r = setPqByGuest(x, s, (o >>> 8) & 3);
  }
  return { lo: r, hi: 0 };
}

/** 8-byte store at an 8-aligned offset inside the ESB region (docs/xive.md §1.5). */
export function esbStore(x: XiveState, off: number): void {
  const s = Math.floor(off / ESB_STRIDE);
  const o = off & 0xfff;
  if ((off & ESB_PAGE) === 0 || o < 0x400) {
    if (trigger(x, s)) forward(x, s);
  } else if (o < 0x800) {
    // Store EOI needs the STORE_EOI source flag, which sPAPR never sets: nothing happens.
  } else if (o < 0xc00) {
    x.led.inject++;
    forward(x, s);
  } else {
    setPqByGuest(x, s, (o >>> 8) & 3);
  }
}
