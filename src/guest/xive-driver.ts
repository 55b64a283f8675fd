/**
 * Reference pseries guest driver for the XIVE interrupt controller in exploitation mode: the
 * sequence of hcalls, ESB and TIMA accesses a Linux 6.1 guest performs (spec: spapr-xive.md §3,
 * xive.md §5), driven only through the machine's guest entry points (CAS, hcalls, MMIO loads and
 * stores, guest RAM, the vCPU's external interrupt input). It never looks at the controller's
 * internal tables, so whatever it observes is what a real guest would observe.
 *
 * It exists to exercise the model end to end and to account for every event: each trigger is
 * counted when sent, each event queue entry when consumed, so a mismatch means an event was lost
 * somewhere between the source and the guest.
 *
 * Acronyms: CAS = client architecture support (mode negotiation), LISN = logical interrupt source
 * number (the hcall-visible source id), EISN = effective interrupt source number (the data the
 * guest chose, found in its event queue), ESB = event state buffer (the PQ bits of a source, and
 * its MMIO pages), PQ = pending/queued bits, EQ = event queue (guest RAM ring of 32-bit entries),
 * END = event notification descriptor (the EQ descriptor in the controller), TIMA = thread
 * interrupt management area (per-vCPU MMIO window), CPPR = current processor priority, NSR =
 * notification source register, ACK = the TIMA load that accepts the pending interrupt, EOI =
 * end of interrupt, IPI = inter-processor interrupt, MSI = message signalled (edge) interrupt,
 * LSI = level sensitive interrupt.
 */
import type { GuestSourceCounters } from './guest.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import * as H from '../spapr/hcall.ts';
import { SPAPR_XIVE_TM_BASE } from '../spapr/spapr-xive.ts';
import { LINE_INT } from '../ports/lines.ts';

// ---- Guest-side view of the architecture. Kept separate from the model's own constants on
// purpose: a wrong constant on either side then shows up as a failing exchange.

/** Option vector 5 byte 23: the guest asks for XIVE exploitation. */
const OV5_XIVE_EXPLOIT = 0x40;
/** Linux takes the largest non-reserved priority; QEMU reserves 7 and up. */
export const DEFAULT_PRIORITY = 6;
/** Linux gives every IPI the same virtual IRQ number, which it uses as the EISN. */
export const DEFAULT_IPI_EISN = 0x10;
/** Where the queue bump allocator starts (guest physical), and the queue size (log2 bytes). */
export const DEFAULT_QUEUE_BASE = 0x400_0000;
export const DEFAULT_QUEUE_SHIFT = 16;

const TM_OS_PAGE = 0x20000;
const TM_QW1_CPPR = 0x11;
const TM_SPC_ACK_OS_REG = 0x810;
const TM_NSR_EO = 0x80;
const CPPR_ACCEPT_ALL = 0xff;

const ESB_LOAD_EOI = 0x000;
const ESB_GET = 0x800;
const ESB_SET_PQ_00 = 0xc00;
const ESB_SET_PQ_01 = 0xd00;
const PQ_Q = 0x1;
const PQ_P = 0x2;

const SRC_INFO_H_INT_ESB = 0x8n;
const SRC_INFO_LSI = 0x4n;
const SET_SOURCE_CONFIG_SET_EISN = 0x2n;
const SET_QUEUE_CONFIG_ALWAYS_NOTIFY = 0x1n;
const GET_QUEUE_CONFIG_DEBUG = 0x1n;
const ALL_ONES_64 = 0xffff_ffff_ffff_ffffn;

/** More ACK rounds than this in one handleInterrupts call means the line never settles. */
const MAX_ROUNDS_PER_CALL = 1_000_000;

/** A driver-side invariant broke (an hcall refused a request Linux relies on, a bad EISN…). */
export class XiveGuestError extends Error {
  override readonly name = 'XiveGuestError';
}

// Per-source accounting is the shape both reference drivers report (guest.ts). For XIVE,
// "coalesced" counts MSI/IPI triggers that found PQ = 11 (Q already promises one re-delivery)
// and LSI assertions that found P set; "delivered" counts event-queue entries consumed.
export type { SourceKind } from './guest.ts';
export type SourceCounters = GuestSourceCounters;

/** Per-vCPU accounting. `raised`/`coalesced` count events aimed at sources routed to it. */
export interface CpuCounters {
  raised: number;
  coalesced: number;
  delivered: number;
  /** ACK loads performed. */
  acks: number;
  /** ACK rounds that found nothing in the queue (e.g. the re-notification after coalescing). */
  spurious: number;
  /** Rounds started because the queue was not empty after an EOI (Linux's forced replay). */
  replays: number;
}

export interface GuestStats {
  raised: number;
  delivered: number;
  coalesced: number;
  represented: number;
  /** raised + represented − delivered − coalesced: events that vanished. */
  lost: number;
  /** Indexed by vCPU id; vCPUs the driver does not run hold zeros. */
  perCpu: CpuCounters[];
  /** By LISN. */
  perSource: Map<number, SourceCounters>;
  /** Deliveries by EISN (all IPIs share one EISN, as in Linux). */
  perEisn: Map<number, number>;
}

export interface XiveGuestOptions {
  priority?: number;
  ipiEisn?: number;
  queueBase?: number;
  /** log2 of the queue size in bytes: 12, 16, 21 or 24 (what the hcall accepts). */
  queueShift?: number;
  /** Guest address of the OS TIMA page (the device tree's `reg` entry 1). */
  timaOsPage?: number;
}

/** Configured source: counters plus where its ESB pages are. */
interface SourceState extends SourceCounters {
  /** Management page address, or -1 when the source must be reached through H_INT_ESB. */
  readonly mgmt: number;
  /** Trigger page address, or -1. */
  readonly trigger: number;
  readonly viaHcall: boolean;
}

/** What the driver keeps per online vCPU (Linux's per-CPU XIVE data). */
interface CpuState {
  readonly vcpu: number;
  readonly qpage: number;
  readonly qmask: number;
  /** Consumer index and toggle: an entry is valid when its bit 31 differs from the toggle. */
  idx: number;
  toggle: number;
  /** The CPPR the driver believes is set (it only stores CPPR when this changes). */
  cppr: number;
  /** Priorities announced by ACKs whose queues may still hold entries (bit p = priority p). */
  pending: number;
  readonly ipi: SourceState;
  readonly counters: CpuCounters;
}

function zeroCpuCounters(): CpuCounters {
  return { raised: 0, coalesced: 0, delivered: 0, acks: 0, spurious: 0, replays: 0 };
}

function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

function addrOrNone(v: bigint): number {
  return v === ALL_ONES_64 ? -1 : Number(v);
}

export class XiveGuest {
  readonly machine: SpaprMachine;
  readonly priority: number;
  readonly ipiEisn: number;
  readonly queueShift: number;
  readonly timaOsPage: number;
  /**
   * Called for every consumed event before its EOI, like a device's interrupt handler (an LSI
   * handler is where the device drops its line).
   */
  onEvent: ((cpu: number, source: SourceCounters) => void) | null = null;

  private readonly cpus: (CpuState | undefined)[] = [];
  private readonly online: number[] = [];
  private readonly byLisn = new Map<number, SourceState>();
  private readonly byEisn = new Map<number, SourceState>();
  private readonly deliveredByEisn = new Map<number, number>();
  private readonly lineLevel: (cpu: number) => boolean;
  private nextQueue: number;
  private nextEisn: number;
  private booted = false;
  private raisedTotal = 0;
  private deliveredTotal = 0;
  private coalescedTotal = 0;
  private representedTotal = 0;

  constructor(machine: SpaprMachine, opts: XiveGuestOptions = {}) {
    this.machine = machine;
    this.priority = opts.priority ?? DEFAULT_PRIORITY;
    this.ipiEisn = opts.ipiEisn ?? DEFAULT_IPI_EISN;
    this.queueShift = opts.queueShift ?? DEFAULT_QUEUE_SHIFT;
    this.nextQueue = opts.queueBase ?? DEFAULT_QUEUE_BASE;
    this.timaOsPage = opts.timaOsPage ?? SPAPR_XIVE_TM_BASE + TM_OS_PAGE;
    this.nextEisn = this.ipiEisn + 1;
    if (!Number.isInteger(this.priority) || this.priority < 0 || this.priority > 7) {
      throw new XiveGuestError(`priority must be 0..7, got ${this.priority}`);
    }
    this.checkEisnRange(this.ipiEisn);
    // The external interrupt input is what the vCPU samples to enter its handler.
    this.lineLevel = (cpu) => machine.lineLevel(cpu, LINE_INT);
  }

  // ---- Boot ----------------------------------------------------------------------------------

  /**
   * CAS, then every vCPU the machine has: event queue, CPPR, IPI. The boot vCPU sets its CPPR
   * before its IPI; the others have queue and IPI prepared first and set their CPPR when they
   * come up, which is the order the captures show.
   */
  boot(): void {
    if (this.booted) throw new XiveGuestError('boot() called twice');
    const out = this.machine.cas(OV5_XIVE_EXPLOIT);
    if (!out.ok) throw new XiveGuestError(`CAS refused XIVE exploitation: ${out.fatal}`);
    if (!out.xive) throw new XiveGuestError('CAS did not select XIVE');
    this.booted = true;
    const vcpus = this.machine.vcpus.slice();
    for (let i = 0; i < vcpus.length; i++) this.bringUpCpu(vcpus[i]!, i === 0);
  }

  /** Sets up one vCPU (also usable after a CPU hotplug). */
  bringUpCpu(vcpu: number, cpprFirst = false): void {
    if (!this.booted) throw new XiveGuestError('bringUpCpu() before boot()');
    if (this.cpus[vcpu] !== undefined) throw new XiveGuestError(`vCPU ${vcpu} is already up`);
    const boot = this.bootCpu();
    const prio = BigInt(this.priority);
    this.call(boot, H.H_INT_GET_QUEUE_INFO, [0n, BigInt(vcpu), prio]);
    const qpage = this.allocQueue();
    this.call(boot, H.H_INT_SET_QUEUE_CONFIG, [SET_QUEUE_CONFIG_ALWAYS_NOTIFY, BigInt(vcpu), prio, BigInt(qpage), BigInt(this.queueShift)]);
    if (cpprFirst) this.storeCppr(vcpu, CPPR_ACCEPT_ALL);
    const ipi = this.setupSource(boot, vcpu, vcpu, this.ipiEisn, 'ipi');
    if (!cpprFirst) this.storeCppr(vcpu, CPPR_ACCEPT_ALL);
    this.cpus[vcpu] = {
      vcpu,
      qpage,
      qmask: (1 << (this.queueShift - 2)) - 1,
      idx: 0,
      toggle: 0,
      cppr: CPPR_ACCEPT_ALL,
      pending: 0,
      ipi,
      counters: zeroCpuCounters(),
    };
    this.online.push(vcpu);
  }

  /**
   * Routes a device interrupt to (cpu, driver priority) with `eisn` (default: the next free
   * number above the IPI EISN): probe, mask, configure, unmask — through H_INT_ESB when the
   * source says its ESB pages must not be mapped (LSIs on sPAPR).
   */
  configureSource(lisn: number, cpu: number, eisn = this.allocEisn()): SourceCounters {
    if (!this.booted) throw new XiveGuestError('configureSource() before boot()');
    this.cpuState(cpu);
    if (this.byLisn.has(lisn)) throw new XiveGuestError(`LISN ${hex(lisn)} is already configured`);
    this.checkEisnRange(eisn);
    if (eisn === this.ipiEisn || this.byEisn.has(eisn)) throw new XiveGuestError(`EISN ${hex(eisn)} is already in use`);
    return this.setupSource(this.bootCpu(), lisn, cpu, eisn, null);
  }

  /** The next EISN no source uses. */
  allocEisn(): number {
    while (this.nextEisn === this.ipiEisn || this.byEisn.has(this.nextEisn)) this.nextEisn++;
    return this.nextEisn++;
  }

  private setupSource(by: number, lisn: number, cpu: number, eisn: number, kind: 'ipi' | null): SourceState {
    const info = this.call(by, H.H_INT_GET_SOURCE_INFO, [0n, BigInt(lisn)]);
    const flags = info[0]!;
    const viaHcall = (flags & SRC_INFO_H_INT_ESB) !== 0n;
    const lsi = (flags & SRC_INFO_LSI) !== 0n;
    const src: SourceState = {
      lisn,
      kind: kind ?? (lsi ? 'lsi' : 'msi'),
      cpu,
      eisn,
      mgmt: addrOrNone(info[1]!),
      trigger: addrOrNone(info[2]!),
      viaHcall,
      raised: 0,
      coalesced: 0,
      delivered: 0,
      represented: 0,
    };
    if (!viaHcall && src.mgmt < 0) throw new XiveGuestError(`LISN ${hex(lisn)}: no management page and no H_INT_ESB flag`);
    if (src.kind !== 'lsi' && src.trigger < 0) throw new XiveGuestError(`LISN ${hex(lisn)}: an edge source without a trigger page cannot be re-triggered`);
    if (kind === 'ipi' && lsi) throw new XiveGuestError(`IPI LISN ${hex(lisn)} is an LSI`);
    // IPIs are never masked first: they were just claimed, so they are still off.
    if (kind !== 'ipi') this.esbLoad(by, src, ESB_SET_PQ_01);
    this.call(by, H.H_INT_SET_SOURCE_CONFIG, [SET_SOURCE_CONFIG_SET_EISN, BigInt(lisn), BigInt(cpu), BigInt(this.priority), BigInt(eisn)]);
    this.esbLoad(by, src, ESB_SET_PQ_00);
    this.byLisn.set(lisn, src);
    if (kind !== 'ipi') this.byEisn.set(eisn, src);
    return src;
  }

  // ---- Sending events ------------------------------------------------------------------------

  /** IPI: vCPU `fromCpu` stores 0 on the trigger page of `toCpu`'s IPI. */
  sendIpi(fromCpu: number, toCpu: number): void {
    this.cpuState(fromCpu);
    const src = this.cpuState(toCpu).ipi;
    this.account(fromCpu, src);
    this.machine.mmioWrite(fromCpu, src.trigger, 8, 0, 0);
  }

  /** Device side: an MSI of a configured edge source (a level-1-then-0 pulse). */
  deviceMsi(lisn: number): void {
    const src = this.state(lisn);
    if (src.kind !== 'msi') throw new XiveGuestError(`LISN ${hex(lisn)} is ${src.kind}, not a device MSI`);
    this.account(src.cpu, src);
    this.machine.pulseMsi(lisn);
  }

  /** Device side: an LSI line goes up or down. Only rising edges are events. */
  deviceLsi(lisn: number, level: boolean): void {
    const src = this.state(lisn);
    if (src.kind !== 'lsi') throw new XiveGuestError(`LISN ${hex(lisn)} is ${src.kind}, not an LSI`);
    if (level) this.account(src.cpu, src);
    this.machine.setIrq(lisn, level);
  }

  /**
   * Counts an event about to be sent, reading the source's PQ with an ESB GET first (GET has no
   * side effect; Linux does not do it, it is instrumentation). An edge trigger that finds PQ=11
   * is merged into the re-delivery the Q bit already promises; PQ=10 is not merged (it sets Q,
   * which the EOI turns into its delivery). An LSI assertion that finds P set is the same level
   * condition as the one being presented.
   */
  private account(by: number, src: SourceState): void {
    const pq = this.esbLoad(by, src, ESB_GET) & 3;
    const merged = src.kind === 'lsi' ? (pq & PQ_P) !== 0 : pq === (PQ_P | PQ_Q);
    const c = this.cpuState(src.cpu).counters;
    src.raised++;
    c.raised++;
    this.raisedTotal++;
    if (merged) {
      src.coalesced++;
      c.coalesced++;
      this.coalescedTotal++;
    }
  }

  // ---- Receiving events ----------------------------------------------------------------------

  /** Is the vCPU's external interrupt input raised? */
  lineRaised(cpu: number): boolean {
    return this.lineLevel(cpu);
  }

  /**
   * The external interrupt handler of `cpu`: while the input is raised (or the queue still had
   * entries after an EOI), ACK, take one entry, run the handler hook, EOI the source, peek the
   * queue. Returns the number of events handled.
   */
  handleInterrupts(cpu: number): number {
    const c = this.cpuState(cpu);
    let handled = 0;
    let replay = false;
    let rounds = 0;
    while (replay || this.lineLevel(cpu)) {
      if (++rounds > MAX_ROUNDS_PER_CALL) throw new XiveGuestError(`vCPU ${cpu}: interrupt line never settles`);
      if (replay) c.counters.replays++;
      replay = false;
      this.ack(c);
      const eisn = this.scan(c, false);
      if (eisn === 0) {
        c.counters.spurious++;
        continue;
      }
      const src = eisn === this.ipiEisn ? c.ipi : this.byEisn.get(eisn);
      if (src === undefined) throw new XiveGuestError(`vCPU ${cpu}: event queue entry with unknown EISN ${hex(eisn)}`);
      src.delivered++;
      c.counters.delivered++;
      this.deliveredTotal++;
      this.deliveredByEisn.set(eisn, (this.deliveredByEisn.get(eisn) ?? 0) + 1);
      this.onEvent?.(cpu, src);
      this.sourceEoi(cpu, src);
      // Entries left behind (e.g. the event the EOI just re-triggered) are taken by replaying the
      // handler; an empty queue lets scan() drop the CPPR back to accept-all.
      replay = this.scan(c, true) !== 0;
      handled++;
    }
    return handled;
  }

  /** ACK: the TIMA accepts the pending interrupt and tells its priority (NSR << 8 | CPPR). */
  private ack(c: CpuState): void {
    c.counters.acks++;
    const v = this.machine.mmioRead(c.vcpu, this.timaOsPage + TM_SPC_ACK_OS_REG, 2);
    const nsr = (v >>> 8) & 0xff;
    const cppr = v & 0xff;
    if ((nsr & TM_NSR_EO) !== 0 && cppr !== CPPR_ACCEPT_ALL) {
      c.pending |= 1 << cppr;
      c.cppr = cppr;
    }
  }

  /**
   * Takes (or only peeks at) the next entry of the most favoured pending priority. When nothing
   * is left the CPPR goes back to accept-all, stored only if it changes.
   */
  private scan(c: CpuState, peek: boolean): number {
    let eisn = 0;
    let prio = CPPR_ACCEPT_ALL;
    while (c.pending !== 0) {
      prio = 31 - Math.clz32(c.pending & -c.pending);
      // Only the driver's priority has a queue; any other announced priority has nothing to read.
      if (prio === this.priority) eisn = this.readEq(c, peek);
      if (eisn !== 0) break;
      c.pending &= ~(1 << prio);
    }
    if (eisn === 0) prio = CPPR_ACCEPT_ALL;
    if (prio !== c.cppr) this.setCppr(c, prio);
    return eisn;
  }

  private readEq(c: CpuState, peek: boolean): number {
    const w = this.machine.memory.read32(c.qpage + 4 * c.idx);
    if (w < 0) throw new XiveGuestError(`vCPU ${c.vcpu}: event queue at ${hex(c.qpage)} is not readable`);
    if (w >>> 31 === c.toggle) return 0;
    if (!peek) {
      c.idx = (c.idx + 1) & c.qmask;
      if (c.idx === 0) c.toggle ^= 1;
    }
    return w & 0x7fff_ffff;
  }

  private setCppr(c: CpuState, cppr: number): void {
    c.cppr = cppr;
    this.storeCppr(c.vcpu, cppr);
  }

  /** 1-byte store to the OS ring's CPPR (a special operation, unlike wider raw stores). */
  private storeCppr(vcpu: number, cppr: number): void {
    this.machine.mmioWrite(vcpu, this.timaOsPage + TM_QW1_CPPR, 1, cppr);
  }

  /**
   * Source EOI. Edge: SET_PQ_00, and if Q was set an event arrived meanwhile, so trigger again.
   * Level: load-EOI through H_INT_ESB; a result of 1 means the still-asserted line was presented
   * again (the model returns the architected value; QEMU on a little-endian host would
   * byte-reverse it, which Linux never looks at).
   */
  private sourceEoi(cpu: number, src: SourceState): void {
    if (src.kind === 'lsi') {
      if ((this.esbLoad(cpu, src, ESB_LOAD_EOI) & 1) !== 0) {
        src.represented++;
        this.representedTotal++;
      }
      return;
    }
    const old = this.esbLoad(cpu, src, ESB_SET_PQ_00);
    if ((old & PQ_Q) !== 0) this.machine.mmioWrite(cpu, src.trigger, 8, 0, 0);
  }

  /** 8-byte ESB load on the management page (or through H_INT_ESB); returns the low 32 bits. */
  private esbLoad(cpu: number, src: SourceState, op: number): number {
    if (src.viaHcall) {
      const r = this.call(cpu, H.H_INT_ESB, [0n, BigInt(src.lisn), BigInt(op), 0n]);
      return Number(r[0]! & 0xffff_ffffn);
    }
    return this.machine.mmioRead(cpu, src.mgmt + op, 8);
  }

  // ---- Inspection ----------------------------------------------------------------------------

  /** H_INT_GET_QUEUE_CONFIG with DEBUG: what the controller reports for a vCPU's queue. */
  queueConfig(cpu: number): { alwaysNotify: boolean; generation: number; qpage: number; qshift: number; index: number } {
    const r = this.call(this.bootCpu(), H.H_INT_GET_QUEUE_CONFIG, [GET_QUEUE_CONFIG_DEBUG, BigInt(cpu), BigInt(this.priority)]);
    return {
      alwaysNotify: (r[0]! & 1n) !== 0n,
      // QEMU puts the generation at numeric bit 62 (spapr-xive.md §7 quirk 3).
      generation: Number((r[0]! >> 62n) & 1n),
      qpage: Number(r[1]!),
      qshift: Number(r[2]!),
      index: Number(r[3]!),
    };
  }

  /** The driver's consumer position in a vCPU's queue. */
  consumer(cpu: number): { qpage: number; index: number; toggle: number } {
    const c = this.cpuState(cpu);
    return { qpage: c.qpage, index: c.idx, toggle: c.toggle };
  }

  /** vCPUs the driver runs, in bring-up order. */
  onlineCpus(): readonly number[] {
    return this.online;
  }

  hasSource(lisn: number): boolean {
    return this.byLisn.has(lisn);
  }

  /** Counters of a configured source (live object). */
  source(lisn: number): SourceCounters {
    return this.state(lisn);
  }

  private state(lisn: number): SourceState {
    const s = this.byLisn.get(lisn);
    if (s === undefined) throw new XiveGuestError(`LISN ${hex(lisn)} is not configured`);
    return s;
  }

  lost(): number {
    return this.raisedTotal + this.representedTotal - this.deliveredTotal - this.coalescedTotal;
  }

  /** A snapshot of all counters (fresh objects). */
  stats(): GuestStats {
    const perCpu: CpuCounters[] = [];
    for (let i = 0; i < this.cpus.length; i++) perCpu.push({ ...(this.cpus[i]?.counters ?? zeroCpuCounters()) });
    const perSource = new Map<number, SourceCounters>();
    for (const lisn of [...this.byLisn.keys()].sort((a, b) => a - b)) {
      const s = this.byLisn.get(lisn)!;
      perSource.set(lisn, { lisn, kind: s.kind, cpu: s.cpu, eisn: s.eisn, raised: s.raised, coalesced: s.coalesced, delivered: s.delivered, represented: s.represented });
    }
    return {
      raised: this.raisedTotal,
      delivered: this.deliveredTotal,
      coalesced: this.coalescedTotal,
      represented: this.representedTotal,
      lost: this.lost(),
      perCpu,
      perSource,
      perEisn: new Map([...this.deliveredByEisn].sort((a, b) => a[0] - b[0])),
    };
  }

  // ---- Helpers -------------------------------------------------------------------------------

  private bootCpu(): number {
    const b = this.online[0] ?? this.machine.vcpus[0];
    if (b === undefined) throw new XiveGuestError('the machine has no vCPU');
    return b;
  }

  private cpuState(cpu: number): CpuState {
    const c = this.cpus[cpu];
    if (c === undefined) throw new XiveGuestError(`vCPU ${cpu} is not up (online: ${this.online.join(', ') || 'none'})`);
    return c;
  }

  private checkEisnRange(eisn: number): void {
    // 0 reads as "no entry" in the queue scan, and the controller keeps 31 bits.
    if (!Number.isInteger(eisn) || eisn < 1 || eisn > 0x7fff_ffff) throw new XiveGuestError(`EISN must be 1..0x7fffffff, got ${eisn}`);
  }

  /** A zeroed, naturally aligned queue page from a bump allocator. */
  private allocQueue(): number {
    const size = 2 ** this.queueShift;
    const addr = Math.ceil(this.nextQueue / size) * size;
    const mem = this.machine.memory;
    if (!mem.isRam(addr, size)) throw new XiveGuestError(`no guest RAM for a ${size}-byte queue at ${hex(addr)}`);
    for (let a = addr; a < addr + size; a += 4) mem.write32(a, 0);
    this.nextQueue = addr + size;
    return addr;
  }

  /** An hcall Linux expects to succeed; anything else is a driver or model bug. */
  private call(vcpu: number, opcode: number, args: readonly bigint[]): bigint[] {
    const r = this.machine.hcall(vcpu, opcode, args);
    if (r.ret !== H.H_SUCCESS) {
      const name = H.HCALL_NAMES[opcode] ?? hex(opcode);
      const code = H.HCALL_STATUS_NAMES[r.ret] ?? String(r.ret);
      throw new XiveGuestError(`${name}(${args.map(hex).join(', ')}) on vCPU ${vcpu} failed with ${code} (${r.ret})`);
    }
    return r.regs;
  }
}
