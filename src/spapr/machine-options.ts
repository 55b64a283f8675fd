/**
 * QEMU's own option syntax for a pseries machine, turned into a MachineSpec (machine-config.ts):
 *
 *   -machine TYPE[,ic-mode=xics|xive|dual][,vsmt=N][,max-cpu-compat=MODE][,kernel-irqchip=on|off|split]
 *   -cpu MODEL                      (POWER9, power9_v2.0, …)
 *   -smp N[,maxcpus=M][,sockets=S][,cores=C][,threads=T]
 *   -device spapr-pci-host-bridge,index=N[,id=NAME]     (repeatable)
 *   -accel tcg|kvm[,kernel-irqchip=…][,thread=single|multi]
 *
 * Each parser takes the option's value as QEMU does (comma-separated key=value pairs, the first
 * value possibly without a key) and refuses what QEMU refuses with a one-line MachineConfigError.
 */
import { IC_MODES, type IcMode } from './cas.ts';
import { COMPAT_MODES, type CompatMode } from './cpu-models.ts';
import { ACCELS, KERNEL_IRQCHIP_MODES, MachineConfigError, type Accel, type KernelIrqchip, type MachineSpec, type SmpSpec } from './machine-config.ts';

function refuse(message: string): never {
  throw new MachineConfigError(message);
}

/** `a,k=v,k2=v2` → the implied first value (if it has no key) and the key/value pairs in order. */
function splitOption(value: string, implied: string): [string, string][] {
  const out: [string, string][] = [];
  value.split(',').forEach((part, i) => {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (i === 0 && part !== '') out.push([implied, part]);
      else refuse(`Invalid parameter '${part}'`);
    } else out.push([part.slice(0, eq), part.slice(eq + 1)]);
  });
  return out;
}

function uint(key: string, v: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) refuse(`Parameter '${key}' expects an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n > 0xffff_ffff) refuse(`Parameter '${key}' expects a 32-bit unsigned integer, got '${v}'`);
  return n;
}

function oneOf<T extends string>(allowed: readonly T[], v: string, what: string): T {
  if (!allowed.includes(v as T)) refuse(what);
  return v as T;
}

function onOff(key: string, v: string): boolean {
  if (v === 'on' || v === 'true' || v === 'yes') return true;
  if (v === 'off' || v === 'false' || v === 'no') return false;
  return refuse(`Parameter '${key}' expects 'on' or 'off'`);
}

/** -machine: the type and the interrupt-related properties. */
export function parseMachineOption(value: string, into: MachineSpec = {}): MachineSpec {
  for (const [k, v] of splitOption(value, 'type')) {
    switch (k) {
      case 'type':
        into.type = v;
        break;
      case 'ic-mode':
        into.icMode = oneOf<IcMode>(IC_MODES, v, 'Bad value for "ic-mode" property');
        break;
      case 'vsmt':
        into.vsmt = uint('vsmt', v);
        break;
      case 'max-cpu-compat':
        into.maxCpuCompat = oneOf<CompatMode>(COMPAT_MODES, v, `Invalid compatibility mode "${v}"`);
        break;
      case 'cap-htm':
        into.capHtm = onOff('cap-htm', v);
        break;
      case 'kernel-irqchip':
      case 'kernel_irqchip':
        into.kernelIrqchip = oneOf<KernelIrqchip>(KERNEL_IRQCHIP_MODES, v, `Parameter 'kernel-irqchip' does not accept value '${v}'`);
        break;
      default:
        refuse(`Property '${into.type ?? 'pseries'}-machine.${k}' not found (this model takes ic-mode, vsmt, max-cpu-compat, kernel-irqchip, cap-htm)`);
    }
  }
  return into;
}

/** -smp N[,maxcpus=M][,sockets=S][,cores=C][,threads=T] (also cpus=N). */
export function parseSmpOption(value: string): SmpSpec {
  const smp: SmpSpec = {};
  for (const [k, v] of splitOption(value, 'cpus')) {
    if (k !== 'cpus' && k !== 'maxcpus' && k !== 'sockets' && k !== 'cores' && k !== 'threads') refuse(`Invalid parameter '${k}'`);
    smp[k] = uint(k, v);
  }
  return smp;
}

/**
 * -device: a PCI host bridge adds a PHB (its LSIs, MSIs and device-tree node); any other device
 * (virtio-rng-pci, …) takes its interrupts from the machine at run time, which the model learns
 * from what the guest and the trace do, so it is accepted and changes nothing here (null).
 */
export function parseDeviceOption(value: string): { index: number; id?: string; option: string } | null {
  const pairs = splitOption(value, 'driver');
  const driver = pairs.find(([k]) => k === 'driver')?.[1];
  if (driver === undefined) refuse(`-device '${value}': a driver name is needed`);
  if (driver !== 'spapr-pci-host-bridge') return null;
  let index: number | undefined;
  let id: string | undefined;
  for (const [k, v] of pairs) {
    if (k === 'driver') continue;
    if (k === 'index') index = uint('index', v);
    else if (k === 'id') id = v;
    else refuse(`spapr-pci-host-bridge: property '${k}' is not modelled (index, id)`);
  }
  if (index === undefined) refuse(`-device ${value}: "index" for PAPR PHB is mandatory`);
  return id === undefined ? { index, option: value } : { index, id, option: value };
}

/** -accel tcg|kvm[,kernel-irqchip=…][,thread=…]. */
export function parseAccelOption(value: string, into: MachineSpec = {}): MachineSpec {
  for (const [k, v] of splitOption(value, 'accel')) {
    if (k === 'accel') into.accel = oneOf<Accel>(ACCELS, v, `invalid accelerator ${v}`);
    else if (k === 'kernel-irqchip' && into.accel === 'kvm') into.kernelIrqchip = oneOf<KernelIrqchip>(KERNEL_IRQCHIP_MODES, v, `Parameter 'kernel-irqchip' does not accept value '${v}'`);
    else if (k === 'thread' && into.accel !== 'kvm') oneOf(['single', 'multi'], v, `Invalid 'thread' setting ${v}`);
    else refuse(`Property '${into.accel ?? 'tcg'}-accel-type.${k}' not found`);
  }
  return into;
}

/** The options as a CLI gets them (values of --machine, --cpu, --smp, --device, --accel). */
export interface MachineArgs {
  machine?: string;
  cpu?: string;
  smp?: string;
  device?: readonly string[];
  accel?: string;
}

/** A MachineSpec from QEMU-syntax option values. */
export function machineSpecFromArgs(a: MachineArgs): MachineSpec {
  const spec: MachineSpec = {};
  if (a.accel !== undefined) parseAccelOption(a.accel, spec);
  if (a.machine !== undefined) parseMachineOption(a.machine, spec);
  if (a.cpu !== undefined) spec.cpu = a.cpu;
  if (a.smp !== undefined) spec.smp = parseSmpOption(a.smp);
  const phbs = (a.device ?? []).map(parseDeviceOption).filter((p) => p !== null);
  if (phbs.length > 0) spec.phbs = phbs;
  return spec;
}
