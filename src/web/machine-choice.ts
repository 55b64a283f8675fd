/**
 * The machine a web page asks for, in the command line's terms: the playground's form and its
 * query string (`?machine=pseries,ic-mode=xive&smp=4&cpu=POWER9`) carry the values of --machine,
 * --cpu, --smp, --device, --accel and the --ic-mode / --max-cpus shorthands as the commands take
 * them, and the same defaults as `xive serve` apply (4 vCPUs; ic-mode xive unless a machine type
 * is named or the CPU model cannot run XIVE). QEMU's refusals keep QEMU's message.
 *
 * Platform-neutral: it runs in the playground's worker (the CLI's own option layer uses Node).
 * Also the lists a form offers: machine types, CPU models, ic-modes, accelerators.
 */
import { XiveUsageError } from '../base/errors.ts';
import { IC_MODES, type IcMode } from '../spapr/cas.ts';
import { COMPAT_MODES, CPU_MODEL_NAMES, cpuModel, runsAt, XIVE_COMPAT } from '../spapr/cpu-models.ts';
import { ACCELS, KERNEL_IRQCHIP_MODES, resolveMachine, type MachineConfig, type MachineSpec } from '../spapr/machine-config.ts';
import { machineSpecFromArgs } from '../spapr/machine-options.ts';
import { DEFAULT_MACHINE_TYPE, MACHINE_TYPE_NAMES, machineType } from '../spapr/machine-types.ts';

/** The page shows every vCPU in a table: beyond this it stops being readable. */
export const PAGE_MAX_VCPUS = 64;

/** vCPUs of a machine whose -smp says nothing, as `xive serve` boots it. */
const DEFAULT_SMP = 4;

/** Option values as a query string or form gives them (each as typed on the command line). */
export interface PageMachineArgs {
  machine?: string;
  cpu?: string;
  smp?: string;
  device?: readonly string[];
  accel?: string;
  'ic-mode'?: string;
  'max-cpus'?: string;
}

/** What a machine form can offer. */
export interface MachineCatalog {
  machineTypes: string[];
  defaultMachineType: string;
  cpus: string[];
  icModes: string[];
  compatModes: string[];
  kernelIrqchipModes: string[];
  accels: string[];
  maxVcpus: number;
}

export function machineCatalog(): MachineCatalog {
  return {
    machineTypes: ['pseries', ...MACHINE_TYPE_NAMES],
    defaultMachineType: DEFAULT_MACHINE_TYPE,
    cpus: [...CPU_MODEL_NAMES],
    icModes: [...IC_MODES],
    compatModes: [...COMPAT_MODES],
    kernelIrqchipModes: [...KERNEL_IRQCHIP_MODES],
    accels: [...ACCELS],
    maxVcpus: PAGE_MAX_VCPUS,
  };
}

function count(name: string, text: string, min: number, max: number): number {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new XiveUsageError(`${name} must be an integer in ${min}..${max}, got '${text}'`);
  return n;
}

/**
 * The MachineSpec of the options, defaults applied, checked the way QEMU checks it (resolved);
 * throws a XiveUsageError (a MachineConfigError for QEMU's refusals) with a one-line message.
 */
export function pageMachine(args: PageMachineArgs): { spec: MachineSpec; config: MachineConfig } {
  const smpText = args.smp === '' ? undefined : args.smp;
  // A lone number is the vCPU count with the page's range; a list is QEMU's syntax.
  const smpList = smpText !== undefined && /[,=]/.test(smpText);
  const spec = machineSpecFromArgs({
    machine: args.machine === '' ? undefined : args.machine,
    cpu: args.cpu === '' ? undefined : args.cpu,
    smp: smpList ? smpText : undefined,
    device: args.device,
    accel: args.accel === '' ? undefined : args.accel,
  });
  spec.smp ??= {};
  if (smpText !== undefined && !smpList) spec.smp.cpus = count('smp', smpText, 1, PAGE_MAX_VCPUS);
  else if (spec.smp.cpus === undefined && spec.smp.maxcpus === undefined) spec.smp.cpus = DEFAULT_SMP;
  const maxCpus = args['max-cpus'];
  if (maxCpus !== undefined && maxCpus !== '') spec.smp.maxcpus = count('max-cpus', maxCpus, spec.smp.cpus ?? 1, PAGE_MAX_VCPUS);
  const mode = args['ic-mode'];
  if (mode !== undefined && mode !== '') {
    if (!IC_MODES.includes(mode as IcMode)) throw new XiveUsageError(`ic-mode must be one of ${IC_MODES.join(', ')}, got '${mode}'`);
    if (spec.icMode !== undefined && spec.icMode !== mode) throw new XiveUsageError(`ic-mode ${mode} contradicts machine …,ic-mode=${spec.icMode}`);
    spec.icMode = mode as IcMode;
  } else if (spec.icMode === undefined && (args.machine ?? '') === '' && xiveFits(spec.cpu)) {
    spec.icMode = 'xive';
  }
  const config = resolveMachine(spec);
  if (config.smp.cpus > PAGE_MAX_VCPUS) throw new XiveUsageError(`smp: the page shows at most ${PAGE_MAX_VCPUS} vCPUs, got ${config.smp.cpus}`);
  return { spec, config };
}

/** Can the default machine type with this CPU model (its own default when none) offer XIVE? */
function xiveFits(cpu: string | undefined): boolean {
  const model = cpuModel(cpu ?? machineType(DEFAULT_MACHINE_TYPE)!.defaultCpu);
  // An unknown model is refused by the resolution, with QEMU's message.
  return model === undefined || runsAt(model, XIVE_COMPAT, null);
}
