/**
 * What the reference guest drivers have in common, so a workload, the demo or the monitor can
 * drive either interrupt model without knowing which one the guest negotiated: the XIVE driver
 * (xive-driver.ts, exploitation mode: event queues, ESB and TIMA accesses) and the XICS driver
 * (xics-driver.ts, legacy model: XIRR/CPPR/MFRR hcalls and RTAS source configuration).
 *
 * The interface is shaped after what XiveGuest already offers, so both classes satisfy it
 * structurally; `createGuest` picks one. Source numbers are the pseries interrupt numbers both
 * models share (0x1000.. for devices); a vCPU's IPI is keyed by the vCPU id, the number the
 * pseries IRQ map reserves for it.
 *
 * Acronyms: IPI = inter-processor interrupt, MSI = message signalled (edge) interrupt, LSI =
 * level sensitive interrupt, LISN = logical interrupt source number, EISN = the number the guest
 * reads when it takes an interrupt (the event queue data in XIVE, the XISR value in XICS).
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { IcMode } from '../spapr/cas.ts';
import { XiveGuest, type XiveGuestOptions } from './xive-driver.ts';
import { XicsGuest, type XicsGuestOptions } from './xics-driver.ts';

export type SourceKind = 'ipi' | 'msi' | 'lsi';

/**
 * Per-source accounting, field for field the shape XiveGuest reports, so a handler hook written
 * for one driver works with the other.
 */
export interface GuestSourceCounters {
  readonly lisn: number;
  readonly kind: SourceKind;
  /** vCPU the source is routed to (for an IPI: the vCPU that receives it). */
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

/** The per-vCPU counters both drivers keep (each adds its own). */
export interface GuestCpuCounters {
  raised: number;
  coalesced: number;
  delivered: number;
  /** Interrupt entries that found nothing to take. */
  spurious: number;
}

export interface ReferenceGuestStats {
  raised: number;
  delivered: number;
  coalesced: number;
  represented: number;
  /** Events that vanished without the controller's rules accounting for them. */
  lost: number;
  /** Indexed by vCPU id; vCPUs the driver does not run hold zeros. */
  perCpu: readonly GuestCpuCounters[];
  /** By source number (IPIs by vCPU id), ascending. */
  perSource: ReadonlyMap<number, GuestSourceCounters>;
}

/** A Linux-like guest interrupt driver bound to one machine. */
export interface ReferenceGuest {
  readonly machine: SpaprMachine;
  /**
   * Called for every interrupt the guest takes, before it is ended, like a device's handler
   * (an LSI handler is where the device drops its line).
   */
  onEvent: ((cpu: number, source: GuestSourceCounters) => void) | null;
  /** CAS, then every vCPU of the machine. */
  boot(): void;
  /** Brings up one more vCPU after boot (CPU hotplug). */
  bringUpCpu(vcpu: number): void;
  /** Routes a device interrupt to a vCPU and enables it, as request_irq does. */
  configureSource(lisn: number, cpu: number): GuestSourceCounters;
  sendIpi(fromCpu: number, toCpu: number): void;
  /** Device side: one MSI (a level-1-then-0 pulse). */
  deviceMsi(lisn: number): void;
  /** Device side: an LSI line changes level. */
  deviceLsi(lisn: number, level: boolean): void;
  /** The vCPU's external interrupt handler; returns the interrupts it handled. */
  handleInterrupts(cpu: number): number;
  /** vCPUs the driver runs, in bring-up order. */
  onlineCpus(): readonly number[];
  hasSource(lisn: number): boolean;
  /** Live counters of a configured source. */
  source(lisn: number): GuestSourceCounters;
  /** Is the vCPU's external interrupt input raised? */
  lineRaised(cpu: number): boolean;
  /** A snapshot of the counters. */
  stats(): ReferenceGuestStats;
  /** raised + represented − delivered − merged/withdrawn events; 0 when nothing vanished. */
  lost(): number;
}

/** Which interrupt model the guest asks for at CAS. */
export type GuestMode = 'xics' | 'xive';
export const GUEST_MODES: readonly GuestMode[] = ['xics', 'xive'];

/**
 * The model a Linux 6.1 guest ends up with on a machine of this ic-mode: it asks for XIVE
 * whenever the platform offers it (dual included), unless booted with xive=off.
 */
export function defaultGuestMode(icMode: IcMode): GuestMode {
  return icMode === 'xics' ? 'xics' : 'xive';
}

export interface CreateGuestOptions {
  xive?: XiveGuestOptions;
  xics?: XicsGuestOptions;
}

/**
 * A reference guest for `mode` (not booted yet). Refuses a mode the machine cannot offer, which
 * QEMU would answer by terminating the VM at CAS.
 */
export function createGuest(machine: SpaprMachine, mode: 'xics', opts?: CreateGuestOptions): XicsGuest;
export function createGuest(machine: SpaprMachine, mode: 'xive', opts?: CreateGuestOptions): XiveGuest;
export function createGuest(machine: SpaprMachine, mode: GuestMode, opts?: CreateGuestOptions): ReferenceGuest;
export function createGuest(machine: SpaprMachine, mode: GuestMode, opts: CreateGuestOptions = {}): ReferenceGuest {
  if (mode === 'xics') {
    if (machine.icMode === 'xive') throw new Error('an ic-mode=xive machine has no XICS: use the XIVE guest, or ic-mode xics or dual');
    const g: ReferenceGuest = new XicsGuest(machine, opts.xics);
    return g;
  }
  if (mode === 'xive') {
    if (machine.icMode === 'xics') throw new Error('an ic-mode=xics machine has no XIVE: use the XICS guest, or ic-mode xive or dual');
    // Typed through the interface: XiveGuest must keep fitting it.
    const g: ReferenceGuest = new XiveGuest(machine, opts.xive);
    return g;
  }
  throw new Error(`guest mode must be one of ${GUEST_MODES.join(', ')}, got ${String(mode)}`);
}
