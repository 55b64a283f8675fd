/**
 * XIVE router (IVRE): the EAS table (LISN -> END + data), the END table (event queue descriptor
 * + notification target) and the END notification algorithm: enqueue the event data into the
 * guest event queue (EQ) with the generation bit, ESn coalescing, notification of the NVT through
 * the presenter, backlog and escalation.
 *
 * Tables are DataViews over (optionally shared) buffers holding the architected big-endian words,
 * so a snapshot is a byte copy.
 */
import * as R from './regs.ts';
import { getField } from '../base/bits.ts';
import { pqTrigger, pqTriggerForwards } from './esb.ts';
import { atomicEnqueue, atomicEsCoalesce } from './atomics.ts';
import type { GuestMemory } from '../ports/memory.ts';
import { Tracer } from '../trace/events.ts';
import type { SourceNotifier } from './source.ts';
import type { StateCodec, StateMismatch } from '../base/state.ts';

// Module-private copies of the fields read for every event: the engine folds a module's own
// constants into the code, while an imported one is loaded from its module cell and checked on
// every use (measured on the interrupt cycle). Masks are kept as signed 32-bit integers (`| 0`):
// one with bit 0 set is otherwise a heap number, converted on every use.
const LISN_BLOCK = R.LISN_BLOCK | 0;
const LISN_BLOCK_SHIFT = R.LISN_BLOCK_SHIFT;
const LISN_INDEX = R.LISN_INDEX | 0;
const EAS_HI_VALID = R.EAS_HI_VALID | 0;
const EAS_HI_END_BLOCK = R.EAS_HI_END_BLOCK | 0;
const EAS_HI_END_BLOCK_SHIFT = R.EAS_HI_END_BLOCK_SHIFT;
const EAS_HI_END_INDEX = R.EAS_HI_END_INDEX | 0;
const EAS_LO_MASKED = R.EAS_LO_MASKED | 0;
const EAS_LO_END_DATA = R.EAS_LO_END_DATA | 0;
const END_BYTES = R.END_BYTES;
const END_W0_VALID = R.END_W0_VALID | 0;
const END_W0_ENQUEUE = R.END_W0_ENQUEUE | 0;
const END_W0_UCOND_NOTIFY = R.END_W0_UCOND_NOTIFY | 0;
const END_W0_BACKLOG = R.END_W0_BACKLOG | 0;
const END_W0_ESCALATE_CTL = R.END_W0_ESCALATE_CTL | 0;
const END_W0_UNCOND_ESCALATE = R.END_W0_UNCOND_ESCALATE | 0;
const END_W0_SILENT_ESCALATE = R.END_W0_SILENT_ESCALATE | 0;
const END_W0_QSIZE = R.END_W0_QSIZE | 0;
const END_W0_QSIZE_SHIFT = R.END_W0_QSIZE_SHIFT;
const END_W1_ESN = R.END_W1_ESN | 0;
const END_W1_ESN_SHIFT = R.END_W1_ESN_SHIFT;
const END_W1_ESE = R.END_W1_ESE | 0;
const END_W1_ESE_SHIFT = R.END_W1_ESE_SHIFT;
const END_W1_GENERATION = R.END_W1_GENERATION | 0;
const END_W1_PAGE_OFF = R.END_W1_PAGE_OFF | 0;
const END_W2_OP_DESC_HI = R.END_W2_OP_DESC_HI | 0;
const END_W6_FORMAT_BIT = R.END_W6_FORMAT_BIT | 0;
const END_W6_NVT_BLOCK = R.END_W6_NVT_BLOCK | 0;
const END_W6_NVT_BLOCK_SHIFT = R.END_W6_NVT_BLOCK_SHIFT;
const END_W6_NVT_INDEX = R.END_W6_NVT_INDEX | 0;
const END_W7_F0_IGNORE = R.END_W7_F0_IGNORE | 0;
const END_W7_F0_PRIORITY = R.END_W7_F0_PRIORITY | 0;
const END_W7_F0_PRIORITY_SHIFT = R.END_W7_F0_PRIORITY_SHIFT;
const END_W7_F1_LOG_SERVER_ID = R.END_W7_F1_LOG_SERVER_ID | 0;
const EQ_ENTRY_GENERATION_SHIFT = R.EQ_ENTRY_GENERATION_SHIFT;
const EQ_ENTRY_DATA = R.EQ_ENTRY_DATA | 0;

/** Most escalations one event goes through: a chain of ENDs longer than this is a loop. */
export const MAX_ESCALATIONS = 8;

/** Result of an NVT lookup: no such NVT (sPAPR has no NVT table: "valid" iff the vCPU exists). */
export const NVT_MISSING = -1;
/** Result of an NVT lookup: the NVT exists but is not valid. */
export const NVT_INVALID = 0;
/** Result of an NVT lookup: a valid NVT. */
export const NVT_VALID = 1;
// Private copies for the per-event path (exported constants are loaded from module cells).
const LOOKUP_MISSING = NVT_MISSING;
const LOOKUP_INVALID = NVT_INVALID;

/** Saved state of the router: the EAS and END tables as the architected big-endian images. */
export interface XiveRouterState {
  nrIrqs: number;
  nrEnds: number;
  eas: Uint8Array;
  ends: Uint8Array;
}

/** Layout: nr_irqs (u32), nr_ends (u32), the EAS table (8 bytes each), the END table (32 each). */
export const XIVE_ROUTER_STATE: StateCodec<XiveRouterState> = {
  version: 1,
  encode(s, w) {
    w.u32(s.nrIrqs);
    w.u32(s.nrEnds);
    w.bytes(s.eas);
    w.bytes(s.ends);
  },
  decoders: {
    1: (r) => {
      const nrIrqs = r.u32('nr_irqs');
      const nrEnds = r.u32('nr_ends');
      const eas = r.bytes(nrIrqs * R.EAS_BYTES, 'EAS table').slice();
      const ends = r.bytes(nrEnds * R.END_BYTES, 'END table').slice();
      return { nrIrqs, nrEnds, eas, ends };
    },
  },
};

function bytesOf(v: DataView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The NVT table as the router sees it (on sPAPR: computed from the vCPUs, see SpaprXive). */
export interface NvtStore {
  /** Looks up NVT (blk, idx): {@link NVT_VALID}, {@link NVT_INVALID} or {@link NVT_MISSING}. */
  lookup(blk: number, idx: number): number;
  /** Record pending priorities for an NVT that is not dispatched (backlog). */
  backlog(blk: number, idx: number, ipb: number): void;
}

/** The presenter as the router sees it: finds the thread dispatched on an NVT. */
export interface Presenter {
  /**
   * Deliver to the thread(s) dispatched on the NVT. Returns true when a thread was found (and
   * the event presented), false when no thread matched or the match failed.
   */
  match(format: number, nvtBlk: number, nvtIdx: number, camIgnore: boolean, priority: number, logicServ: number): boolean;
}

/**
 * The XIVE router (IVRE) of one block: EAS and END tables over `nrIrqs` LISNs and `nrEnds` ENDs,
 * and the END notification.
 */
export class XiveRouter implements SourceNotifier {
  readonly eas: DataView;
  readonly ends: DataView;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();
  /**
   * The END table is shared with other threads: word 1 (queue index, generation, ESn/ESe) is
   * updated with Atomics (atomics.ts). Set by the owner of the tables before use.
   */
  atomic = false;
  /** Escalations under way for the current event (bounded by MAX_ESCALATIONS). */
  private escalations = 0;
  /** Host-order Int32 view of the END table, for the atomic updates. */
  private readonly endWords: Int32Array;
  /**
   * PQ bits of the sources, run through the trigger for events not PQ-checked (PQ_DISABLE).
   *
   * @internal Set by the controller that owns both blocks.
   */
  pqSource: { getPq(srcno: number): number; setPq(srcno: number, pq: number): number } | null = null;

  constructor(
    readonly blockId: number,
    readonly nrIrqs: number,
    readonly nrEnds: number,
    readonly memory: GuestMemory,
    readonly nvts: NvtStore,
    readonly presenter: Presenter,
    buffers?: { eas: ArrayBufferLike; ends: ArrayBufferLike },
  ) {
    this.eas = new DataView(buffers?.eas ?? new ArrayBuffer(nrIrqs * R.EAS_BYTES));
    this.ends = new DataView(buffers?.ends ?? new ArrayBuffer(nrEnds * R.END_BYTES));
    this.endWords = new Int32Array(this.ends.buffer, this.ends.byteOffset, nrEnds * R.END_WORDS);
  }

  // ---- EAS -----------------------------------------------------------------------------------
  /** High word (IBM bits 0-31) of the EAS of `lisn`. */
  easHi(lisn: number): number {
    return this.eas.getUint32(lisn * 8, false);
  }
  /** Low word (IBM bits 32-63) of the EAS of `lisn`. */
  easLo(lisn: number): number {
    return this.eas.getUint32(lisn * 8 + 4, false);
  }
  /** Writes the EAS of `lisn` (high and low words). */
  setEas(lisn: number, hi: number, lo: number): void {
    this.eas.setUint32(lisn * 8, hi >>> 0, false);
    this.eas.setUint32(lisn * 8 + 4, lo >>> 0, false);
  }
  /** Whether the EAS of `lisn` is valid (on sPAPR: the LISN is claimed). */
  easValid(lisn: number): boolean {
    return (this.easHi(lisn) & R.EAS_HI_VALID) !== 0;
  }
  /** Whether the EAS of `lisn` is masked. */
  easMasked(lisn: number): boolean {
    return (this.easLo(lisn) & R.EAS_LO_MASKED) !== 0;
  }
  /** The END index the EAS of `lisn` routes to. */
  easEndIndex(lisn: number): number {
    return getField(R.EAS_HI_END_INDEX, this.easHi(lisn));
  }
  /** The END block the EAS of `lisn` routes to. */
  easEndBlock(lisn: number): number {
    return getField(R.EAS_HI_END_BLOCK, this.easHi(lisn));
  }
  /** The event data (EISN) the EAS of `lisn` writes into the queue. */
  easData(lisn: number): number {
    return getField(R.EAS_LO_END_DATA, this.easLo(lisn));
  }

  // ---- END -----------------------------------------------------------------------------------
  /** Word `w` (0-7) of END `idx`, unsigned. */
  endWord(idx: number, w: number): number {
    return this.ends.getUint32(idx * R.END_BYTES + w * 4, false);
  }
  /** Writes word `w` (0-7) of END `idx`. */
  setEndWord(idx: number, w: number, v: number): void {
    this.ends.setUint32(idx * R.END_BYTES + w * 4, v >>> 0, false);
  }
  /**
   * Word `w` of END `idx` as a signed 32-bit integer: the hot paths only test bits, and a signed
   * value stays a small integer where an unsigned one above 2^31 would be boxed.
   */
  private endBits(idx: number, w: number): number {
    return this.ends.getInt32(idx * END_BYTES + w * 4, false);
  }
  /** Whether END `idx` is valid. */
  endValid(idx: number): boolean {
    return (this.endWord(idx, 0) & R.END_W0_VALID) !== 0;
  }
  /** Resets END `idx`: all words 0 but both ESBs off. */
  resetEnd(idx: number): void {
    for (let w = 0; w < R.END_WORDS; w++) this.setEndWord(idx, w, 0);
    this.setEndWord(idx, 1, R.END_W1_RESET);
  }
  /** EQ guest address. */
  endQueueAddr(idx: number): number {
    return getField(R.END_W2_OP_DESC_HI, this.endWord(idx, 2)) * 0x1_0000_0000 + this.endWord(idx, 3);
  }
  /** Entries of the event queue of END `idx` (from its size code). */
  endQueueEntries(idx: number): number {
    return 1 << (getField(R.END_W0_QSIZE, this.endWord(idx, 0)) + 10);
  }
  /** Write index of the event queue of END `idx`, in entries. */
  endQueueIndex(idx: number): number {
    return getField(R.END_W1_PAGE_OFF, this.endWord(idx, 1));
  }
  /** Generation bit (0 or 1) the next entry of the queue of END `idx` gets. */
  endGeneration(idx: number): number {
    return getField(R.END_W1_GENERATION, this.endWord(idx, 1));
  }
  /** Index of the NVT END `idx` notifies. */
  endNvtIndex(idx: number): number {
    return getField(R.END_W6_NVT_INDEX, this.endWord(idx, 6));
  }
  /** Priority of END `idx` (0xFF: masked). */
  endPriority(idx: number): number {
    return getField(R.END_W7_F0_PRIORITY, this.endWord(idx, 7));
  }

  // ---- Event arrival -------------------------------------------------------------------------
  /** Entry point of the sources: an event for `lisn` passed the source's PQ check. */
  notify(lisn: number, pqChecked: boolean): void {
    const blk = (lisn & LISN_BLOCK) >>> LISN_BLOCK_SHIFT;
    const idx = lisn & LISN_INDEX;
    if (blk !== this.blockId || idx >= this.nrIrqs) {
      this.lisnError('Unknown', lisn);
      return;
    }
    if (!pqChecked && !this.routerPqTrigger(idx)) return;
    // Signed reads: only bits are tested (see endBits).
    const hi = this.eas.getInt32(idx * 8, false);
    if ((hi & EAS_HI_VALID) === 0) {
      this.lisnError('invalid', lisn);
      return;
    }
    const lo = this.eas.getInt32(idx * 8 + 4, false);
    if ((lo & EAS_LO_MASKED) !== 0) return;
    this.endTrigger((hi & EAS_HI_END_BLOCK) >>> EAS_HI_END_BLOCK_SHIFT, hi & EAS_HI_END_INDEX, lo & EAS_LO_END_DATA);
  }

  /** PQ_DISABLE sources leave the coalescing to the router (never the case on sPAPR). */
  private routerPqTrigger(idx: number): boolean {
    if (this.pqSource === null) return false;
    const pq = this.pqSource.getPq(idx);
    this.pqSource.setPq(idx, pqTrigger(pq));
    return pqTriggerForwards(pq);
  }

  // Messages, trace events and the rare branches live in methods of their own: the paths every
  // event takes stay small enough for the compiler to inline them into one another.
  private lisnError(what: 'Unknown' | 'invalid', lisn: number): void {
    this.tracer.guestError(`XIVE: ${what} LISN ${hx(lisn)}`);
  }

  /** END notification: enqueue, coalesce, present, then backlog/escalate. */
  endTrigger(endBlk: number, endIdx: number, data: number): void {
    if (endBlk !== this.blockId || endIdx >= this.nrEnds) {
      this.noEnd(endBlk, endIdx);
      return;
    }
    const w0 = this.endBits(endIdx, 0);
    if ((w0 & END_W0_VALID) === 0) {
      this.invalidEnd(endBlk, endIdx, data);
      return;
    }
    if ((w0 & END_W0_ENQUEUE) !== 0) this.enqueue(endIdx, data, w0);

    if ((w0 & END_W0_SILENT_ESCALATE) === 0) {
      // Words 6 and 7 are read once: nothing on this path writes them.
      const w6 = this.endBits(endIdx, 6);
      const w7 = this.endBits(endIdx, 7);
      const format = (w6 & END_W6_FORMAT_BIT) !== 0 ? 1 : 0;
      const priority = (w7 & END_W7_F0_PRIORITY) >>> END_W7_F0_PRIORITY_SHIFT;
      if (format === 0 && priority === 0xff) return; // END masked (data already enqueued)

      if ((w0 & END_W0_UCOND_NOTIFY) === 0 && !this.esCoalesce(endIdx, END_W1_ESN, END_W1_ESN_SHIFT)) return;

      const nvtBlk = (w6 & END_W6_NVT_BLOCK) >>> END_W6_NVT_BLOCK_SHIFT;
      const nvtIdx = w6 & END_W6_NVT_INDEX;
      const nvt = this.nvts.lookup(nvtBlk, nvtIdx);
      if (nvt === LOOKUP_MISSING || nvt === LOOKUP_INVALID) {
        this.nvtError(nvt, nvtBlk, nvtIdx);
        return;
      }
      const camIgnore = format === 0 && (w7 & END_W7_F0_IGNORE) !== 0;
      const found = this.presenter.match(format, nvtBlk, nvtIdx, camIgnore, priority, w7 & END_W7_F1_LOG_SERVER_ID);
      if (!found) this.notPresented(endBlk, endIdx, w0, format, nvtBlk, nvtIdx, priority);
      return;
    }
    if ((w0 & END_W0_ESCALATE_CTL) !== 0) this.escalate(endBlk, endIdx, w0);
  }

  /** No thread took the event: backlog it if the END says so, then escalate if it says so. */
  private notPresented(endBlk: number, endIdx: number, w0: number, format: number, nvtBlk: number, nvtIdx: number, priority: number): void {
    if ((w0 & END_W0_BACKLOG) !== 0 && !this.backlog(endBlk, endIdx, format, nvtBlk, nvtIdx, priority)) return;
    if ((w0 & END_W0_ESCALATE_CTL) !== 0) this.escalate(endBlk, endIdx, w0);
  }

  private noEnd(endBlk: number, endIdx: number): void {
    this.tracer.guestError(`XIVE: No END ${hx(endBlk)}/${hx(endIdx)}`);
  }

  private invalidEnd(endBlk: number, endIdx: number, data: number): void {
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xive_router_end_notify', endBlk, endIdx, endData: data });
    this.tracer.guestError(`XIVE: END ${hx(endBlk)}/${hx(endIdx)} is invalid`);
  }

  private nvtError(nvt: number, nvtBlk: number, nvtIdx: number): void {
    this.tracer.guestError(nvt === NVT_MISSING ? `XIVE: no NVT ${hx(nvtBlk)}/${hx(nvtIdx)}` : `XIVE: NVT ${hx(nvtBlk)}/${hx(nvtIdx)} is invalid`);
  }

  /** No thread took the event: record it in the NVT. False when the END forbids escalating. */
  private backlog(endBlk: number, endIdx: number, format: number, nvtBlk: number, nvtIdx: number, priority: number): boolean {
    if (format === 1) {
      this.tracer.guestError(`XIVE: END ${hx(endBlk)}/${hx(endIdx)} invalid config: F1 & backlog`);
      return false;
    }
    this.nvts.backlog(nvtBlk, nvtIdx, R.prioToIpb(priority));
    return true;
  }

  private escalate(endBlk: number, endIdx: number, w0: number): void {
    if ((w0 & END_W0_UNCOND_ESCALATE) === 0 && !this.esCoalesce(endIdx, END_W1_ESE, END_W1_ESE_SHIFT)) return;
    // An escalation END may escalate in turn; a chain that comes back on itself with
    // unconditional escalation would never end, so one event follows a bounded number of them.
    if (this.escalations >= MAX_ESCALATIONS) {
      this.tracer.guestError(`XIVE: END ${hx(endBlk)}/${hx(endIdx)}: more than ${MAX_ESCALATIONS} escalations for one event (an escalation loop), event dropped`);
      return;
    }
    const w4 = this.endBits(endIdx, 4);
    const escBlk = getField(R.END_W4_ESC_END_BLOCK, w4);
    const escIdx = getField(R.END_W4_ESC_END_INDEX, w4);
    const escData = getField(R.END_W5_ESC_END_DATA, this.endBits(endIdx, 5));
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xive_router_end_escalate', endBlk, endIdx, escBlk, escIdx, endData: escData });
    this.escalations++;
    try {
      this.endTrigger(escBlk, escIdx, escData);
    } finally {
      this.escalations--;
    }
  }

  /** Trigger function on the ESn or ESe field (mask and shift) of word 1; true = forward. */
  private esCoalesce(endIdx: number, es: number, shift: number): boolean {
    if (this.atomic === true) return atomicEsCoalesce(this.endWords, endIdx, es, shift);
    const w1 = this.endBits(endIdx, 1);
    const pq = (w1 & es) >>> shift;
    const next = pqTrigger(pq);
    if (next !== pq) this.setEndWord(endIdx, 1, (w1 & ~es) | (next << shift));
    return pqTriggerForwards(pq);
  }

  /**
   * Writes one EQ entry (generation bit + data) and advances the index, toggling on wrap.
   * `w0` is the END's word 0, which holds the queue size.
   */
  private enqueue(endIdx: number, data: number, w0: number): void {
    if (this.atomic === true) {
      this.enqueueAtomic(endIdx, data);
      return;
    }
    const e = this.ends;
    const at = endIdx * END_BYTES;
    const w1 = e.getInt32(at + 4, false);
    const index = w1 & END_W1_PAGE_OFF;
    const gen = (w1 & END_W1_GENERATION) !== 0 ? 1 : 0;
    // Queue address (word 2 high bits, word 3) as endQueueAddr computes it.
    const addr = (e.getInt32(at + 8, false) & END_W2_OP_DESC_HI) * 0x1_0000_0000 + e.getUint32(at + 12, false) + 4 * index;
    const word = (gen << EQ_ENTRY_GENERATION_SHIFT) | (data & EQ_ENTRY_DATA);
    if (!this.memory.write32(addr, this.memory.signedWrite32 === true ? word : word >>> 0)) {
      this.enqueueFailed(addr);
      return;
    }
    const entries = 1 << (((w0 & END_W0_QSIZE) >>> END_W0_QSIZE_SHIFT) + 10);
    const next = (index + 1) & (entries - 1);
    let nw1 = (w1 & ~END_W1_PAGE_OFF) | next;
    if (next === 0) nw1 ^= END_W1_GENERATION;
    e.setInt32(at + 4, nw1, false);
  }

  private enqueueAtomic(endIdx: number, data: number): void {
    const failed = atomicEnqueue(this.endWords, endIdx, this.memory, data);
    if (failed >= 0) this.enqueueFailed(failed);
  }

  private enqueueFailed(addr: number): void {
    this.tracer.guestError(`XIVE: failed to write END data @0x${addr.toString(16)}`);
  }

  // ---- Saved state ------------------------------------------------------------------------------
  /** A copy of the EAS and END tables (their architected big-endian images). */
  saveState(): XiveRouterState {
    return { nrIrqs: this.nrIrqs, nrEnds: this.nrEnds, eas: bytesOf(this.eas).slice(), ends: bytesOf(this.ends).slice() };
  }

  /** Why `s` cannot be loaded into this router, or null. */
  stateMismatch(s: XiveRouterState): StateMismatch | null {
    if (s.nrIrqs !== this.nrIrqs) return { what: 'the XIVE nr_irqs', saved: s.nrIrqs, here: this.nrIrqs };
    if (s.nrEnds !== this.nrEnds) return { what: 'the XIVE nr_ends', saved: s.nrEnds, here: this.nrEnds };
    return null;
  }

  /** Replaces both tables with `s` (checked with stateMismatch). ENDs first, as a real load does. */
  loadState(s: XiveRouterState): void {
    bytesOf(this.ends).set(s.ends);
    bytesOf(this.eas).set(s.eas);
  }

}

function hx(v: number): string {
  return (v >>> 0).toString(16);
}
