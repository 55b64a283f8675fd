/**
 * The pseries machine types QEMU 7.2 builds (pseries-2.1 … pseries-7.2), as far as the interrupt
 * system goes. Each version is the next newer one with a few compatibility settings changed, as
 * QEMU defines them; the table below lists only those changes, newest first, and `machineType`
 * folds them into the settings of one version.
 *
 * What the settings mean:
 * - `irq`: the interrupt backends of the machine when no ic-mode is given: 'dual' (XICS and XIVE,
 *   chosen at CAS), 'xics', or 'xics-legacy' (XICS with the legacy IRQ allocation, which refuses
 *   an ic-mode);
 * - `legacyIrqAllocation`, `nrXirqs`: device interrupts are numbered from 0x1000 by a first-free
 *   search (no separate MSI range), over an ICS of 0x400 sources;
 * - `smpThreadsVsmt`: the default VSMT mode is the number of threads per core; older types use
 *   max(8, threads), so vCPU ids are spaced 8 apart even with one thread per core;
 * - `defaultCpu`: the CPU model when -cpu is not given;
 * - `hotpluggableCpus`, `modernHotplugEvents`: CPU hotplug exists, and hotplug events have their
 *   own event source (IRQ) instead of sharing the EPOW one;
 * - `preferSockets`: how -smp fills in the topology when only some values are given;
 * - `updateDtEnabled`, `drPhbEnabled`: CAS may rebuild the device tree; PHBs can be hot-plugged;
 * - `legacyPhbPlacement`: the PHB BUIDs and windows of pseries-2.7 and older.
 */

/**
 * The interrupt backends of a machine type: XICS and XIVE (dual), XICS only, or XICS with the
 * legacy numbering of pseries-3.0 and older.
 */
export type IrqBackends = 'dual' | 'xics' | 'xics-legacy';

/**
 * A pseries machine type (pseries-2.1 … 7.2) and the compatibility properties the interrupt model
 * depends on.
 */
export interface MachineType {
  /** Full name, e.g. 'pseries-7.2'. */
  readonly name: string;
  readonly irq: IrqBackends;
  readonly legacyIrqAllocation: boolean;
  /** Size of the device interrupt range (0x1000 .. 0x1000 + nrXirqs - 1). */
  readonly nrXirqs: number;
  readonly smpThreadsVsmt: boolean;
  /** QEMU CPU type name of the default CPU model. */
  readonly defaultCpu: string;
  readonly hotpluggableCpus: boolean;
  readonly modernHotplugEvents: boolean;
  readonly preferSockets: boolean;
  readonly updateDtEnabled: boolean;
  readonly drPhbEnabled: boolean;
  /** pseries-2.9 and older register placeholder ICPs for every possible server in migration. */
  readonly pre210UnusedIcps: boolean;
  readonly legacyPhbPlacement: boolean;
  /** The cap-htm default: transactional memory offered to the guest (TCG cannot). */
  readonly htm: boolean;
}

type Settings = Omit<MachineType, 'name'>;

/** pseries-7.2, the newest type: the settings every older one starts from. */
const LATEST: Settings = {
  irq: 'dual',
  legacyIrqAllocation: false,
  nrXirqs: 0x1000,
  smpThreadsVsmt: true,
  defaultCpu: 'power9_v2.0',
  hotpluggableCpus: true,
  modernHotplugEvents: true,
  preferSockets: false,
  updateDtEnabled: true,
  drPhbEnabled: true,
  pre210UnusedIcps: false,
  legacyPhbPlacement: false,
  htm: false,
};

/**
 * Every version, newest first, with what it changes relative to the one above it (only the
 * settings listed in the header; the other compatibility properties of QEMU do not touch the
 * interrupt system).
 */
const VERSIONS: readonly (readonly [string, Partial<Settings>])[] = [
  ['7.2', {}],
  ['7.1', {}],
  ['7.0', {}],
  ['6.2', {}],
  ['6.1', { preferSockets: true }],
  ['6.0', {}],
  ['5.2', {}],
  ['5.1', {}],
  ['5.0', {}],
  ['4.2', {}],
  ['4.1', { smpThreadsVsmt: false }],
  ['4.0', { irq: 'xics' }],
  ['3.1', { defaultCpu: 'power8_v2.0', updateDtEnabled: false, drPhbEnabled: false }],
  ['3.0', { legacyIrqAllocation: true, nrXirqs: 0x400, irq: 'xics-legacy' }],
  ['2.12', {}],
  ['2.12-sxxm', {}],
  ['2.11', { htm: true }],
  ['2.10', {}],
  ['2.9', { pre210UnusedIcps: true }],
  ['2.8', {}],
  ['2.7', { defaultCpu: 'power7_v2.3', modernHotplugEvents: false, legacyPhbPlacement: true }],
  ['2.6', { hotpluggableCpus: false }],
  ['2.5', {}],
  ['2.4', {}],
  ['2.3', {}],
  ['2.2', {}],
  ['2.1', {}],
];

/** pseries-2.12-sxxm is pseries-2.12 with other speculation settings: it does not inherit. */
const SIDE_BRANCHES: Readonly<Record<string, string>> = { '2.12-sxxm': '2.12' };

function build(): Map<string, MachineType> {
  const out = new Map<string, MachineType>();
  let acc: Settings = LATEST;
  for (const [version, change] of VERSIONS) {
    const base = SIDE_BRANCHES[version] !== undefined ? out.get(`pseries-${SIDE_BRANCHES[version]}`)! : { ...acc };
    const settings: Settings = { ...stripName(base), ...change };
    out.set(`pseries-${version}`, { name: `pseries-${version}`, ...settings });
    if (SIDE_BRANCHES[version] === undefined) acc = settings;
  }
  return out;
}

function stripName(t: Settings | MachineType): Settings {
  const { name: _unused, ...rest } = t as MachineType;
  return rest;
}

const TYPES = build();

/** The alias QEMU gives the newest type. */
export const DEFAULT_MACHINE_TYPE = 'pseries-7.2';

/** Every pseries machine type name, newest first (as `-M help` lists them, plus the alias). */
export const MACHINE_TYPE_NAMES: readonly string[] = [...TYPES.keys()];

/** The settings of a machine type by its name ('pseries' is the newest); undefined if unknown. */
export function machineType(name: string): MachineType | undefined {
  return TYPES.get(name === 'pseries' ? DEFAULT_MACHINE_TYPE : name);
}
