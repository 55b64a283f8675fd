/**
 * The reference guest for the XIVE interrupt controller in exploitation mode on sPAPR: its
 * operations table for the guest core (driver.ts), and XiveGuest, the core bound to it (the
 * guest forced to ask for XIVE at CAS; createGuest builds one when CAS granted XIVE). As a
 * Linux 6.1 guest does (docs/spapr-xive.md §3, docs/xive.md §5): per vCPU an event queue in guest
 * RAM (H_INT_SET_QUEUE_CONFIG) and a CPPR in the TIMA; sources probed, routed, and masked or
 * unmasked through their ESB pages (through H_INT_ESB when the pages must not be mapped, LSIs on
 * sPAPR); an interrupt taken by a TIMA ACK load and read from the queue with its toggle bit, and
 * ended by an ESB EOI.
 *
 * vCPUs are the core's CPU indices (driver.ts); the hcalls name a target by its server number
 * (vCPU id): a queue is configured for (server, priority), a source routed to (server, priority),
 * and a vCPU's IPI is the LISN equal to its server number, as the pseries IRQ map reserves it.
 *
 * Accounting: "coalesced" counts MSI/IPI triggers that found PQ = 11 (Q already promises one
 * re-delivery) and LSI assertions that found P set; "delivered" counts event-queue entries
 * consumed. The PQ bits are read with an ESB GET before each trigger; GET has no side effect and
 * Linux does not do it (it is instrumentation).
 *
 * Acronyms: LISN = logical interrupt source number, EISN = effective interrupt source number
 * (what the guest finds in its queue), ESB = event state buffer (a source's PQ bits and its MMIO
 * pages), PQ = pending/queued bits, EQ = event queue, TIMA = thread interrupt management area,
 * CPPR = current processor priority, NSR = notification source register, ACK = the TIMA load
 * that accepts the pending interrupt, EOI = end of interrupt, IPI = inter-processor interrupt,
 * MSI/LSI = message signalled (edge) / level sensitive interrupt.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import * as H from '../spapr/hcall.ts';
import { SPAPR_XIVE_TM_BASE } from '../spapr/spapr-xive.ts';
import { GuestDriver, GuestError, hex, OV5_XIVE_EXPLOIT, sourceCounters, type BaseStats, type ControllerOps, type GuestLabels } from './driver.ts';
import type { GuestCpu, GuestCpuCounters, GuestSourceCounters } from './driver.ts';

// ---- Guest-side view of the architecture (kept apart from the model's constants on purpose).

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

/** A driver-side invariant broke (an hcall refused a request Linux relies on, a bad EISN…). */
export class XiveGuestError extends GuestError {
  override readonly name = 'XiveGuestError';
}

export type SourceCounters = GuestSourceCounters;

/** Per-vCPU accounting. `raised`/`coalesced` count events aimed at sources routed to it. */
export interface CpuCounters extends GuestCpuCounters {
  /** ACK loads performed ("spurious": ACK rounds that found the queue empty). */
  acks: number;
  /** Rounds started because the queue was not empty after an EOI (Linux's forced replay). */
  replays: number;
}

/** Statistics of the XIVE guest: the common ones and the deliveries by EISN. */
export interface GuestStats extends BaseStats<CpuCounters, SourceCounters> {
  /** Deliveries by EISN (all IPIs share one EISN, as in Linux). */
  perEisn: Map<number, number>;
}

/** Options of {@link XiveGuest}; the defaults are what Linux 6.1 does. */
export interface XiveGuestOptions {
  /** Priority of the event queues and of every source (default 6, the largest non-reserved). */
  priority?: number;
  /** What the guest reads for an IPI (default 0x10; every IPI shares it, as in Linux). */
  ipiEisn?: number;
  /** Guest address of the first event queue (default 0x4000000); one page per vCPU from there. */
  queueBase?: number;
  /** log2 of the queue size in bytes: 12, 16, 21 or 24 (what the hcall accepts). */
  queueShift?: number;
  /** Guest address of the OS TIMA page (the device tree's `reg` entry 1). */
  timaOsPage?: number;
}

/** A configured source: counters plus where its ESB pages are. */
export interface XiveSource extends SourceCounters {
  /** Management page address, or -1 when the source must be reached through H_INT_ESB. */
  readonly mgmt: number;
  /** Trigger page address, or -1. */
  readonly trigger: number;
  readonly viaHcall: boolean;
}

/** What the driver keeps per online vCPU (Linux's per-CPU XIVE data). */
export interface XiveCpu extends GuestCpu<XiveSource, CpuCounters> {
  readonly qpage: number;
  readonly qmask: number;
  /** Consumer index and toggle: an entry is valid when its bit 31 differs from the toggle. */
  idx: number;
  toggle: number;
  /** The CPPR the driver believes is set (it only stores CPPR when this changes). */
  cppr: number;
  /** Priorities announced by ACKs whose queues may still hold entries (bit p = priority p). */
  pending: number;
}

type Core = GuestDriver<XiveCpu, XiveSource, XiveOps>;

function addrOrNone(v: bigint): number {
  return v === ALL_ONES_64 ? -1 : Number(v);
}

export class XiveOps implements ControllerOps<XiveCpu, XiveSource> {
  readonly casRequest = OV5_XIVE_EXPLOIT;
  readonly exploitsXive = true;
  readonly model = 'XIVE exploitation';
  readonly casMismatch = 'CAS did not select XIVE';
  readonly noun = 'LISN';
  readonly labels: GuestLabels = { model: 'XIVE', setup: 'configured its event queues', source: 'LISN', eisn: 'EISN' };
  readonly priority: number;
  readonly ipiEisn: number;
  readonly queueShift: number;
  readonly timaOsPage: number;
  private nextQueue: number;
  private nextEisn: number;
  private readonly deliveredByEisn = new Map<number, number>();

  constructor(private readonly core: Core, opts: XiveGuestOptions) {
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
  }

  fail(message: string): XiveGuestError {
    return new XiveGuestError(message);
  }

  zeroCounters(): CpuCounters {
    return { raised: 0, coalesced: 0, delivered: 0, acks: 0, spurious: 0, replays: 0 };
  }

  // ---- Setup ---------------------------------------------------------------------------------

  /**
   * Event queue, CPPR, IPI. The boot vCPU sets its CPPR before its IPI; the others have queue
   * and IPI prepared first and set their CPPR when they come up, which is the order the
   * captures show. The queue and the IPI are those of the vCPU's server number.
   */
  cpuUp(vcpu: number, bootCpu: boolean): XiveCpu {
    const by = this.core.bootCpu();
    const server = this.core.serverOf(vcpu);
    const prio = BigInt(this.priority);
    this.core.call(by, H.H_INT_GET_QUEUE_INFO, [0n, BigInt(server), prio]);
    const qpage = this.allocQueue();
    this.core.call(by, H.H_INT_SET_QUEUE_CONFIG, [SET_QUEUE_CONFIG_ALWAYS_NOTIFY, BigInt(server), prio, BigInt(qpage), BigInt(this.queueShift)]);
    if (bootCpu) this.storeCppr(vcpu, CPPR_ACCEPT_ALL);
    const ipi = this.setupSource(by, server, vcpu, this.ipiEisn, 'ipi');
    if (!bootCpu) this.storeCppr(vcpu, CPPR_ACCEPT_ALL);
    const qmask = (1 << (this.queueShift - 2)) - 1;
    return { vcpu, qpage, qmask, idx: 0, toggle: 0, cppr: CPPR_ACCEPT_ALL, pending: 0, ipi, counters: this.zeroCounters() };
  }

  /** Routes a device interrupt to (the CPU index's server, driver priority) with `eisn` (default: the next free). */
  configureSource(lisn: number, cpu: number, eisn: number | undefined): XiveSource {
    this.core.checkUnconfigured(lisn);
    const e = eisn ?? this.allocEisn();
    this.checkEisnRange(e);
    if (e === this.ipiEisn || this.core.byEisn.has(e)) throw new XiveGuestError(`EISN ${hex(e)} is already in use`);
    return this.setupSource(this.core.bootCpu(), lisn, cpu, e, null);
  }

  /** The next EISN no source uses. */
  allocEisn(): number {
    while (this.nextEisn === this.ipiEisn || this.core.byEisn.has(this.nextEisn)) this.nextEisn++;
    return this.nextEisn++;
  }

  /**
   * Probe, mask, configure, unmask — through H_INT_ESB when the source says so. `by` and `cpu`
   * are CPU indices; the target the hcall names is `cpu`'s server number.
   */
  private setupSource(by: number, lisn: number, cpu: number, eisn: number, kind: 'ipi' | null): XiveSource {
    const info = this.core.call(by, H.H_INT_GET_SOURCE_INFO, [0n, BigInt(lisn)]);
    const flags = info[0]!;
    const viaHcall = (flags & SRC_INFO_H_INT_ESB) !== 0n;
    const lsi = (flags & SRC_INFO_LSI) !== 0n;
    const mgmt = addrOrNone(info[1]!);
    const trigger = addrOrNone(info[2]!);
    const src: XiveSource = { lisn, kind: kind ?? (lsi ? 'lsi' : 'msi'), cpu, eisn, mgmt, trigger, viaHcall, raised: 0, coalesced: 0, delivered: 0, represented: 0 };
    if (!viaHcall && src.mgmt < 0) throw new XiveGuestError(`LISN ${hex(lisn)}: no management page and no H_INT_ESB flag`);
    if (src.kind !== 'lsi' && src.trigger < 0) throw new XiveGuestError(`LISN ${hex(lisn)}: an edge source without a trigger page cannot be re-triggered`);
    if (kind === 'ipi' && lsi) throw new XiveGuestError(`IPI LISN ${hex(lisn)} is an LSI`);
    // IPIs are never masked first: they were just claimed, so they are still off.
    if (kind !== 'ipi') this.esbLoad(by, src, ESB_SET_PQ_01);
    const target = BigInt(this.core.serverOf(cpu));
    this.core.call(by, H.H_INT_SET_SOURCE_CONFIG, [SET_SOURCE_CONFIG_SET_EISN, BigInt(lisn), target, BigInt(this.priority), BigInt(eisn)]);
    this.esbLoad(by, src, ESB_SET_PQ_00);
    return src;
  }

  // ---- Sending events ------------------------------------------------------------------------

  /** vCPU `from` stores 0 on the trigger page of the target's IPI. */
  sendIpi(from: number, to: XiveCpu): void {
    this.account(from, to.ipi);
    this.core.machine.mmioWrite(from, to.ipi.trigger, 8, 0, 0);
  }

  noteMsi(src: XiveSource): void {
    this.account(src.cpu, src);
  }

  noteLsi(src: XiveSource, level: boolean): void {
    if (level) this.account(src.cpu, src);
  }

  /**
   * Counts an event about to be sent from the source's PQ. An edge trigger that finds PQ=11 is
   * merged into the re-delivery the Q bit already promises; PQ=10 is not merged (it sets Q,
   * which the EOI turns into its delivery). An LSI assertion that finds P set is the same level
   * condition as the one being presented.
   */
  private account(by: number, src: XiveSource): void {
    const pq = this.esbLoad(by, src, ESB_GET) & 3;
    this.core.account(src, src.kind === 'lsi' ? (pq & PQ_P) !== 0 : pq === (PQ_P | PQ_Q));
  }

  // ---- Receiving events ----------------------------------------------------------------------

  /** ACK, then the next entry of the most favoured pending priority. */
  take(c: XiveCpu, replay: boolean): number {
    if (replay) c.counters.replays++;
    this.ack(c);
    return this.scan(c, false);
  }

  unknownSource(c: XiveCpu, eisn: number): void {
    throw new XiveGuestError(`vCPU ${c.vcpu}: event queue entry with unknown EISN ${hex(eisn)}`);
  }

  begin(_c: XiveCpu, src: XiveSource): void {
    this.deliveredByEisn.set(src.eisn, (this.deliveredByEisn.get(src.eisn) ?? 0) + 1);
  }

  /**
   * Source EOI, then a peek at the queue: entries left behind (e.g. the event the EOI just
   * re-triggered) are taken by replaying the handler; an empty queue lets scan() drop the CPPR
   * back to accept-all.
   */
  end(c: XiveCpu, src: XiveSource): boolean {
    this.sourceEoi(c.vcpu, src);
    return this.scan(c, true) !== 0;
  }

  /** ACK: the TIMA accepts the pending interrupt and tells its priority (NSR << 8 | CPPR). */
  private ack(c: XiveCpu): void {
    c.counters.acks++;
    const v = this.core.machine.mmioRead(c.vcpu, this.timaOsPage + TM_SPC_ACK_OS_REG, 2);
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
  private scan(c: XiveCpu, peek: boolean): number {
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
    if (prio !== c.cppr) {
      c.cppr = prio;
      this.storeCppr(c.vcpu, prio);
    }
    return eisn;
  }

  private readEq(c: XiveCpu, peek: boolean): number {
    const w = this.core.machine.memory.read32(c.qpage + 4 * c.idx);
    if (w < 0) throw new XiveGuestError(`vCPU ${c.vcpu}: event queue at ${hex(c.qpage)} is not readable`);
    if (w >>> 31 === c.toggle) return 0;
    if (!peek) {
      c.idx = (c.idx + 1) & c.qmask;
      if (c.idx === 0) c.toggle ^= 1;
    }
    return w & 0x7fff_ffff;
  }

  /** 1-byte store to the OS ring's CPPR (a special operation, unlike wider raw stores). */
  private storeCppr(vcpu: number, cppr: number): void {
    this.core.machine.mmioWrite(vcpu, this.timaOsPage + TM_QW1_CPPR, 1, cppr);
  }

  /**
   * Edge: SET_PQ_00, and if Q was set an event arrived meanwhile, so trigger again. Level:
   * load-EOI through H_INT_ESB; a result of 1 means the still-asserted line was presented again
   * (the model returns the architected value; QEMU on a little-endian host would byte-reverse
   * it, which Linux never looks at).
   */
  private sourceEoi(cpu: number, src: XiveSource): void {
    if (src.kind === 'lsi') {
      if ((this.esbLoad(cpu, src, ESB_LOAD_EOI) & 1) !== 0) this.core.represent(src);
      return;
    }
    const old = this.esbLoad(cpu, src, ESB_SET_PQ_00);
    if ((old & PQ_Q) !== 0) this.core.machine.mmioWrite(cpu, src.trigger, 8, 0, 0);
  }

  /** 8-byte ESB load on the management page (or through H_INT_ESB); returns the low 32 bits. */
  private esbLoad(cpu: number, src: XiveSource, op: number): number {
    if (src.viaHcall) {
      const r = this.core.call(cpu, H.H_INT_ESB, [0n, BigInt(src.lisn), BigInt(op), 0n]);
      return Number(r[0]! & 0xffff_ffffn);
    }
    return this.core.machine.mmioRead(cpu, src.mgmt + op, 8);
  }

  // ---- Inspection ----------------------------------------------------------------------------

  stats(): GuestStats {
    return { ...this.core.baseStats(sourceCounters), perEisn: new Map([...this.deliveredByEisn].sort((a, b) => a[0] - b[0])) };
  }

  // ---- Helpers -------------------------------------------------------------------------------

  private checkEisnRange(eisn: number): void {
    // 0 reads as "no entry" in the queue scan, and the controller keeps 31 bits.
    if (!Number.isInteger(eisn) || eisn < 1 || eisn > 0x7fff_ffff) throw new XiveGuestError(`EISN must be 1..0x7fffffff, got ${eisn}`);
  }

  /** A zeroed, naturally aligned queue page from a bump allocator. */
  private allocQueue(): number {
    const size = 2 ** this.queueShift;
    const addr = Math.ceil(this.nextQueue / size) * size;
    const mem = this.core.machine.memory;
    if (!mem.isRam(addr, size)) throw new XiveGuestError(`no guest RAM for a ${size}-byte queue at ${hex(addr)}`);
    for (let a = addr; a < addr + size; a += 4) mem.write32(a, 0);
    this.nextQueue = addr + size;
    return addr;
  }
}

/**
 * A reference guest driver for XIVE exploitation mode: does what Linux 6.1's XIVE driver does over
 * the hcalls, ESB pages and TIMA of a machine.
 */
export class XiveGuest extends GuestDriver<XiveCpu, XiveSource, XiveOps> {
  constructor(machine: SpaprMachine, opts: XiveGuestOptions = {}) {
    super(machine, (core) => new XiveOps(core, opts));
  }

  /** Priority of the queues and sources. */
  get priority(): number {
    return this.ops.priority;
  }

  /** What the guest reads for an IPI. */
  get ipiEisn(): number {
    return this.ops.ipiEisn;
  }

  /** log2 of the event queue size in bytes. */
  get queueShift(): number {
    return this.ops.queueShift;
  }

  /** Guest address of the OS TIMA page the driver uses. */
  get timaOsPage(): number {
    return this.ops.timaOsPage;
  }

  /** `eisn` defaults to the next number no source uses (drawn before any check, as before). */
  override configureSource(lisn: number, cpu: number, eisn: number = this.allocEisn()): XiveSource {
    return super.configureSource(lisn, cpu, eisn);
  }

  /** The next EISN no source uses. */
  allocEisn(): number {
    return this.ops.allocEisn();
  }

  /** H_INT_GET_QUEUE_CONFIG with DEBUG: what the controller reports for the queue of the vCPU at a CPU index. */
  queueConfig(cpu: number): { alwaysNotify: boolean; generation: number; qpage: number; qshift: number; index: number } {
    const r = this.call(this.bootCpu(), H.H_INT_GET_QUEUE_CONFIG, [GET_QUEUE_CONFIG_DEBUG, BigInt(this.serverOf(cpu)), BigInt(this.ops.priority)]);
    return {
      alwaysNotify: (r[0]! & 1n) !== 0n,
      // QEMU puts the generation at numeric bit 62 (docs/spapr-xive.md §7 quirk 3).
      generation: Number((r[0]! >> 62n) & 1n),
      qpage: Number(r[1]!),
      qshift: Number(r[2]!),
      index: Number(r[3]!),
    };
  }

  /** The driver's consumer position in the queue of the vCPU at a CPU index. */
  consumer(cpu: number): { qpage: number; index: number; toggle: number } {
    const c = this.cpu(cpu);
    return { qpage: c.qpage, index: c.idx, toggle: c.toggle };
  }
}
