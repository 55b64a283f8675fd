/**
 * The reference guest's interrupt core: what a Linux 6.1 pseries guest does the same way
 * whichever interrupt controller CAS left it with, over a small per-controller table of
 * operations, as Linux builds its own interrupt code: ops-xive.ts (XIVE exploitation: event
 * queues, ESB and TIMA accesses, H_INT_* hcalls) and ops-xics.ts (legacy XICS: XIRR, CPPR and
 * MFRR hcalls, RTAS source setup) do only what differs.
 *
 * The core owns the per-vCPU state, the source table and the accounting of every event, vCPU
 * bring-up (at boot and after a hotplug), the external interrupt handler loop (take, handle,
 * end), the statistics and the checkpoint hooks. The guest reaches the machine only through its
 * guest entry points (CAS, hcalls, RTAS, MMIO, guest RAM, the vCPU's external interrupt input),
 * and the ops keep their own copies of the architected constants on purpose: a wrong value on
 * either side then shows up as a failing exchange, not as two sides agreeing on one mistake.
 *
 * Two numbers name a vCPU. The CPU index (0..max-cpus-1, Linux's logical CPU number, QEMU's
 * cpu_index) is what the guest runs "as": every hcall, RTAS call, MMIO access and interrupt line
 * is the machine's entry point for the vCPU at that index, and the per-vCPU state and statistics
 * are kept by it. The vCPU id (server number, what the device tree's ibm,ppc-interrupt-server#s
 * gives Linux, `serverOf` here) is what the interrupt controllers know a vCPU by: hcall and RTAS
 * targets, H_IPI/H_IPOLL servers, and on XIVE the IPI's LISN. With the default VSMT the two are
 * equal; with vsmt=8 and one thread per core, CPU 1 is server 8.
 *
 * Acronyms: CAS = client architecture support (mode negotiation), IPI = inter-processor
 * interrupt, MSI/LSI = message signalled (edge) / level sensitive interrupt, LISN = logical
 * interrupt source number, EISN = what the guest reads when it takes an interrupt (the event
 * queue data in XIVE, the XISR in XICS), CPPR = current processor priority, EOI = end of interrupt.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { CasOutcome } from '../spapr/cas.ts';
import * as H from '../spapr/hcall.ts';
import { LINE_INT } from '../ports/lines.ts';

/** Option vector 5 byte 23 as the guest sends it at CAS: XIVE exploitation, or legacy XICS. */
export const OV5_XIVE_EXPLOIT = 0x40;
export const OV5_XICS_LEGACY = 0x00;

/** More handler rounds than this in one handleInterrupts call means the line never settles. */
const MAX_ROUNDS_PER_CALL = 1_000_000;

/** Fields binding a driver to its machine, ops or core: a checkpoint leaves them out. */
export const BINDING_FIELDS: ReadonlySet<string> = new Set(['machine', 'ops', 'core']);

/** What a source is to the guest: a vCPU's IPI, a device MSI or a device LSI. */
export type SourceKind = 'ipi' | 'msi' | 'lsi';

/** Per-source accounting, the same shape for every controller. */
export interface GuestSourceCounters {
  readonly lisn: number;
  readonly kind: SourceKind;
  /**
   * CPU index of the vCPU the source is routed to (for an IPI: the vCPU that receives it); the
   * controller is given its server number.
   */
  readonly cpu: number;
  /** What the guest reads when it takes the interrupt. */
  readonly eisn: number;
  /** Events sent to it (IPIs, device MSIs, LSI assertions). */
  raised: number;
  /** Events merged into another one that was still outstanding. */
  coalesced: number;
  /** Interrupts the guest took for it. */
  delivered: number;
  /** Deliveries of a level that was still asserted when the guest ended the previous one. */
  represented: number;
}

/** The per-vCPU counters every controller keeps (each adds its own). */
export interface GuestCpuCounters {
  raised: number;
  coalesced: number;
  delivered: number;
  /** Interrupt entries that found nothing to take. */
  spurious: number;
}

/** Totals and counters of a guest driver since boot. */
export interface ReferenceGuestStats {
  raised: number;
  delivered: number;
  coalesced: number;
  represented: number;
  /** Events that vanished without the controller's rules accounting for them. */
  lost: number;
  /**
   * Indexed by CPU index (as reports print their vCPU rows); vCPUs the driver does not run hold
   * zeros.
   */
  perCpu: readonly GuestCpuCounters[];
  /** By source number (an IPI by its number: the receiving vCPU's id), ascending. */
  perSource: ReadonlyMap<number, GuestSourceCounters>;
}

/** The common statistics as the core hands them to the ops (fresh objects). */
export interface BaseStats<C extends GuestCpuCounters, P extends GuestSourceCounters> extends ReferenceGuestStats {
  perCpu: C[];
  perSource: Map<number, P>;
}

/** Words a report uses for what the guest's controller calls things. */
export interface GuestLabels {
  /** The model the guest uses, as CAS names it ('XIVE', 'XICS'). */
  readonly model: string;
  /** What boot set up besides CAS ('configured its event queues'). */
  readonly setup: string;
  /** Heading of a source number ('LISN', 'IRQ') and of what the guest reads ('EISN', 'XISR'). */
  readonly source: string;
  readonly eisn: string;
}

/** A Linux-like guest interrupt driver bound to one machine. */
export interface ReferenceGuest {
  readonly machine: SpaprMachine;
  readonly labels: GuestLabels;
  /**
   * Called for every interrupt the guest takes, before it is ended, like a device's handler
   * (an LSI handler is where the device drops its line). `cpu` is the CPU index of the vCPU that
   * took it.
   */
  onEvent: ((cpu: number, source: GuestSourceCounters) => void) | null;
  /** CAS (unless done already), then every vCPU of the machine. */
  boot(): void;
  /** Brings up one more vCPU (by CPU index) after boot (CPU hotplug). */
  bringUpCpu(cpu: number): void;
  /** Routes a device interrupt to a vCPU (by CPU index) and enables it, as request_irq does. */
  configureSource(lisn: number, cpu: number): GuestSourceCounters;
  /** Both vCPUs by CPU index. */
  sendIpi(fromCpu: number, toCpu: number): void;
  /** Device side: one MSI (a level-1-then-0 pulse). */
  deviceMsi(lisn: number): void;
  /** Device side: an LSI line changes level. */
  deviceLsi(lisn: number, level: boolean): void;
  /** The external interrupt handler of the vCPU at a CPU index; returns the interrupts it handled. */
  handleInterrupts(cpu: number): number;
  /** CPU indices of the vCPUs up, in bring-up order. */
  onlineCpus(): readonly number[];
  /** Whether a source (or the IPI of a vCPU, at its number) is configured. */
  hasSource(lisn: number): boolean;
  /** Live counters of a configured source. */
  source(lisn: number): GuestSourceCounters;
  /** Whether the interrupt input of the vCPU at a CPU index is raised. */
  lineRaised(cpu: number): boolean;
  /** A snapshot of the counters. */
  stats(): ReferenceGuestStats;
  /** raised + represented − delivered − merged/withdrawn events; 0 when nothing vanished. */
  lost(): number;
}

/** A driver-side invariant broke (a call refused what Linux relies on, a bad EISN…). */
export class GuestError extends Error {
  override readonly name: string = 'GuestError';
}

/** What the core keeps per online vCPU; the ops extend it with their own fields. */
export interface GuestCpu<S extends GuestSourceCounters = GuestSourceCounters, C extends GuestCpuCounters = GuestCpuCounters> {
  /** The CPU index (the server number is the core's serverOf(vcpu)). */
  readonly vcpu: number;
  readonly ipi: S;
  readonly counters: C;
}

/**
 * What differs between interrupt controllers. Cpu and Src are the ops' own per-vCPU and
 * per-source records, which the core stores and counts on.
 */
export interface ControllerOps<Cpu extends GuestCpu<Src>, Src extends GuestSourceCounters> {
  /** Option vector 5 byte 23 the guest sends at CAS, and whether the answer must grant XIVE. */
  readonly casRequest: number;
  readonly exploitsXive: boolean;
  /** For errors: the model asked for, what to say when CAS picked the other one, a source's name. */
  readonly model: string;
  readonly casMismatch: string;
  readonly noun: string;
  /** How reports name things: the model, what boot set up, the source and EISN columns. */
  readonly labels: GuestLabels;
  /** What the guest reads when it takes an IPI. */
  readonly ipiEisn: number;
  fail(message: string): GuestError;
  zeroCounters(): Cpu['counters'];
  /**
   * Queue, CPPR and IPI of the vCPU at a CPU index (its IPI's `lisn` is the number the core files
   * it under); the boot vCPU may take the steps in another order.
   */
  cpuUp(vcpu: number, bootCpu: boolean): Cpu;
  /** Checks, routes and enables a device source (boot and the vCPU, a CPU index, are checked already). */
  configureSource(lisn: number, cpu: number, eisn: number | undefined): Src;
  /** Counts (core.account, by the controller's merge rules) and sends an IPI. */
  sendIpi(from: number, to: Cpu): void;
  /** Count an MSI or an LSI level change the device is about to send. */
  noteMsi(src: Src): void;
  noteLsi(src: Src, level: boolean): void;
  /** Interrupt entry: accepts what is pending and returns its EISN, 0 when nothing was there. */
  take(c: Cpu, replay: boolean): number;
  unknownSource(c: Cpu, eisn: number): void;
  /** Before the handler runs (CPPR bookkeeping, IPI request cleared…). */
  begin(c: Cpu, src: Src): void;
  /** Ends the interrupt; true when the handler must run again without waiting for the line. */
  end(c: Cpu, src: Src): boolean;
  stats(): ReferenceGuestStats;
}

export function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

/** The counters of a source every controller reports, copied. */
export function sourceCounters(s: GuestSourceCounters): GuestSourceCounters {
  return { lisn: s.lisn, kind: s.kind, cpu: s.cpu, eisn: s.eisn, raised: s.raised, coalesced: s.coalesced, delivered: s.delivered, represented: s.represented };
}

/**
 * The driver core shared by {@link XiveGuest} and {@link XicsGuest}: boot, sources, counting and
 * the interrupt handler loop, over the ops of one controller.
 */
export class GuestDriver<Cpu extends GuestCpu<Src>, Src extends GuestSourceCounters, Ops extends ControllerOps<Cpu, Src>> implements ReferenceGuest {
  readonly machine: SpaprMachine;
  /** @internal Used by the controller ops. */
  readonly ops: Ops;
  onEvent: ((cpu: number, source: GuestSourceCounters) => void) | null = null;

  // State below is read and counted on by the ops too; only the core adds and removes entries.
  /**
   * Indexed by CPU index.
   *
   * @internal Used by the controller ops.
   */
  readonly cpus: (Cpu | undefined)[] = [];
  /**
   * CPU indices, in bring-up order.
   *
   * @internal Used by the controller ops.
   */
  readonly online: number[] = [];
  /**
   * Every source by number, IPIs included (each under its number, the receiving vCPU's id).
   *
   * @internal Used by the controller ops.
   */
  readonly byLisn = new Map<number, Src>();
  /**
   * Device sources by what the guest reads when it takes them.
   *
   * @internal Used by the controller ops.
   */
  readonly byEisn = new Map<number, Src>();
  private negotiated = false;
  private booted = false;
  // Since boot. Withdrawn: taken back by the controller before a delivery (an XICS LSI dropped early).
  /** @internal Used by the controller ops. */
  raisedTotal = 0;
  /** @internal Used by the controller ops. */
  deliveredTotal = 0;
  /** @internal Used by the controller ops. */
  coalescedTotal = 0;
  /** @internal Used by the controller ops. */
  representedTotal = 0;
  /** @internal Used by the controller ops. */
  withdrawnTotal = 0;

  constructor(machine: SpaprMachine, ops: (core: GuestDriver<Cpu, Src, Ops>) => Ops) {
    this.machine = machine;
    this.ops = ops(this);
  }

  /** Words a report uses for what the guest's controller calls things. */
  get labels(): GuestLabels {
    return this.ops.labels;
  }

  // ---- Boot ----------------------------------------------------------------------------------

  /** CAS (unless createGuest made it), then every vCPU the machine has, in plug order. */
  boot(): void {
    if (this.booted) throw this.ops.fail('boot() called twice');
    if (!this.negotiated) this.negotiate(this.machine.cas(this.ops.casRequest));
    this.booted = true;
    const vcpus = this.machine.vcpus.slice();
    for (let i = 0; i < vcpus.length; i++) this.bringUpCpu(vcpus[i]!, i === 0);
  }

  /**
   * Accepts the machine's answer to this driver's CAS request. A refusal is where QEMU stops
   * the VM; an answer that grants another model means these ops cannot run.
   *
   * @internal Used by the controller ops.
   */
  negotiate(out: CasOutcome): void {
    if (!out.ok) throw this.ops.fail(`CAS refused ${this.ops.model}: ${out.fatal}`);
    if (out.xive !== this.ops.exploitsXive) throw this.ops.fail(this.ops.casMismatch);
    this.negotiated = true;
  }

  bringUpCpu(vcpu: number, bootCpu = false): void {
    if (!this.booted) throw this.ops.fail('bringUpCpu() before boot()');
    if (this.cpus[vcpu] !== undefined) throw this.ops.fail(`vCPU ${vcpu} is already up`);
    const c = this.ops.cpuUp(vcpu, bootCpu);
    this.cpus[vcpu] = c;
    this.byLisn.set(c.ipi.lisn, c.ipi);
    this.online.push(vcpu);
  }

  configureSource(lisn: number, cpu: number, eisn?: number): Src {
    if (!this.booted) throw this.ops.fail('configureSource() before boot()');
    this.cpu(cpu);
    const src = this.ops.configureSource(lisn, cpu, eisn);
    this.byLisn.set(lisn, src);
    this.byEisn.set(src.eisn, src);
    return src;
  }

  // ---- Sending events ------------------------------------------------------------------------

  sendIpi(fromCpu: number, toCpu: number): void {
    this.cpu(fromCpu);
    this.ops.sendIpi(fromCpu, this.cpu(toCpu));
  }

  deviceMsi(lisn: number): void {
    const src = this.source(lisn);
    if (src.kind !== 'msi') throw this.ops.fail(`${this.ops.noun} ${hex(lisn)} is ${src.kind}, not a device MSI`);
    this.ops.noteMsi(src);
    this.machine.pulseMsi(lisn);
  }

  deviceLsi(lisn: number, level: boolean): void {
    const src = this.source(lisn);
    if (src.kind !== 'lsi') throw this.ops.fail(`${this.ops.noun} ${hex(lisn)} is ${src.kind}, not an LSI`);
    this.ops.noteLsi(src, level);
    this.machine.setIrq(lisn, level);
  }

  // ---- Accounting (called by the ops, which know the controller's merge rules) ---------------

  /**
   * An event about to be sent to `src`; `merged` when it folds into one still outstanding.
   *
   * @internal Used by the controller ops.
   */
  account(src: Src, merged: boolean): void {
    const c = this.cpu(src.cpu).counters;
    src.raised++;
    c.raised++;
    this.raisedTotal++;
    if (merged) this.merge(src);
  }

  /** @internal Used by the controller ops. */
  merge(src: Src): void {
    src.coalesced++;
    this.cpu(src.cpu).counters.coalesced++;
    this.coalescedTotal++;
  }

  /**
   * A level still asserted at EOI, presented once more.
   *
   * @internal Used by the controller ops.
   */
  represent(src: Src): void {
    src.represented++;
    this.representedTotal++;
  }

  // ---- Receiving events ----------------------------------------------------------------------

  lineRaised(cpu: number): boolean {
    return this.machine.lineLevel(cpu, LINE_INT);
  }

  /**
   * While the input is raised (or the ops asked for a replay): take an interrupt, run the
   * handler hook, end it. Spurious entries and unknown sources are not counted as handled.
   */
  handleInterrupts(cpu: number): number {
    const c = this.cpu(cpu);
    let handled = 0;
    let rounds = 0;
    let replay = false;
    while (replay || this.lineRaised(cpu)) {
      if (++rounds > MAX_ROUNDS_PER_CALL) throw this.ops.fail(`vCPU ${cpu}: interrupt line never settles`);
      const eisn = this.ops.take(c, replay);
      replay = false;
      if (eisn === 0) {
        c.counters.spurious++;
        continue;
      }
      const src = eisn === this.ops.ipiEisn ? c.ipi : this.byEisn.get(eisn);
      if (src === undefined) {
        this.ops.unknownSource(c, eisn);
        continue;
      }
      this.ops.begin(c, src);
      src.delivered++;
      c.counters.delivered++;
      this.deliveredTotal++;
      this.onEvent?.(cpu, src);
      replay = this.ops.end(c, src);
      handled++;
    }
    return handled;
  }

  // ---- Inspection ----------------------------------------------------------------------------

  onlineCpus(): readonly number[] {
    return this.online;
  }

  hasSource(lisn: number): boolean {
    return this.byLisn.has(lisn);
  }

  /** Counters of a configured source, or of a vCPU's IPI at its number (the vCPU id) (live object). */
  source(lisn: number): Src {
    const s = this.byLisn.get(lisn);
    if (s === undefined) throw this.ops.fail(`${this.ops.noun} ${hex(lisn)} is not configured`);
    return s;
  }

  lost(): number {
    return this.raisedTotal + this.representedTotal - this.deliveredTotal - this.coalescedTotal - this.withdrawnTotal;
  }

  stats(): ReturnType<Ops['stats']> {
    return this.ops.stats() as ReturnType<Ops['stats']>;
  }

  /**
   * For the ops' stats(): the common totals, and copies of every vCPU's and source's counters.
   *
   * @internal Used by the controller ops.
   */
  baseStats<P extends GuestSourceCounters>(copy: (s: Src) => P): BaseStats<Cpu['counters'], P> {
    const perCpu: Cpu['counters'][] = [];
    for (let i = 0; i < this.cpus.length; i++) {
      const c = this.cpus[i];
      perCpu.push(c === undefined ? this.ops.zeroCounters() : { ...c.counters });
    }
    const perSource = new Map<number, P>();
    for (const lisn of [...this.byLisn.keys()].sort((a, b) => a - b)) perSource.set(lisn, copy(this.byLisn.get(lisn)!));
    const { raisedTotal: raised, deliveredTotal: delivered, coalescedTotal: coalesced, representedTotal: represented } = this;
    return { raised, delivered, coalesced, represented, lost: this.lost(), perCpu, perSource };
  }

  // ---- Helpers for the ops -------------------------------------------------------------------

  /**
   * The server number (vCPU id) of the vCPU at a CPU index, as Linux reads it from the CPU's
   * ibm,ppc-interrupt-server#s property: what the controllers are told a target is.
   *
   * @internal Used by the controller ops.
   */
  serverOf(cpu: number): number {
    return this.machine.vcpuId(cpu);
  }

  /**
   * The vCPU that does the setup work (a CPU index): the first one up (or the first the machine has).
   *
   * @internal Used by the controller ops.
   */
  bootCpu(): number {
    const b = this.online[0] ?? this.machine.vcpus[0];
    if (b === undefined) throw this.ops.fail('the machine has no vCPU');
    return b;
  }

  /** @internal Used by the controller ops. */
  cpu(vcpu: number): Cpu {
    const c = this.cpus[vcpu];
    if (c === undefined) throw this.ops.fail(`vCPU ${vcpu} is not up (online: ${this.online.join(', ') || 'none'})`);
    return c;
  }

  /** @internal Used by the controller ops. */
  checkUnconfigured(lisn: number): void {
    if (this.byLisn.has(lisn)) throw this.ops.fail(`${this.ops.noun} ${hex(lisn)} is already configured`);
  }

  /**
   * An hcall Linux expects to succeed, made by the vCPU at a CPU index; anything else is a driver or model bug.
   *
   * @internal Used by the controller ops.
   */
  call(vcpu: number, opcode: number, args: readonly bigint[]): bigint[] {
    const r = this.machine.hcall(vcpu, opcode, args);
    if (r.ret !== H.H_SUCCESS) {
      const name = H.HCALL_NAMES[opcode] ?? hex(opcode);
      const code = H.HCALL_STATUS_NAMES[r.ret] ?? String(r.ret);
      throw this.ops.fail(`${name}(${args.map(hex).join(', ')}) on vCPU ${vcpu} failed with ${code} (${r.ret})`);
    }
    return r.regs;
  }

  // ---- Checkpoint hooks (checkpoint.ts) ------------------------------------------------------

  /**
   * The driver's data and its ops' data; fields named in BINDING_FIELDS are not state.
   *
   * @internal Used by checkpoints (checkpoint.ts).
   */
  checkpointState(): readonly [object, object] {
    return [this, this.ops];
  }

  /**
   * Puts data saved by checkpointState() on a driver of the same kind into this fresh one.
   *
   * @internal Used by checkpoints (checkpoint.ts).
   */
  resumeState(core: Record<string, unknown>, ops: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(core)) if (!BINDING_FIELDS.has(k)) (this as unknown as Record<string, unknown>)[k] = v;
    for (const [k, v] of Object.entries(ops)) if (!BINDING_FIELDS.has(k)) (this.ops as unknown as Record<string, unknown>)[k] = v;
  }
}
