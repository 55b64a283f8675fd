/**
 * The server-class POWER CPU models a pseries machine of QEMU 7.2 takes (-cpu), as far as the
 * interrupt system cares: the ISA level each implements, which decides whether XIVE exploitation
 * can be offered (ISA 3.00, POWER9, and later), and the compatibility modes (max-cpu-compat) it
 * can run in. Names are QEMU's: the versioned type names (power9_v2.0, …) and the family aliases
 * (POWER9 → power9_v2.0), matched without regard to case as QEMU does.
 */

/** ISA levels of the logical PVRs, oldest first (QEMU's compatibility modes). */
export const COMPAT_MODES = ['power6', 'power7', 'power7+', 'power8', 'power9', 'power10'] as const;
/** A compatibility mode (max-cpu-compat, or what the guest negotiates). */
export type CompatMode = (typeof COMPAT_MODES)[number];

/** ISA 3.00, the first level with the XIVE exception model. */
export const XIVE_COMPAT: CompatMode = 'power9';

/** The ISA level (PCR compatibility level) behind each mode: power7 and power7+ share one. */
const MODE_ISA: Readonly<Record<CompatMode, string>> = {
  power6: '2.05',
  power7: '2.06',
  'power7+': '2.06',
  power8: '2.07',
  power9: '3.00',
  power10: '3.10',
};

/** A CPU model QEMU's pseries accepts (-cpu). */
export interface CpuModel {
  /** QEMU's CPU type name, e.g. 'power9_v2.0'. */
  readonly type: string;
  /** The family ('POWER9'), as the CPU nodes of the device tree are named (PowerPC,POWER9@…). */
  readonly family: string;
  /** The processor version register value. */
  readonly pvr: number;
  /** The ISA levels it can run at (its own and the older ones it keeps compatibility with). */
  readonly isa: readonly string[];
}

/** The logical PVR of each mode, as QEMU names it in its compatibility errors. */
export const COMPAT_PVR: Readonly<Record<CompatMode, number>> = {
  power6: 0x0f000002,
  power7: 0x0f000003,
  'power7+': 0x0f100003,
  power8: 0x0f000004,
  power9: 0x0f000005,
  power10: 0x0f000006,
};

/** CPUs older than POWER7 run at their own level only (no compatibility modes). */
const OLD: readonly string[] = [];
const P7 = ['2.05', '2.06'];
const P8 = [...P7, '2.07'];
const P9 = [...P8, '3.00'];
const P10 = [...P9, '3.10'];

const MODELS: readonly CpuModel[] = [
  { type: '970_v2.2', family: 'PPC970', pvr: 0x00390202, isa: OLD },
  { type: '970mp_v1.0', family: 'PPC970MP', pvr: 0x00440100, isa: OLD },
  { type: '970mp_v1.1', family: 'PPC970MP', pvr: 0x00440101, isa: OLD },
  { type: 'power5+_v2.1', family: 'POWER5+', pvr: 0x003b0201, isa: OLD },
  { type: 'power7_v2.3', family: 'POWER7', pvr: 0x003f0203, isa: P7 },
  { type: 'power7+_v2.1', family: 'POWER7+', pvr: 0x004a0201, isa: P7 },
  { type: 'power8e_v2.1', family: 'POWER8E', pvr: 0x004b0201, isa: P8 },
  { type: 'power8_v2.0', family: 'POWER8', pvr: 0x004d0200, isa: P8 },
  { type: 'power8nvl_v1.0', family: 'POWER8NVL', pvr: 0x004c0100, isa: P8 },
  { type: 'power9_v1.0', family: 'POWER9', pvr: 0x004e0100, isa: P9 },
  { type: 'power9_v2.0', family: 'POWER9', pvr: 0x004e1200, isa: P9 },
  { type: 'power10_v1.0', family: 'POWER10', pvr: 0x00800100, isa: P10 },
  { type: 'power10_v2.0', family: 'POWER10', pvr: 0x00800200, isa: P10 },
];

const ALIASES: Readonly<Record<string, string>> = {
  '970': '970_v2.2',
  '970mp': '970mp_v1.1',
  'power5+': 'power5+_v2.1',
  power5gs: 'power5+_v2.1',
  power7: 'power7_v2.3',
  'power7+': 'power7+_v2.1',
  power8e: 'power8e_v2.1',
  power8: 'power8_v2.0',
  power8nvl: 'power8nvl_v1.0',
  power9: 'power9_v2.0',
  power10: 'power10_v2.0',
};

/**
 * Other CPU models QEMU knows for which a pseries machine has no CPU core (embedded and 32-bit
 * PowerPC families): a -cpu naming one is refused differently from an unknown name.
 */
export const NON_SPAPR_CPU_FAMILIES = /^(e500|e500v2|e5500|e6500|e300|e200|e600|g2|g3|g4|7[0-9]{2}|60[0-9]|40[0-9]|44[0-9]|mpc[0-9a-z_.]*|power5?$|power4)/i;

/** The model of a -cpu name (alias or versioned type, any case); undefined if there is none. */
export function cpuModel(name: string): CpuModel | undefined {
  const lower = name.toLowerCase();
  const type = ALIASES[lower] ?? lower;
  return MODELS.find((m) => m.type === type);
}

/** Every accepted -cpu name: the family aliases, then the versioned types. */
export const CPU_MODEL_NAMES: readonly string[] = [...Object.keys(ALIASES).map((a) => a.toUpperCase()), ...MODELS.map((m) => m.type)];

export function compatRank(mode: CompatMode): number {
  return COMPAT_MODES.indexOf(mode);
}

/**
 * Can a CPU of this model run at compatibility level `want`, when the machine caps the level at
 * `max` (max-cpu-compat, or none)? QEMU asks this with want = power9 to decide whether XIVE can
 * be offered.
 */
export function runsAt(model: CpuModel, want: CompatMode, max: CompatMode | null): boolean {
  if (max !== null && compatRank(want) > compatRank(max)) return false;
  return model.isa.includes(MODE_ISA[want]);
}
