/**
 * The pseries (sPAPR) machine as far as interrupts go: vCPUs, guest RAM, the IRQ number space,
 * the interrupt controller(s) selected by ic-mode, CAS negotiation, machine reset, and the guest
 * entry points (hcalls, RTAS and MMIO). The controllers are reached only through the
 * interrupt-controller interface (intc.ts): claims and CPU life-cycle go to every backend the
 * machine has, device inputs, MMIO and `info pic` to the active one.
 *
 * Longer than the project's usual module: it is the one facade of the machine (every guest
 * entry point and life-cycle operation an embedder calls, each a few lines that hand over to the
 * backends, devices, CAS and state modules); the guest MMIO entries call the active XIVE backend
 * directly, without a dispatch, for the interrupt cycle's sake.
 */
import { SpaprXive, type SpaprXiveOptions } from './spapr-xive.ts';
import { SpaprXics } from './spapr-xics.ts';
import { RTAS_OUT_PARAM_ERROR } from './xics-hcalls.ts';
import * as H from './hcall.ts';
import { SPAPR_MAX_CPUS, SPAPR_XIRQ_BASE, SPAPR_IRQ_NR_IPIS, SPAPR_IRQ_MSI, MsiAllocator } from './irq-map.ts';
import { SpaprDevices } from './devices.ts';
import { isMsiRtas, MSI_RTAS_TOKENS, msiRtas, resetPhbMsis, type MsiRtasContext } from './rtas-msi.ts';
import { resolveMachine, vcpuIdOf, type MachineConfig, type MachineSpec } from './machine-config.ts';
import { IC_MODES, IC_MODE_BACKENDS, negotiateIcMode, OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT, type CasOutcome, type IcMode } from './cas.ts';
import type { IntcName, IntcPlatform, SectionStates, SpaprIntc } from './intc.ts';
import { SparseGuestMemory, type GuestMemory } from '../ports/memory.ts';
import { LINE_HINT, LINE_INT, LineState, type CpuLines } from '../ports/lines.ts';
import type { StateMismatch } from '../base/state.ts';
import type { ConfigState, SpaprState } from './machine-state.ts';
import { ManualClock, type Clock } from '../ports/clock.ts';
import { Tracer, type TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';

/**
 * Options of {@link SpaprMachine}: the machine in QEMU's terms, and the ports an embedder plugs in.
 */
export interface MachineOptions {
  /**
   * The machine in QEMU's terms (machine type, CPU model, -smp topology, ic-mode, vsmt,
   * max-cpu-compat, accelerator, PHBs), completed and checked by QEMU's rules
   * (machine-config.ts); `smp`, `maxCpus` and `icMode` below are shorthands that override it.
   */
  spec?: MachineSpec;
  /** vCPUs present at start (-smp N). */
  smp?: number;
  /** Possible vCPUs (hotplug headroom; -smp maxcpus=M); default = smp. */
  maxCpus?: number;
  /** ic-mode: xics, xive or dual (default: the machine type's, dual from pseries-4.1). */
  icMode?: IcMode;
  /**
   * Size of the device interrupt range 0x1000.. (QEMU's nr_xirqs; default 0x1000). Larger
   * machines than QEMU builds are allowed for scale measurements, up to what the ESB region
   * holds (2^20 LISNs with the IPIs).
   */
  nrXirqs?: number;
  /** Guest RAM size in bytes when no `memory` is given (default 1 GiB). */
  ramSize?: number;
  /** Guest RAM (default: a SparseGuestMemory of `ramSize` bytes). */
  memory?: GuestMemory;
  /** The vCPU interrupt inputs (default: a LineState). */
  lines?: CpuLines;
  /** Where trace events and guest errors go (default: nowhere). */
  trace?: TraceSink | null;
  /** The host's clock (H_XIRR_X's tick count); a ManualClock at 0 by default. */
  clock?: Clock;
  /**
   * 'default': QEMU's default pseries devices are created and claim their interrupts, as
   * `-nodefaults` still creates them (devices.ts: event sources, the VIO consoles and NVRAM,
   * every PHB with its 4 LSIs), and the PCI MSI RTAS calls are registered.
   * 'none': only the IPIs (used by trace replay, which claims what the trace claims).
   */
  devices?: 'default' | 'none';
  /** VIO consoles (QEMU creates one per -serial); default 1, the capture options. */
  vtys?: number;
  /** XIVE tables in caller-provided (e.g. shared) buffers; see SpaprXiveOptions.buffers. */
  xiveBuffers?: SpaprXiveOptions['buffers'];
  /**
   * The XIVE buffers already hold a running machine set up by another thread: the vCPUs join
   * it (their contexts are created over the existing registers) and nothing is claimed or reset.
   */
  attach?: boolean;
}

/** Guest RAM size when none is given: 1 GiB. */
export const DEFAULT_RAM_SIZE = 1 << 30;
/** Most LISNs the ESB region can hold below the TIMA (one 64K page pair each). */
export const MAX_XIVE_IRQS = 1 << 20;

/**
 * A pseries (sPAPR) machine as far as interrupts go: vCPUs, guest RAM, the IRQ number space, the
 * interrupt controller(s) of its ic-mode, CAS, reset, and the guest entry points: hcalls, RTAS
 * calls and MMIO.
 */
export class SpaprMachine {
  /** What QEMU builds for the options: machine type, CPU, topology, VSMT, backends, PHBs. */
  readonly config: MachineConfig;
  readonly smp: number;
  readonly maxCpus: number;
  readonly icMode: IcMode;
  /** Size of the device interrupt range (IRQs 0x1000 .. 0x1000 + nrXirqs - 1). */
  readonly nrXirqs: number;
  readonly memory: GuestMemory;
  readonly lines: CpuLines;
  readonly clock: Clock;
  /** The XIVE backend, when the ic-mode has one (for block-level inspection and tests). */
  readonly xive: SpaprXive | null;
  /** The XICS backend, when the ic-mode has one. */
  readonly xics: SpaprXics | null;
  /** Every backend of the machine, in QEMU's order (XICS first). */
  readonly intcs: readonly SpaprIntc[];
  readonly msi: MsiAllocator;
  /** The devices that own interrupts: event sources, VIO devices, PHBs (empty with devices 'none'). */
  readonly devices = new SpaprDevices();
  /** Negotiated option vector 5 (byte n at index n). */
  readonly ov5Cas = new Uint8Array(256);
  /**
   * The plugged vCPUs by CPU index (QEMU's cpu_index: the position among the possible CPUs, the
   * number trace events and `info pic` print), in plug order. Their vCPU ids (server numbers,
   * what hcalls and the controllers' tables use) are `vcpuId(index)`.
   */
  readonly vcpus: number[] = [];
  /** Set when the guest did something QEMU terminates the VM for (the machine stops). */
  halted: string | null = null;
  /** The controller the guest talks to. */
  private active: SpaprIntc;
  /**
   * The XIVE backend while it is the active controller, else null: guest loads and stores go
   * to it directly, without the interface call and its result buffer (see mmioRead).
   */
  private activeXive: SpaprXive | null = null;
  /** The one trace sink and guest-error reporter of every block of the machine. */
  readonly tracer: Tracer;
  /** High 32 bits of the last 8-byte MMIO load. */
  mmioHi = 0;
  private readonly scratch = new Uint32Array(2);

  constructor(opts: MachineOptions) {
    if (opts.smp !== undefined && (!Number.isInteger(opts.smp) || opts.smp < 1)) throw new XiveUsageError(`smp must be a positive integer, got ${opts.smp}`);
    const smpGiven = opts.smp ?? opts.spec?.smp?.cpus;
    if (opts.maxCpus !== undefined && (!Number.isInteger(opts.maxCpus) || opts.maxCpus < (smpGiven ?? 1) || opts.maxCpus > SPAPR_MAX_CPUS)) {
      throw new XiveUsageError(`max-cpus must be an integer in ${smpGiven ?? 1}..${SPAPR_MAX_CPUS}, got ${opts.maxCpus}`);
    }
    if (opts.icMode !== undefined && !IC_MODES.includes(opts.icMode)) throw new XiveUsageError(`ic-mode must be one of ${IC_MODES.join(', ')}, got ${String(opts.icMode)}`);
    const spec: MachineSpec = { ...opts.spec, smp: { ...opts.spec?.smp } };
    if (opts.smp !== undefined) spec.smp!.cpus = opts.smp;
    if (opts.maxCpus !== undefined) spec.smp!.maxcpus = opts.maxCpus;
    if (opts.icMode !== undefined) spec.icMode = opts.icMode;
    const cfg = resolveMachine(spec);
    this.config = cfg;
    const smp = cfg.smp.cpus;
    const maxCpus = cfg.smp.maxCpus;
    const icMode = cfg.icMode;
    const nrXirqs = opts.nrXirqs ?? cfg.nrXirqs;
    const maxXirqs = MAX_XIVE_IRQS - SPAPR_IRQ_NR_IPIS;
    if (!Number.isInteger(nrXirqs) || nrXirqs < SPAPR_IRQ_MSI - SPAPR_XIRQ_BASE || nrXirqs > maxXirqs) {
      throw new XiveUsageError(`nrXirqs must be an integer in 0x${(SPAPR_IRQ_MSI - SPAPR_XIRQ_BASE).toString(16)}..0x${maxXirqs.toString(16)}, got ${nrXirqs}`);
    }
    this.smp = smp;
    this.maxCpus = maxCpus;
    this.icMode = icMode;
    this.nrXirqs = nrXirqs;
    this.msi = new MsiAllocator(SPAPR_XIRQ_BASE + nrXirqs - SPAPR_IRQ_MSI);
    this.memory = opts.memory ?? new SparseGuestMemory(opts.ramSize ?? DEFAULT_RAM_SIZE);
    this.lines = opts.lines ?? new LineState();
    this.clock = opts.clock ?? new ManualClock();
    this.tracer = new Tracer(opts.trace ?? null);
    const platform: IntcPlatform = {
      memory: this.memory,
      isActive: (intc) => intc === this.active,
      xiveNegotiated: () => (this.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0,
      hostTicks: () => this.clock.hostTicks(),
    };
    const backends = IC_MODE_BACKENDS[icMode];
    this.xics = backends.includes('xics') ? new SpaprXics(this.lines, this.tracer, platform, nrXirqs) : null;
    this.xive = backends.includes('xive')
      ? new SpaprXive({
          nrIrqs: SPAPR_IRQ_NR_IPIS + nrXirqs,
          nrServers: cfg.nrServers,
          memory: this.memory,
          lines: this.lines,
          tracer: this.tracer,
          platform,
          buffers: opts.xiveBuffers,
        })
      : null;
    this.intcs = [this.xics, this.xive].filter((b): b is SpaprXics | SpaprXive => b !== null);
    // Before CAS the negotiated vector is empty, which means XICS whenever there is one.
    this.active = this.intcs[0]!;
    this.activeXive = this.active === this.xive ? this.xive : null;
    if (opts.attach === true) {
      if (this.xics !== null) throw new XiveUsageError('attach joins XIVE tables another thread set up: use ic-mode xive');
      for (let i = 0; i < smp; i++) {
        this.xive!.attachCpu(this.vcpuId(i), i);
        this.vcpus.push(i);
      }
      // The thread that set the tables up negotiated XIVE: this one joins after CAS.
      this.ov5Cas[OV5_INT_CTRL_BYTE] = OV5_XIVE_EXPLOIT;
      this.active.activate();
      return;
    }
    // The IPIs of every possible server are claimed first (an XIVE backend's own numbers: XICS
    // IPIs live in the ICPs), then the vCPUs are created.
    this.xive?.claimIpis(cfg.nrServers);
    for (let i = 0; i < smp; i++) this.plugCpu(i);
    if ((opts.devices ?? 'default') === 'default') this.devices.createDefaults(this, opts.vtys ?? 1);
    this.reset();
    this.active.activate();
  }

  /** The machine's trace sink (null: none). */
  get trace(): TraceSink | null {
    return this.tracer.sink;
  }

  /** Plugs a trace sink into every block of the machine (null: none). */
  setTrace(sink: TraceSink | null): void {
    this.tracer.sink = sink;
  }

  /** The controller the guest currently talks to. */
  get intc(): SpaprIntc {
    return this.active;
  }

  /** Name of the controller the guest currently talks to. */
  activeController(): IntcName {
    return this.active.name;
  }

  /** The backend of that name, or null when the ic-mode has none. */
  backend(name: IntcName): SpaprIntc | null {
    return this.intcs.find((b) => b.name === name) ?? null;
  }

  // ---- vCPUs ---------------------------------------------------------------------------------
  /** Is the vCPU at this CPU index plugged? */
  hasCpu(cpu: number): boolean {
    return this.vcpus.includes(cpu);
  }

  /** The vCPU id (server number) of the CPU at `cpu` (its index): cores are VSMT ids apart. */
  vcpuId(cpu: number): number {
    return vcpuIdOf(this.config, cpu);
  }

  /** The CPU index of a vCPU id, or -1 when no possible CPU has that id. */
  cpuOfVcpuId(vcpuId: number): number {
    const t = this.config.smp.threads;
    const thread = vcpuId % this.config.vsmt;
    const cpu = Math.floor(vcpuId / this.config.vsmt) * t + thread;
    return Number.isInteger(vcpuId) && vcpuId >= 0 && thread < t && cpu < this.maxCpus ? cpu : -1;
  }

  /**
   * Adds the vCPU at CPU index `cpu` (at start, or hotplug at run time): every backend creates
   * its context for the vCPU's id.
   */
  plugCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.maxCpus) {
      throw new XiveUsageError(`vCPU ${cpu} is outside 0..${this.maxCpus - 1}; raise max-cpus`);
    }
    if (this.hasCpu(cpu)) throw new XiveUsageError(`vCPU ${cpu} is already plugged`);
    const id = this.vcpuId(cpu);
    for (const b of this.intcs) b.cpuCreate(id, cpu);
    this.vcpus.push(cpu);
  }

  /**
   * Removes the vCPU at CPU index `cpu` (its core was unplugged and the guest released it):
   * every backend destroys its context; the CPU can be plugged again later.
   */
  unplugCpu(cpu: number): void {
    this.checkCpu(cpu);
    for (const b of this.intcs) b.cpuDestroy(cpu);
    this.vcpus.splice(this.vcpus.indexOf(cpu), 1);
  }

  /** Current level of a vCPU's interrupt input (LINE_INT or LINE_HINT), whatever port is plugged. */
  lineLevel(cpu: number, line: number): boolean {
    this.checkCpu(cpu);
    return this.active.lineLevel(cpu, line);
  }

  private checkCpu(cpu: number): void {
    if (!this.hasCpu(cpu)) throw new XiveUsageError(`no vCPU ${cpu} in this machine (plugged: ${this.vcpus.join(', ')})`);
  }

  // ---- IRQs ----------------------------------------------------------------------------------
  private checkXirq(irq: number): void {
    if (!Number.isInteger(irq) || irq < SPAPR_XIRQ_BASE || irq >= SPAPR_XIRQ_BASE + this.nrXirqs) {
      throw new XiveUsageError(`device IRQ ${irq} is outside 0x${SPAPR_XIRQ_BASE.toString(16)}..0x${(SPAPR_XIRQ_BASE + this.nrXirqs - 1).toString(16)}`);
    }
  }

  /**
   * Claims a device interrupt (0x1000..); false when it is already claimed (EBUSY). In dual
   * mode both backends get the claim, XICS first; a refusal stops there, as in QEMU.
   */
  claimIrq(irq: number, lsi: boolean): boolean {
    this.checkXirq(irq);
    for (const b of this.intcs) if (!b.claim(irq, lsi)) return false;
    return true;
  }

  /** Releases an IRQ number in every controller of the machine. */
  freeIrq(irq: number): void {
    this.checkXirq(irq);
    for (const b of this.intcs) b.free(irq);
  }

  /** Is the IRQ claimed (in the active controller)? */
  isClaimed(irq: number): boolean {
    return this.active.isClaimed(irq);
  }

  /** Is the IRQ a claimed LSI (in the active controller)? */
  isLsi(irq: number): boolean {
    return this.active.isLsi(irq);
  }

  /** Device input level change (an MSI is a pulse: level 1 then 0). */
  setIrq(irq: number, level: boolean): void {
    this.active.setIrq(irq, level);
  }

  /** A device's MSI: the pulse QEMU sends through the active controller. */
  pulseMsi(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  // ---- Reset and CAS -------------------------------------------------------------------------
  /** Machine reset (system_reset): devices, controllers and CAS state reset, claims kept. */
  reset(): void {
    // Devices reset first: each PHB drops its MSI blocks, which frees their numbers.
    for (const p of this.devices.phbs) resetPhbMsis(this.msiContext, p);
    for (const b of this.intcs) b.reset();
    this.ov5Cas.fill(0);
    this.halted = null;
    this.updateActive();
  }

  /** The guest's CAS call with its option vector 5 byte 23. */
  cas(guestByte23: number): CasOutcome {
    const out = negotiateIcMode(this.xics !== null, this.xive !== null, guestByte23 & 0xff);
    if (!out.ok) {
      this.halted = out.fatal;
      return out;
    }
    const machineByte = this.xive !== null ? OV5_XIVE_EXPLOIT : 0;
    this.ov5Cas[OV5_INT_CTRL_BYTE] = machineByte & guestByte23;
    this.updateActive();
    return out;
  }

  // ---- Saved state ---------------------------------------------------------------------------
  /**
   * A copy of the machine's interrupt state, section by section (machine-state.ts): the
   * platform's shape and negotiated state, then each controller's blocks.
   */
  saveState(): Map<string, unknown> {
    const cfg = this.config;
    const config: ConfigState = {
      smp: this.smp,
      maxCpus: this.maxCpus,
      icMode: this.icMode,
      ramSize: this.memory instanceof SparseGuestMemory ? this.memory.size : 0,
      vcpus: this.vcpus.slice(),
      machineType: cfg.type.name,
      cpu: cfg.cpu.type,
      sockets: cfg.smp.sockets,
      cores: cfg.smp.cores,
      threads: cfg.smp.threads,
      vsmt: cfg.vsmt,
      maxCpuCompat: cfg.maxCpuCompat ?? '',
      accel: cfg.accel,
      kernelIrqchip: cfg.kernelIrqchip ?? '',
      capHtm: cfg.capHtm,
      nrXirqs: this.nrXirqs,
      phbs: cfg.phbs.slice(1).map((p) => p.index),
    };
    const spapr: SpaprState = { ov5Cas: this.ov5Cas.slice(), msiBitmap: this.msi.bitmap.slice(), halted: this.halted, mmioHi: this.mmioHi >>> 0 };
    const out = new Map<string, unknown>([
      ['config', config],
      ['spapr', spapr],
    ]);
    for (const b of this.intcs) for (const [id, st] of b.saveState(this.vcpus)) out.set(id, st);
    return out;
  }

  /**
   * Why consistent saved sections (stateInconsistency) cannot be loaded into this machine: a
   * different shape, table sizes, or vCPUs it has that the saved machine had not. Null when they
   * fit; the vCPUs the saved machine had beyond this one's are plugged by loadState.
   */
  stateMismatch(states: SectionStates): StateMismatch | null {
    const c = states.get('config') as ConfigState;
    const spapr = states.get('spapr') as SpaprState;
    if (this.icMode !== c.icMode) return { what: 'ic-mode', saved: c.icMode, here: this.icMode };
    if (this.smp !== c.smp) return { what: 'smp', saved: c.smp, here: this.smp };
    if (this.maxCpus !== c.maxCpus) return { what: 'max-cpus', saved: c.maxCpus, here: this.maxCpus };
    const cfg = this.config;
    const shape: [string, string | number, string | number][] = [
      ['the machine type', c.machineType, cfg.type.name],
      ['the CPU model', c.cpu, cfg.cpu.type],
      ['threads per core', c.threads, cfg.smp.threads],
      ['vsmt', c.vsmt, cfg.vsmt],
      ['max-cpu-compat', c.maxCpuCompat || 'none', cfg.maxCpuCompat ?? 'none'],
      ['the accelerator', c.accel, cfg.accel],
      ['nr_xirqs', c.nrXirqs, this.nrXirqs],
      ['the extra PHBs', `[${c.phbs.join(', ')}]`, `[${cfg.phbs.slice(1).map((p) => p.index).join(', ')}]`],
    ];
    for (const [what, saved, here] of shape) if (saved !== here) return { what, saved, here };
    const ram = this.memory instanceof SparseGuestMemory ? this.memory.size : 0;
    if (c.ramSize !== 0 && ram !== 0 && c.ramSize !== ram) return { what: 'the RAM size', saved: c.ramSize, here: ram };
    if (this.msi.size !== spapr.msiBitmap.length) return { what: 'the MSI range size', saved: spapr.msiBitmap.length, here: this.msi.size };
    for (const b of this.intcs) {
      const m = b.stateMismatch(states);
      if (m !== null) return m;
    }
    if (this.vcpus.length > c.vcpus.length || this.vcpus.some((v, i) => c.vcpus[i] !== v)) {
      return { what: 'the vCPU list', saved: `[${c.vcpus.join(', ')}]`, here: `[${this.vcpus.join(', ')}]` };
    }
    return null;
  }

  /**
   * Replaces the interrupt state with checked sections, then resumes as QEMU's post-load does:
   * missing vCPUs are plugged, each controller loads its blocks, the negotiated option vector
   * selects the active controller (neither is reset: both were just loaded), the vCPU inputs
   * follow the loaded state, and the active controller finishes its post-load (XICS re-sends
   * when `resend`).
   */
  loadState(states: SectionStates, resend: boolean): void {
    const c = states.get('config') as ConfigState;
    const spapr = states.get('spapr') as SpaprState;
    for (const v of c.vcpus) if (!this.hasCpu(v)) this.plugCpu(v);
    for (const b of this.intcs) b.loadState(states);
    this.msi.bitmap.set(spapr.msiBitmap);
    this.halted = spapr.halted;
    this.mmioHi = spapr.mmioHi;
    this.ov5Cas.fill(0);
    this.ov5Cas.set(spapr.ov5Cas.subarray(0, this.ov5Cas.length));
    this.active = this.chooseActive();
    this.activeXive = this.active === this.xive ? this.xive : null;
    for (const b of this.intcs) b.setMapped(b === this.active);
    // The vCPU inputs follow the loaded state (QEMU's CPU state carries them across); the port is
    // told every level, whatever it held before.
    for (const v of this.vcpus) for (const line of [LINE_INT, LINE_HINT]) this.lines.setLine(v, line, this.lineLevel(v, line));
    this.active.postLoad(resend);
  }

  /** XIVE when there is no XICS or when XIVE was negotiated, XICS otherwise. */
  private chooseActive(): SpaprIntc {
    const xiveOn = this.xics === null || (this.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0;
    return xiveOn ? this.xive! : this.xics!;
  }

  /**
   * Switches the active controller when CAS or a reset changed it. The backend that goes
   * inactive is reset (claims kept): the guest can no longer reach it, and it must not keep
   * state from before the switch.
   */
  private updateActive(): void {
    const next = this.chooseActive();
    if (next === this.active) return;
    this.active.deactivate();
    this.active = next;
    this.activeXive = next === this.xive ? this.xive : null;
    next.activate();
  }

  // ---- Guest entry points --------------------------------------------------------------------
  /**
   * An hcall made by the vCPU at index `cpu` (`sc 1`, R3 = opcode, `args` = R4..R9, at most 6 values, each
   * taken modulo 2^64). `problemState`: the caller ran with MSR[PR]=1.
   */
  hcall(cpu: number, opcode: number, args: readonly bigint[] = [], problemState = false): H.HcallResult {
    this.checkCpu(cpu);
    const regs = new Array<bigint>(H.HCALL_REGS).fill(0n);
    for (let i = 0; i < Math.min(args.length, H.HCALL_REGS); i++) regs[i] = BigInt.asUintN(64, args[i]!);
    if (problemState) return { ret: H.H_PRIVILEGE, regs };
    for (const b of this.intcs) if (b.handlesHcall(opcode)) return { ret: b.hcall(cpu, opcode, regs), regs };
    this.tracer.guestError(`Unimplemented SPAPR hcall 0x${(opcode >>> 0).toString(16)}`);
    return { ret: H.H_FUNCTION, regs };
  }

  /**
   * RTAS calls the machine registers, by name, with their tokens: its controllers' calls, and
   * the PCI MSI calls when it has PHBs.
   */
  rtasTokens(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const b of this.intcs) Object.assign(out, b.rtasTokens);
    if (this.devices.phbs.length > 0) Object.assign(out, MSI_RTAS_TOKENS);
    return out;
  }

  /** What the PCI MSI RTAS calls act on (rtas-msi.ts). */
  private get msiContext(): MsiRtasContext {
    return {
      phbs: this.devices.phbs,
      legacyIrqAllocation: this.config.legacyIrqAllocation,
      msi: this.msi,
      nrXirqs: this.nrXirqs,
      isClaimed: (irq) => this.isClaimed(irq),
      claim: (irq) => this.claimIrq(irq, false),
      free: (irq, count) => {
        for (let i = irq; i < irq + count; i++) this.freeIrq(i);
      },
      tracer: this.tracer,
      abort: (message) => {
        this.halted = message;
      },
    };
  }

  /**
   * An RTAS call by name or token with its argument words; returns the return words (status
   * first, as the signed RTAS status). An unknown call answers the parameter error QEMU gives
   * an unknown token.
   */
  rtas(cpu: number, call: string | number, args: readonly number[], nret: number): number[] {
    this.checkCpu(cpu);
    for (const b of this.intcs) {
      const name = typeof call === 'string' ? call : Object.entries(b.rtasTokens).find(([, t]) => t === call)?.[0];
      if (name !== undefined && Object.prototype.hasOwnProperty.call(b.rtasTokens, name)) {
        return b.rtas(name, args.map((a) => a >>> 0), nret);
      }
    }
    if (this.devices.phbs.length > 0) {
      const name = typeof call === 'string' ? call : Object.entries(MSI_RTAS_TOKENS).find(([, t]) => t === call)?.[0];
      if (name !== undefined && isMsiRtas(name)) return msiRtas(this.msiContext, name, args.map((a) => a >>> 0), nret);
    }
    return [RTAS_OUT_PARAM_ERROR];
  }

  /**
   * MMIO load of `size` bytes at guest physical `addr` by the vCPU at index `cpu`. Returns the low 32 bits;
   * `mmioHi` holds the high 32 bits of an 8-byte load. Unassigned addresses read 0.
   */
  mmioRead(cpu: number, addr: number, size: number): number {
    // The XIVE backend answers directly (its guest-load entry returns the low half and keeps
    // the high one); another backend goes through the interface with the result buffer.
    const x = this.activeXive;
    if (x !== null) {
      const lo = x.load(cpu, addr, size);
      this.mmioHi = x.loadHi;
      return lo;
    }
    const out = this.scratch;
    out[0] = 0;
    out[1] = 0;
    this.active.mmioRead(cpu, addr, size, out);
    this.mmioHi = out[1]!;
    return out[0]!;
  }

  /** 8-byte load as a bigint (convenience; allocates). */
  mmioRead64(cpu: number, addr: number): bigint {
    const lo = this.mmioRead(cpu, addr, 8);
    return (BigInt(this.mmioHi) << 32n) | BigInt(lo);
  }

  /** MMIO store; `hi` carries the upper 32 bits of an 8-byte store. Unassigned addresses ignore it. */
  mmioWrite(cpu: number, addr: number, size: number, lo: number, hi = 0): void {
    const x = this.activeXive;
    if (x !== null) x.store(cpu, addr, size, lo, hi);
    else this.active.mmioWrite(cpu, addr, size, lo, hi);
  }

  /** An 8-byte MMIO store of `v` by the vCPU at CPU index `cpu`. */
  mmioWrite64(cpu: number, addr: number, v: bigint): void {
    this.mmioWrite(cpu, addr, 8, Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn));
  }

  // ---- Inspection ----------------------------------------------------------------------------
  /** `info pic`: the active controller's lines, then the irqchip line (with the final newline). */
  infoPic(): string {
    return [...this.active.printInfo(), `irqchip: ${this.config.inKernelIrqchip ? 'in-kernel' : 'emulated'}`].join('\n') + '\n';
  }
}

