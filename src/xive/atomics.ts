/**
 * Atomic variants of the table updates that XIVE hardware performs atomically, for tables kept
 * in shared memory and driven by several threads at once (one vCPU per worker, say):
 *
 * - the ESB PQ state of a source (trigger, EOI, PQ set, LSI level) is a compare-and-swap loop on
 *   its status byte, so a trigger racing an EOI can neither lose the Q bit nor forward twice;
 * - the END event-queue index and generation (and the ESn/ESe coalescing bits next to them in
 *   word 1) advance with a compare-and-swap, so two threads enqueueing into one queue get
 *   distinct slots;
 * - a thread context's ring operations (IPB update, ACK, CPPR) run under a per-context lock word,
 *   so a presentation from one thread and an ACK from another see each other whole.
 *
 * Each function computes exactly what the sequential code in source.ts / router.ts / tctx.ts
 * computes; only the memory accesses differ. Fields are read with their masks and shift
 * constants, as on the other per-interrupt paths (see regs.ts). END words are big-endian in the
 * table, while Int32Array views read host order: words are converted on the way in and out.
 */
import * as R from './regs.ts';
import { pqEoi, pqEoiForwards, pqTrigger, pqTriggerForwards } from './esb.ts';
import { fromBigEndian, toBigEndian } from '../base/endian.ts';
import type { GuestMemory } from '../ports/memory.ts';

// Module-private copies of fields read on every event (the engine reads a module's own constants
// faster than imported ones; measured on the interrupt cycle).
const SRC_STATUS_PQ = R.SRC_STATUS_PQ;
const PQ_RESET = R.PQ_RESET;
const EQ_ENTRY_GENERATION_SHIFT = R.EQ_ENTRY_GENERATION_SHIFT;
const EQ_ENTRY_DATA = R.EQ_ENTRY_DATA;

// ---- Source status bytes (PQ in bits 0-1, LSI asserted in bit 2) ------------------------------

/** ESB trigger; true when the event must be forwarded (PQ was 00). */
export function atomicPqTrigger(status: Uint8Array, srcno: number): boolean {
  for (;;) {
    const s = Atomics.load(status, srcno);
    const pq = s & SRC_STATUS_PQ;
    const n = (s & ~SRC_STATUS_PQ) | pqTrigger(pq);
    if (n === s || Atomics.compareExchange(status, srcno, s, n) === s) return pqTriggerForwards(pq);
  }
}

/**
 * Source EOI; true when the event must be forwarded: PQ was 11, or the source is an LSI whose
 * line is still asserted and the EOI left PQ at 00 (it is then presented again, PQ 10).
 */
export function atomicSourceEoi(status: Uint8Array, srcno: number, lsi: boolean): boolean {
  for (;;) {
    const s = Atomics.load(status, srcno);
    const old = s & SRC_STATUS_PQ;
    let pq = pqEoi(old);
    let fwd = pqEoiForwards(old);
    if (lsi && (s & R.SRC_STATUS_ASSERTED) !== 0) {
      if (pq === 0) {
        pq = R.PQ_PENDING;
        fwd = true;
      } else {
        fwd = false;
      }
    }
    const n = (s & ~SRC_STATUS_PQ) | pq;
    if (n === s || Atomics.compareExchange(status, srcno, s, n) === s) return fwd;
  }
}

/** Sets PQ, returns the old PQ. */
export function atomicSetPq(status: Uint8Array, srcno: number, pq: number): number {
  for (;;) {
    const s = Atomics.load(status, srcno);
    const n = (s & ~SRC_STATUS_PQ) | (pq & SRC_STATUS_PQ);
    if (n === s || Atomics.compareExchange(status, srcno, s, n) === s) return s & SRC_STATUS_PQ;
  }
}

/** LSI input raised: marks it asserted; true when it must be forwarded (PQ was 00, now 10). */
export function atomicLsiAssert(status: Uint8Array, srcno: number): boolean {
  for (;;) {
    const s = Atomics.load(status, srcno);
    const fwd = (s & SRC_STATUS_PQ) === PQ_RESET;
    const n = s | R.SRC_STATUS_ASSERTED | (fwd ? R.PQ_PENDING : 0);
    if (n === s || Atomics.compareExchange(status, srcno, s, n) === s) return fwd;
  }
}

/** LSI input lowered. */
export function atomicLsiDeassert(status: Uint8Array, srcno: number): void {
  Atomics.and(status, srcno, ~R.SRC_STATUS_ASSERTED & 0xff);
}

// ---- END word 1: queue index, generation, ESn/ESe -------------------------------------------

/**
 * Reserves the next event-queue slot of END `endIdx` (index + 1, generation flipped on wrap) and
 * writes the entry there. Returns -1 on success, or the guest address of the slot when it is not
 * RAM (the index is then left as it was, as the sequential enqueue does).
 */
export function atomicEnqueue(ends: Int32Array, endIdx: number, memory: GuestMemory, data: number): number {
  const base = endIdx * R.END_WORDS;
  const w0 = fromBigEndian(Atomics.load(ends, base));
  const qaddr = (fromBigEndian(Atomics.load(ends, base + 2)) & R.END_W2_OP_DESC_HI) * 0x1_0000_0000 + fromBigEndian(Atomics.load(ends, base + 3));
  const entries = 1 << (((w0 & R.END_W0_QSIZE) >>> R.END_W0_QSIZE_SHIFT) + 10);
  for (;;) {
    const raw = Atomics.load(ends, base + 1);
    const w1 = fromBigEndian(raw);
    const index = w1 & R.END_W1_PAGE_OFF;
    const gen = (w1 & R.END_W1_GENERATION) !== 0 ? 1 : 0;
    const addr = qaddr + 4 * index;
    if (!memory.isRam(addr, 4)) return addr;
    const next = (index + 1) & (entries - 1);
    let nw1 = (w1 & ~R.END_W1_PAGE_OFF) | next;
    if (next === 0) nw1 ^= R.END_W1_GENERATION;
    if (Atomics.compareExchange(ends, base + 1, raw, toBigEndian(nw1)) === raw) {
      const word = (gen << EQ_ENTRY_GENERATION_SHIFT) | (data & EQ_ENTRY_DATA);
      return memory.write32(addr, memory.signedWrite32 === true ? word : word >>> 0) ? -1 : addr;
    }
  }
}

/** Trigger on the ESn or ESe field (mask and shift) of END word 1; true = forward. */
export function atomicEsCoalesce(ends: Int32Array, endIdx: number, es: number, shift: number): boolean {
  const at = endIdx * R.END_WORDS + 1;
  for (;;) {
    const raw = Atomics.load(ends, at);
    const w1 = fromBigEndian(raw);
    const pq = (w1 & es) >>> shift;
    const next = pqTrigger(pq);
    if (next === pq || Atomics.compareExchange(ends, at, raw, toBigEndian((w1 & ~es) | (next << shift))) === raw) {
      return pqTriggerForwards(pq);
    }
  }
}

// ---- Thread-context lock words ----------------------------------------------------------------

/**
 * Takes lock word `i` (0 free, 1 held). The sections it guards are a few register updates, so
 * spinning is cheaper than sleeping; it also works on threads that may not block (a browser's
 * main thread).
 */
export function lockWord(locks: Int32Array, i: number): void {
  while (Atomics.compareExchange(locks, i, 0, 1) !== 0) {
    // spin
  }
}

export function unlockWord(locks: Int32Array, i: number): void {
  Atomics.store(locks, i, 0);
}
