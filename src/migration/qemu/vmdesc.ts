/**
 * The VM description QEMU appends to a migration stream: after the end-of-stream record, a
 * record 0x06 with a big-endian length and a JSON text that lists every device section in stream
 * order with the fields it wrote — name, type, size in bytes, array length, nested structures,
 * subsections. The stream itself carries no field sizes, so this description is what lets a
 * reader walk device sections it has no built-in knowledge of.
 *
 * It comes last, so the reader finds it first by looking at the stream's tail: the record byte
 * 0x00, then 0x06, then a length that reaches exactly to the end of the stream, then '{'.
 */
import { QemuStreamError } from './errors.ts';
import { REC_EOF, REC_VMDESCRIPTION } from './format.ts';
import type { ByteSource } from './source.ts';

/** One field as the description lists it. */
export interface DescField {
  name: string;
  /** The vmstate type name ("uint32", "buffer", "struct", "uint32 equal", …). */
  type: string;
  /** Bytes written for the field (for an array: for its first element). */
  size: number;
  /** Element count of an array written as one entry (all elements alike). */
  arrayLen: number;
  /** Element index of an array written as one entry per element; -1 otherwise. */
  index: number;
  /** The nested state of a "struct" or "vstruct" field. */
  struct: DescVmsd | null;
}

/** A vmstate description: its name, version, fields in order, and the subsections written. */
export interface DescVmsd {
  vmsdName: string;
  version: number;
  fields: DescField[];
  subsections: DescVmsd[];
}

/** One device section: the section's name and instance, and its state's description. */
export interface DescDevice extends DescVmsd {
  name: string;
  instanceId: number;
}

/** The JSON VM description QEMU appends to a stream, as the reader uses it. */
export interface VmDescription {
  /** The target page size (the RAM section's page records are this big). */
  pageSize: number;
  devices: DescDevice[];
  /** Stream offset of the end-of-stream record (0x00) before the description. */
  eofOffset: number;
  /** Stream offset and length of the JSON text. */
  jsonOffset: number;
  jsonLength: number;
}

/** Tail sizes tried in turn when looking for the description (the last one bounds memory). */
const TAIL_STEPS = [1 << 16, 1 << 20, 1 << 24];

/**
 * Finds the description at the end of the stream: the offset of its end-of-stream record, or -1
 * when the tail holds none (a truncated stream, or one whose end is damaged).
 */
export function findDescription(src: ByteSource): { eofOffset: number; jsonOffset: number; jsonLength: number } | null {
  const size = src.size;
  for (const step of TAIL_STEPS) {
    const n = Math.min(step, size);
    const tail = new Uint8Array(n);
    const start = size - n;
    if (src.read(start, tail) !== n) return null;
    // JSON text holds no 0x00 byte, so the last candidate from the end is the record.
    for (let i = n - 7; i >= 0; i--) {
      if (tail[i] !== REC_EOF || tail[i + 1] !== REC_VMDESCRIPTION || tail[i + 6] !== 0x7b) continue;
      const len = ((tail[i + 2]! << 24) | (tail[i + 3]! << 16) | (tail[i + 4]! << 8) | tail[i + 5]!) >>> 0;
      if (start + i + 6 + len === size) return { eofOffset: start + i, jsonOffset: start + i + 6, jsonLength: len };
    }
    if (n === size) break;
  }
  return null;
}

/** Reads and checks the description found by findDescription. */
export function readDescription(src: ByteSource, at: { eofOffset: number; jsonOffset: number; jsonLength: number }): VmDescription {
  const bytes = new Uint8Array(at.jsonLength);
  src.read(at.jsonOffset, bytes);
  // Where in the text the entry being checked starts, so a refusal points into it.
  let entry = 0;
  const fail = (detail: string, rel = entry): QemuStreamError =>
    new QemuStreamError('damaged', { offset: at.jsonOffset + rel, where: `the VM description (bytes ${at.jsonOffset}..${at.jsonOffset + at.jsonLength - 1})` }, detail);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail('it is not UTF-8 text');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    throw fail(`it is not valid JSON (${(e as Error).message})`, m !== null ? Number(m[1]) : 0);
  }
  const shape = new ShapeChecker(fail);
  const root = shape.object(json, 'the description');
  const pageSize = shape.int(root.page_size, 'page_size');
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw fail(`page_size ${pageSize} is not a power of two of at least 512`);
  const starts = deviceEntryStarts(text);
  const devices = shape.array(root.devices, 'devices').map((d, i) => {
    entry = starts[i] ?? 0;
    const where = `devices[${i}]`;
    const o = shape.object(d, where);
    const name = shape.string(o.name, `${where}.name`);
    const instanceId = shape.int(o.instance_id, `${where}.instance_id`);
    return { name, instanceId, ...shape.vmsd(o, `${where} ('${name}')`) };
  });
  return { pageSize, devices, ...at };
}

/**
 * Offsets in `text` of the objects of the top-level "devices" array (QEMU writes ASCII, so
 * character and byte offsets agree). A small scan of brackets outside strings.
 */
function deviceEntryStarts(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  let lastKey = '';
  let devicesDepth = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) {
        inString = false;
        lastKey = text.slice(stringStart + 1, i);
      }
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      stringStart = i;
    } else if (ch === 0x7b || ch === 0x5b) {
      if (ch === 0x5b && depth === 1 && lastKey === 'devices') devicesDepth = depth + 1;
      else if (ch === 0x7b && depth === devicesDepth) starts.push(i);
      depth++;
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
      if (depth < devicesDepth) devicesDepth = -1;
    }
  }
  return starts;
}

/** Checks the JSON's shape, naming the first thing that is not as QEMU writes it. */
class ShapeChecker {
  constructor(private readonly fail: (detail: string) => QemuStreamError) {}

  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.fail(`${where} is not an object`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) throw this.fail(`${where} is not an array`);
    return v;
  }

  string(v: unknown, where: string): string {
    if (typeof v !== 'string') throw this.fail(`${where} is not a string`);
    return v;
  }

  int(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.fail(`${where} is not a non-negative integer`);
    return v;
  }

  vmsd(o: Record<string, unknown>, where: string): DescVmsd {
    const vmsdName = this.string(o.vmsd_name, `${where}.vmsd_name`);
    const version = this.int(o.version, `${where}.version`);
    const fields = this.array(o.fields ?? [], `${where}.fields`).map((f, i) => this.field(f, `${where}.fields[${i}]`));
    const subsections = this.array(o.subsections ?? [], `${where}.subsections`).map((s, i) => this.vmsd(this.object(s, `${where}.subsections[${i}]`), `${where}.subsections[${i}]`));
    return { vmsdName, version, fields, subsections };
  }

  field(v: unknown, where: string): DescField {
    const f = this.object(v, where);
    const name = this.string(f.name, `${where}.name`);
    const type = this.string(f.type, `${where}.type`);
    const size = this.int(f.size, `${where}.size ('${name}')`);
    const arrayLen = f.array_len === undefined ? 1 : this.int(f.array_len, `${where}.array_len ('${name}')`);
    const index = f.index === undefined ? -1 : this.int(f.index, `${where}.index ('${name}')`);
    if (arrayLen < 1) throw this.fail(`${where}.array_len ('${name}') is 0`);
    let struct: DescVmsd | null = null;
    // A vstruct's state is described in the field's own object, a struct's in its "struct".
    if (type === 'struct') struct = this.vmsd(this.object(f.struct, `${where}.struct ('${name}')`), `${where}.struct`);
    else if (type === 'vstruct') struct = this.vmsd(f, where);
    else if (f.struct !== undefined) throw this.fail(`${where} ('${name}') has type '${type}' but describes a structure`);
    return { name, type, size, arrayLen, index, struct };
  }
}
