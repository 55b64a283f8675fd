/**
 * The interrupt state of a pseries machine as QEMU 7.2 migrates it, decoded from the device
 * sections of a stream: the sPAPR XIVE controller (EAS and END tables, 'spapr-xive'), its source
 * block (PQ and asserted bits, 'xive-source'), every vCPU's XIVE thread context ('xive-tctx'),
 * the XICS source controller ('ics') and each presenter ('icp/server'), the machine's negotiated
 * option vector 5 and MSI allocations ('spapr'), the PCI host bridges' LSIs and MSIs
 * ('spapr_pci'), and the vCPUs ('cpu', 'cpu_common'). sPAPR keeps no NVT table: a vCPU's NVT is
 * its thread context.
 *
 * The machine's shape is inferred here from these sections alone: the vCPUs from the 'cpu'
 * sections (the instance is the CPU index), their ids from the OS CAM line each thread context
 * holds (or the device tree QEMU migrates, or the machine type's default spacing), the ic-mode
 * from which controllers are present, max-cpus from the END table or the device tree.
 */
import * as R from '../../xive/regs.ts';
import { getField } from '../../base/bits.ts';
import { CPU_MODEL_NAMES, cpuModel } from '../../spapr/cpu-models.ts';
import { machineType as lookupMachineType } from '../../spapr/machine-types.ts';
import { SPAPR_XIVE_NVT_BASE } from '../../spapr/xive-layout.ts';
import { SPAPR_PHB_BUID_BASE } from '../../spapr/phb.ts';
import { decodeDtb, readU32Cells, type DeviceTree } from '../../spapr/fdt.ts';
import type { IcMode } from '../../spapr/cas.ts';
import { QemuStreamError } from './errors.ts';
import type { DeviceSection } from './records.ts';
import { SectionReader } from './values.ts';

/** Sections whose values the interrupt state needs, with the versions QEMU 7.2 writes. */
export const INTERRUPT_SECTIONS: Readonly<Record<string, number>> = {
  'spapr-xive': 1,
  'xive-source': 1,
  'xive-tctx': 1,
  ics: 1,
  'icp/server': 1,
  spapr: 3,
  spapr_pci: 2,
  cpu: 5,
  cpu_common: 1,
};

/** One vCPU of the stream: its ids, and its XIVE thread context or XICS ICP registers. */
export interface QemuCpu {
  /** QEMU's cpu_index (the 'cpu' section instance): what `info pic` prints. */
  cpuIndex: number;
  /** The vCPU id (server number) the interrupt controllers know it by. */
  vcpuId: number;
  pvr: number;
  halted: boolean;
  /** The 64 bytes of the XIVE thread context (4 rings × 16), when the machine has XIVE. */
  tctx: Uint8Array | null;
  icp: { xirr: number; pendingPriority: number; mfrr: number } | null;
}

/** One PCI host bridge: its LSIs and the MSIs its functions were given. */
export interface QemuPhb {
  index: number;
  buid: bigint;
  /** The IRQ of each PCI interrupt pin. */
  lsis: number[];
  /** MSI allocations: PCI config address of the function, first IRQ, count. */
  msis: { config: number; firstIrq: number; count: number }[];
}

/** The interrupt state of a pseries machine as decoded from a stream, and the machine shape inferred. */
export interface QemuPseriesState {
  machineType: string;
  /** The CPU model (QEMU type name) the PVR names. */
  cpu: string;
  cpus: QemuCpu[];
  icMode: IcMode;
  /** Spacing of vCPU ids between cores, and threads per core. */
  vsmt: number;
  threads: number;
  maxCpus: number;
  /** Where the vCPU ids and max-cpus came from (for the listing). */
  inferredFrom: { vcpuIds: 'thread contexts' | 'device tree' | 'machine type'; maxCpus: 'END table' | 'device tree' | 'vCPUs' };
  xive: { nrIrqs: number; nrEnds: number; status: Uint8Array; eas: Uint8Array; ends: Uint8Array } | null;
  xics: { nrIrqs: number; server: Uint32Array; priority: Uint8Array; savedPriority: Uint8Array; status: Uint8Array; flags: Uint8Array } | null;
  /** Negotiated option vector 5, byte n at index n (all zero when QEMU did not migrate it). */
  ov5: Uint8Array;
  /** The MSI allocator's bitmap, one bit per IRQ from 0x1300 (null: not migrated, none taken). */
  irqMap: Uint8Array | null;
  phbs: QemuPhb[];
  /** Stream offsets of the sections, by name (first instance), for messages. */
  offsets: Record<string, number>;
}

const SPR_PVR = 287;
const OV5_BYTES = 256;

/** Collects the interrupt sections as a walk passes them. */
export class InterruptSections {
  readonly byName = new Map<string, SectionReader[]>();

  keep = (name: string): boolean => INTERRUPT_SECTIONS[name] !== undefined;

  add = (s: DeviceSection): void => {
    if (s.value === null) return;
    const want = INTERRUPT_SECTIONS[s.name];
    const r = new SectionReader(s, s.value);
    if (want !== undefined && s.version !== want) {
      throw r.error('unsupported', `section '${s.name}' has version ${s.version}; this reader takes version ${want} (QEMU 7.2)`, s.offset);
    }
    const list = this.byName.get(s.name) ?? [];
    list.push(r);
    this.byName.set(s.name, list);
  };

  list(name: string): SectionReader[] {
    return this.byName.get(name) ?? [];
  }

  one(name: string): SectionReader | null {
    return this.list(name)[0] ?? null;
  }
}

/** Decodes and infers the pseries interrupt state. `at` is where to report machine-wide problems. */
export function decodePseries(machineType: string, ramSize: number, secs: InterruptSections, at: { offset: number }): QemuPseriesState {
  const fail = (detail: string, where = 'the configuration record', offset = at.offset): QemuStreamError =>
    new QemuStreamError('unsupported', { offset, where }, detail);
  const type = lookupMachineType(machineType);
  if (type === undefined) {
    throw fail(/^pseries/.test(machineType) ? `machine type '${machineType}' is not a QEMU 7.2 pseries machine` : `the stream is of machine '${machineType}', not of a pseries machine (only pseries streams are read)`);
  }
  const spapr = secs.one('spapr');
  if (spapr === null) throw fail("the stream has no 'spapr' section: it is not a pseries machine's");
  const offsets: Record<string, number> = {};
  for (const [name, list] of secs.byName) offsets[name] = list[0]!.section.offset;

  // vCPUs, in the order QEMU registered them (plug order).
  const cpuSecs = secs.list('cpu');
  if (cpuSecs.length === 0) throw fail("the stream has no 'cpu' section", "section 'spapr' instance 0", spapr.section.offset);
  const halted = new Map(secs.list('cpu_common').map((s) => [s.section.instance, s.int('halted') !== 0]));
  const tctxSecs = secs.list('xive-tctx');
  const icpSecs = new Map(secs.list('icp/server').map((s) => [s.section.instance, s]));
  const cpus: QemuCpu[] = cpuSecs.map((s, i) => {
    const spr = s.int64s('env.spr');
    if (spr.length <= SPR_PVR) throw s.error('unsupported', `field 'env.spr' has ${spr.length} registers, too few to hold the PVR`, s.offsetOf('env.spr'), 'env.spr');
    const t = tctxSecs[i];
    const icp = icpSecs.get(s.section.instance);
    return {
      cpuIndex: s.section.instance,
      vcpuId: -1,
      pvr: Number(spr[SPR_PVR]! & 0xffff_ffffn),
      halted: halted.get(s.section.instance) ?? false,
      tctx: t === undefined ? null : t.bytes('regs', ['buffer'], R.TCTX_BYTES).slice(),
      icp: icp === undefined ? null : { xirr: icp.int('xirr'), pendingPriority: icp.int('pending_priority'), mfrr: icp.int('mfrr') },
    };
  });
  if (tctxSecs.length !== 0 && tctxSecs.length !== cpus.length) {
    throw tctxSecs[0]!.error('inconsistent', `${tctxSecs.length} XIVE thread contexts for ${cpus.length} vCPUs`);
  }
  for (const [instance, s] of icpSecs) {
    // pseries-2.9 and older register placeholder ICPs for the CPUs that are not plugged.
    if (!cpus.some((c) => c.cpuIndex === instance) && !type.pre210UnusedIcps) throw s.error('inconsistent', `an ICP for CPU ${instance}, which the stream has no 'cpu' section for`);
  }
  const pvr = cpus[0]!.pvr;
  const cpu = CPU_MODEL_NAMES.map((n) => cpuModel(n)!).find((m) => m.pvr === pvr)?.type;
  if (cpu === undefined) throw cpuSecs[0]!.error('unsupported', `the vCPUs have PVR 0x${pvr.toString(16).padStart(8, '0')}, which is no CPU model this build knows`, cpuSecs[0]!.offsetOf('env.spr'), 'env.spr');
  for (const c of cpus) if (c.pvr !== pvr) throw cpuSecs[0]!.error('inconsistent', `CPU ${c.cpuIndex} has PVR 0x${c.pvr.toString(16)}, CPU ${cpus[0]!.cpuIndex} 0x${pvr.toString(16)}`);

  const xive = decodeXive(secs);
  const xics = decodeXics(secs);
  if (xive === null && xics === null) throw fail('the stream has neither XIVE nor XICS sections', "section 'spapr' instance 0", spapr.section.offset);
  const icMode: IcMode = xive !== null && xics !== null ? 'dual' : xive !== null ? 'xive' : 'xics';
  if (xics !== null) for (const c of cpus) if (c.icp === null) throw secs.one('ics')!.error('inconsistent', `CPU ${c.cpuIndex} has no ICP`);

  const { ov5, irqMap, fdt } = decodeSpapr(spapr);
  const ids = inferIds(cpus, xive !== null, fdt, type.smpThreadsVsmt ? 1 : 8, tctxSecs[0] ?? spapr);
  const threads = 1;
  let maxCpus: number;
  let maxFrom: QemuPseriesState['inferredFrom']['maxCpus'];
  const servers = xive !== null ? xive.nrEnds / 8 : xicsServers(fdt);
  if (servers !== null) {
    maxCpus = (servers * threads) / ids.vsmt;
    maxFrom = xive !== null ? 'END table' : 'device tree';
    const where = xive !== null ? secs.one('spapr-xive')! : spapr;
    if (!Number.isInteger(maxCpus) || maxCpus < cpus.length) throw where.error('inconsistent', `${servers} interrupt servers cannot serve ${cpus.length} vCPUs spaced ${ids.vsmt} apart`);
  } else {
    maxCpus = Math.max(...cpus.map((c) => c.cpuIndex)) + 1;
    maxFrom = 'vCPUs';
  }
  for (const c of cpus) if (c.cpuIndex >= maxCpus) throw cpuSecs[0]!.error('inconsistent', `CPU index ${c.cpuIndex} is beyond max-cpus ${maxCpus}`);

  return {
    machineType: type.name,
    cpu,
    cpus,
    icMode,
    vsmt: ids.vsmt,
    threads,
    maxCpus,
    inferredFrom: { vcpuIds: ids.from, maxCpus: maxFrom },
    xive,
    xics,
    ov5,
    irqMap,
    phbs: secs.list('spapr_pci').map(decodePhb),
    offsets,
  };
}

function decodeXive(secs: InterruptSections): QemuPseriesState['xive'] {
  const router = secs.one('spapr-xive');
  const source = secs.one('xive-source');
  if (router === null && source === null) return null;
  if (router === null || source === null) throw (router ?? source)!.error('inconsistent', "the stream has only one of the sections 'spapr-xive' and 'xive-source'");
  const nrIrqs = router.int('nr_irqs');
  const eat = router.structs('eat');
  const endt = router.structs('endt');
  if (eat.length !== nrIrqs) throw router.error('inconsistent', `${eat.length} EAS entries for nr_irqs ${nrIrqs}`, router.offsetOf('eat'), 'eat');
  if (endt.length === 0 || endt.length % 8 !== 0) throw router.error('inconsistent', `${endt.length} ENDs are not 8 per interrupt server`, router.offsetOf('endt'), 'endt');
  // QEMU keeps EAS and END words in the architected (big-endian) byte order in host memory and
  // migrates them as host integers: from a little-endian host each word arrives byte-reversed.
  // The host's order shows in LISN 0, the IPI of server 0, whose EAS is always valid.
  const words = eat.map((e) => e.int64('w'));
  const reversed = hostIsLittleEndian(words);
  if (reversed === null) throw router.error('inconsistent', `the EAS of LISN 0 (the IPI of the first vCPU, always claimed) is not valid: 0x${(words[0] ?? 0n).toString(16)}`, router.offsetOf('eat'), 'eat[0].w');
  const eas = new Uint8Array(nrIrqs * R.EAS_BYTES);
  const easView = new DataView(eas.buffer);
  words.forEach((w, i) => easView.setBigUint64(i * R.EAS_BYTES, w, reversed));
  const ends = new Uint8Array(endt.length * R.END_BYTES);
  const endView = new DataView(ends.buffer);
  endt.forEach((e, i) => {
    for (let w = 0; w < R.END_WORDS; w++) endView.setUint32(i * R.END_BYTES + 4 * w, e.int(`w${w}`), reversed);
  });
  const srcIrqs = source.int('nr_irqs');
  if (srcIrqs !== nrIrqs) throw source.error('inconsistent', `the XIVE source has ${srcIrqs} interrupts, the router ${nrIrqs}`, source.offsetOf('nr_irqs'), 'nr_irqs');
  const status = source.bytes('status', ['buffer'], nrIrqs);
  // QEMU keeps PQ in bits 1..0 and the LSI level in bit 2: nothing else is ever set.
  const bad = status.findIndex((b) => b > 7);
  if (bad >= 0) throw source.error('inconsistent', `source ${bad} has status byte 0x${status[bad]!.toString(16)} (only PQ and the asserted bit exist)`, source.offsetOf('status') + bad, 'status');
  return { nrIrqs, nrEnds: endt.length, status: status.slice(), eas, ends };
}

/**
 * Were the words written by a little-endian host (byte-reversed), a big-endian one, or is LISN 0
 * not valid either way (null)? Each reading is scored by how many entries look like a valid EAS
 * (valid bit set, reserved bits 1-3 clear); LISN 0 must be one of them.
 */
function hostIsLittleEndian(words: readonly bigint[]): boolean | null {
  const valid = (w: bigint): boolean => w >> 60n === 8n;
  const swap = (w: bigint): bigint => {
    let r = 0n;
    for (let i = 0n; i < 64n; i += 8n) r = (r << 8n) | ((w >> i) & 0xffn);
    return r;
  };
  const le = words.filter((w) => valid(swap(w))).length;
  const be = words.filter(valid).length;
  if (le >= be && words.length > 0 && valid(swap(words[0]!))) return true;
  if (words.length > 0 && valid(words[0]!)) return false;
  return null;
}

function decodeXics(secs: InterruptSections): QemuPseriesState['xics'] {
  const ics = secs.one('ics');
  if (ics === null) return null;
  const nrIrqs = ics.int('nr_irqs');
  const irqs = ics.structs('irqs');
  if (irqs.length !== nrIrqs) throw ics.error('inconsistent', `${irqs.length} sources for nr_irqs ${nrIrqs}`, ics.offsetOf('irqs'), 'irqs');
  const out = {
    nrIrqs,
    server: new Uint32Array(nrIrqs),
    priority: new Uint8Array(nrIrqs),
    savedPriority: new Uint8Array(nrIrqs),
    status: new Uint8Array(nrIrqs),
    flags: new Uint8Array(nrIrqs),
  };
  irqs.forEach((s, i) => {
    out.server[i] = s.int('server');
    out.priority[i] = s.int('priority');
    out.savedPriority[i] = s.int('saved_priority');
    out.status[i] = s.int('status');
    const f = s.int('flags');
    // LSI (1) or MSI (2) once claimed, 0 before: the two kinds exclude each other.
    if (f > 2) throw ics.error('inconsistent', `source ${i} has flags 0x${f.toString(16)}`, ics.offsetOf('irqs') + 8 * i + 7, `irqs[${i}].flags`);
    out.flags[i] = f;
  });
  return out;
}

/** Option vector 5 (bytes 1..256 as bits, MSB first in each byte), the MSI map, the device tree. */
function decodeSpapr(spapr: SectionReader): { ov5: Uint8Array; irqMap: Uint8Array | null; fdt: { tree: DeviceTree; reader: SectionReader } | null } {
  const ov5 = new Uint8Array(OV5_BYTES);
  const cas = spapr.subsection('spapr_option_vector_ov5_cas');
  if (cas !== null) {
    const vec = cas.structs('ov5_cas')[0]!;
    const words = bitmapBits(vec.bytes('bitmap', ['bitmap']));
    for (const bit of words) {
      const byte = (bit >> 3) + 1;
      if (byte >= OV5_BYTES) throw vec.error('inconsistent', `option vector 5 has bit ${bit} (byte ${byte}) set, beyond what CAS negotiates`, vec.offsetOf('bitmap'), 'bitmap');
      ov5[byte]! |= 0x80 >> (bit & 7);
    }
  }
  const map = spapr.subsection('spapr_irq_map');
  let irqMap: Uint8Array | null = null;
  if (map !== null) {
    const bits = bitmapBits(map.bytes('irq_map', ['bitmap']));
    irqMap = new Uint8Array(map.bytes('irq_map', ['bitmap']).length * 8);
    for (const b of bits) irqMap[b] = 1;
  }
  const dtb = spapr.subsection('spapr_dtb');
  let fdt: { tree: DeviceTree; reader: SectionReader } | null = null;
  if (dtb !== null) {
    const blob = dtb.bytes('fdt_blob', ['buffer']);
    try {
      fdt = { tree: decodeDtb(blob), reader: dtb };
    } catch (e) {
      throw dtb.error('inconsistent', `the device tree QEMU migrates cannot be read: ${(e as Error).message}`, dtb.offsetOf('fdt_blob'), 'fdt_blob');
    }
  }
  return { ov5, irqMap, fdt };
}

/** Set bit numbers of a QEMU bitmap (64-bit words written big-endian, bit n at 1 << (n % 64)). */
function bitmapBits(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let w = 0; w + 8 <= b.length; w += 8) {
    for (let byte = 0; byte < 8; byte++) {
      const v = b[w + 7 - byte]!;
      for (let k = 0; k < 8; k++) if ((v >> k) & 1) out.push(w * 8 + byte * 8 + k);
    }
  }
  return out;
}

/**
 * The vCPU ids, and the VSMT spacing they imply (cores are vsmt ids apart; TCG runs one thread
 * per core): from the OS CAM line of each thread context (QEMU sets it to NVT 0x400 + id at CPU
 * reset and no sPAPR guest can change it), else from the device tree's CPU nodes, else the
 * machine type's default spacing.
 */
function inferIds(cpus: QemuCpu[], xive: boolean, fdt: { tree: DeviceTree } | null, dflt: number, where: SectionReader): { vsmt: number; from: QemuPseriesState['inferredFrom']['vcpuIds'] } {
  let ids: number[] | null = null;
  let from: QemuPseriesState['inferredFrom']['vcpuIds'] = 'machine type';
  if (xive) {
    ids = cpus.map((c) => {
      const w2 = new DataView(c.tctx!.buffer, c.tctx!.byteOffset).getUint32(R.TM_QW1_OS + R.TM_WORD2, false);
      if ((w2 & R.TM_QW1W2_VO) === 0) throw where.error('inconsistent', `the thread context of CPU ${c.cpuIndex} has no valid OS CAM line (0x${w2.toString(16)}), which QEMU sets for every vCPU`);
      return getField(R.TM_QW1W2_OS_CAM, w2) - SPAPR_XIVE_NVT_BASE;
    });
    from = 'thread contexts';
  } else if (fdt !== null) {
    const found: number[] = [];
    for (const n of fdt.tree.node('/cpus')?.children ?? []) {
      const servers = n.getProp('ibm,ppc-interrupt-server#s');
      if (servers !== undefined) found.push(...readU32Cells(servers));
    }
    if (found.length === cpus.length) {
      // Ids grow with the CPU index, so the sorted lists pair up.
      const sorted = found.sort((a, b) => a - b);
      const order = cpus.map((c, i) => [c.cpuIndex, i] as const).sort((a, b) => a[0] - b[0]);
      ids = new Array<number>(cpus.length);
      order.forEach(([, i], k) => (ids![i] = sorted[k]!));
      from = 'device tree';
    }
  }
  let vsmt = dflt;
  if (ids !== null) {
    const k = cpus.findIndex((c) => c.cpuIndex > 0);
    if (k >= 0) vsmt = ids[k]! / cpus[k]!.cpuIndex;
    for (let i = 0; i < cpus.length; i++) {
      if (!Number.isInteger(vsmt) || vsmt < 1 || ids[i] !== cpus[i]!.cpuIndex * vsmt) {
        throw where.error('inconsistent', `vCPU ids [${ids.join(', ')}] (from the ${from}) are not CPU index × a VSMT spacing for CPUs [${cpus.map((c) => c.cpuIndex).join(', ')}]`);
      }
    }
  }
  for (const c of cpus) c.vcpuId = c.cpuIndex * vsmt;
  return { vsmt, from };
}

/** The XICS server count the device tree gives its interrupt controller node, or null. */
function xicsServers(fdt: { tree: DeviceTree } | null): number | null {
  if (fdt === null) return null;
  for (const n of fdt.tree.root.children) {
    const p = n.getProp('ibm,interrupt-server-ranges');
    if (p !== undefined) {
      const cells = readU32Cells(p);
      if (cells.length === 2 && cells[0] === 0) return cells[1]!;
    }
  }
  return null;
}

function decodePhb(s: SectionReader): QemuPhb {
  const buid = BigInt.asUintN(64, s.int64('buid'));
  const index = Number(buid - SPAPR_PHB_BUID_BASE);
  if (buid < SPAPR_PHB_BUID_BASE || index > 255) throw s.error('inconsistent', `PHB BUID 0x${buid.toString(16)} is not one of a pseries PHB`, s.offsetOf('buid'), 'buid');
  const lsis = s.structs('lsi_table').map((l) => l.int('irq'));
  const n = s.int('msi_devs_num');
  const msis = n > 0 ? s.structs('msi_devs').map((m) => ({ config: m.int('key'), firstIrq: m.int('value.first_irq'), count: m.int('value.num') })) : [];
  if (msis.length !== n) throw s.error('inconsistent', `msi_devs_num is ${n}, the section has ${msis.length} MSI entries`, s.offsetOf('msi_devs_num'), 'msi_devs_num');
  return { index, buid, lsis, msis };
}
