/**
 * Reference model of the sPAPR XIVE controller for the fuzzer, written from the spec
 * (docs/xive.md §1-§4, docs/spapr-xive.md §1-§2) independently of src/xive: the source PQ machine and ESB
 * pages, the EAS/END tables, END notification with event-queue writes, the presenter scan, the
 * thread contexts and TIMA (with the per-byte rights of §4.7), and the H_INT_* hcalls.
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

export const VC_BASE = 0x0006_0100_0000_0000;
export const TM_BASE = 0x0006_0302_0318_0000;
export const NR_IRQS = 0x2000;
export const ESB_STRIDE = 0x20000;
export const ESB_PAGE = 0x10000;
export const ESB_REGION = NR_IRQS * ESB_STRIDE;
export const END_BASE = VC_BASE + ESB_REGION;
export const TIMA_SIZE = 4 * 0x10000;
export const NVT_BASE = 0x400;
const HV_PRIO = 7;
const M64 = 0xffff_ffff_ffff_ffffn;
/** The H_INT_* hcalls (docs/spapr-xive.md §2). */
const XIVE_HCALLS: ReadonlySet<number> = new Set([
  H.H_INT_GET_SOURCE_INFO, H.H_INT_SET_SOURCE_CONFIG, H.H_INT_GET_SOURCE_CONFIG, H.H_INT_GET_QUEUE_INFO, H.H_INT_SET_QUEUE_CONFIG,
  H.H_INT_GET_QUEUE_CONFIG, H.H_INT_SET_OS_REPORTING_LINE, H.H_INT_GET_OS_REPORTING_LINE, H.H_INT_ESB, H.H_INT_SYNC, H.H_INT_RESET,
]);

// EAS / END bits (docs/xive.md §2), as numeric masks of the big-endian words.
export const EAS_VALID = 0x8000_0000;
export const EAS_MASKED = 0x8000_0000;
export const END_VALID = 0x8000_0000;
export const END_ENQUEUE = 0x4000_0000;
export const END_UCOND = 0x2000_0000;
export const END_GEN = 0x0040_0000;
export const END_INDEX = 0x003f_ffff;
export const END_RESET_W1 = 0x5000_0000;

const OS = 0x10;
const POOL = 0x20;
const PHYS = 0x30;
const LINE_INT = 1;
const LINE_HINT = 2;

/** PQ after a trigger / an EOI, indexed by the old PQ (docs/xive.md §1.2). */
const TRIGGER = [2, 1, 3, 3];
const EOI = [0, 1, 0, 2];

export function prioToIpb(p: number): number {
  return p > 7 ? 0 : 0x80 >>> p;
}

export function ipbToPipr(ipb: number): number {
  if (ipb === 0) return 0xff;
  let p = 0;
  while ((ipb & (0x80 >>> p)) === 0) p++;
  return p;
}

/**
 * Per-byte access rights of the raw TIMA views (docs/xive.md §4.7), one string per (page, ring):
 * 16 digits, 0 none, 1 write, 2 read, 3 both. Pages HW, HV, OS, USER; rings USER, OS, POOL, PHYS.
 */
const RIGHTS_TEXT: readonly (readonly string[])[] = [
  ['3000000033330000', '3333330233330000', '0033000033330000', '3333030230033330'],
  ['3000000033330000', '3333330233330000', '0033000003330000', '3333030230030000'],
  ['3000000033330000', '2322220200000000', '0000000000000000', '0000000000000000'],
  ['3000000000000000', '0000000000000000', '0000000000000000', '0000000000000000'],
];
const RIGHTS: readonly Uint8Array[] = RIGHTS_TEXT.map((rows) => Uint8Array.from(rows.join(''), (c) => Number(c)));

/** Special operations (docs/xive.md §4.6): lowest page allowed is the highest page number accepted. */
const enum Spc {
  None,
  SetOsCppr,
  PushOs,
  SetPhysCppr,
  VtPush,
  VtPoll,
  AckOs,
  SetOsPending,
  PullOs,
  PullPool,
  AckHv,
}

function special(page: number, o: number, size: number, store: boolean): Spc {
  const os = page <= 2;
  const hv = page <= 1;
  if (store) {
    if (o === 0x011 && size === 1 && os) return Spc.SetOsCppr;
    if (o === 0x018 && size === 4 && hv) return Spc.PushOs;
    if (o === 0x031 && size === 1 && hv) return Spc.SetPhysCppr;
    if (o === 0x038 && size === 1 && hv) return Spc.VtPush;
    if (o === 0x812 && size === 1 && os) return Spc.SetOsPending;
    return Spc.None;
  }
  if (o === 0x038 && size === 1 && hv) return Spc.VtPoll;
  if (o === 0x810 && size === 2 && os) return Spc.AckOs;
  if (o === 0x818 && (size === 4 || size === 8) && hv) return Spc.PullOs;
  if (o === 0x828 && (size === 4 || size === 8) && hv) return Spc.PullPool;
  if (o === 0x830 && size === 2 && hv) return Spc.AckHv;
  return Spc.None;
}

function hx(v: number): string {
  return (v >>> 0).toString(16);
}

interface EqEntry {
  end: number;
  word: number;
  alive: boolean;
}

/** A guest's consumer of one event queue: next index to read and its toggle (starts at 0). */
interface Consumer {
  index: number;
  toggle: number;
}

export class RefXive implements RefIntc {
  readonly name = 'xive';
  readonly casMode = OV5_XIVE_EXPLOIT;
  /** XIVE has no RTAS calls. */
  readonly rtasTokens: Readonly<Record<string, number>> = {};
  readonly nrEnds: number;
  /** PQ in bits 0-1, LSI asserted in bit 2. */
  readonly status = new Uint8Array(NR_IRQS);
  readonly lsi = new Uint8Array(NR_IRQS);
  readonly easHi = new Uint32Array(NR_IRQS);
  readonly easLo = new Uint32Array(NR_IRQS);
  readonly end: Uint32Array;
  readonly tctx = new Map<number, Uint8Array>();
  readonly lines = new Map<number, number>();
  /** vCPU ids in CPU (plug) order: the presenter scans them in this order. */
  readonly cpuOrder: number[] = [];
  /** Per END: entries written since it was last configured (generation consistency). */
  readonly writes: number[];
  /**
   * Per vCPU, bit per ring: PIPR is not (yet) derived from IPB — a raw store wrote the IPB since
   * the last update, or the ring was never updated since reset (POOL resets with PIPR 0).
   */
  readonly ipbRaw = new Map<number, number>();
  private readonly consumers: Consumer[];
  private readonly slots = new Map<number, EqEntry>();
  private readonly live: Set<EqEntry>[];

  constructor(
    readonly maxCpus: number,
    readonly ramSize: number,
    private readonly fx: Effects,
    private readonly led: Ledger,
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
    this.resetCpu(v);
  }

  private resetCpu(v: number): void {
    const r = this.tctx.get(v)!;
    r.fill(0);
    r[OS + 3] = 0xff;
    r[OS + 4] = 0xff;
    r[OS + 6] = 0xff;
    r[OS + 7] = 0xff;
    r[PHYS + 7] = 0xff;
    this.setWord2(r, OS, (0x8000_0000 | (NVT_BASE + v)) >>> 0);
    this.lines.set(v, 0);
    // Reset leaves the POOL ring's PIPR at 0 with an empty IPB: not derived from it until an update.
    this.ipbRaw.set(v, 1 << (POOL >>> 4));
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
    for (let e = 0; e < this.nrEnds; e++) this.resetEnd(e);
    for (const v of this.cpuOrder) this.resetCpu(v);
  }

  private resetEnd(e: number): void {
    this.end.fill(0, e * 8, e * 8 + 8);
    this.end[e * 8 + 1] = END_RESET_W1;
    this.abandon(e);
    this.fx.touchedEnd.add(e);
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

  // ---- MMIO: the ESB pages and the TIMA (mapped while XIVE is active) ----------------------
  mmioLoad(v: number, addr: number, size: number): LoadResult {
    if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
      const off = addr - VC_BASE;
      return size === 8 && off % 8 === 0 ? this.esbLoad(off) : { lo: 0, hi: 0 };
    }
    if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
      const off = addr - TM_BASE;
      this.fx.touchedCpu.add(v);
      return (size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0 ? this.timaLoad(v, off, size) : { lo: 0, hi: 0 };
    }
    return { lo: 0, hi: 0 };
  }

  mmioStore(v: number, addr: number, size: number, lo: number, hi: number): void {
    if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
      const off = addr - VC_BASE;
      if (size === 8 && off % 8 === 0) this.esbStore(off);
    } else if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
      const off = addr - TM_BASE;
      this.fx.touchedCpu.add(v);
      if ((size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0) this.timaStore(v, off, size, lo >>> 0, hi >>> 0);
    }
  }

  /** The TIMA: each vCPU sees its own thread context there. */
  mmioIsPerCpu(addr: number): boolean {
    return addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE;
  }

  // ---- source PQ (docs/xive.md §1) --------------------------------------------------------------
  private pq(s: number): number {
    return this.status[s]! & 3;
  }

  private setPq(s: number, pq: number): void {
    const old = this.status[s]! & 3;
    if (old === 3 && pq !== 3) this.led.qHeld--;
    if (pq === 3 && old !== 3) this.led.qHeld++;
    this.status[s] = (this.status[s]! & ~3) | pq;
    this.fx.touchedSrc.add(s);
  }

  /** A SET_PQ access by the guest: creating or discarding the event kept in Q is counted. */
  private setPqByGuest(s: number, pq: number): number {
    const old = this.pq(s);
    if (old === 3 && pq !== 3) this.led.qClearedByGuest++;
    if (pq === 3 && old !== 3) this.led.qCreatedByGuest++;
    this.setPq(s, pq);
    return old;
  }

  /** Generic ESB trigger; true when the event goes on to the router. */
  private trigger(s: number): boolean {
    const old = this.pq(s);
    this.led.trigger++;
    this.setPq(s, TRIGGER[old]!);
    switch (old) {
      case 0:
        this.led.fwdTrigger++;
        return true;
      case 2:
        this.led.coalescedQ++;
        return false;
      case 3:
        this.led.mergedQ++;
        return false;
      default:
        this.led.droppedOff++;
        return false;
    }
  }

  /** EOI (docs/xive.md §1.3): an LSI still asserted is presented again from PQ 00 only. */
  private eoi(s: number): boolean {
    this.led.eoi++;
    const old = this.pq(s);
    this.setPq(s, EOI[old]!);
    if (this.lsi[s] === 1 && (this.status[s]! & 4) !== 0) {
      if (this.pq(s) === 0) {
        this.setPq(s, 2);
        this.led.lsiRepresent++;
        return true;
      }
      if (old === 3) this.led.lsiEoiQDropped++;
      return false;
    }
    if (old === 3) this.led.fwdEoiQ++;
    return old === 3;
  }

  setIrq(lisn: number, level: boolean): void {
    this.fx.touchedSrc.add(lisn);
    if (this.lsi[lisn] === 1) {
      if (!level) {
        this.status[lisn] = this.status[lisn]! & ~4;
        return;
      }
      this.status[lisn] = this.status[lisn]! | 4;
      this.led.lsiRaise++;
      if (this.pq(lisn) === 0) {
        this.setPq(lisn, 2);
        this.led.lsiFwd++;
        this.forward(lisn);
      } else {
        this.led.lsiHeld++;
      }
    } else if (level && this.trigger(lisn)) {
      this.forward(lisn);
    }
  }

  /** 8-byte load at an 8-aligned offset inside the ESB region (docs/xive.md §1.5). */
  esbLoad(off: number): LoadResult {
    const s = Math.floor(off / ESB_STRIDE);
    if ((off & ESB_PAGE) === 0) return { lo: 0xffff_ffff, hi: 0xffff_ffff }; // trigger page
    const o = off & 0xfff;
    let r: number;
    if (o < 0x800) {
      r = this.eoi(s) ? 1 : 0;
      if (r === 1) this.forward(s);
    } else if (o < 0xc00) {
      r = this.pq(s);
    } else {
      r = this.setPqByGuest(s, (o >>> 8) & 3);
    }
    return { lo: r, hi: 0 };
  }

  esbStore(off: number): void {
    const s = Math.floor(off / ESB_STRIDE);
    const o = off & 0xfff;
    if ((off & ESB_PAGE) === 0 || o < 0x400) {
      if (this.trigger(s)) this.forward(s);
    } else if (o < 0x800) {
      // Store EOI needs the STORE_EOI source flag, which sPAPR never sets: nothing happens.
    } else if (o < 0xc00) {
      this.led.inject++;
      this.forward(s);
    } else {
      this.setPqByGuest(s, (o >>> 8) & 3);
    }
  }

  // ---- router (docs/xive.md §3) -----------------------------------------------------------------
  private err(message: string): void {
    this.fx.guestErrors.push(message);
  }

  private forward(lisn: number): void {
    this.fx.forwards.push(lisn);
    this.led.forwarded++;
    const hi = this.easHi[lisn]!;
    const lo = this.easLo[lisn]!;
    if ((hi & EAS_VALID) === 0) {
      this.err(`XIVE: invalid LISN ${hx(lisn)}`);
      this.led.easInvalid++;
      return;
    }
    if ((lo & EAS_MASKED) !== 0) {
      this.led.easMasked++;
      return;
    }
    this.endTrigger((hi >>> 24) & 0xf, hi & 0x00ff_ffff, lo & 0x7fff_ffff);
  }

  private endTrigger(blk: number, idx: number, data: number): void {
    if (blk !== 0 || idx >= this.nrEnds) {
      this.err(`XIVE: No END ${hx(blk)}/${hx(idx)}`);
      this.led.noEnd++;
      return;
    }
    const b = idx * 8;
    const w0 = this.end[b]!;
    if ((w0 & END_VALID) === 0) {
      this.err(`XIVE: END ${hx(blk)}/${hx(idx)} is invalid`);
      this.led.endInvalid++;
      return;
    }
    if ((w0 & END_ENQUEUE) !== 0) this.enqueue(idx, data);
    else this.led.notQueued++;
    // Silent escalation, backlog, escalation and format 1 are never configured through the
    // sPAPR hcalls (the END table invariants check it); notification is all that follows.
    const w6 = this.end[b + 6]!;
    const w7 = this.end[b + 7]!;
    const format = (w6 >>> 23) & 1;
    const prio = (w7 >>> 16) & 0xff;
    if (format === 0 && prio === 0xff) {
      this.led.endMasked++;
      return;
    }
    if ((w0 & END_UCOND) === 0) {
      const w1 = this.end[b + 1]!;
      const esn = (w1 >>> 30) & 3;
      this.end[b + 1] = ((w1 & 0x3fff_ffff) | (TRIGGER[esn]! << 30)) >>> 0;
      this.fx.touchedEnd.add(idx);
      if (esn !== 0) {
        this.led.esnCoalesced++;
        return;
      }
    }
    const nvtBlk = (w6 >>> 19) & 0xf;
    const nvtIdx = w6 & 0x7ffff;
    if (!this.hasCpu((nvtIdx - NVT_BASE) >>> 0)) {
      this.err(`XIVE: no NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
      this.led.nvtMissing++;
      return;
    }
    if (format === 0 && (w7 & 0x8000_0000) !== 0) {
      this.err(`XIVE: no support for LS NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
      this.led.lsUnsupported++;
      return;
    }
    const cam = (nvtBlk << 19) | nvtIdx;
    let found = -1;
    let foundRing = -1;
    for (const v of this.cpuOrder) {
      const ring = this.matchRing(v, cam);
      if (ring < 0) continue;
      if (found >= 0) {
        this.err(`XIVE: already found a thread context NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
        this.led.multipleThreads++;
        return;
      }
      found = v;
      foundRing = ring;
    }
    if (found < 0) {
      this.err(`XIVE: NVT ${hx(nvtBlk)}/${hx(nvtIdx)} is not dispatched`);
      this.led.notDispatched++;
      return;
    }
    this.fx.presents.push({ nvtIdx, ring: foundRing });
    this.fx.touchedCpu.add(found);
    this.led.presented++;
    const bit = prioToIpb(prio);
    if (bit !== 0 && (this.tctx.get(found)![foundRing + 2]! & bit) === 0) this.led.ipbNew++;
    else this.led.ipbMerged++;
    this.ipbUpdate(found, foundRing, bit);
  }

  /** Ring a thread answers `cam` on (docs/xive.md §4.3, format 0, checked PHYS, POOL, OS), or -1. */
  private matchRing(v: number, cam: number): number {
    const r = this.tctx.get(v)!;
    if ((r[0x38]! & 0x80) !== 0 && cam === (0x80 | (v & 0x7f))) return PHYS;
    const pool = this.word2(r, POOL);
    if ((pool & 0x8000_0000) !== 0 && (pool & 0x00ff_ffff) === cam) return POOL;
    const os = this.word2(r, OS);
    if ((os & 0x8000_0000) !== 0 && (os & 0x00ff_ffff) === cam) return OS;
    return -1;
  }

  /** docs/xive.md §3.3: entry = generation bit | 31-bit data, index advances, generation flips on wrap. */
  private enqueue(idx: number, data: number): void {
    const b = idx * 8;
    const w1 = this.end[b + 1]!;
    const index = w1 & END_INDEX;
    const gen = (w1 >>> 22) & 1;
    const addr = this.queueAddr(idx) + 4 * index;
    const word = ((gen << 31) | (data & 0x7fff_ffff)) >>> 0;
    if (addr + 4 > this.ramSize) {
      this.err(`XIVE: failed to write END data @0x${addr.toString(16)}`);
      this.led.enqueueFailed++;
      return;
    }
    this.fx.enqueues.push({ end: idx, addr, word });
    this.led.enqueued++;
    const prev = this.slots.get(addr);
    if (prev !== undefined && prev.alive) {
      this.kill(prev);
      if (prev.end === idx) this.led.eqOverwritten++;
      else this.led.eqOverlapClobbered++;
    }
    const entry: EqEntry = { end: idx, word, alive: true };
    this.slots.set(addr, entry);
    this.live[idx]!.add(entry);
    this.led.eqLive++;
    const next = (index + 1) & (this.queueEntries(idx) - 1);
    let nw1 = (w1 & ~END_INDEX) | next;
    if (next === 0) nw1 ^= END_GEN;
    this.end[b + 1] = nw1 >>> 0;
    this.writes[idx]!++;
    this.fx.touchedEnd.add(idx);
  }

  private kill(e: EqEntry): void {
    e.alive = false;
    this.live[e.end]!.delete(e);
    this.led.eqLive--;
  }

  /** The guest gives up a queue (reconfiguration, reset): its unread entries are abandoned. */
  private abandon(idx: number): void {
    const live = this.live[idx]!;
    if (live.size > 0) {
      for (const e of live) {
        e.alive = false;
        this.led.eqAbandoned++;
        this.led.eqLive--;
      }
      live.clear();
    }
    this.writes[idx] = 0;
    const c = this.consumers[idx]!;
    c.index = 0;
    c.toggle = 0;
  }

  queueAddr(idx: number): number {
    return (this.end[idx * 8 + 2]! & 0x0fff_ffff) * 0x1_0000_0000 + this.end[idx * 8 + 3]!;
  }

  queueEntries(idx: number): number {
    return 1 << (((this.end[idx * 8]! >>> 16) & 0xf) + 10);
  }

  /**
   * The slot an END wrote last and the generation it wrote it with, when no other END's queue
   * has overwritten it since (generation consistency check); null when it never wrote.
   */
  lastWrite(idx: number): { addr: number; gen: number } | null {
    const w = this.writes[idx]!;
    if (w === 0) return null;
    const entries = this.queueEntries(idx);
    const addr = this.queueAddr(idx) + 4 * ((w - 1) % entries);
    const owner = this.slots.get(addr);
    if (owner === undefined || owner.end !== idx) return null;
    return { addr, gen: Math.floor((w - 1) / entries) % 2 === 0 ? 1 : 0 };
  }

  /** The word the guest RAM must hold at `addr` (only event-queue writes change guest RAM). */
  expectedWord(addr: number): number {
    return this.slots.get(addr)?.word ?? 0;
  }

  /**
   * The guest reads up to `max` entries of its queue (vCPU, priority) the way Linux does: an
   * entry is valid while its bit 31 differs from the consumer's toggle. `read` loads guest RAM
   * from the model; every word must equal what the reference wrote there. Returns the words
   * read (the last one is the invalid entry that stopped the scan, if any) or a mismatch.
   */
  eqPop(v: number, prio: number, max: number, read: (addr: number) => number): { words: number[]; mismatch?: string } {
    const idx = v * 8 + prio;
    const words: number[] = [];
    if (idx >= this.nrEnds) return { words };
    const w0 = this.end[idx * 8]!;
    if ((w0 & END_VALID) === 0 || (w0 & END_ENQUEUE) === 0) return { words };
    const base = this.queueAddr(idx);
    const entries = this.queueEntries(idx);
    const c = this.consumers[idx]!;
    for (let i = 0; i < max; i++) {
      const addr = base + 4 * c.index;
      const word = read(addr) >>> 0;
      const want = this.expectedWord(addr);
      words.push(word);
      if (word !== want) return { words, mismatch: `EQ of vCPU ${v} priority ${prio}: guest RAM @0x${addr.toString(16)} holds 0x${hx(word)}, the queue writes put 0x${hx(want)} there` };
      if (word >>> 31 === c.toggle) break;
      const owner = this.slots.get(addr);
      if (owner !== undefined && owner.alive) {
        this.kill(owner);
        this.led.eqConsumed++;
        if (owner.end !== idx) this.led.eqConsumedForeign++;
      } else {
        this.led.eqStaleReads++;
      }
      c.index = (c.index + 1) & (entries - 1);
      if (c.index === 0) c.toggle ^= 1;
    }
    return { words };
  }

  // ---- thread contexts (docs/xive.md §4.1-§4.2) --------------------------------------------------
  word2(r: Uint8Array, ring: number): number {
    return ((r[ring + 8]! << 24) | (r[ring + 9]! << 16) | (r[ring + 10]! << 8) | r[ring + 11]!) >>> 0;
  }

  private setWord2(r: Uint8Array, ring: number, v: number): void {
    r[ring + 8] = v >>> 24;
    r[ring + 9] = (v >>> 16) & 0xff;
    r[ring + 10] = (v >>> 8) & 0xff;
    r[ring + 11] = v & 0xff;
  }

  private setLine(v: number, bit: number, up: boolean): void {
    const l = this.lines.get(v)!;
    this.lines.set(v, up ? l | bit : l & ~bit);
  }

  private notify(v: number, ring: number): void {
    const r = this.tctx.get(v)!;
    if (r[ring + 7]! >= r[ring + 1]!) return;
    if (ring === OS) {
      r[ring] = r[ring]! | 0x80;
      this.setLine(v, LINE_INT, true);
    } else if (ring === PHYS) {
      r[ring] = r[ring]! | 0x80;
      this.setLine(v, LINE_HINT, true);
    }
    // POOL/USER: QEMU 7.2 aborts; the model keeps IPB/PIPR and only reports it (documented).
  }

  private ipbUpdate(v: number, ring: number, bits: number): void {
    const r = this.tctx.get(v)!;
    r[ring + 2] = r[ring + 2]! | bits;
    r[ring + 7] = ipbToPipr(r[ring + 2]!);
    this.ipbRaw.set(v, this.ipbRaw.get(v)! & ~(1 << (ring >>> 4)));
    this.notify(v, ring);
  }

  private setCppr(v: number, ring: number, cppr: number): void {
    this.tctx.get(v)![ring + 1] = cppr > 7 ? 0xff : cppr;
    this.notify(v, ring);
  }

  private accept(v: number, ring: number): number {
    const r = this.tctx.get(v)!;
    this.setLine(v, ring === OS ? LINE_INT : LINE_HINT, false);
    const nsr = r[ring]!;
    const mask = ring === PHYS ? 0xc0 : 0x80;
    if ((nsr & mask) !== 0) {
      const cppr = r[ring + 7]!;
      r[ring + 1] = cppr;
      r[ring + 2] = r[ring + 2]! & ~prioToIpb(cppr);
      r[ring + 7] = ipbToPipr(r[ring + 2]!);
      r[ring] = nsr & ~mask;
      this.ipbRaw.set(v, this.ipbRaw.get(v)! & ~(1 << (ring >>> 4)));
      if (ring === OS) this.led.acks++;
    }
    return ((nsr << 8) | r[ring + 1]!) & 0xffff;
  }

  // ---- TIMA (docs/xive.md §4.6-§4.7) -------------------------------------------------------------
  /** Load of `size` (1/2/4/8, aligned) at offset `off` of the TIMA by vCPU `v`. */
  timaLoad(v: number, off: number, size: number): LoadResult {
    const r = this.tctx.get(v)!;
    const page = (off >>> 16) & 3;
    const op = special(page, off & 0xfff, size, false);
    switch (op) {
      case Spc.VtPoll:
        return { lo: r[0x38]!, hi: 0 };
      case Spc.AckOs:
        return { lo: this.accept(v, OS), hi: 0 };
      case Spc.AckHv:
        return { lo: this.accept(v, PHYS), hi: 0 };
      case Spc.PullOs: {
        const w2 = this.word2(r, OS);
        this.setWord2(r, OS, (w2 & 0x7fff_ffff) >>> 0);
        this.setLine(v, LINE_INT, false);
        return { lo: w2, hi: 0 };
      }
      case Spc.PullPool: {
        const w2 = (this.word2(r, POOL) & 0x7fff_ffff) >>> 0;
        this.setWord2(r, POOL, w2);
        return { lo: w2, hi: 0 };
      }
      default:
        break;
    }
    const ones = { lo: size >= 4 ? 0xffff_ffff : (1 << (8 * size)) - 1, hi: size === 8 ? 0xffff_ffff : 0 };
    if ((off & 0x800) !== 0) return ones;
    const reg = off & 0x3f;
    const rights = RIGHTS[page]!;
    let any = false;
    for (let i = 0; i < size; i++) if ((rights[reg + i]! & 2) !== 0) any = true;
    if (size < 4 || !any || (off & 0x30) === 0) return ones;
    const byte = (i: number) => ((rights[reg + i]! & 2) !== 0 ? r[reg + i]! : 0);
    if (size === 8) {
      return {
        hi: ((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) >>> 0,
        lo: ((byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7)) >>> 0,
      };
    }
    return { lo: ((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) >>> 0, hi: 0 };
  }

  timaStore(v: number, off: number, size: number, lo: number, hi: number): void {
    const r = this.tctx.get(v)!;
    const page = (off >>> 16) & 3;
    const op = special(page, off & 0xfff, size, true);
    switch (op) {
      case Spc.SetOsCppr:
        this.setCppr(v, OS, lo & 0xff);
        return;
      case Spc.SetPhysCppr:
        this.setCppr(v, PHYS, lo & 0xff);
        return;
      case Spc.VtPush:
        r[0x38] = lo & 0xff;
        return;
      case Spc.SetOsPending:
        this.ipbUpdate(v, OS, prioToIpb(lo & 0xff));
        return;
      case Spc.PushOs: {
        const cam = lo >>> 0;
        this.setWord2(r, OS, cam);
        // The pending priorities saved in the NVT would be restored here; sPAPR keeps none (0).
        if ((cam & 0x8000_0000) !== 0) this.ipbUpdate(v, OS, 0);
        return;
      }
      default:
        break;
    }
    if ((off & 0x800) !== 0) return;
    const reg = off & 0x3f;
    const rights = RIGHTS[page]!;
    let any = false;
    for (let i = 0; i < size; i++) if ((rights[reg + i]! & 1) !== 0) any = true;
    if (size < 4 || !any || (off & 0x30) === 0) return;
    for (let i = 0; i < size; i++) {
      if ((rights[reg + i]! & 1) === 0) continue;
      const shift = 8 * (size - 1 - i);
      const b = size === 8 ? (i < 4 ? hi >>> (shift - 32) : lo >>> shift) : lo >>> shift;
      r[reg + i] = b & 0xff;
      if (((reg + i) & 0xf) === 2) this.ipbRaw.set(v, this.ipbRaw.get(v)! | (1 << ((reg + i) >>> 4)));
    }
  }

  // ---- hcalls (docs/spapr-xive.md §2) ------------------------------------------------------------
  private lisnOk(lisn: bigint): boolean {
    return lisn < BigInt(NR_IRQS) && (this.easHi[Number(lisn)]! & EAS_VALID) !== 0;
  }

  private target(t: bigint): number {
    const id = Number(t & 0xffff_ffffn);
    return this.hasCpu(id) ? id : -1;
  }

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
    const ret = this.hcallInner(opcode, out);
    if (ret === H.H_SUCCESS) for (let i = 0; i < a.length; i++) a[i] = out[i]!;
    return { ret, ticks: false };
  }

  /** XIVE has no RTAS calls (rtasTokens is empty): never called. */
  rtas(_name: string, _args: readonly number[], _nret: number): number[] {
    return [-3];
  }

  private hcallInner(opcode: number, a: bigint[]): number {
    const [r4, r5, r6, r7, r8] = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!];
    switch (opcode) {
      case H.H_INT_GET_SOURCE_INFO: {
        if (r4 !== 0n) return H.H_PARAMETER;
        if (!this.lisnOk(r5)) return H.H_P2;
        const n = Number(r5);
        const page = BigInt(VC_BASE) + BigInt(n) * BigInt(ESB_STRIDE);
        const lsi = this.lsi[n] === 1;
        a[0] = lsi ? 0xcn : 0n;
        a[1] = lsi ? M64 : page + BigInt(ESB_PAGE);
        a[2] = lsi ? M64 : page;
        a[3] = 16n;
        return H.H_SUCCESS;
      }
      case H.H_INT_SET_SOURCE_CONFIG: {
        if ((r4 & ~3n) !== 0n) return H.H_PARAMETER;
        if (!this.lisnOk(r5)) return H.H_P2;
        const n = Number(r5);
        this.fx.touchedEas.add(n);
        if (r7 === 0xffn) {
          this.easHi[n] = EAS_VALID;
          this.easLo[n] = EAS_MASKED;
          return H.H_SUCCESS;
        }
        const prio = Number(r7 & 0xffn);
        if (prio >= HV_PRIO) return H.H_P4;
        const v = this.target(r6);
        if (v < 0) return H.H_P3;
        this.easHi[n] = ((this.easHi[n]! & 0xf000_0000) | (v * 8 + prio)) >>> 0;
        let lo = (r4 & 1n) !== 0n ? this.easLo[n]! | EAS_MASKED : this.easLo[n]! & ~EAS_MASKED;
        if ((r4 & 2n) !== 0n) lo = (lo & EAS_MASKED) | Number(r8 & 0x7fff_ffffn);
        this.easLo[n] = lo >>> 0;
        return H.H_SUCCESS;
      }
      case H.H_INT_GET_SOURCE_CONFIG: {
        if (r4 !== 0n) return H.H_PARAMETER;
        if (!this.lisnOk(r5)) return H.H_P2;
        const n = Number(r5);
        const e = this.easHi[n]! & 0x00ff_ffff;
        const nvt = e < this.nrEnds ? this.end[e * 8 + 6]! & 0x7ffff : 0;
        const prio = e < this.nrEnds ? (this.end[e * 8 + 7]! >>> 16) & 0xff : 0;
        a[0] = BigInt((nvt - NVT_BASE) >>> 0);
        a[1] = (this.easLo[n]! & EAS_MASKED) !== 0 ? 0xffn : BigInt(prio);
        a[2] = BigInt(this.easLo[n]! & 0x7fff_ffff);
        return H.H_SUCCESS;
      }
      case H.H_INT_GET_QUEUE_INFO: {
        if (r4 !== 0n) return H.H_PARAMETER;
        if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
        const v = this.target(r5);
        if (v < 0) return H.H_P2;
        const e = v * 8 + Number(r6 & 0xffn);
        const w0 = this.end[e * 8]!;
        a[0] = BigInt(END_BASE) + BigInt(e) * BigInt(ESB_STRIDE);
        a[1] = (w0 & END_ENQUEUE) !== 0 ? BigInt(((w0 >>> 16) & 0xf) + 12) : 0n;
        return H.H_SUCCESS;
      }
      case H.H_INT_SET_QUEUE_CONFIG: {
        if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
        if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
        const v = this.target(r5);
        if (v < 0) return H.H_P2;
        const prio = Number(r6 & 0xffn);
        const e = v * 8 + prio;
        if (r8 === 0n) {
          this.resetEnd(e);
          return H.H_SUCCESS;
        }
        if (r8 !== 12n && r8 !== 16n && r8 !== 21n && r8 !== 24n) return H.H_P5;
        if ((r7 & ((1n << r8) - 1n)) !== 0n) return H.H_P4;
        if (r7 + (1n << r8) > BigInt(this.ramSize)) return H.H_P4;
        const b = e * 8;
        let w0 = (this.end[b]! & ~0x000f_0000) | END_ENQUEUE | ((Number(r8) - 12) << 16) | END_VALID;
        w0 = (r4 & 1n) !== 0n ? w0 | END_UCOND : w0 & ~END_UCOND;
        this.abandon(e);
        this.end[b] = w0 >>> 0;
        this.end[b + 1] = END_GEN;
        this.end[b + 2] = Number((r7 >> 32n) & 0x0fff_ffffn);
        this.end[b + 3] = Number(r7 & 0xffff_ffffn);
        this.end[b + 6] = NVT_BASE + v;
        this.end[b + 7] = (prio << 16) >>> 0;
        this.fx.touchedEnd.add(e);
        return H.H_SUCCESS;
      }
      case H.H_INT_GET_QUEUE_CONFIG: {
        if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
        if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
        const v = this.target(r5);
        if (v < 0) return H.H_P2;
        const e = v * 8 + Number(r6 & 0xffn);
        const b = e * 8;
        const w0 = this.end[b]!;
        const debug = (r4 & 1n) !== 0n;
        const enq = (w0 & END_ENQUEUE) !== 0;
        a[0] = ((w0 & END_UCOND) !== 0 ? 1n : 0n) | (debug ? BigInt((this.end[b + 1]! >>> 22) & 1) << 62n : 0n);
        a[1] = enq ? BigInt(this.queueAddr(e)) : 0n;
        a[2] = enq ? BigInt(((w0 >>> 16) & 0xf) + 12) : 0n;
        a[3] = debug ? BigInt(this.end[b + 1]! & END_INDEX) : 0n;
        return H.H_SUCCESS;
      }
      case H.H_INT_SET_OS_REPORTING_LINE:
      case H.H_INT_GET_OS_REPORTING_LINE:
        return H.H_FUNCTION;
      case H.H_INT_ESB: {
        if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
        if (!this.lisnOk(r5)) return H.H_P2;
        if (r6 > 0x20000n) return H.H_P3;
        const off = Number(r5) * ESB_STRIDE + ESB_PAGE + Number(r6);
        if (off % 8 !== 0 || off + 8 > ESB_REGION) return H.H_HARDWARE;
        if ((r4 & 1n) !== 0n) {
          this.esbStore(off);
          a[0] = M64;
        } else {
          const v = this.esbLoad(off);
          a[0] = (BigInt(v.hi) << 32n) | BigInt(v.lo);
        }
        return H.H_SUCCESS;
      }
      case H.H_INT_SYNC:
        if (r4 !== 0n) return H.H_PARAMETER;
        return this.lisnOk(r5) ? H.H_SUCCESS : H.H_P2;
      case H.H_INT_RESET:
        return r4 !== 0n ? H.H_PARAMETER : H.H_SUCCESS;
      default:
        return H.H_FUNCTION;
    }
  }

  /** Events kept in Q, counted over the whole table (the ledger keeps the same incrementally). */
  countQHeld(): number {
    let n = 0;
    for (let s = 0; s < NR_IRQS; s++) if ((this.status[s]! & 3) === 3) n++;
    return n;
  }
}
