/**
 * XIVE interrupt source (IVSE): one PQ state byte per source number, the LSI bitmap, and the ESB
 * MMIO pages (trigger page + management page) through which a guest triggers, EOIs, masks and
 * inspects its interrupts. Events let through by the PQ logic are forwarded to the notifier
 * (the router) as (lisn, pqChecked).
 */
import * as R from './regs.ts';
import { ESB_64K_2PAGE, PQ_OFF } from './regs.ts';
import { pqEoi, pqEoiForwards, pqTrigger, pqTriggerForwards } from './esb.ts';
import { atomicLsiAssert, atomicLsiDeassert, atomicPqTrigger, atomicSetPq, atomicSourceEoi } from './atomics.ts';
import { Tracer } from '../trace/events.ts';
import type { StateCodec, StateMismatch } from '../base/state.ts';
import { u64 } from '../base/u64.ts';

// Module-private copies of the fields and values read on every ESB access: the engine reads a
// module's own constants faster than imported ones (measured on the interrupt cycle).
const SRC_STATUS_PQ = R.SRC_STATUS_PQ;
const SRC_STATUS_ASSERTED = R.SRC_STATUS_ASSERTED;
const SRC_FLAG_PQ_DISABLE = R.SRC_FLAG_PQ_DISABLE;
const SRC_FLAG_STORE_EOI = R.SRC_FLAG_STORE_EOI;
const pqTriggerNext = pqTrigger;
const pqTriggerFwd = pqTriggerForwards;
const PQ_RESET = R.PQ_RESET;
const PQ_PENDING = R.PQ_PENDING;
const PQ_QUEUED = R.PQ_QUEUED;
const ESB_OFFSET_PQ = R.ESB_OFFSET_PQ;
const ESB_OFFSET_PQ_SHIFT = R.ESB_OFFSET_PQ_SHIFT;

/** Saved state of the source block: one status byte per source and the LSI map. */
export interface XiveSourceState {
  nrIrqs: number;
  /** PQ in bits 1..0, LSI asserted in bit 2. */
  status: Uint8Array;
  /** LSI map, bit (i & 7) of byte (i >> 3) for source i. */
  lsi: Uint8Array;
}

/** Layout: nr_irqs (u32), the status bytes, the LSI map (ceil(nr_irqs / 8) bytes). */
export const XIVE_SOURCE_STATE: StateCodec<XiveSourceState> = {
  version: 1,
  encode(s, w) {
    w.u32(s.nrIrqs);
    w.bytes(s.status);
    w.bytes(s.lsi);
  },
  decoders: {
    1: (r) => {
      const nrIrqs = r.u32('nr_irqs');
      const status = r.bytes(nrIrqs, 'status bytes').slice();
      const lsi = r.bytes(Math.ceil(nrIrqs / 8), 'LSI map').slice();
      // PQ and the asserted bit are all a source ever writes: anything above bit 2 is damage.
      const at = status.findIndex((b) => b > 7);
      if (at >= 0) throw r.invalid(`source ${at} has status byte 0x${status[at]!.toString(16)}`);
      return { nrIrqs, status, lsi };
    },
  },
};

/** Who receives the events a source lets through: the router. */
export interface SourceNotifier {
  /** An event of source `srcno`; `pqChecked` is false when the source has PQ disabled. */
  notify(srcno: number, pqChecked: boolean): void;
}

/** An ESB load answered "all ones" (invalid load on a trigger page). */
export const ESB_ALL_ONES = -1;

/** The XIVE source block (IVSE): PQ state and LSI map of `nrIrqs` sources and their ESB pages. */
export class XiveSource {
  /** bits 0-1 PQ, bit 2 LSI asserted; the architected status byte. */
  readonly status: Uint8Array;
  /** 1 bit per source: LSI (level) instead of MSI. */
  readonly lsiMap: Uint32Array;
  notifier: SourceNotifier | null = null;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();
  /**
   * The status bytes are shared with other threads: PQ updates use Atomics (atomics.ts). Set by
   * the owner of the tables before use.
   */
  atomic = false;
  /** ESB bytes per source (2^esbShift) and half of it (the trigger page of two-page modes). */
  readonly pageBytes: number;
  private readonly halfPageBytes: number;
  /** 1 / pageBytes and 1 / halfPageBytes, exact powers of two. */
  private readonly perPage: number;
  private readonly perHalfPage: number;
  private readonly twoPage: boolean;

  constructor(
    readonly nrIrqs: number,
    readonly esbShift: number = ESB_64K_2PAGE,
    readonly flags = 0,
    buffers?: { status: Uint8Array; lsiMap: Uint32Array },
  ) {
    this.status = buffers?.status ?? new Uint8Array(nrIrqs);
    this.lsiMap = buffers?.lsiMap ?? new Uint32Array((nrIrqs + 31) >>> 5);
    // Precomputed: a non-constant power is a library call, and these run on every ESB access.
    this.pageBytes = 2 ** esbShift;
    this.halfPageBytes = 2 ** (esbShift - 1);
    this.perPage = 1 / this.pageBytes;
    this.perHalfPage = 1 / this.halfPageBytes;
    this.twoPage = esbShift === 13 || esbShift === 17;
  }

  /** Machine reset: every source OFF (PQ 01), asserted cleared; the LSI bitmap survives. */
  reset(): void {
    this.status.fill(PQ_OFF);
  }

  /** Whether the source is level-sensitive (LSI) rather than an MSI. */
  isLsi(srcno: number): boolean {
    return ((this.lsiMap[srcno >>> 5]! >>> (srcno & 31)) & 1) === 1;
  }

  /** Makes the source an LSI or an MSI. */
  setLsi(srcno: number, lsi: boolean): void {
    const bit = 1 << (srcno & 31);
    if (lsi) this.lsiMap[srcno >>> 5]! |= bit;
    else this.lsiMap[srcno >>> 5]! &= ~bit;
  }

  /** Whether the input of an LSI is asserted. */
  isAsserted(srcno: number): boolean {
    return (this.status[srcno]! & SRC_STATUS_ASSERTED) !== 0;
  }

  /** The PQ bits of the source (one of the PQ_* values). */
  getPq(srcno: number): number {
    return this.status[srcno]! & SRC_STATUS_PQ;
  }

  /** Sets PQ and returns the old value (never forwards). */
  setPq(srcno: number, pq: number): number {
    if (this.atomic === true) return atomicSetPq(this.status, srcno, pq);
    const s = this.status[srcno]!;
    this.status[srcno] = (s & ~SRC_STATUS_PQ) | (pq & SRC_STATUS_PQ);
    return s & SRC_STATUS_PQ;
  }

  /** Generic ESB trigger; returns true when the event must be forwarded. */
  private trigger(srcno: number): boolean {
    if (this.atomic === true) return atomicPqTrigger(this.status, srcno);
    const s = this.status[srcno]!;
    const old = s & SRC_STATUS_PQ;
    this.status[srcno] = (s & ~SRC_STATUS_PQ) | pqTrigger(old);
    return pqTriggerForwards(old);
  }

  private esbEoi(srcno: number): boolean {
    const s = this.status[srcno]!;
    const old = s & SRC_STATUS_PQ;
    this.status[srcno] = (s & ~SRC_STATUS_PQ) | pqEoi(old);
    return pqEoiForwards(old);
  }

  private pqDisabled(srcno: number): boolean {
    return (this.flags & SRC_FLAG_PQ_DISABLE) !== 0 && !this.isLsi(srcno);
  }

  /** Trigger coming from an ESB store; LSIs use the same generic trigger (Q can be set). */
  private esbTrigger(srcno: number): boolean {
    if (this.pqDisabled(srcno)) return true;
    const fwd = this.trigger(srcno);
    if (this.isLsi(srcno) && (this.status[srcno]! & SRC_STATUS_PQ) === PQ_QUEUED) this.queuedOnLsi(srcno);
    return fwd;
  }

  // Messages and trace events are built in separate methods: kept out of the access paths, they
  // leave those small enough for the compiler to inline.
  private queuedOnLsi(srcno: number): void {
    this.tracer.guestError(`XIVE: queued an event on LSI IRQ ${srcno}`);
  }

  /** EOI of a source; an LSI still asserted is presented again. */
  private eoi(srcno: number): boolean {
    if (this.pqDisabled(srcno)) {
      this.tracer.guestError(`XIVE: invalid EOI for IRQ ${srcno}`);
      return false;
    }
    if (this.atomic === true) return atomicSourceEoi(this.status, srcno, this.isLsi(srcno));
    let fwd = this.esbEoi(srcno);
    if (this.isLsi(srcno) && (this.status[srcno]! & SRC_STATUS_ASSERTED) !== 0) {
      // Re-presenting an asserted LSI only happens from the ready state, as on input.
      if ((this.status[srcno]! & SRC_STATUS_PQ) === PQ_RESET) {
        this.status[srcno] = (this.status[srcno]! & ~SRC_STATUS_PQ) | PQ_PENDING;
        fwd = true;
      } else {
        fwd = false;
      }
    }
    return fwd;
  }

  private forward(srcno: number): void {
    this.notifier?.notify(srcno, !this.pqDisabled(srcno));
  }

  /** Device input level change. */
  setIrq(srcno: number, level: boolean): void {
    if (this.isLsi(srcno)) {
      if (this.atomic === true) {
        if (!level) atomicLsiDeassert(this.status, srcno);
        else if (atomicLsiAssert(this.status, srcno)) this.forward(srcno);
        return;
      }
      if (level) {
        this.status[srcno]! |= SRC_STATUS_ASSERTED;
        if ((this.status[srcno]! & SRC_STATUS_PQ) === PQ_RESET) {
          this.status[srcno] = (this.status[srcno]! & ~SRC_STATUS_PQ) | PQ_PENDING;
          this.forward(srcno);
        }
      } else {
        this.status[srcno]! &= ~SRC_STATUS_ASSERTED;
      }
    } else if (level) {
      if (this.pqDisabled(srcno) || this.trigger(srcno)) this.forward(srcno);
    }
  }

  /** Is `addr` (offset inside the ESB region) on a trigger page? */
  isTriggerPage(addr: number): boolean {
    return this.twoPage === true ? Math.floor(addr * this.perHalfPage) % 2 === 0 : false;
  }

  /**
   * 8-byte ESB load at `addr` (offset inside the region, already checked to be inside and
   * 8-aligned). Returns the value, or ESB_ALL_ONES for the invalid trigger-page load.
   */
  esbLoad(addr: number): number {
    const srcno = Math.floor(addr * this.perPage);
    return this.esbLoadAt(srcno, addr - srcno * this.pageBytes);
  }

  /**
   * The same load, at byte `inPage` of source `srcno`'s ESB pages (region offset
   * srcno * pageBytes + inPage). Region offsets can exceed 2^31; these two stay small integers,
   * which callers on hot paths pass without boxing them.
   */
  esbLoadAt(srcno: number, inPage: number): number {
    const off = inPage & 0xfff;
    if (this.twoPage === true && inPage < this.halfPageBytes) {
      this.triggerPageLoad(srcno, inPage);
      return ESB_ALL_ONES;
    }
    let ret: number;
    if (off < 0x800) {
      ret = this.eoi(srcno) ? 1 : 0;
      if (ret) this.forward(srcno);
    } else if (off < 0xc00) {
      ret = this.status[srcno]! & SRC_STATUS_PQ;
    } else {
      ret = this.setPq(srcno, (off & ESB_OFFSET_PQ) >>> ESB_OFFSET_PQ_SHIFT);
    }
    if (this.tracer.sink !== null) this.traceLoad(srcno, inPage, ret);
    return ret;
  }

  private triggerPageLoad(srcno: number, inPage: number): void {
    this.tracer.guestError(`XIVE: invalid load on IRQ ${srcno} trigger page at 0x${(srcno * this.pageBytes + inPage).toString(16)}`);
  }

  private traceLoad(srcno: number, inPage: number, ret: number): void {
    this.tracer.sink!.emit({ name: 'xive_source_esb_read', addr: BigInt(srcno * this.pageBytes + inPage), srcno, value: BigInt(ret) });
  }

  /** 8-byte ESB store; the data only shows in the trace. */
  esbStore(addr: number, dataLo: number, dataHi = 0): void {
    const srcno = Math.floor(addr * this.perPage);
    this.esbStoreAt(srcno, addr - srcno * this.pageBytes, dataLo, dataHi);
  }

  /** The same store, at byte `inPage` of source `srcno`'s ESB pages (see esbLoadAt). */
  esbStoreAt(srcno: number, inPage: number, dataLo: number, dataHi = 0): void {
    const off = inPage & 0xfff;
    if (this.tracer.sink !== null) this.traceStore(srcno, inPage, dataLo, dataHi);
    let fwd = false;
    if ((this.twoPage === true && inPage < this.halfPageBytes) || off < 0x400) {
      if (this.flags === 0 && this.atomic === false) {
        this.plainTrigger(srcno);
        return;
      }
      fwd = this.esbTrigger(srcno);
    } else if (off < 0x800) {
      if ((this.flags & SRC_FLAG_STORE_EOI) === 0) {
        this.noStoreEoi(srcno);
        return;
      }
      fwd = this.eoi(srcno);
    } else if (off < 0xc00) {
      fwd = true; // inject: forward whatever the PQ state
    } else {
      this.setPq(srcno, (off & ESB_OFFSET_PQ) >>> ESB_OFFSET_PQ_SHIFT);
    }
    if (fwd) this.forward(srcno);
  }

  /**
   * The ESB trigger of a source with no flags in a table no other thread updates (every source
   * of an sPAPR guest): esbTrigger then forward in one method, the path every interrupt takes.
   */
  private plainTrigger(srcno: number): void {
    const st = this.status;
    const s = st[srcno]!;
    const old = s & SRC_STATUS_PQ;
    const next = pqTriggerNext(old);
    st[srcno] = (s & ~SRC_STATUS_PQ) | next;
    if (next === PQ_QUEUED && this.isLsi(srcno)) this.queuedOnLsi(srcno);
    if (pqTriggerFwd(old) && this.notifier !== null) this.notifier.notify(srcno, true);
  }

  private traceStore(srcno: number, inPage: number, dataLo: number, dataHi: number): void {
    this.tracer.sink!.emit({ name: 'xive_source_esb_write', addr: BigInt(srcno * this.pageBytes + inPage), srcno, value: u64(dataHi, dataLo) });
  }

  private noStoreEoi(srcno: number): void {
    this.tracer.guestError(`XIVE: invalid Store EOI for IRQ ${srcno}`);
  }

  // ---- Saved state ------------------------------------------------------------------------------
  /** A copy of the state (status bytes, LSI map); the source is left as it was. */
  saveState(): XiveSourceState {
    const lsi = new Uint8Array(Math.ceil(this.nrIrqs / 8));
    for (let i = 0; i < this.nrIrqs; i++) if (this.isLsi(i)) lsi[i >>> 3]! |= 1 << (i & 7);
    return { nrIrqs: this.nrIrqs, status: this.status.slice(), lsi };
  }

  /** Why `s` cannot be loaded into this source, or null. */
  stateMismatch(s: XiveSourceState): StateMismatch | null {
    return s.nrIrqs === this.nrIrqs ? null : { what: 'the XIVE source nr_irqs', saved: s.nrIrqs, here: this.nrIrqs };
  }

  /** Replaces the state with `s` (checked with stateMismatch). */
  loadState(s: XiveSourceState): void {
    this.status.set(s.status);
    for (let i = 0; i < this.nrIrqs; i++) this.setLsi(i, ((s.lsi[i >>> 3]! >>> (i & 7)) & 1) === 1);
  }

}
