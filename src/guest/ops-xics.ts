/**
 * The reference guest for the legacy XICS interrupt controller: its operations table for the
 * guest core (driver.ts), and XicsGuest, the core bound to it (the guest forced to ask for XICS
 * at CAS; createGuest builds one when CAS left the machine on XICS). The hcalls and RTAS calls
 * are those a Linux 6.1 guest makes on XICS (docs/xics.md §4, §5, §9).
 *
 * What the guest does:
 * - CAS asking for legacy XICS (option vector 5 byte 23 = 0), then H_CPPR(0xFF) on every vCPU as
 *   it comes up, which opens it to every priority (an ICP resets with CPPR 0);
 * - request_irq of a device interrupt: ibm,get-xive (the mapping-time existence check),
 *   ibm,set-xive(irq, server, 5), ibm,int-on, then the affinity step ibm,get-xive +
 *   ibm,set-xive(irq, server, priority read back);
 * - IPI: H_IPI(target, 4); the receiver clears its own MFRR with H_IPI(self, 0xFF) first thing;
 * - external interrupt: H_XIRR; XISR 0 is spurious, 2 an IPI, anything else a device source
 *   (one the driver does not know is masked with ibm,int-off + ibm,set-xive(…, 0xFF) and ended
 *   with the XIRR as read); the priority taken is pushed on a per-vCPU CPPR stack and the EOI
 *   value is (popped CPPR << 24) | XISR.
 * Servers are vCPU ids: the guest runs its calls as a vCPU (the core's CPU index) and names the
 * target of ibm,set-xive, H_IPI and H_IPOLL by its server number (driver.ts, serverOf).
 *
 * Accounting. XICS merges events differently from XIVE, and the counters follow the rules of
 * QEMU 7.2's emulation (docs/xics.md §3), applied to the state just before each operation:
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
 * request priority, PP = priority of the presented source, EOI = end of interrupt, RTAS = run-time
 * abstraction services, IPI = inter-processor interrupt, MSI/LSI = message signalled (edge) /
 * level sensitive interrupt.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { Icp } from '../xics/icp.ts';
import type { Ics } from '../xics/ics.ts';
import * as H from '../spapr/hcall.ts';
import { GuestDriver, GuestError, hex, OV5_XICS_LEGACY, sourceCounters, type BaseStats, type ControllerOps, type GuestLabels } from './driver.ts';
import type { GuestCpu, GuestCpuCounters, GuestSourceCounters, SourceKind } from './driver.ts';

// ---- Guest-side view of the architecture (kept apart from the model's constants on purpose).

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

/** A driver-side invariant broke (an hcall or RTAS call refused what Linux relies on…). */
export class XicsGuestError extends GuestError {
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

/** Statistics of the XICS guest: the common ones and the LSI assertions withdrawn. */
export interface XicsGuestStats extends BaseStats<XicsCpuCounters, XicsSourceCounters> {
  withdrawn: number;
}

/** Options of {@link XicsGuest}; the defaults are what Linux 6.1 does. */
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

/** A source as the XICS guest keeps it: counters, priority, and the LSI level. */
export interface XicsSource extends XicsSourceCounters {
  /** Priority the source ended up with (read back by the affinity step). */
  readonly priority: number;
  /** LSI: the level the device last set. */
  level: boolean;
  /** LSI: assertions (or re-presentations) still owed a delivery. */
  awaiting: number;
}

export interface XicsCpu extends GuestCpu<XicsSource, XicsCpuCounters> {
  /** Linux's per-CPU CPPR stack: the bottom is "accept all", each taken interrupt pushes. */
  readonly cpprStack: number[];
  /** The XIRR the last H_XIRR returned. */
  xirr: number;
}

/** An ICP as the accounting sees it just before an operation. */
interface IcpView {
  readonly cppr: number;
  readonly xisr: number;
  readonly pp: number;
  readonly mfrr: number;
}

type Core = GuestDriver<XicsCpu, XicsSource, XicsOps>;

/** A source the driver starts accounting for, with every count at zero. */
function newSource(lisn: number, kind: SourceKind, cpu: number, eisn: number, priority: number): XicsSource {
  return { lisn, kind, cpu, eisn, priority, raised: 0, coalesced: 0, delivered: 0, represented: 0, withdrawn: 0, level: false, awaiting: 0 };
}

function defaultIsLsi(irq: number): boolean {
  return irq >= PCI_LSI_FIRST && irq < PCI_LSI_FIRST + PCI_LSI_COUNT;
}

function xicsSourceCounters(s: XicsSource): XicsSourceCounters {
  return { ...sourceCounters(s), withdrawn: s.withdrawn };
}

/** Would an ICP in state `v` take an interrupt of priority `prio`? Ties with the presented one lose. */
function wouldPresent(v: IcpView, prio: number): boolean {
  return prio < v.cppr && !(v.xisr !== XISR_SPURIOUS && v.pp <= prio);
}

export class XicsOps implements ControllerOps<XicsCpu, XicsSource> {
  readonly casRequest = OV5_XICS_LEGACY;
  readonly exploitsXive = false;
  readonly model = 'legacy XICS';
  readonly casMismatch = 'CAS did not leave the machine on XICS';
  readonly noun = 'irq';
  readonly labels: GuestLabels = { model: 'XICS', setup: 'opened its CPPRs', source: 'IRQ', eisn: 'XISR' };
  readonly ipiEisn = XISR_IPI;
  readonly priority: number;
  readonly ipiPriority: number;
  private readonly isLsi: (irq: number) => boolean;

  constructor(private readonly core: Core, opts: XicsGuestOptions) {
    this.priority = opts.priority ?? DEFAULT_PRIORITY;
    this.ipiPriority = opts.ipiPriority ?? IPI_PRIORITY;
    this.isLsi = opts.isLsi ?? defaultIsLsi;
    for (const [what, p] of [['priority', this.priority], ['ipiPriority', this.ipiPriority]] as const) {
      // 0xFF is "masked" for a source and "no request" for the MFRR: neither can carry an event.
      if (!Number.isInteger(p) || p < 0 || p >= LOWEST_PRIORITY) throw new XicsGuestError(`${what} must be 0..0xfe, got ${p}`);
    }
  }

  fail(message: string): XicsGuestError {
    return new XicsGuestError(message);
  }

  zeroCounters(): XicsCpuCounters {
    return { raised: 0, coalesced: 0, delivered: 0, spurious: 0, withdrawn: 0, accepts: 0, unknown: 0 };
  }

  // ---- Setup ---------------------------------------------------------------------------------

  /**
   * The vCPU opens its CPPR to everything; its IPI lives in its ICP, nothing to configure (the
   * counters file it under the vCPU's server number, as on XIVE).
   */
  cpuUp(vcpu: number): XicsCpu {
    this.core.call(vcpu, H.H_CPPR, [BigInt(LOWEST_PRIORITY)]);
    const ipi = newSource(this.core.serverOf(vcpu), 'ipi', vcpu, XISR_IPI, this.ipiPriority);
    return { vcpu, cpprStack: [LOWEST_PRIORITY], xirr: 0, ipi, counters: this.zeroCounters() };
  }

  /**
   * The RTAS sequence Linux uses from mapping to request_irq. Leaves three ibm,set-xive/int-on
   * writes in the ICS trace.
   */
  configureSource(irq: number, cpu: number): XicsSource {
    if (!Number.isInteger(irq) || irq < FIRST_DEVICE_IRQ) {
      throw new XicsGuestError(`${hex(irq)} is not a device interrupt (XICS IPIs live in the ICPs, not the ICS)`);
    }
    this.core.checkUnconfigured(irq);
    const by = this.core.bootCpu();
    const server = this.core.serverOf(cpu);
    // Mapping: the source must exist before Linux gives it a virtual number.
    this.rtas(by, 'ibm,get-xive', [irq], 3);
    // Startup: route and unmask at the default priority.
    this.rtas(by, 'ibm,set-xive', [irq, server, this.priority], 1);
    this.rtas(by, 'ibm,int-on', [irq], 1);
    // Affinity: keep whatever priority the source has now, (re)target the server.
    const prio = this.rtas(by, 'ibm,get-xive', [irq], 3)[2]!;
    this.rtas(by, 'ibm,set-xive', [irq, server, prio], 1);
    return newSource(irq, this.isLsi(irq) ? 'lsi' : 'msi', cpu, irq, prio);
  }

  // ---- Sending events ------------------------------------------------------------------------

  /** vCPU `from` writes the IPI priority into the target's MFRR. */
  sendIpi(from: number, to: XicsCpu): void {
    const v = this.icpView(from, to.vcpu);
    // A standing request is the same doorbell: the receiver clears it once per interrupt taken.
    this.core.account(to.ipi, v.mfrr !== LOWEST_PRIORITY);
    if (wouldPresent(v, this.ipiPriority)) this.displace(v);
    this.core.call(from, H.H_IPI, [BigInt(this.core.serverOf(to.vcpu)), BigInt(this.ipiPriority)]);
  }

  noteMsi(src: XicsSource): void {
    const v = this.icpView(this.core.bootCpu(), src.cpu);
    const presented = wouldPresent(v, src.priority);
    // Refused with its REJECTED bit already set: the one retry it has covers both.
    this.core.account(src, !presented && (this.picStatus(src.lisn) & STATUS_REJECTED) !== 0);
    if (presented) this.displace(v);
  }

  noteLsi(src: XicsSource, level: boolean): void {
    if (level && src.level) {
      // The level already being signalled is the same condition.
      this.core.account(src, true);
    } else if (level) {
      this.core.account(src, false);
      src.awaiting++;
      src.level = true;
      // The ICS presents it now unless an earlier presentation is still outstanding (SENT).
      if ((this.picStatus(src.lisn) & STATUS_SENT) === 0) {
        const v = this.icpView(this.core.bootCpu(), src.cpu);
        if (wouldPresent(v, src.priority)) this.displace(v);
      }
    } else if (src.level) {
      src.level = false;
      // Only a presentation already latched in the ICP survives the drop.
      const keep = this.icpView(this.core.bootCpu(), src.cpu).xisr === src.lisn ? 1 : 0;
      if (src.awaiting > keep) this.withdraw(src, src.awaiting - keep);
    }
  }

  /**
   * The presented source of `v` is about to be pushed out by a more favoured interrupt and
   * rejected back to its ICS. An IPI has no source to go back to, and its MFRR still holds it.
   */
  private displace(v: IcpView): void {
    if (v.xisr === XISR_SPURIOUS || v.xisr === XISR_IPI) return;
    const d = this.core.byEisn.get(v.xisr);
    if (d === undefined) return;
    if (d.kind === 'msi' && (this.picStatus(d.lisn) & STATUS_REJECTED) !== 0) this.core.merge(d);
    else if (d.kind === 'lsi' && !d.level && d.awaiting > 0) this.withdraw(d, 1);
  }

  private withdraw(src: XicsSource, n: number): void {
    src.awaiting -= n;
    src.withdrawn += n;
    this.core.cpu(src.cpu).counters.withdrawn += n;
    this.core.withdrawnTotal += n;
  }

  // ---- Receiving events ----------------------------------------------------------------------

  /** H_XIRR (Linux passes its current CPPR along; the hypervisor ignores it); returns the XISR. */
  take(c: XicsCpu): number {
    c.counters.accepts++;
    const top = c.cpprStack[c.cpprStack.length - 1]!;
    c.xirr = Number(this.core.call(c.vcpu, H.H_XIRR, [BigInt(top)])[0]! & 0xffff_ffffn);
    return c.xirr & XISR_MASK;
  }

  /**
   * An interrupt from a source the driver never set up: mask it at the ICS so it stops firing,
   * then end it with the XIRR as read, which restores the CPPR it had.
   */
  unknownSource(c: XicsCpu, irq: number): void {
    c.counters.unknown++;
    this.rtas(c.vcpu, 'ibm,int-off', [irq], 1);
    this.rtas(c.vcpu, 'ibm,set-xive', [irq, this.core.serverOf(this.core.bootCpu()), LOWEST_PRIORITY], 1);
    this.core.call(c.vcpu, H.H_EOI, [BigInt(c.xirr >>> 0)]);
  }

  begin(c: XicsCpu, src: XicsSource): void {
    if (src.kind === 'ipi') {
      c.cpprStack.push(this.ipiPriority);
      // Clearing the request before handling lets an IPI sent meanwhile raise a new one.
      this.core.call(c.vcpu, H.H_IPI, [BigInt(this.core.serverOf(c.vcpu)), BigInt(LOWEST_PRIORITY)]);
    } else {
      c.cpprStack.push(this.priority);
    }
    if (src.kind === 'lsi' && src.awaiting > 0) src.awaiting--;
  }

  /** H_EOI with the CPPR popped; a line still up is presented again by the resend that follows. */
  end(c: XicsCpu, src: XicsSource): boolean {
    c.cpprStack.pop();
    const cppr = c.cpprStack[c.cpprStack.length - 1]!;
    if (src.kind === 'lsi' && src.level && src.awaiting === 0) {
      src.awaiting = 1;
      this.core.represent(src);
    }
    this.core.call(c.vcpu, H.H_EOI, [BigInt(((cppr << 24) | src.eisn) >>> 0)]);
    return false;
  }

  // ---- Inspection ----------------------------------------------------------------------------

  stats(): XicsGuestStats {
    return { ...this.core.baseStats(xicsSourceCounters), withdrawn: this.core.withdrawnTotal };
  }

  /** H_IPOLL: the XIRR and MFRR of a server (vCPU id), read without side effects by the vCPU at CPU index `by`. */
  poll(server: number, by: number = this.core.bootCpu()): { xirr: number; mfrr: number } {
    const r = this.core.call(by, H.H_IPOLL, [BigInt(server)]);
    return { xirr: Number(r[0]! & 0xffff_ffffn), mfrr: Number(r[1]! & 0xffn) };
  }

  // ---- Helpers -------------------------------------------------------------------------------

  /**
   * The ICP of the vCPU at CPU index `cpu` before an operation: XIRR and MFRR by H_IPOLL of its
   * server, PP from the `info pic` view.
   */
  private icpView(by: number, cpu: number): IcpView {
    const server = this.core.serverOf(cpu);
    const { xirr, mfrr } = this.poll(server, by);
    return { cppr: xirr >>> 24, xisr: xirr & XISR_MASK, pp: this.icp(server).pendingPriority, mfrr };
  }

  /** The status column `info pic` prints for a source. */
  private picStatus(irq: number): number {
    const ics = this.ics();
    return ics.status[irq - ics.offset]!;
  }

  private ics(): Ics {
    const x = this.core.machine.xics;
    if (x === null) throw new XicsGuestError('the machine has no XICS (ic-mode=xive)');
    return x.ics;
  }

  private icp(server: number): Icp {
    const icp = this.core.machine.xics?.fabric.icpByServer(server) ?? null;
    if (icp === null) throw new XicsGuestError(`no ICP for server ${server}`);
    return icp;
  }

  /** An RTAS call Linux expects to succeed; returns its words, status first. */
  private rtas(vcpu: number, name: string, args: readonly number[], nret: number): number[] {
    const r = this.core.machine.rtas(vcpu, name, args, nret);
    if (r[0] !== RTAS_SUCCESS || r.length !== nret) {
      throw new XicsGuestError(`${name}(${args.map(hex).join(', ')}) on vCPU ${vcpu} failed with RTAS status ${r[0]}`);
    }
    return r;
  }
}

/**
 * A reference guest driver for XICS: does what Linux 6.1's XICS driver does over the hcalls and
 * RTAS calls of a machine.
 */
export class XicsGuest extends GuestDriver<XicsCpu, XicsSource, XicsOps> {
  constructor(machine: SpaprMachine, opts: XicsGuestOptions = {}) {
    super(machine, (core) => new XicsOps(core, opts));
  }

  /** Priority of device interrupts. */
  get priority(): number {
    return this.ops.priority;
  }

  /** MFRR value used to send an IPI. */
  get ipiPriority(): number {
    return this.ops.ipiPriority;
  }

  /**
   * H_IPOLL: the XIRR and MFRR of a server (vCPU id), read without side effects by the vCPU at CPU
   * index `by`.
   */
  poll(server: number, by?: number): ReturnType<XicsOps['poll']> {
    return this.ops.poll(server, by);
  }
}
