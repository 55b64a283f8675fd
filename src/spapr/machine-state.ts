/**
 * The saved state of a pseries machine, section by section: the platform's own two sections
 * ('config': the machine's shape; 'spapr': the negotiated option vector 5, the MSI allocator and
 * the stop reason), then each interrupt controller's (SPAPR_XIVE_STATE, SPAPR_XICS_STATE: one
 * section per block). This module knows which sections a machine of each ic-mode has and checks
 * that decoded sections agree with each other; the machine saves and loads them (machine.ts).
 */
import type { ByteReader } from '../base/bytes.ts';
import type { StateCodec } from '../base/state.ts';
import { IC_MODE_BACKENDS, OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT, type IcMode } from './cas.ts';
import type { IntcName, IntcStateSpec, SectionSpec, SectionStates } from './intc.ts';
import { SPAPR_MAX_CPUS } from './irq-map.ts';
import { MachineConfigError, resolveMachine, type Accel, type KernelIrqchip, type MachineSpec } from './machine-config.ts';
import type { CompatMode } from './cpu-models.ts';
import { machineType } from './machine-types.ts';
import { SPAPR_XICS_STATE } from './xics-state.ts';
import { SPAPR_XIVE_STATE } from './xive-state.ts';

/** Machine shape: what a target must match (or be built from). */
export interface ConfigState {
  smp: number;
  maxCpus: number;
  icMode: IcMode;
  /** Guest RAM size in bytes; 0 when the machine's memory did not say. */
  ramSize: number;
  /** CPU indexes of the plugged vCPUs, in plug order. */
  vcpus: number[];
  /** The rest of the machine's options (version 2; a version 1 section means the defaults). */
  machineType: string;
  cpu: string;
  sockets: number;
  cores: number;
  threads: number;
  vsmt: number;
  maxCpuCompat: string;
  accel: string;
  kernelIrqchip: string;
  capHtm: boolean;
  nrXirqs: number;
  /** Indexes of the PHBs besides PHB 0. */
  phbs: number[];
}

/** What a version 1 'config' section (written before machine types were modelled) stood for. */
function v1Defaults(smp: number, maxCpus: number): Omit<ConfigState, 'smp' | 'maxCpus' | 'icMode' | 'ramSize' | 'vcpus'> {
  return { machineType: 'pseries-7.2', cpu: 'power9_v2.0', sockets: 1, cores: maxCpus, threads: 1, vsmt: 1, maxCpuCompat: '', accel: 'tcg', kernelIrqchip: '', capHtm: false, nrXirqs: 0x1000, phbs: [] };
}

/** Machine-level interrupt state (QEMU's `spapr` section: ov5_cas and the MSI map). */
export interface SpaprState {
  ov5Cas: Uint8Array;
  msiBitmap: Uint8Array;
  halted: string | null;
  mmioHi: number;
}

export const OV5_BYTES = 256;

/** ic-mode codes of the 'config' layout. */
const IC_MODE_CODES: readonly IcMode[] = ['xics', 'xive', 'dual'];

/**
 * Layout, version 1: smp, max-cpus (u32), ic-mode code (u8), RAM size (u64), vCPU count and ids
 * (u32). Version 2 adds: machine type, CPU type (short strings), sockets, cores, threads, vsmt
 * (u32), max-cpu-compat, accelerator, kernel-irqchip (short strings, '' for none), cap-htm
 * (u8), nr_xirqs
 * (u32), PHB count and indexes (u32).
 */
export const CONFIG_STATE: StateCodec<ConfigState> = {
  version: 2,
  encode(c, w) {
    w.u32(c.smp);
    w.u32(c.maxCpus);
    w.u8(IC_MODE_CODES.indexOf(c.icMode));
    w.u64(c.ramSize);
    w.u32(c.vcpus.length);
    for (const v of c.vcpus) w.u32(v);
    w.shortString(c.machineType);
    w.shortString(c.cpu);
    w.u32(c.sockets);
    w.u32(c.cores);
    w.u32(c.threads);
    w.u32(c.vsmt);
    w.shortString(c.maxCpuCompat);
    w.shortString(c.accel);
    w.shortString(c.kernelIrqchip);
    w.u8(c.capHtm ? 1 : 0);
    w.u32(c.nrXirqs);
    w.u32(c.phbs.length);
    for (const p of c.phbs) w.u32(p);
  },
  decoders: {
    1: (r: ByteReader) => {
      const base = decodeConfigV1(r);
      return { ...base, ...v1Defaults(base.smp, base.maxCpus) };
    },
    2: (r: ByteReader) => {
      const base = decodeConfigV1(r);
      const machineType = r.shortString('machine type');
      const cpu = r.shortString('CPU type');
      const sockets = r.u32('sockets');
      const cores = r.u32('cores');
      const threads = r.u32('threads');
      const vsmt = r.u32('vsmt');
      const maxCpuCompat = r.shortString('max-cpu-compat');
      const accel = r.shortString('accelerator');
      const kernelIrqchip = r.shortString('kernel-irqchip');
      const htm = r.u8('cap-htm');
      if (htm > 1) throw r.invalid(`cap-htm flag ${htm}`);
      const nrXirqs = r.u32('nr_xirqs');
      const n = r.u32('PHB count');
      if (n > 256) throw r.invalid(`${n} PHBs`);
      const phbs: number[] = [];
      for (let i = 0; i < n; i++) phbs.push(r.u32('PHB index'));
      return { ...base, machineType, cpu, sockets, cores, threads, vsmt, maxCpuCompat, accel, kernelIrqchip, capHtm: htm === 1, nrXirqs, phbs };
    },
  },
};

function decodeConfigV1(r: ByteReader): Pick<ConfigState, 'smp' | 'maxCpus' | 'icMode' | 'ramSize' | 'vcpus'> {
  const smp = r.u32('smp');
  const maxCpus = r.u32('max-cpus');
  const mode = r.u8('ic-mode');
  const ramSize = r.u64('ram size');
  const count = r.u32('vCPU count');
  if (count > maxCpus) throw r.invalid(`${count} vCPUs for max-cpus ${maxCpus}`);
  const vcpus: number[] = [];
  for (let i = 0; i < count; i++) vcpus.push(r.u32('vCPU id'));
  const icMode = IC_MODE_CODES[mode];
  if (icMode === undefined) throw r.invalid(`unknown ic-mode code ${mode}`);
  return { smp, maxCpus, icMode, ramSize, vcpus };
}

/** Layout: ov5 length (u16) and bytes, MSI map length (u32) and bytes, halted flag and reason, mmio-hi. */
export const SPAPR_STATE: StateCodec<SpaprState> = {
  version: 1,
  encode(s, w) {
    w.u16(s.ov5Cas.length);
    w.bytes(s.ov5Cas);
    w.u32(s.msiBitmap.length);
    w.bytes(s.msiBitmap);
    w.u8(s.halted === null ? 0 : 1);
    if (s.halted !== null) w.longString(s.halted);
    w.u32(s.mmioHi);
  },
  decoders: {
    1: (r: ByteReader) => {
      const ovLen = r.u16('ov5 length');
      if (ovLen !== OV5_BYTES) throw r.invalid(`option vector 5 has ${ovLen} bytes, expected ${OV5_BYTES}`);
      const ov5Cas = r.bytes(ovLen, 'ov5').slice();
      const msiLen = r.u32('MSI map length');
      const msiBitmap = r.bytes(msiLen, 'MSI map').slice();
      if (msiBitmap.some((b) => b > 1)) throw r.invalid('the MSI map holds a value other than 0 or 1');
      const h = r.u8('halted flag');
      if (h > 1) throw r.invalid(`halted flag ${h}`);
      const halted = h === 1 ? r.longString('halted reason') : null;
      const mmioHi = r.u32('mmio-hi');
      return { ov5Cas, msiBitmap, halted, mmioHi };
    },
  },
};

/** The platform's own sections, saved before the controllers'. */
export const PLATFORM_SECTIONS: readonly SectionSpec[] = [
  { id: 'config', codec: CONFIG_STATE },
  { id: 'spapr', codec: SPAPR_STATE },
];

/** Each controller's sections. */
export const INTC_STATE: Readonly<Record<IntcName, IntcStateSpec>> = { xics: SPAPR_XICS_STATE, xive: SPAPR_XIVE_STATE };

/** Every section a pseries machine can save, by id, in the order they are written. */
export const MACHINE_SECTIONS: ReadonlyMap<string, SectionSpec> = new Map(
  [...PLATFORM_SECTIONS, ...INTC_STATE.xive.sections, ...INTC_STATE.xics.sections].map((s) => [s.id, s]),
);

/** Does `states` hold the sections of controller `name`? */
export function hasControllerState(states: SectionStates, name: IntcName): boolean {
  return INTC_STATE[name].sections.some((s) => states.has(s.id));
}

/**
 * What contradicts itself in a machine's decoded sections (a machine of that config could not
 * have saved them), or null: the config itself, the sections its ic-mode implies, the negotiated
 * mode, and each controller's own consistency.
 */
export function stateInconsistency(states: SectionStates): string | null {
  const config = states.get('config') as ConfigState | undefined;
  const spapr = states.get('spapr') as SpaprState | undefined;
  if (config === undefined) return "section 'config' is missing";
  if (spapr === undefined) return "section 'spapr' is missing";
  try {
    resolveMachine(configSpec(config));
  } catch (e) {
    if (e instanceof MachineConfigError) return `its machine cannot be built: ${e.message}`;
    throw e;
  }
  const { smp, maxCpus, icMode, vcpus } = config;
  if (smp < 1 || maxCpus < smp || maxCpus > SPAPR_MAX_CPUS) return `smp ${smp} / max-cpus ${maxCpus} is not a valid machine`;
  // The boot core cannot be unplugged: vCPU 0 is always there.
  if (!vcpus.includes(0)) return `vCPU list [${vcpus.join(', ')}] lacks the boot vCPU 0`;
  const seen = new Set<number>();
  for (const v of vcpus) {
    if (v >= maxCpus || seen.has(v)) return `vCPU list [${vcpus.join(', ')}] repeats an id or exceeds max-cpus ${maxCpus}`;
    seen.add(v);
  }
  const has = IC_MODE_BACKENDS[icMode];
  for (const name of Object.keys(INTC_STATE) as IntcName[]) {
    const ids = INTC_STATE[name].sections.map((s) => s.id);
    const present = ids.filter((id) => states.has(id)).length;
    const want = has.includes(name);
    if (present !== (want ? ids.length : 0)) {
      const all = ids.length === 2 ? (want ? 'both' : 'neither') : want ? 'all' : 'none';
      return `ic-mode=${icMode} needs ${all} of the sections ${ids.join(', ')}`;
    }
  }
  if (spapr.ov5Cas.length !== OV5_BYTES) return 'option vector 5 has the wrong size';
  if (!has.includes('xive') && (spapr.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0) return 'XIVE was negotiated on a machine without XIVE';
  for (const name of has) {
    const why = INTC_STATE[name].inconsistency(states, config);
    if (why !== null) return why;
  }
  return null;
}

/** The machine options a saved config stands for. */
export function configSpec(c: ConfigState): MachineSpec {
  return {
    type: c.machineType,
    cpu: c.cpu,
    // Legacy types refuse an ic-mode: theirs is implied.
    ...(machineType(c.machineType)?.legacyIrqAllocation === true ? {} : { icMode: c.icMode }),
    vsmt: c.vsmt,
    smp: { cpus: c.smp, maxcpus: c.maxCpus, sockets: c.sockets, cores: c.cores, threads: c.threads },
    ...(c.maxCpuCompat !== '' ? { maxCpuCompat: c.maxCpuCompat as CompatMode } : {}),
    accel: c.accel as Accel,
    ...(c.kernelIrqchip !== '' ? { kernelIrqchip: c.kernelIrqchip as KernelIrqchip } : {}),
    capHtm: c.capHtm,
    phbs: c.phbs.map((index) => ({ index })),
  };
}

/** The controller a saved machine was using: the one its negotiated option vector selects. */
export function savedActiveController(states: SectionStates): IntcName {
  const config = states.get('config') as ConfigState;
  const spapr = states.get('spapr') as SpaprState;
  const has = IC_MODE_BACKENDS[config.icMode];
  return !has.includes('xics') || (has.includes('xive') && (spapr.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0) ? 'xive' : 'xics';
}

