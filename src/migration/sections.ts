/**
 * The sections of a pseries interrupt snapshot and their byte layouts, one encoder and one
 * decoder per (section, version). Decoders only check what a section can know about itself
 * (sizes, value ranges); how sections relate to each other and to a target machine is checked in
 * snapshot.ts. When a layout changes, the new version gets its own decoder and the old ones stay,
 * so every snapshot ever written keeps loading.
 *
 * Table images (EAS, END, thread contexts, RAM) are the architected big-endian byte images the
 * model keeps, copied byte for byte; the other multi-byte fields are little-endian.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { SnapshotError } from './errors.ts';
import type { IcMode } from '../spapr/cas.ts';

export const TCTX_BYTES = 64;
export const EAS_BYTES = 8;
export const END_BYTES = 32;
export const ICS_ENTRY_BYTES = 8;
export const OV5_BYTES = 256;

/** Machine shape: what a target must match (or be built from). */
export interface ConfigState {
  smp: number;
  maxCpus: number;
  icMode: IcMode;
  /** Guest RAM size in bytes; 0 when the machine's memory did not say. */
  ramSize: number;
  /** vCPU ids in plug order. */
  vcpus: number[];
}

/** Machine-level interrupt state (QEMU's `spapr` section: ov5_cas and the MSI map). */
export interface SpaprState {
  ov5Cas: Uint8Array;
  msiBitmap: Uint8Array;
  halted: string | null;
  mmioHi: number;
}

export interface XiveTables {
  nrIrqs: number;
  nrEnds: number;
  eas: Uint8Array;
  ends: Uint8Array;
}

export interface XiveSourceState {
  nrIrqs: number;
  status: Uint8Array;
  /** LSI bitmap, bit (i & 7) of byte (i >> 3) for source i. */
  lsi: Uint8Array;
}

export interface TctxState {
  vcpu: number;
  /** Output levels: bit 0 INT, bit 1 HINT. */
  lines: number;
  regs: Uint8Array;
}

export interface IcsState {
  offset: number;
  nrIrqs: number;
  server: Uint32Array;
  priority: Uint8Array;
  savedPriority: Uint8Array;
  status: Uint8Array;
  flags: Uint8Array;
}

export interface IcpState {
  vcpu: number;
  xirr: number;
  pendingPriority: number;
  mfrr: number;
}

export interface RamBlock {
  addr: number;
  data: Uint8Array;
}

export interface RamState {
  ramSize: number;
  blockShift: number;
  blocks: RamBlock[];
}

/** Everything a snapshot can hold, decoded. Absent sections are null. */
export interface SnapshotState {
  config: ConfigState;
  spapr: SpaprState;
  xive: XiveTables | null;
  xiveSource: XiveSourceState | null;
  tctx: TctxState[] | null;
  ics: IcsState | null;
  icp: IcpState[] | null;
  ram: RamState | null;
}

const IC_MODE_CODES: readonly IcMode[] = ['xics', 'xive', 'dual'];

function bad(section: string, what: string): SnapshotError {
  return new SnapshotError('corrupt', `snapshot section '${section}' is invalid: ${what}`);
}

// ---- config ---------------------------------------------------------------------------------

export function encodeConfig(c: ConfigState): Uint8Array {
  const w = new ByteWriter();
  w.u32(c.smp);
  w.u32(c.maxCpus);
  w.u8(IC_MODE_CODES.indexOf(c.icMode));
  w.u64(c.ramSize);
  w.u32(c.vcpus.length);
  for (const v of c.vcpus) w.u32(v);
  return w.finish();
}

function decodeConfigV1(p: Uint8Array): ConfigState {
  const r = new ByteReader(p, "section 'config'");
  const smp = r.u32('smp');
  const maxCpus = r.u32('max-cpus');
  const mode = r.u8('ic-mode');
  const ramSize = r.u64('ram size');
  const count = r.u32('vCPU count');
  if (count > maxCpus) throw bad('config', `${count} vCPUs for max-cpus ${maxCpus}`);
  const vcpus: number[] = [];
  for (let i = 0; i < count; i++) vcpus.push(r.u32('vCPU id'));
  r.end();
  const icMode = IC_MODE_CODES[mode];
  if (icMode === undefined) throw bad('config', `unknown ic-mode code ${mode}`);
  return { smp, maxCpus, icMode, ramSize, vcpus };
}

// ---- spapr ----------------------------------------------------------------------------------

export function encodeSpapr(s: SpaprState): Uint8Array {
  const w = new ByteWriter();
  w.u16(s.ov5Cas.length);
  w.bytes(s.ov5Cas);
  w.u32(s.msiBitmap.length);
  w.bytes(s.msiBitmap);
  w.u8(s.halted === null ? 0 : 1);
  if (s.halted !== null) w.longString(s.halted);
  w.u32(s.mmioHi);
  return w.finish();
}

function decodeSpaprV1(p: Uint8Array): SpaprState {
  const r = new ByteReader(p, "section 'spapr'");
  const ovLen = r.u16('ov5 length');
  if (ovLen !== OV5_BYTES) throw bad('spapr', `option vector 5 has ${ovLen} bytes, expected ${OV5_BYTES}`);
  const ov5Cas = r.bytes(ovLen, 'ov5').slice();
  const msiLen = r.u32('MSI map length');
  const msiBitmap = r.bytes(msiLen, 'MSI map').slice();
  if (msiBitmap.some((b) => b > 1)) throw bad('spapr', 'the MSI map holds a value other than 0 or 1');
  const h = r.u8('halted flag');
  if (h > 1) throw bad('spapr', `halted flag ${h}`);
  const halted = h === 1 ? r.longString('halted reason') : null;
  const mmioHi = r.u32('mmio-hi');
  r.end();
  return { ov5Cas, msiBitmap, halted, mmioHi };
}

// ---- XIVE -----------------------------------------------------------------------------------

export function encodeXive(t: XiveTables): Uint8Array {
  const w = new ByteWriter();
  w.u32(t.nrIrqs);
  w.u32(t.nrEnds);
  w.bytes(t.eas);
  w.bytes(t.ends);
  return w.finish();
}

function decodeXiveV1(p: Uint8Array): XiveTables {
  const r = new ByteReader(p, "section 'spapr-xive'");
  const nrIrqs = r.u32('nr_irqs');
  const nrEnds = r.u32('nr_ends');
  const eas = r.bytes(nrIrqs * EAS_BYTES, 'EAS table').slice();
  const ends = r.bytes(nrEnds * END_BYTES, 'END table').slice();
  r.end();
  return { nrIrqs, nrEnds, eas, ends };
}

export function encodeXiveSource(s: XiveSourceState): Uint8Array {
  const w = new ByteWriter();
  w.u32(s.nrIrqs);
  w.bytes(s.status);
  w.bytes(s.lsi);
  return w.finish();
}

function decodeXiveSourceV1(p: Uint8Array): XiveSourceState {
  const r = new ByteReader(p, "section 'xive-source'");
  const nrIrqs = r.u32('nr_irqs');
  const status = r.bytes(nrIrqs, 'status bytes').slice();
  const lsi = r.bytes(Math.ceil(nrIrqs / 8), 'LSI map').slice();
  r.end();
  // Status bits: PQ in bits 1..0, asserted in bit 2; anything above was never written by a source.
  const at = status.findIndex((b) => b > 7);
  if (at >= 0) throw bad('xive-source', `source ${at} has status byte 0x${status[at]!.toString(16)}`);
  return { nrIrqs, status, lsi };
}

export function encodeTctx(list: readonly TctxState[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(list.length);
  for (const t of list) {
    w.u32(t.vcpu);
    w.u8(t.lines);
    w.bytes(t.regs);
  }
  return w.finish();
}

function decodeTctxV1(p: Uint8Array): TctxState[] {
  const r = new ByteReader(p, "section 'xive-tctx'");
  const n = r.u32('count');
  if (n * (5 + TCTX_BYTES) > r.remaining) throw bad('xive-tctx', `${n} thread contexts do not fit in ${p.length} bytes`);
  const out: TctxState[] = [];
  for (let i = 0; i < n; i++) {
    const vcpu = r.u32('vCPU id');
    const lines = r.u8('lines');
    if (lines > 3) throw bad('xive-tctx', `vCPU ${vcpu} line levels 0x${lines.toString(16)}`);
    out.push({ vcpu, lines, regs: r.bytes(TCTX_BYTES, 'registers').slice() });
  }
  r.end();
  return out;
}

// ---- XICS -----------------------------------------------------------------------------------

export function encodeIcs(s: IcsState): Uint8Array {
  const w = new ByteWriter();
  w.u32(s.offset);
  w.u32(s.nrIrqs);
  for (let i = 0; i < s.nrIrqs; i++) {
    w.u32(s.server[i]!);
    w.u8(s.priority[i]!);
    w.u8(s.savedPriority[i]!);
    w.u8(s.status[i]!);
    w.u8(s.flags[i]!);
  }
  return w.finish();
}

function decodeIcsV1(p: Uint8Array): IcsState {
  const r = new ByteReader(p, "section 'ics'");
  const offset = r.u32('offset');
  const nrIrqs = r.u32('nr_irqs');
  if (nrIrqs * ICS_ENTRY_BYTES !== r.remaining) throw bad('ics', `${nrIrqs} sources need ${nrIrqs * ICS_ENTRY_BYTES} bytes, ${r.remaining} present`);
  const s: IcsState = {
    offset,
    nrIrqs,
    server: new Uint32Array(nrIrqs),
    priority: new Uint8Array(nrIrqs),
    savedPriority: new Uint8Array(nrIrqs),
    status: new Uint8Array(nrIrqs),
    flags: new Uint8Array(nrIrqs),
  };
  for (let i = 0; i < nrIrqs; i++) {
    s.server[i] = r.u32('server');
    s.priority[i] = r.u8('priority');
    s.savedPriority[i] = r.u8('saved priority');
    s.status[i] = r.u8('status');
    const f = r.u8('flags');
    if (f > 3) throw bad('ics', `source ${i} has flags 0x${f.toString(16)}`);
    s.flags[i] = f;
  }
  r.end();
  return s;
}

export function encodeIcp(list: readonly IcpState[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(list.length);
  for (const c of list) {
    w.u32(c.vcpu);
    w.u32(c.xirr);
    w.u8(c.pendingPriority);
    w.u8(c.mfrr);
  }
  return w.finish();
}

function decodeIcpV1(p: Uint8Array): IcpState[] {
  const r = new ByteReader(p, "section 'icp'");
  const n = r.u32('count');
  if (n * 10 !== r.remaining) throw bad('icp', `${n} ICPs need ${n * 10} bytes, ${r.remaining} present`);
  const out: IcpState[] = [];
  for (let i = 0; i < n; i++) out.push({ vcpu: r.u32('vCPU id'), xirr: r.u32('xirr'), pendingPriority: r.u8('pending priority'), mfrr: r.u8('mfrr') });
  r.end();
  return out;
}

// ---- guest RAM ------------------------------------------------------------------------------

export function encodeRam(s: RamState): Uint8Array {
  const w = new ByteWriter();
  w.u64(s.ramSize);
  w.u8(s.blockShift);
  w.u32(s.blocks.length);
  for (const b of s.blocks) {
    w.u64(b.addr);
    w.bytes(b.data);
  }
  return w.finish();
}

function decodeRamV1(p: Uint8Array): RamState {
  const r = new ByteReader(p, "section 'guest-ram'");
  const ramSize = r.u64('ram size');
  const blockShift = r.u8('block shift');
  if (blockShift < 2 || blockShift > 24) throw bad('guest-ram', `block shift ${blockShift}`);
  const size = 2 ** blockShift;
  const n = r.u32('block count');
  if (n * (8 + size) !== r.remaining) throw bad('guest-ram', `${n} blocks of ${size} bytes do not match the ${r.remaining} bytes present`);
  const blocks: RamBlock[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const addr = r.u64('block address');
    if (addr % size !== 0 || addr < next || addr + size > ramSize) {
      throw bad('guest-ram', `block at 0x${addr.toString(16)} is unaligned, out of order or outside the ${ramSize}-byte RAM`);
    }
    next = addr + size;
    blocks.push({ addr, data: r.bytes(size, 'block data').slice() });
  }
  r.end();
  return { ramSize, blockShift, blocks };
}

// ---- registry -------------------------------------------------------------------------------

/** The decoded payload of each section. */
export type SectionPayloads = {
  config: ConfigState;
  spapr: SpaprState;
  'spapr-xive': XiveTables;
  'xive-source': XiveSourceState;
  'xive-tctx': TctxState[];
  ics: IcsState;
  icp: IcpState[];
  'guest-ram': RamState;
};

export type SectionId = keyof SectionPayloads;

/** Per section id: the version this build writes, and a decoder for every version it reads. */
export const SECTIONS: { [K in SectionId]: { writes: number; read: Readonly<Record<number, (p: Uint8Array) => SectionPayloads[K]>> } } = {
  config: { writes: 1, read: { 1: decodeConfigV1 } },
  spapr: { writes: 1, read: { 1: decodeSpaprV1 } },
  'spapr-xive': { writes: 1, read: { 1: decodeXiveV1 } },
  'xive-source': { writes: 1, read: { 1: decodeXiveSourceV1 } },
  'xive-tctx': { writes: 1, read: { 1: decodeTctxV1 } },
  ics: { writes: 1, read: { 1: decodeIcsV1 } },
  icp: { writes: 1, read: { 1: decodeIcpV1 } },
  'guest-ram': { writes: 1, read: { 1: decodeRamV1 } },
};

export function isSectionId(id: string): id is SectionId {
  return Object.prototype.hasOwnProperty.call(SECTIONS, id);
}

/** Decodes one section with the decoder of its version, or refuses naming what is unknown. */
export function decodeSection<K extends SectionId>(id: K, version: number, payload: Uint8Array): SectionPayloads[K] {
  const entry = SECTIONS[id];
  const dec = entry.read[version];
  if (dec === undefined) {
    const known = Object.keys(entry.read).join(', ');
    throw new SnapshotError('section-version', `snapshot section '${id}' has version ${version}, which this build cannot read (it reads ${known})`);
  }
  return dec(payload) as SectionPayloads[K];
}
