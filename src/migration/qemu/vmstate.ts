/**
 * Walks the state of one device section of a QEMU migration stream with the help of the VM
 * description (vmdesc.ts): each field in order, arrays element by element, nested structures,
 * then each subsection the description lists (marker 0x05, its name, its version, its own
 * fields). Sizes come from the description, checked against the size every known vmstate type
 * has; a section whose description does not fit its bytes fails at the first field or marker
 * that disagrees, naming it.
 *
 * When asked to keep the values, the walk returns them as a tree with the stream offset of every
 * field, so whoever interprets a value can say where it came from.
 */
import type { Cursor } from './source.ts';
import { REC_SUBSECTION } from './format.ts';
import type { DescField, DescVmsd } from './vmdesc.ts';

/** A number field: 8, 16 and 32-bit ones as numbers, 64-bit ones as bigints. */
export type Scalar = number | bigint | boolean;
export type Element = Scalar | Uint8Array | VmsdValue;

export interface FieldValue {
  type: string;
  /** Stream offset of the first element. */
  offset: number;
  /** Bytes of one element. */
  size: number;
  elements: Element[];
}

export interface VmsdValue {
  vmsdName: string;
  version: number;
  offset: number;
  fields: Map<string, FieldValue>;
  subsections: Map<string, VmsdValue>;
}

type Kind = 'u' | 's' | 'u64' | 's64' | 'bool';

/** The vmstate types whose size is fixed, with how their value reads. */
const FIXED: Readonly<Record<string, { size: number; kind: Kind }>> = {
  bool: { size: 1, kind: 'bool' },
  int8: { size: 1, kind: 's' },
  uint8: { size: 1, kind: 'u' },
  'uint8 equal': { size: 1, kind: 'u' },
  int16: { size: 2, kind: 's' },
  uint16: { size: 2, kind: 'u' },
  'uint16 equal': { size: 2, kind: 'u' },
  int32: { size: 4, kind: 's' },
  'int32 equal': { size: 4, kind: 's' },
  'int32 le': { size: 4, kind: 's' },
  uint32: { size: 4, kind: 'u' },
  'uint32 equal': { size: 4, kind: 'u' },
  int64: { size: 8, kind: 's64' },
  'int64 equal': { size: 8, kind: 's64' },
  uint64: { size: 8, kind: 'u64' },
  'uint64 equal': { size: 8, kind: 'u64' },
  timer: { size: 8, kind: 's64' },
};

/** Walks one vmstate (fields, then subsections); returns its values when `keep`. */
export function walkVmsd(c: Cursor, d: DescVmsd, keep: boolean, label: string, path = ''): VmsdValue | null {
  const value: VmsdValue | null = keep ? { vmsdName: d.vmsdName, version: d.version, offset: c.offset, fields: new Map(), subsections: new Map() } : null;
  for (const f of d.fields) {
    const fpath = `${path}${f.name}${f.index >= 0 ? `[${f.index}]` : ''}`;
    c.where = `${label}, field ${fpath}`;
    const fv = walkField(c, f, keep, label, fpath);
    if (value !== null && fv !== null) {
      const prev = value.fields.get(f.name);
      // An array written one entry per element: the elements join one field value.
      if (prev !== undefined && f.index >= 0) prev.elements.push(...fv.elements);
      else value.fields.set(f.name, fv);
    }
  }
  for (const s of d.subsections) {
    c.where = `${label}, subsection ${s.vmsdName}`;
    const at = c.offset;
    const marker = c.u8('a subsection marker');
    if (marker !== REC_SUBSECTION) {
      throw c.error('damaged', `the VM description lists subsection '${s.vmsdName}' here, but the byte is 0x${marker.toString(16).padStart(2, '0')}, not the subsection marker 0x05`, at);
    }
    const name = c.name('the subsection name');
    if (name !== s.vmsdName) throw c.error('damaged', `the stream has subsection '${name}' where the VM description lists '${s.vmsdName}'`, at);
    const version = c.be32('the subsection version');
    if (version !== s.version) throw c.error('damaged', `subsection '${name}' has version ${version} in the stream, ${s.version} in the VM description`, at);
    const sv = walkVmsd(c, s, keep, label, `${s.vmsdName}/`);
    if (value !== null && sv !== null) value.subsections.set(s.vmsdName, sv);
  }
  return value;
}

function walkField(c: Cursor, f: DescField, keep: boolean, label: string, fpath: string): FieldValue | null {
  const fixed = FIXED[f.type];
  if (fixed !== undefined && f.size !== fixed.size) {
    throw c.error('damaged', `the VM description gives field ${fpath} (type '${f.type}') ${f.size} byte(s); that type has ${fixed.size}`);
  }
  const out: FieldValue | null = keep ? { type: f.type, offset: c.offset, size: f.size, elements: [] } : null;
  if (f.struct !== null) {
    for (let i = 0; i < f.arrayLen; i++) {
      const start = c.offset;
      const el = walkVmsd(c, f.struct, keep, label, `${fpath}${f.arrayLen > 1 ? `[${i}]` : ''}.`);
      // The description measured the first element; the others are alike (QEMU only writes one
      // entry for arrays whose elements cannot differ).
      if (i === 0 && c.offset - start !== f.size) {
        throw c.error('damaged', `field ${fpath} took ${c.offset - start} byte(s), the VM description says ${f.size}`, start, `${label}, field ${fpath}`);
      }
      if (out !== null) out.elements.push(el!);
    }
    return out;
  }
  if (out === null) {
    c.skip(f.size * f.arrayLen, `field ${fpath}`);
    return null;
  }
  for (let i = 0; i < f.arrayLen; i++) out.elements.push(fixed !== undefined ? readFixed(c, fixed, fpath) : c.bytes(f.size, `field ${fpath}`));
  return out;
}

function readFixed(c: Cursor, t: { size: number; kind: Kind }, what: string): Scalar {
  const w = `field ${what}`;
  switch (t.kind) {
    case 'bool': {
      const at = c.offset;
      const b = c.u8(w);
      if (b > 1) throw c.error('damaged', `${w} is a bool holding ${b}`, at);
      return b === 1;
    }
    case 'u':
    case 's': {
      const v = t.size === 1 ? c.u8(w) : t.size === 2 ? c.be16(w) : c.be32(w);
      if (t.kind === 'u') return v;
      const shift = 32 - t.size * 8;
      return (v << shift) >> shift;
    }
    case 'u64':
      return c.be64(w);
    case 's64':
      return BigInt.asIntN(64, c.be64(w));
  }
}
