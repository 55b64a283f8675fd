/**
 * What machine a user asks for, and what QEMU 7.2 builds from it: a `MachineSpec` holds the
 * options as given (machine type and its ic-mode / vsmt / max-cpu-compat / kernel-irqchip
 * properties, the CPU model, the -smp topology, extra PHBs, the accelerator), and
 * `resolveMachine` turns it into a `MachineConfig` with every default filled in the way QEMU
 * fills it in — or refuses it with the message QEMU prints, as a MachineConfigError.
 *
 * Facts used (docs/configurations.md): the per-version settings of machine-types.ts; QEMU's -smp
 * rules (missing values computed from the given ones; sockets preferred before pseries-6.2);
 * VSMT: the spacing of vCPU ids between cores (vcpu_id = core * vsmt + thread), by default the
 * threads per core, max(8, threads) before pseries-4.2; XIVE needs a CPU able to run at ISA 3.00
 * within max-cpu-compat, else dual mode becomes XICS and xive is refused.
 *
 * Acronyms: VSMT = virtual SMT mode (vCPU id spacing), PHB = PCI host bridge, TCG = QEMU's
 * emulation, KVM = hardware virtualisation with an in-kernel interrupt controller.
 */
import { XiveUsageError } from '../base/errors.ts';
import { IC_MODES, type IcMode } from './cas.ts';
import { COMPAT_MODES, COMPAT_PVR, cpuModel, NON_SPAPR_CPU_FAMILIES, runsAt, XIVE_COMPAT, type CompatMode, type CpuModel } from './cpu-models.ts';
import { DEFAULT_MACHINE_TYPE, machineType, type MachineType } from './machine-types.ts';
import { SPAPR_IRQ_NR_IPIS, SPAPR_MAX_CPUS } from './irq-map.ts';
import { SPAPR_PHB_MAX_INDEX, SPAPR_PHB_MAX_INDEX_LEGACY } from './phb.ts';

/** The accelerator (-accel): TCG emulation or KVM. */
export type Accel = 'tcg' | 'kvm';
/** Every accelerator. */
export const ACCELS: readonly Accel[] = ['tcg', 'kvm'];
/** The kernel-irqchip machine property (KVM): in-kernel controllers on, off, or split. */
export type KernelIrqchip = 'on' | 'off' | 'split';
/** Every kernel-irqchip value. */
export const KERNEL_IRQCHIP_MODES: readonly KernelIrqchip[] = ['on', 'off', 'split'];

/** -smp as given: absent values are computed the way QEMU computes them. */
export interface SmpSpec {
  cpus?: number;
  maxcpus?: number;
  sockets?: number;
  cores?: number;
  threads?: number;
}

/**
 * A machine in QEMU's terms, as given on its command line: what {@link resolveMachine} completes
 * and checks.
 */
export interface MachineSpec {
  /** Machine type ('pseries' or 'pseries-X.Y'); the newest by default. */
  type?: string;
  /** The ic-mode property (default: the machine type's). */
  icMode?: IcMode;
  /** The vsmt property: vCPU id spacing between cores (default: the machine type's). */
  vsmt?: number;
  /** The max-cpu-compat property: the newest compatibility mode the guest may run in. */
  maxCpuCompat?: CompatMode;
  /** The kernel-irqchip property (KVM only). */
  kernelIrqchip?: KernelIrqchip;
  /** The machine's cap-htm property (default: the machine type's). */
  capHtm?: boolean;
  /** -cpu: an alias (POWER9) or a versioned type (power9_v2.0); the type's default otherwise. */
  cpu?: string;
  smp?: SmpSpec;
  /** PHBs besides the default one (index 0): -device spapr-pci-host-bridge,index=N[,id=…]. */
  phbs?: readonly { index: number; id?: string; option?: string }[];
  /** The accelerator (default tcg). */
  accel?: Accel;
}

/**
 * The -smp topology, completed: present and possible vCPUs, sockets, cores per socket, threads per
 * core.
 */
export interface Topology {
  cpus: number;
  maxCpus: number;
  sockets: number;
  cores: number;
  threads: number;
}

/**
 * The machine QEMU builds for a {@link MachineSpec}: type, CPU, topology, VSMT, interrupt backends,
 * PHBs.
 */
export interface MachineConfig {
  readonly type: MachineType;
  readonly cpu: CpuModel;
  readonly maxCpuCompat: CompatMode | null;
  /** The interrupt backends the machine has (a dual request on a CPU without XIVE gives xics). */
  readonly icMode: IcMode;
  readonly smp: Topology;
  readonly vsmt: number;
  /** Server numbers the interrupt controllers must cover: ceil(maxCpus * vsmt / threads). */
  readonly nrServers: number;
  readonly nrXirqs: number;
  readonly legacyIrqAllocation: boolean;
  readonly accel: Accel;
  readonly kernelIrqchip: KernelIrqchip | null;
  /** Transactional memory offered to the guest (cap-htm). */
  readonly capHtm: boolean;
  /** The interrupt controllers live in the host kernel (KVM with kernel-irqchip not off). */
  readonly inKernelIrqchip: boolean;
  /** Every PHB, the default one (index 0) first. */
  readonly phbs: readonly { index: number; id: string | null }[];
}

/** A configuration QEMU refuses; the message is QEMU's. */
export class MachineConfigError extends XiveUsageError {
  override readonly name: string = 'MachineConfigError';
}

function refuse(message: string): never {
  throw new MachineConfigError(message);
}

/** vCPU id (server number) of the CPU at `cpuIndex`: cores are vsmt ids apart. */
export function vcpuIdOf(cfg: Pick<MachineConfig, 'smp' | 'vsmt'>, cpuIndex: number): number {
  const t = cfg.smp.threads;
  return Math.floor(cpuIndex / t) * cfg.vsmt + (cpuIndex % t);
}

/** QEMU's -smp computation and its topology checks. */
function topology(spec: SmpSpec, type: MachineType): Topology {
  let cpus = spec.cpus ?? 0;
  let sockets = spec.sockets ?? 0;
  let cores = spec.cores ?? 0;
  let threads = spec.threads ?? 0;
  let maxcpus = spec.maxcpus ?? 0;
  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets > 0 ? sockets : 1;
    cores = cores > 0 ? cores : 1;
    threads = threads > 0 ? threads : 1;
  } else {
    maxcpus = maxcpus > 0 ? maxcpus : cpus;
    if (type.preferSockets) {
      if (sockets === 0) {
        cores = cores > 0 ? cores : 1;
        threads = threads > 0 ? threads : 1;
        sockets = Math.floor(maxcpus / (cores * threads));
      } else if (cores === 0) {
        threads = threads > 0 ? threads : 1;
        cores = Math.floor(maxcpus / (sockets * threads));
      }
    } else if (cores === 0) {
      sockets = sockets > 0 ? sockets : 1;
      threads = threads > 0 ? threads : 1;
      cores = Math.floor(maxcpus / (sockets * threads));
    } else if (sockets === 0) {
      threads = threads > 0 ? threads : 1;
      sockets = Math.floor(maxcpus / (cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * cores));
  }
  maxcpus = maxcpus > 0 ? maxcpus : sockets * cores * threads;
  cpus = cpus > 0 ? cpus : maxcpus;
  const hier = `sockets (${sockets}) * cores (${cores}) * threads (${threads})`;
  if (sockets * cores * threads !== maxcpus) {
    refuse(`Invalid CPU topology: product of the hierarchy must match maxcpus: ${hier} != maxcpus (${maxcpus})`);
  }
  if (maxcpus < cpus) refuse(`Invalid CPU topology: maxcpus must be equal to or greater than smp: ${hier} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`);
  if (maxcpus > SPAPR_MAX_CPUS) refuse(`Invalid SMP CPUs ${maxcpus}. The max CPUs supported by machine '${type.name}' is ${SPAPR_MAX_CPUS}`);
  return { cpus, maxCpus: maxcpus, sockets, cores, threads };
}

/** The machine QEMU 7.2 builds for `spec`, or its refusal (MachineConfigError). */
export function resolveMachine(spec: MachineSpec = {}): MachineConfig {
  const typeName = spec.type ?? DEFAULT_MACHINE_TYPE;
  const type = machineType(typeName);
  if (type === undefined) refuse(`unsupported machine type '${typeName}'. Use --machine help to list supported machines`);
  if (spec.icMode !== undefined) {
    if (type.legacyIrqAllocation) refuse("This machine only uses the legacy XICS backend, don't pass ic-mode");
    if (!IC_MODES.includes(spec.icMode)) refuse('Bad value for "ic-mode" property');
  }
  if (spec.maxCpuCompat !== undefined && !COMPAT_MODES.includes(spec.maxCpuCompat)) refuse(`Invalid compatibility mode "${String(spec.maxCpuCompat)}"`);
  const cpuName = spec.cpu ?? type.defaultCpu;
  const cpu = cpuModel(cpuName);
  if (cpu === undefined) refuse(NON_SPAPR_CPU_FAMILIES.test(cpuName) ? 'Unable to find sPAPR CPU Core definition' : `unable to find CPU model '${cpuName}'`);
  const accel = spec.accel ?? 'tcg';
  const smp = topology(spec.smp ?? {}, type);

  // VSMT and threads (the machine's own checks, in QEMU's order).
  if (accel === 'tcg' && smp.threads > 1) refuse('TCG cannot support more than 1 thread/core on a pseries machine');
  if ((smp.threads & (smp.threads - 1)) !== 0) refuse(`Cannot support ${smp.threads} threads/core on a pseries machine because it must be a power of 2`);
  let vsmt: number;
  if (spec.vsmt !== undefined && spec.vsmt !== 0) {
    if (spec.vsmt < smp.threads) refuse(`Cannot support VSMT mode ${spec.vsmt} because it must be >= threads/core (${smp.threads})`);
    vsmt = spec.vsmt;
  } else vsmt = type.smpThreadsVsmt ? smp.threads : Math.max(8, smp.threads);

  // Interrupt controllers.
  if (accel === 'kvm' && spec.kernelIrqchip === 'split') refuse('kernel_irqchip split mode not supported on pseries');
  const maxCpuCompat = spec.maxCpuCompat ?? null;
  let icMode: IcMode = spec.icMode ?? (type.irq === 'dual' ? 'dual' : 'xics');
  if (!runsAt(cpu, XIVE_COMPAT, maxCpuCompat)) {
    // Without the POWER9 exception model, CAS could only ever pick XICS.
    if (icMode === 'dual') icMode = 'xics';
    else if (icMode === 'xive') refuse('XIVE-only machines require a POWER9 CPU');
  }

  const nrServers = Math.ceil((smp.maxCpus * vsmt) / smp.threads);
  // XIVE claims one IPI per server below the device range: past it, the first claim collides.
  if (icMode !== 'xics' && nrServers > SPAPR_IRQ_NR_IPIS) refuse(`IRQ ${SPAPR_IRQ_NR_IPIS} is not free`);

  // CPUs.
  if (type.hotpluggableCpus) {
    if (smp.cpus % smp.threads !== 0) refuse(`smp_cpus (${smp.cpus}) must be multiple of threads (${smp.threads})`);
    if (smp.maxCpus % smp.threads !== 0) refuse(`max_cpus (${smp.maxCpus}) must be multiple of threads (${smp.threads})`);
  } else if (smp.maxCpus !== smp.cpus) refuse('This machine version does not support CPU hotplug');

  // At the first reset: the machine capabilities, then each CPU's compatibility mode.
  // A CPU that cannot run at ISA 2.07 (POWER8) within max-cpu-compat never offers HTM by default.
  const capHtm = spec.capHtm ?? (type.htm && runsAt(cpu, 'power8', maxCpuCompat));
  if (capHtm && accel === 'tcg') refuse('No Transactional Memory support in TCG. Try appending -machine cap-htm=off');
  if (maxCpuCompat !== null && !runsAt(cpu, maxCpuCompat, null)) refuse(`Compatibility PVR 0x${COMPAT_PVR[maxCpuCompat].toString(16).padStart(8, '0')} not valid for CPU`);

  // The extra PHBs are realized last, each checked as its -device is.
  const phbs: { index: number; id: string | null }[] = [{ index: 0, id: null }];
  const maxIndex = type.legacyPhbPlacement ? SPAPR_PHB_MAX_INDEX_LEGACY : SPAPR_PHB_MAX_INDEX;
  for (const p of spec.phbs ?? []) {
    const dev = `-device ${p.option ?? `spapr-pci-host-bridge,index=${p.index}`}: `;
    if (phbs.some((q) => q.index === p.index)) refuse(`${dev}PHB ${p.index} already attached`);
    if (p.index > maxIndex) refuse(`${dev}"index" for PAPR PHB is too large (max ${maxIndex})`);
    phbs.push({ index: p.index, id: p.id ?? null });
  }
  return {
    type,
    cpu,
    maxCpuCompat,
    icMode,
    smp,
    vsmt,
    nrServers,
    nrXirqs: type.nrXirqs,
    legacyIrqAllocation: type.legacyIrqAllocation,
    accel,
    kernelIrqchip: spec.kernelIrqchip ?? null,
    capHtm,
    inKernelIrqchip: accel === 'kvm' && spec.kernelIrqchip !== 'off',
    phbs,
  };
}

/** The options that make QEMU build exactly `cfg` again. */
export function specOfConfig(cfg: MachineConfig): MachineSpec {
  const { cpus, maxCpus, sockets, cores, threads } = cfg.smp;
  const spec: MachineSpec = {
    type: cfg.type.name,
    cpu: cfg.cpu.type,
    smp: { cpus, maxcpus: maxCpus, sockets, cores, threads },
    vsmt: cfg.vsmt,
    accel: cfg.accel,
    phbs: cfg.phbs.slice(1).map((p) => (p.id === null ? { index: p.index } : { index: p.index, id: p.id })),
  };
  if (!cfg.legacyIrqAllocation) spec.icMode = cfg.icMode;
  if (cfg.maxCpuCompat !== null) spec.maxCpuCompat = cfg.maxCpuCompat;
  if (cfg.kernelIrqchip !== null) spec.kernelIrqchip = cfg.kernelIrqchip;
  spec.capHtm = cfg.capHtm;
  return spec;
}
