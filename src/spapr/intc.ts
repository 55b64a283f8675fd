/**
 * The sPAPR interrupt-controller interface: what the pseries platform asks of an interrupt
 * controller backend. Two backends implement it — the XIVE controller (spapr-xive.ts, with its
 * H_INT_* hcalls and ESB/TIMA MMIO) and XICS (spapr-xics.ts, ICS + one ICP per vCPU, with the
 * XICS hcalls and RTAS calls). The machine holds one backend per ic-mode (both in dual mode) and
 * routes every request through this interface, so nothing above the platform needs to know
 * which model the guest is using.
 *
 * The split of calls follows the pseries design: claims, frees and per-CPU life-cycle go to
 * every backend the machine has (in dual mode an IRQ number means the same in both models);
 * device inputs, MMIO, `info pic`, the device-tree node and post-load go to the active one only.
 * A backend answers guest calls it owns (hcalls, RTAS) whether or not it is active: each call
 * checks activity itself and answers as QEMU does when it is not.
 */
import type { DeviceTree } from './fdt.ts';
import type { GuestMemory } from '../ports/memory.ts';
import type { IntcView, IntcViewOptions } from './intc-view.ts';
import type { StateCodec, StateMismatch } from '../base/state.ts';

/** The two interrupt models; also the capability names of their snapshot sections. */
export type IntcName = 'xive' | 'xics';
/** Both interrupt models, in QEMU's order. */
export const INTC_NAMES: readonly IntcName[] = ['xics', 'xive'];

/** Prefixes of the names of the trace events each controller reports (QEMU's event names). */
export const INTC_TRACE_PREFIXES: Readonly<Record<IntcName, readonly string[]>> = {
  xics: ['xics_'],
  xive: ['xive_', 'spapr_xive_'],
};

/** One section of a machine's saved state: its name and the byte layout of its state. */
export interface SectionSpec {
  readonly id: string;
  readonly codec: StateCodec<unknown>;
}

/** Decoded (or captured) sections of a machine's saved state, by section id. */
export type SectionStates = ReadonlyMap<string, unknown>;

/** What a controller's saved state depends on in the machine: its vCPUs. */
export interface StateShape {
  readonly maxCpus: number;
  /** vCPU id spacing between cores and threads per core: server numbers reach ceil(maxCpus × vsmt / threads). */
  readonly vsmt: number;
  readonly threads: number;
  /** vCPU ids in plug order. */
  readonly vcpus: readonly number[];
}

/** The saved-state sections of one kind of controller, known without a machine at hand. */
export interface IntcStateSpec {
  /** In load order. */
  readonly sections: readonly SectionSpec[];
  /** What contradicts itself in decoded sections saved on a machine of this shape, or null. */
  inconsistency(states: SectionStates, shape: StateShape): string | null;
}

/** What a backend may ask of the machine around it. */
export interface IntcPlatform {
  readonly memory: GuestMemory;
  /** Is `intc` the controller the guest currently uses? */
  isActive(intc: SpaprIntc): boolean;
  /** Did CAS negotiate XIVE exploitation (option vector 5 byte 23, bit 0x40)? */
  xiveNegotiated(): boolean;
  /** The host's cycle counter (QEMU: cpu_get_host_ticks), through the clock port. */
  hostTicks(): bigint;
}

/**
 * The interrupt-controller interface of the pseries machine (QEMU's sPAPR IRQ class), implemented
 * by {@link SpaprXive} and {@link SpaprXics}. Nothing else asks which one is active.
 */
export interface SpaprIntc {
  readonly name: IntcName;
  /** The vCPU inputs this controller drives (LINE_INT, LINE_HINT of ports/lines.ts). */
  readonly cpuLines: readonly number[];
  /** Prefixes of the names of the trace events this controller reports (QEMU's names). */
  readonly tracePrefixes: readonly string[];

  // ---- Life cycle (every backend) --------------------------------------------------------------
  /** The guest switches to this controller (CAS or reset): its MMIO regions are mapped. */
  activate(): void;
  /**
   * The guest leaves this controller: its MMIO regions are unmapped and its state reset (claims
   * kept), since nothing can reach it any more.
   */
  deactivate(): void;
  /** Marks the controller active or not without touching its state (migration post-load). */
  setMapped(active: boolean): void;
  /** Machine reset: sources to their reset state (claims kept), every CPU's context reset. */
  reset(): void;
  /**
   * A vCPU is created (machine init or hotplug): its presenter context exists and is reset.
   * `vcpuId` is its server number (what hcalls and the tables name), `cpuIndex` its position
   * among the possible CPUs (what trace events and `info pic` print, and how the machine names
   * the CPU performing an access in the calls below).
   */
  cpuCreate(vcpuId: number, cpuIndex: number): void;
  /**
   * The vCPU is gone (its core was unplugged and the guest released it): its presenter context
   * is destroyed, and nothing can be presented to its server any more until it is plugged again.
   */
  cpuDestroy(cpuIndex: number): void;
  /** Whether the vCPU at `cpuIndex` has a presenter context here. */
  hasCpu(cpuIndex: number): boolean;

  // ---- IRQ numbers (every backend) -------------------------------------------------------------
  /** Claims a device or IPI number; false when it is already claimed (QEMU: -EBUSY). */
  claim(irq: number, lsi: boolean): boolean;
  /** Releases a claimed number. */
  free(irq: number): void;
  /** Whether the number is claimed. */
  isClaimed(irq: number): boolean;
  /** Whether the number is claimed as an LSI. */
  isLsi(irq: number): boolean;

  // ---- Active controller only ------------------------------------------------------------------
  /** Device input level change. */
  setIrq(irq: number, level: boolean): void;
  /** MMIO load; the value goes to out[0] (low word), out[1] (high word). Unmapped reads 0. */
  mmioRead(cpuIndex: number, addr: number, size: number, out: Uint32Array): void;
  /**
   * MMIO store of `size` bytes (value: `lo` low word, `hi` high word) by the vCPU at `cpuIndex`;
   * unmapped stores are dropped.
   */
  mmioWrite(cpuIndex: number, addr: number, size: number, lo: number, hi: number): void;
  /** Level of a vCPU's interrupt input (LINE_INT, LINE_HINT). */
  lineLevel(cpuIndex: number, line: number): boolean;
  /** The backend's part of `info pic`, one string per line. */
  printInfo(): string[];
  /**
   * The `info pic` lines about one vCPU, one IRQ or (null) every vCPU, for reports that show
   * only the state an event touched; null when the controller prints no such part.
   */
  printInfoOf(part: { cpu: number } | { irq: number } | null): string[] | null;
  /** The controller's state as plain data (vCPUs, claimed sources, event queues). */
  view(opts?: IntcViewOptions): IntcView;
  /** Adds the controller's device-tree node (and what it needs elsewhere in the tree). */
  dt(tree: DeviceTree, nrServers: number, phandle: number): void;
  /** After a migration: state loaded, controller active. Re-sends what QEMU's post-load re-sends. */
  postLoad(resend: boolean): void;

  // ---- Saved state (each block saves its own; the backend lists them as sections) -------------
  readonly stateSpec: IntcStateSpec;
  /** A copy of the controller's state, section by section; per-vCPU parts in `vcpus` order. */
  saveState(vcpus: readonly number[]): Map<string, unknown>;
  /** Why checked sections cannot be loaded into this controller (its sizes), or null. */
  stateMismatch(states: SectionStates): StateMismatch | null;
  /**
   * Replaces the controller's state with checked sections (their vCPUs exist). The vCPU lines
   * are not driven: the machine sets them once everything is loaded.
   */
  loadState(states: SectionStates): void;

  // ---- Guest calls this backend owns -----------------------------------------------------------
  /** Whether this backend implements hcall `opcode`. */
  handlesHcall(opcode: number): boolean;
  /** `regs` are R4..R9 (unsigned 64-bit values), updated in place; returns R3. */
  hcall(vcpuId: number, opcode: number, regs: bigint[]): number;
  /** RTAS calls this backend registers, by name, with their tokens. */
  readonly rtasTokens: Readonly<Record<string, number>>;
  /** An RTAS call by name (one of rtasTokens); returns the return words, status first. */
  rtas(name: string, args: readonly number[], nret: number): number[];
}

