/**
 * The machine options every command that builds a pseries machine takes, in QEMU's own syntax
 * (src/spapr/machine-options.ts parses them): --machine, --cpu, --smp, --device, --accel, with
 * --ic-mode and --max-cpus kept as shorthands. A configuration QEMU 7.2 refuses ends the command
 * with QEMU's message (exit status 2); `--machine help` and `--cpu help` list what exists.
 */
import type { IcMode } from '../spapr/cas.ts';
import { IC_MODES } from '../spapr/cas.ts';
import { CPU_MODEL_NAMES, cpuModel, runsAt, XIVE_COMPAT } from '../spapr/cpu-models.ts';
import { MachineConfigError, resolveMachine, type MachineConfig, type MachineSpec } from '../spapr/machine-config.ts';
import { machineSpecFromArgs } from '../spapr/machine-options.ts';
import { DEFAULT_MACHINE_TYPE, MACHINE_TYPE_NAMES, machineType } from '../spapr/machine-types.ts';
import { SpaprMachine, type MachineOptions } from '../spapr/machine.ts';
import { SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { enumOption, intOption, UsageFailure, type Options } from './args.ts';

export const MACHINE_OPTIONS: Options = {
  machine: { type: 'string', short: 'M' },
  cpu: { type: 'string' },
  smp: { type: 'string' },
  'max-cpus': { type: 'string' },
  'ic-mode': { type: 'string' },
  device: { type: 'string', multiple: true },
  accel: { type: 'string' },
};

export const MACHINE_HELP = `Machine (QEMU's option syntax; every part optional):
  -M, --machine TYPE[,ic-mode=xics|xive|dual][,vsmt=N][,max-cpu-compat=power8|power9|power10][,kernel-irqchip=on|off|split]
                   TYPE: pseries (= pseries-7.2) or pseries-2.1 … pseries-7.2; --machine help lists them
  --cpu MODEL      POWER8, POWER9, POWER10, or a versioned name (power9_v2.0, …); --cpu help lists them
  --smp N[,maxcpus=M][,sockets=S][,cores=C][,threads=T]
  --device spapr-pci-host-bridge,index=N[,id=NAME]   one more PCI host bridge (repeatable)
  --accel tcg|kvm  (default tcg; kvm: SMT and the in-kernel interrupt controller as KVM runs them)
  --ic-mode MODE   shorthand for --machine …,ic-mode=MODE
  --max-cpus M     shorthand for --smp …,maxcpus=M
`;

/**
 * Defaults a command applies when the user did not say (kept from before machine types). The
 * ic-mode default gives way to QEMU's own choice on a CPU model that cannot run XIVE.
 */
export interface MachineDefaults {
  smp?: number;
  icMode?: IcMode;
}

/** Can the default machine type with this -cpu (its own default when none) offer `mode`? */
function cpuFits(mode: IcMode, cpu: string | undefined): boolean {
  if (mode === 'xics') return true;
  const model = cpuModel(cpu ?? machineType(DEFAULT_MACHINE_TYPE)!.defaultCpu);
  // An unknown model is refused by the resolution, with QEMU's message.
  return model === undefined || runsAt(model, XIVE_COMPAT, null);
}

/** The listing `--machine help` / `--cpu help` asks for, or null. */
export function machineHelp(values: Record<string, unknown>): string | null {
  if (values.machine === 'help') return `Supported machines are:\n${MACHINE_TYPE_NAMES.map((n) => `${n}${n === 'pseries-7.2' ? ' (alias pseries, default)' : ''}`).join('\n')}\n`;
  if (values.cpu === 'help') return `Available CPUs:\n${CPU_MODEL_NAMES.join('\n')}\n`;
  return null;
}

/** The MachineSpec the options describe (shorthands applied over the QEMU-syntax values). */
export function machineSpecOf(values: Record<string, unknown>, defaults: MachineDefaults = {}): MachineSpec {
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  try {
    const smpText = str('smp');
    // A lone value (no key=value list) is the vCPU count, checked with its range; a list is
    // QEMU's syntax.
    const smpList = smpText !== undefined && /[,=]/.test(smpText);
    const spec = machineSpecFromArgs({
      machine: str('machine'),
      cpu: str('cpu'),
      smp: smpList ? smpText : undefined,
      device: (values.device as string[] | undefined) ?? [],
      accel: str('accel'),
    });
    spec.smp ??= {};
    // A count above the machine's limit is QEMU's refusal (machine-config.ts), which names it.
    if (smpText !== undefined && !smpList) spec.smp.cpus = /^\d+$/.test(smpText) && Number(smpText) > SPAPR_MAX_CPUS ? Number(smpText) : intOption(values, 'smp', 1, SPAPR_MAX_CPUS);
    else if (spec.smp.cpus === undefined && spec.smp.maxcpus === undefined && defaults.smp !== undefined) spec.smp.cpus = defaults.smp;
    if (values['max-cpus'] !== undefined) spec.smp.maxcpus = intOption(values, 'max-cpus', spec.smp.cpus ?? 1, SPAPR_MAX_CPUS);
    if (values['ic-mode'] !== undefined) {
      const mode = enumOption(values, 'ic-mode', IC_MODES);
      if (spec.icMode !== undefined && spec.icMode !== mode) throw new UsageFailure(`--ic-mode ${mode} contradicts --machine …,ic-mode=${spec.icMode}`);
      spec.icMode = mode;
    } else if (spec.icMode === undefined && values.machine === undefined && defaults.icMode !== undefined && cpuFits(defaults.icMode, spec.cpu)) {
      spec.icMode = defaults.icMode;
    }
    return spec;
  } catch (e) {
    if (e instanceof MachineConfigError) throw new UsageFailure(e.message);
    throw e;
  }
}

/** The resolved configuration, or QEMU's refusal as a usage failure. */
export function machineConfigOf(values: Record<string, unknown>, defaults: MachineDefaults = {}): MachineConfig {
  return resolved(() => resolveMachine(machineSpecOf(values, defaults)));
}

/** A machine built from the options (and `extra` machine options), or QEMU's refusal. */
export function buildMachine(values: Record<string, unknown>, defaults: MachineDefaults = {}, extra: Omit<MachineOptions, 'spec'> = {}): SpaprMachine {
  const spec = machineSpecOf(values, defaults);
  return resolved(() => new SpaprMachine({ ...extra, spec }));
}

function resolved<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MachineConfigError) throw new UsageFailure(e.message);
    throw e;
  }
}
