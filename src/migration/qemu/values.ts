/**
 * Typed reads of walked vmstate values (vmstate.ts): a field by name, checked to have the type
 * and element count the interrupt state needs, each failure a QemuStreamError naming the section,
 * the field and its stream offset.
 */
import { QemuStreamError, type QemuStreamErrorCode } from './errors.ts';
import { sectionLabel, type DeviceSection } from './records.ts';
import type { Element, FieldValue, VmsdValue } from './vmstate.ts';

/** The integer types a 32-bit (or narrower) field may have. */
const INT_TYPES = ['uint8', 'uint16', 'uint32', 'int32', 'uint32 equal', 'int32 equal', 'uint8 equal', 'uint16 equal', 'int8', 'int16'];
const INT64_TYPES = ['uint64', 'int64', 'uint64 equal', 'int64 equal'];

/** Reads the fields of one section's state (or of a nested structure inside it). */
export class SectionReader {
  constructor(
    readonly section: DeviceSection,
    readonly value: VmsdValue,
    private readonly path = '',
  ) {}

  get label(): string {
    return sectionLabel(this.section.name, this.section.instance);
  }

  error(code: QemuStreamErrorCode, detail: string, offset = this.value.offset, field?: string): QemuStreamError {
    return new QemuStreamError(code, { offset, where: field === undefined ? this.label : `${this.label}, field ${this.path}${field}` }, detail);
  }

  has(name: string): boolean {
    return this.value.fields.has(name);
  }

  field(name: string, types: readonly string[], count?: number): FieldValue {
    const f = this.value.fields.get(name);
    if (f === undefined) throw this.error('unsupported', `the section has no field '${this.path}${name}' (QEMU 7.2 writes one)`);
    if (!types.includes(f.type)) throw this.error('unsupported', `field '${name}' has type '${f.type}', not ${types.map((t) => `'${t}'`).join(' or ')}`, f.offset, name);
    if (count !== undefined && f.elements.length !== count) throw this.error('inconsistent', `field '${name}' has ${f.elements.length} element(s), expected ${count}`, f.offset, name);
    return f;
  }

  int(name: string): number {
    return this.field(name, INT_TYPES, 1).elements[0] as number;
  }

  int64(name: string): bigint {
    return this.field(name, INT64_TYPES, 1).elements[0] as bigint;
  }

  bool(name: string): boolean {
    return this.field(name, ['bool'], 1).elements[0] as boolean;
  }

  /** A byte field (buffer, bitmap, …) of `size` bytes when given. */
  bytes(name: string, types: readonly string[] = ['buffer'], size?: number): Uint8Array {
    const f = this.field(name, types, 1);
    const b = f.elements[0] as Uint8Array;
    if (size !== undefined && b.length !== size) throw this.error('inconsistent', `field '${name}' has ${b.length} bytes, expected ${size}`, f.offset, name);
    return b;
  }

  /** The elements of an array of 64-bit integers. */
  int64s(name: string): bigint[] {
    return this.field(name, INT64_TYPES).elements as bigint[];
  }

  /** The elements of an array of structures, each as a reader. */
  structs(name: string): SectionReader[] {
    const f = this.field(name, ['struct', 'vstruct']);
    return f.elements.map((e: Element, i) => new SectionReader(this.section, e as VmsdValue, `${this.path}${name}${f.elements.length > 1 ? `[${i}]` : ''}.`));
  }

  /** A subsection, or null when the stream does not have it. */
  subsection(name: string): SectionReader | null {
    const s = this.value.subsections.get(name);
    return s === undefined ? null : new SectionReader(this.section, s, `${name}/`);
  }

  /** Offset of a field's first element (for messages about a value inside it). */
  offsetOf(name: string): number {
    return this.value.fields.get(name)?.offset ?? this.value.offset;
  }
}
