/**
 * Reference pseries guest driver for the legacy XICS interrupt controller: the hcalls and RTAS
 * calls a Linux 6.1 guest makes when CAS leaves it on XICS (spec: xics.md §4, §5, §9), driven
 * only through the machine's guest entry points (CAS, hcalls, RTAS calls, the vCPU's external
 * interrupt input). It is the XICS counterpart of xive-driver.ts and has the same public shape
 * (guest.ts: ReferenceGuest).
 *
 * What the guest does:
 * - boot: CAS asking for legacy XICS (option vector 5 byte 23 = 0), then H_CPPR(0xFF) on every
 *   vCPU as it comes up, which opens it to every priority (an ICP resets with CPPR 0);
 * - request_irq of a device interrupt: ibm,get-xive (the mapping-time existence check),
 *   ibm,set-xive(irq, server, 5), ibm,int-on, then the affinity step ibm,get-xive +
 *   ibm,set-xive(irq, server, priority read back);
 * - IPI: H_IPI(target, 4); the receiver clears its own MFRR with H_IPI(self, 0xFF) first thing;
 * - external interrupt: H_XIRR; XISR 0 is spurious, 2 an IPI, anything else a device source
 *   (one the driver does not know is masked with ibm,int-off + ibm,set-xive(…, 0xFF) and ended
 *   with the XIRR as read); the priority taken is pushed on a per-vCPU CPPR stack and the EOI
 *   value is (popped CPPR << 24) | XISR.
 *
 * Accounting. XICS merges events differently from XIVE, and the counters follow the rules of
 * QEMU 7.2's emulation (xics.md §3), applied to the state just before each operation:
 * - IPI: the MFRR is a single request register, so an IPI sent while a request is still standing
 *   (MFRR not 0xFF) is merged into it.
 * - MSI: nothing in the ICS counts MSIs. A trigger the ICP refuses (CPPR too high, or an interrupt
 *   at least as favoured already presented — the same MSI included) sets the source's REJECTED
 *   bit, and the next resend (an EOI or CPPR write on any vCPU that finds its XISR empty) retries
 *   it once. So a second trigger while the first is still presented is NOT lost: two triggers,
 *   two deliveries. A third one, while REJECTED is still set, finds the bit taken and is merged;
 *   likewise a presented MSI pushed out by a more favoured interrupt (an IPI) while its REJECTED
 *   bit is already set merges with the retry it already has.
 * - LSI: the level is the event. Asserting a line that is already up is merged. A line still up
 *   when the guest ends its interrupt is presented again (counted as represented). A line dropped
 *   before the guest took it is withdrawn unless the ICP has already latched it in its XISR
 *   (dropping the level never takes back a presented interrupt) — and a latched one whose line is
 *   down is withdrawn when a more favoured interrupt pushes it out, since nothing re-sends it.
 * lost = raised + represented − delivered − coalesced − withdrawn must stay 0.
 *
 * Two of the inputs those rules need have no guest interface: the status byte of a source
 * (REJECTED, SENT) and an ICP's pending priority. The driver reads them from the state `info pic`
 * prints (its status and PP columns), as an operator would; everything else comes from H_IPOLL,
 * which has no side effect and no trace. Neither ever steers what the driver does.
 *
 * Acronyms: CAS = client architecture support, ICS/ICP = interrupt source/presentation
 * controller, XIRR = external interrupt request register (CPPR in bits 31..24, XISR in 23..0),
 * CPPR = current processor priority, XISR = the presented source (0 none, 2 IPI), MFRR = the IPI
 * request priority, PP = priority of the presented source, EOI = end of interrupt.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { Icp } from '../xics/icp.ts';
import type { Ics } from '../xics/ics.ts';
import * as H from '../spapr/hcall.ts';
import { LINE_INT } from '../ports/lines.ts';
import type { GuestCpuCounters, GuestSourceCounters, ReferenceGuestStats, SourceKind } from './guest.ts';

// ---- Guest-side view of the architecture, kept apart from the model's constants on purpose: a
// wrong value on either side then shows up as a failing exchange.

/** Option vector 5 byte 23 value asking for the legacy XICS model. */
const OV5_XICS_LEGACY = 0x00;
/** Linux's priorities: IPIs, device interrupts, and "accept everything". */
export const IPI_PRIORITY = 4;
export const DEFAULT_PRIORITY = 5;
const LOWEST_PRIORITY = 0xff;
const XISR_SPURIOUS = 0;
const XISR_IPI = 2;
const XISR_MASK = 0x00ff_ffff;
const RTAS_SUCCESS = 0;
/** First device interrupt number of the pseries ICS; IPIs are never ICS sources. */
const FIRST_DEVICE_IRQ = 0x1000;
/** PCI INTx specifiers of QEMU's PHBs (32 PHBs × 4 pins from 0x1200) carry sense 1, level. */
const PCI_LSI_FIRST = 0x1200;
const PCI_LSI_COUNT = 32 * 4;

// ICS status bits as `info pic` prints them.
const STATUS_SENT = 0x02;
const STATUS_REJECTED = 0x04;

/** More H_XIRR rounds than this in one handleInterrupts call means the line never settles. */
const MAX_ROUNDS_PER_CALL = 1_000_000;

/** A source the driver starts accounting for, with every count at zero. */
function newSource(lisn: number, kind: SourceKind, cpu: number, eisn: number, priority: number): SourceState {
  return { lisn, kind, cpu, eisn, priority, raised: 0, coalesced: 0, delivered: 0, represented: 0, withdrawn: 0, level: false, awaiting: 0 };
}

/** A driver-side invariant broke (an hcall or RTAS call refused what Linux relies on…). */
export class XicsGuestError extends Error {
  override readonly name = 'XicsGuestError';
}

/** Per-source accounting: the common counters plus the LSI assertions withdrawn. */
export interface XicsSourceCounters extends GuestSourceCounters {
  /** LSI assertions that ended without a delivery because the line dropped first. */
  withdrawn: number;
}

/** Per-vCPU accounting. `raised`/`coalesced`/`withdrawn` count sources routed to the vCPU. */
export interface XicsCpuCounters extends GuestCpuCounters {
  withdrawn: number;
  /** H_XIRR calls made. */
  accepts: number;
  /** Interrupts from sources the driver never configured (masked, then ended). */
  unknown: number;
}

export interface XicsGuestStats extends ReferenceGuestStats {
  withdrawn: number;
  perCpu: XicsCpuCounters[];
  perSource: Map<number, XicsSourceCounters>;
}

export interface XicsGuestOptions {
  /** Priority of device interrupts (Linux DEFAULT_PRIORITY, 5). */
  priority?: number;
  /** MFRR value used to send an IPI (Linux IPI_PRIORITY, 4). */
  ipiPriority?: number;
  /**
   * Whether a device interrupt is level sensitive. Linux reads it from the interrupt specifier
   * of the device tree; the default answers what QEMU's tree says: the PCI INTx numbers
   * (0x1200..0x127F) are level, everything else (EPOW, hot-plug, VIO, MSIs) is edge.
   */
  isLsi?: (irq: number) => boolean;
}

interface SourceState extends XicsSourceCounters {
  /** Priority the source ended up with (read back by the affinity step). */
  readonly priority: number;
  /** LSI: the level the device last set. */
  level: boolean;
  /** LSI: assertions (or re-presentations) still owed a delivery. */
  awaiting: number;
}

interface CpuState {
  readonly vcpu: number;
  /** Linux's per-CPU CPPR stack: the bottom is "accept all", each taken interrupt pushes. */
  readonly cpprStack: number[];
  readonly ipi: SourceState;
  readonly counters: XicsCpuCounters;
}

/** An ICP as the accounting sees it just before an operation. */
interface IcpView {
  readonly cppr: number;
  readonly xisr: number;
  readonly pp: number;
  readonly mfrr: number;
}

function zeroCpuCounters(): XicsCpuCounters {
  return { raised: 0, coalesced: 0, delivered: 0, spurious: 0, withdrawn: 0, accepts: 0, unknown: 0 };
}

function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

function defaultIsLsi(irq: number): boolean {
  return irq >= PCI_LSI_FIRST && irq < PCI_LSI_FIRST + PCI_LSI_COUNT;
}

/** Would an ICP in state `v` take an interrupt of priority `prio`? Ties with the presented one lose. */
function wouldPresent(v: IcpView, prio: number): boolean {
  return prio < v.cppr && !(v.xisr !== XISR_SPURIOUS && v.pp <= prio);
}

export class XicsGuest {
  readonly machine: SpaprMachine;
  readonly priority: number;
  readonly ipiPriority: number;
  onEvent: ((cpu: number, source: GuestSourceCounters) => void) | null = null;

  private readonly isLsi: (irq: number) => boolean;
  private readonly cpus: (CpuState | undefined)[] = [];
  private readonly online: number[] = [];
  private readonly byLisn = new Map<number, SourceState>();
  private booted = false;
  private raisedTotal = 0;
  private deliveredTotal = 0;
  private coalescedTotal = 0;
  private representedTotal = 0;
  private withdrawnTotal = 0;

  constructor(machine: SpaprMachine, opts: XicsGuestOptions = {}) {
    this.machine = machine;
    this.priority = opts.priority ?? DEFAULT_PRIORITY;
    this.ipiPriority = opts.ipiPriority ?? IPI_PRIORITY;
    this.isLsi = opts.isLsi ?? defaultIsLsi;
    for (const [what, p] of [['priority', this.priority], ['ipiPriority', this.ipiPriority]] as const) {
      // 0xFF is "masked" for a source and "no request" for the MFRR: neither can carry an event.
      if (!Number.isInteger(p) || p < 0 || p >= LOWEST_PRIORITY) throw new XicsGuestError(`${what} must be 0..0xfe, got ${p}`);
    }
  }

  // ---- Boot ----------------------------------------------------------------------------------

  /** CAS asking for legacy XICS, then every vCPU of the machine in plug order. */
  boot(): void {
    if (this.booted) throw new XicsGuestError('boot() called twice');
    const out = this.machine.cas(OV5_XICS_LEGACY);
    if (!out.ok) throw new XicsGuestError(`CAS refused legacy XICS: ${out.fatal}`);
    if (out.xive || this.machine.activeController() !== 'xics') throw new XicsGuestError('CAS did not leave the machine on XICS');
    this.booted = true;
    for (const vcpu of this.machine.vcpus.slice()) this.bringUpCpu(vcpu);
  }

  /** Sets up one vCPU (also usable after a CPU hotplug): it opens its CPPR to everything. */
  bringUpCpu(vcpu: number): void {
    if (!this.booted) throw new XicsGuestError('bringUpCpu() before boot()');
    if (this.cpus[vcpu] !== undefined) throw new XicsGuestError(`vCPU ${vcpu} is already up`);
    this.call(vcpu, H.H_CPPR, [BigInt(LOWEST_PRIORITY)]);
    const ipi = newSource(vcpu, 'ipi', vcpu, XISR_IPI, this.ipiPriority);
    this.cpus[vcpu] = { vcpu, cpprStack: [LOWEST_PRIORITY], ipi, counters: zeroCpuCounters() };
    this.byLisn.set(vcpu, ipi);
    this.online.push(vcpu);
  }

  /**
   * Routes device interrupt `irq` to vCPU `cpu` and enables it, with the RTAS sequence Linux
   * uses from mapping to request_irq. Leaves three ibm,set-xive/int-on writes in the ICS trace.
   */
  configureSource(irq: number, cpu: number): XicsSourceCounters {
    if (!this.booted) throw new XicsGuestError('configureSource() before boot()');
    this.cpuState(cpu);
    if (!Number.isInteger(irq) || irq < FIRST_DEVICE_IRQ) {
      throw new XicsGuestError(`${hex(irq)} is not a device interrupt (XICS IPIs live in the ICPs, not the ICS)`);
    }
    if (this.byLisn.has(irq)) throw new XicsGuestError(`irq ${hex(irq)} is already configured`);
    const by = this.bootCpu();
    // Mapping: the source must exist before Linux gives it a virtual number.
    this.rtas(by, 'ibm,get-xive', [irq], 3);
    // Startup: route and unmask at the default priority.
    this.rtas(by, 'ibm,set-xive', [irq, cpu, this.priority], 1);
    this.rtas(by, 'ibm,int-on', [irq], 1);
    // Affinity: keep whatever priority the source has now, (re)target the server.
    const prio = this.rtas(by, 'ibm,get-xive', [irq], 3)[2]!;
    this.rtas(by, 'ibm,set-xive', [irq, cpu, prio], 1);
    const src = newSource(irq, this.isLsi(irq) ? 'lsi' : 'msi', cpu, irq, prio);
    this.byLisn.set(irq, src);
    return src;
  }

  // ---- Sending events ------------------------------------------------------------------------

  /** IPI: vCPU `fromCpu` writes the IPI priority into `toCpu`'s MFRR. */
  sendIpi(fromCpu: number, toCpu: number): void {
    this.cpuState(fromCpu);
    const src = this.cpuState(toCpu).ipi;
    const v = this.icpView(fromCpu, toCpu);
    // A standing request is the same doorbell: the receiver clears it once per interrupt taken.
    this.account(src, v.mfrr !== LOWEST_PRIORITY);
    if (wouldPresent(v, this.ipiPriority)) this.displace(v);
    this.call(fromCpu, H.H_IPI, [BigInt(toCpu), BigInt(this.ipiPriority)]);
  }

  /** Device side: an MSI of a configured edge source (a level-1-then-0 pulse). */
  deviceMsi(irq: number): void {
    const src = this.state(irq);
    if (src.kind !== 'msi') throw new XicsGuestError(`irq ${hex(irq)} is ${src.kind}, not a device MSI`);
    const v = this.icpView(this.bootCpu(), src.cpu);
    const presented = wouldPresent(v, src.priority);
    // Refused with its REJECTED bit already set: the one retry it has covers both.
    this.account(src, !presented && (this.picStatus(irq) & STATUS_REJECTED) !== 0);
    if (presented) this.displace(v);
    this.machine.pulseMsi(irq);
  }

  /** Device side: an LSI line goes up or down. Rising edges are events. */
  deviceLsi(irq: number, level: boolean): void {
    const src = this.state(irq);
    if (src.kind !== 'lsi') throw new XicsGuestError(`irq ${hex(irq)} is ${src.kind}, not an LSI`);
    if (level && src.level) {
      // The level already being signalled is the same condition.
      this.account(src, true);
    } else if (level) {
      this.account(src, false);
      src.awaiting++;
      src.level = true;
      // The ICS presents it now unless an earlier presentation is still outstanding (SENT).
      if ((this.picStatus(irq) & STATUS_SENT) === 0) {
        const v = this.icpView(this.bootCpu(), src.cpu);
        if (wouldPresent(v, src.priority)) this.displace(v);
      }
    } else if (src.level) {
      src.level = false;
      // Only a presentation already latched in the ICP survives the drop.
      const keep = this.icpView(this.bootCpu(), src.cpu).xisr === irq ? 1 : 0;
      if (src.awaiting > keep) this.withdraw(src, src.awaiting - keep);
    }
    this.machine.setIrq(irq, level);
  }

  /**
   * The presented source of `v` is about to be pushed out by a more favoured interrupt and
   * rejected back to its ICS. An IPI has no source to go back to, and its MFRR still holds it.
   */
  private displace(v: IcpView): void {
    if (v.xisr === XISR_SPURIOUS || v.xisr === XISR_IPI) return;
    const d = this.byLisn.get(v.xisr);
    if (d === undefined) return;
    if (d.kind === 'msi' && (this.picStatus(d.lisn) & STATUS_REJECTED) !== 0) this.merge(d);
    else if (d.kind === 'lsi' && !d.level && d.awaiting > 0) this.withdraw(d, 1);
  }

  private account(src: SourceState, merged: boolean): void {
    const c = this.cpuState(src.cpu).counters;
    src.raised++;
    c.raised++;
    this.raisedTotal++;
    if (merged) this.merge(src);
  }

  private merge(src: SourceState): void {
    src.coalesced++;
    this.cpuState(src.cpu).counters.coalesced++;
    this.coalescedTotal++;
  }

  private withdraw(src: SourceState, n: number): void {
    src.awaiting -= n;
    src.withdrawn += n;
    this.cpuState(src.cpu).counters.withdrawn += n;
    this.withdrawnTotal += n;
  }

  // ---- Receiving events ----------------------------------------------------------------------

  /** Is the vCPU's external interrupt input raised? */
  lineRaised(cpu: number): boolean {
    return this.machine.lineLevel(cpu, LINE_INT);
  }

  /**
   * The external interrupt handler of `cpu`: while the input is raised, H_XIRR, dispatch on the
   * XISR, run the handler hook, H_EOI. Returns the number of interrupts handled (spurious and
   * unknown ones excluded).
   */
  handleInterrupts(cpu: number): number {
    const c = this.cpuState(cpu);
    let handled = 0;
    let rounds = 0;
    while (this.lineRaised(cpu)) {
      if (++rounds > MAX_ROUNDS_PER_CALL) throw new XicsGuestError(`vCPU ${cpu}: interrupt line never settles`);
      c.counters.accepts++;
      // Linux passes its current CPPR along; the hypervisor ignores it.
      const top = c.cpprStack[c.cpprStack.length - 1]!;
      const xirr = Number(this.call(cpu, H.H_XIRR, [BigInt(top)])[0]! & 0xffff_ffffn);
      const xisr = xirr & XISR_MASK;
      if (xisr === XISR_SPURIOUS) {
        c.counters.spurious++;
        continue;
      }
      let src: SourceState;
      if (xisr === XISR_IPI) {
        src = c.ipi;
        c.cpprStack.push(this.ipiPriority);
        // Clearing the request before handling lets an IPI sent meanwhile raise a new one.
        this.call(cpu, H.H_IPI, [BigInt(cpu), BigInt(LOWEST_PRIORITY)]);
      } else {
        const s = this.byLisn.get(xisr);
        if (s === undefined || s.kind === 'ipi') {
          this.unknownSource(c, xirr);
          continue;
        }
        src = s;
        c.cpprStack.push(this.priority);
      }
      src.delivered++;
      c.counters.delivered++;
      this.deliveredTotal++;
      if (src.kind === 'lsi' && src.awaiting > 0) src.awaiting--;
      this.onEvent?.(cpu, src);
      c.cpprStack.pop();
      const cppr = c.cpprStack[c.cpprStack.length - 1]!;
      // A line still up is presented again by the resend that follows the EOI (or a later one).
      if (src.kind === 'lsi' && src.level && src.awaiting === 0) {
        src.awaiting = 1;
        src.represented++;
        this.representedTotal++;
      }
      this.call(cpu, H.H_EOI, [BigInt(((cppr << 24) | xisr) >>> 0)]);
      handled++;
    }
    return handled;
  }

  /**
   * An interrupt from a source the driver never set up: mask it at the ICS so it stops firing,
   * then end it with the XIRR as read, which restores the CPPR it had.
   */
  private unknownSource(c: CpuState, xirr: number): void {
    const irq = xirr & XISR_MASK;
    const by = c.vcpu;
    c.counters.unknown++;
    this.rtas(by, 'ibm,int-off', [irq], 1);
    this.rtas(by, 'ibm,set-xive', [irq, this.bootCpu(), LOWEST_PRIORITY], 1);
    this.call(by, H.H_EOI, [BigInt(xirr >>> 0)]);
  }

  // ---- Inspection ----------------------------------------------------------------------------

  /** H_IPOLL: a vCPU's XIRR and MFRR, read without side effects. */
  poll(server: number, by: number = this.bootCpu()): { xirr: number; mfrr: number } {
    const r = this.call(by, H.H_IPOLL, [BigInt(server)]);
    return { xirr: Number(r[0]! & 0xffff_ffffn), mfrr: Number(r[1]! & 0xffn) };
  }

  /** vCPUs the driver runs, in bring-up order. */
  onlineCpus(): readonly number[] {
    return this.online;
  }

  hasSource(irq: number): boolean {
    return this.byLisn.has(irq);
  }

  /** Counters of a configured source, or of vCPU `n`'s IPI for n below 0x1000 (live object). */
  source(irq: number): XicsSourceCounters {
    return this.state(irq);
  }

  lost(): number {
    return this.raisedTotal + this.representedTotal - this.deliveredTotal - this.coalescedTotal - this.withdrawnTotal;
  }

  /** A snapshot of all counters (fresh objects). */
  stats(): XicsGuestStats {
    const perCpu: XicsCpuCounters[] = [];
    for (let i = 0; i < this.cpus.length; i++) perCpu.push({ ...(this.cpus[i]?.counters ?? zeroCpuCounters()) });
    const perSource = new Map<number, XicsSourceCounters>();
    for (const lisn of [...this.byLisn.keys()].sort((a, b) => a - b)) {
      const s = this.byLisn.get(lisn)!;
      perSource.set(lisn, {
        lisn,
        kind: s.kind,
        cpu: s.cpu,
        eisn: s.eisn,
        raised: s.raised,
        coalesced: s.coalesced,
        delivered: s.delivered,
        represented: s.represented,
        withdrawn: s.withdrawn,
      });
    }
    return {
      raised: this.raisedTotal,
      delivered: this.deliveredTotal,
      coalesced: this.coalescedTotal,
      represented: this.representedTotal,
      withdrawn: this.withdrawnTotal,
      lost: this.lost(),
      perCpu,
      perSource,
    };
  }

  // ---- Helpers -------------------------------------------------------------------------------

  /** The target ICP before an operation: XIRR and MFRR by H_IPOLL, PP from the `info pic` view. */
  private icpView(by: number, server: number): IcpView {
    const { xirr, mfrr } = this.poll(server, by);
    return { cppr: xirr >>> 24, xisr: xirr & XISR_MASK, pp: this.icp(server).pendingPriority, mfrr };
  }

  /** The status column `info pic` prints for a source. */
  private picStatus(irq: number): number {
    const ics = this.ics();
    return ics.status[irq - ics.offset]!;
  }

  private ics(): Ics {
    const x = this.machine.xics;
    if (x === null) throw new XicsGuestError('the machine has no XICS (ic-mode=xive)');
    return x.ics;
  }

  private icp(server: number): Icp {
    const icp = this.machine.xics?.fabric.icpByServer(server) ?? null;
    if (icp === null) throw new XicsGuestError(`no ICP for server ${server}`);
    return icp;
  }

  private bootCpu(): number {
    const b = this.online[0] ?? this.machine.vcpus[0];
    if (b === undefined) throw new XicsGuestError('the machine has no vCPU');
    return b;
  }

  private cpuState(cpu: number): CpuState {
    const c = this.cpus[cpu];
    if (c === undefined) throw new XicsGuestError(`vCPU ${cpu} is not up (online: ${this.online.join(', ') || 'none'})`);
    return c;
  }

  private state(irq: number): SourceState {
    const s = this.byLisn.get(irq);
    if (s === undefined) throw new XicsGuestError(`irq ${hex(irq)} is not configured`);
    return s;
  }

  /** An hcall Linux expects to succeed; anything else is a driver or model bug. */
  private call(vcpu: number, opcode: number, args: readonly bigint[]): bigint[] {
    const r = this.machine.hcall(vcpu, opcode, args);
    if (r.ret !== H.H_SUCCESS) {
      const name = H.HCALL_NAMES[opcode] ?? hex(opcode);
      const code = H.HCALL_STATUS_NAMES[r.ret] ?? String(r.ret);
      throw new XicsGuestError(`${name}(${args.map(hex).join(', ')}) on vCPU ${vcpu} failed with ${code} (${r.ret})`);
    }
    return r.regs;
  }

  /** An RTAS call Linux expects to succeed; returns its words, status first. */
  private rtas(vcpu: number, name: string, args: readonly number[], nret: number): number[] {
    const r = this.machine.rtas(vcpu, name, args, nret);
    if (r[0] !== RTAS_SUCCESS || r.length !== nret) {
      throw new XicsGuestError(`${name}(${args.map(hex).join(', ')}) on vCPU ${vcpu} failed with RTAS status ${r[0]}`);
    }
    return r;
  }
}
