/**
 * Reference model of the sPAPR XIVE controller for the fuzzer, written from the spec
 * (docs/xive.md §1-§4, docs/spapr-xive.md §1-§2) independently of src/xive: the source PQ machine and ESB
 * pages, the EAS/END tables, END notification with event-queue writes, the presenter scan, the
 * thread contexts and TIMA (with the per-byte rights of §4.7), and the H_INT_* hcalls.
 * This module is the controller: it holds the state (XiveState, ref-xive-defs.ts), wires it into
 * the reference machine and hands each access to the part that models it — sources and ESB pages
 * (ref-xive-source.ts), router and event queues (ref-xive-router.ts), thread contexts and TIMA
 * (ref-xive-tima.ts), hcalls (ref-xive-hcalls.ts).
 *
 * The fuzzer runs it in lockstep with the model and compares answers and state after every
 * step. It also does the conservation accounting (ledger.ts) of every event it routes, keeps
 * the guest's view of each event queue (the consumer index and toggle a Linux guest keeps) and
 * records which EQ slot holds which live entry, so that overwritten, abandoned and read entries
 * are each counted once.
 *
 * It is one of the reference machine's controllers (ref-intc.ts): its MMIO answers only while it
 * is the active one, its hcalls only once CAS negotiated XIVE exploitation.
 *
 * Where the model documents a deliberate difference from QEMU 7.2 (docs/qemu-compatibility.md:
 * architected values instead of host byte order, no abort on a POOL-ring notification), the
 * reference follows the documented behaviour.
 */
import * as H from '../spapr/hcall.ts';
import { OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import type { Effects } from './effects.ts';
import type { Ledger } from './ledger.ts';
import type { GuestDrivers, HcallAnswer, LoadResult, RefIntc, RefPlatform } from './ref-intc.ts';
import { EAS_MASKED, EAS_VALID, ESB_REGION, NR_IRQS, TIMA_SIZE, TM_BASE, VC_BASE, type Consumer, type EqEntry, type XiveState } from './ref-xive-defs.ts';
import { XIVE_HCALLS, xiveHcall } from './ref-xive-hcalls.ts';
import { eqPop, expectedWord, lastWrite, resetEnd } from './ref-xive-router.ts';
import { esbLoad, esbStore, setIrq } from './ref-xive-source.ts';
import { resetContext, timaLoad, timaStore, word2 } from './ref-xive-tima.ts';

// The address map, table bits and conversions the generator and the checks share with the reference.
export { END_BASE, END_RESET_W1, END_VALID, ESB_PAGE, ESB_REGION, ESB_STRIDE, NR_IRQS, NVT_BASE, TIMA_SIZE, TM_BASE, VC_BASE, ipbToPipr } from './ref-xive-defs.ts';

/** The state is public: the checks compare its tables with the model's. */
export class RefXive implements RefIntc, XiveState {
  readonly name = 'xive';
  readonly casMode = OV5_XIVE_EXPLOIT;
  /** XIVE has no RTAS calls. */
  readonly rtasTokens: Readonly<Record<string, number>> = {};
  readonly nrEnds: number;
  readonly status = new Uint8Array(NR_IRQS);
  readonly lsi = new Uint8Array(NR_IRQS);
  readonly easHi = new Uint32Array(NR_IRQS);
  readonly easLo = new Uint32Array(NR_IRQS);
  readonly end: Uint32Array;
  readonly tctx = new Map<number, Uint8Array>();
  readonly lines = new Map<number, number>();
  readonly cpuOrder: number[] = [];
  readonly writes: number[];
  readonly ipbRaw = new Map<number, number>();
  readonly consumers: Consumer[];
  readonly slots = new Map<number, EqEntry>();
  readonly live: Set<EqEntry>[];

  constructor(
    readonly maxCpus: number,
    readonly ramSize: number,
    readonly fx: Effects,
    readonly led: Ledger,
    private readonly platform: RefPlatform,
  ) {
    this.nrEnds = maxCpus * 8;
    this.end = new Uint32Array(this.nrEnds * 8);
    this.writes = new Array<number>(this.nrEnds).fill(0);
    this.consumers = Array.from({ length: this.nrEnds }, () => ({ index: 0, toggle: 0 }));
    this.live = Array.from({ length: this.nrEnds }, () => new Set<EqEntry>());
    // The IPI of every possible vCPU is claimed when the controller is created (docs/spapr-xive.md §1).
    for (let i = 0; i < maxCpus; i++) this.claim(i, false);
  }

  hasCpu(v: number): boolean {
    return this.tctx.has(v);
  }

  // ---- machine wiring ----------------------------------------------------------------------
  addCpu(v: number): void {
    this.tctx.set(v, new Uint8Array(64));
    this.cpuOrder.push(v);
    resetContext(this, v);
  }

  /** Machine reset (docs/spapr-xive.md §1.5): sources off, claimed EAS masked, ENDs and contexts reset. */
  reset(): void {
    this.fx.full = true;
    for (let s = 0; s < NR_IRQS; s++) {
      if ((this.status[s]! & 3) === 3) this.led.qClearedByReset++;
      this.status[s] = 1;
      const valid = (this.easHi[s]! & EAS_VALID) !== 0;
      this.easHi[s] = valid ? EAS_VALID : 0;
      this.easLo[s] = valid ? EAS_MASKED : 0;
    }
    this.led.qHeld = 0;
    for (let e = 0; e < this.nrEnds; e++) resetEnd(this, e);
    for (const v of this.cpuOrder) resetContext(this, v);
  }

  claim(lisn: number, lsi: boolean): boolean {
    this.fx.touchedEas.add(lisn);
    if ((this.easHi[lisn]! & EAS_VALID) !== 0) return false;
    this.easHi[lisn] = (this.easHi[lisn]! | EAS_VALID) >>> 0;
    this.easLo[lisn] = (this.easLo[lisn]! | EAS_MASKED) >>> 0;
    if (lsi) this.lsi[lisn] = 1;
    return true;
  }

  free(lisn: number): void {
    this.fx.touchedEas.add(lisn);
    this.easHi[lisn] = (this.easHi[lisn]! & ~EAS_VALID) >>> 0;
  }

  /** The LSI flag stays after a free, as the source keeps it. */
  isLsi(lisn: number): boolean {
    return this.lsi[lisn] === 1;
  }

  /** Nothing to redo after a load: no state is derived from other state. */
  postLoad(_resend: boolean): void {}

  driveGuest<T>(drivers: GuestDrivers<T>): T {
    return drivers.xive();
  }

  setIrq(lisn: number, level: boolean): void {
    setIrq(this, lisn, level);
  }

  // ---- MMIO: the ESB pages and the TIMA (mapped while XIVE is active) ----------------------
  mmioLoad(v: number, addr: number, size: number): LoadResult {
    if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
      const off = addr - VC_BASE;
      return size === 8 && off % 8 === 0 ? esbLoad(this, off) : { lo: 0, hi: 0 };
    }
    if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
      const off = addr - TM_BASE;
      this.fx.touchedCpu.add(v);
      return (size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0 ? timaLoad(this, v, off, size) : { lo: 0, hi: 0 };
    }
    return { lo: 0, hi: 0 };
  }

  mmioStore(v: number, addr: number, size: number, lo: number, hi: number): void {
    if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
      const off = addr - VC_BASE;
      if (size === 8 && off % 8 === 0) esbStore(this, off);
    } else if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
      const off = addr - TM_BASE;
      this.fx.touchedCpu.add(v);
      if ((size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0) timaStore(this, v, off, size, lo >>> 0, hi >>> 0);
    }
  }

  /** The TIMA: each vCPU sees its own thread context there. */
  mmioIsPerCpu(addr: number): boolean {
    return addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE;
  }

  // ---- hcalls (docs/spapr-xive.md §2) ------------------------------------------------------------
  handlesHcall(opcode: number): boolean {
    return XIVE_HCALLS.has(opcode);
  }

  /**
   * One H_INT_* hcall; outputs are written into `a` on success only. Until CAS negotiated XIVE
   * exploitation they all answer H_FUNCTION, whichever controller is active.
   */
  hcall(_v: number, opcode: number, a: bigint[]): HcallAnswer {
    if (!this.platform.xiveNegotiated()) return { ret: H.H_FUNCTION, ticks: false };
    const out = a.slice();
    const ret = xiveHcall(this, opcode, out);
    if (ret === H.H_SUCCESS) for (let i = 0; i < a.length; i++) a[i] = out[i]!;
    return { ret, ticks: false };
  }

  /** XIVE has no RTAS calls (rtasTokens is empty): never called. */
  rtas(_name: string, _args: readonly number[], _nret: number): number[] {
    return [-3];
  }

  // ---- what the checks and the generator read ----------------------------------------------
  /** Word 2 (valid bit and CAM line) of one ring of a thread context. */
  word2(r: Uint8Array, ring: number): number {
    return word2(r, ring);
  }

  /** The word the guest RAM must hold at `addr` (only event-queue writes change guest RAM). */
  expectedWord(addr: number): number {
    return expectedWord(this, addr);
  }

  /** See ref-xive-router.ts: the slot END `idx` wrote last, if no other queue overwrote it. */
  lastWrite(idx: number): { addr: number; gen: number } | null {
    return lastWrite(this, idx);
  }

  /** The guest reads up to `max` entries of its queue (vCPU, priority): see ref-xive-router.ts. */
  eqPop(v: number, prio: number, max: number, read: (addr: number) => number): { words: number[]; mismatch?: string } {
    return eqPop(this, v, prio, max, read);
  }

  /** Events kept in Q, counted over the whole table (the ledger keeps the same incrementally). */
  countQHeld(): number {
    let n = 0;
    for (let s = 0; s < NR_IRQS; s++) if ((this.status[s]! & 3) === 3) n++;
    return n;
  }
}
