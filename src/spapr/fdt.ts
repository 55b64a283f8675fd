/**
 * Flattened device tree (FDT): an in-memory tree of nodes with ordered properties, its binary
 * form (DTB, "device tree blob", the format firmware and QEMU hand to the guest kernel) and a
 * textual form (DTS, "device tree source", printed by dts.ts).
 *
 * Terms: a property value is raw bytes; by convention integers are big-endian 32-bit "cells"
 * (u32) or pairs of cells (u64), strings are NUL-terminated, a string list is several of them
 * back to back, and a boolean property has an empty value. A phandle is a u32 cell that other
 * nodes use to refer to a node (its `phandle` / `linux,phandle` property).
 *
 * DTB layout written here (version 17, compatible back to 16): a 40-byte header, the memory
 * reservation block (16-byte address/size pairs ended by an all-zero pair), the structure block
 * (BEGIN_NODE name / PROP len nameoff value / END_NODE tokens, closed by END) and the strings
 * block holding each property name once. Blocks follow each other in that order with no gaps,
 * the same layout QEMU's dumps have, so sizes and offsets can be compared with them.
 *
 * Nothing here knows about pseries; `device-tree.ts` builds the interrupt-controller parts.
 */

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;

export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

const HEADER_SIZE = 40;
const RSV_ENTRY_SIZE = 16;

/** Malformed blob, or a value/name that cannot be represented in a DTB. */
export class FdtError extends Error {
  override readonly name = 'FdtError';
}

/** A device-tree property: its name and its raw value (big-endian cells, strings, bytes). */
export interface FdtProperty {
  readonly name: string;
  value: Uint8Array;
}

/** An entry of the blob's memory reservation block. */
export interface MemReserveEntry {
  address: bigint;
  size: bigint;
}

function checkNodeName(name: string): void {
  // The decoder reads names back byte per character, so only printable ASCII round-trips.
  if (!/^[\x21-\x7e]*$/.test(name) || name.includes('/')) throw new FdtError(`node name ${JSON.stringify(name)} must be printable ASCII without '/'`);
}

function checkPropName(name: string): void {
  // Property names live in the strings block, which is matched bytewise below: keep them ASCII.
  if (!/^[\x21-\x7e]+$/.test(name)) throw new FdtError(`property name ${JSON.stringify(name)} must be non-empty printable ASCII`);
}

/** One node: its name (with unit address, e.g. `PowerPC,POWER9@0`; "" for the root). */
export class FdtNode {
  readonly name: string;
  readonly properties: FdtProperty[] = [];
  readonly children: FdtNode[] = [];

  constructor(name: string) {
    checkNodeName(name);
    this.name = name;
  }

  /** The value of property `name`, or undefined. */
  getProp(name: string): Uint8Array | undefined {
    return this.properties.find((p) => p.name === name)?.value;
  }

  /** Whether the node has property `name`. */
  hasProp(name: string): boolean {
    return this.properties.some((p) => p.name === name);
  }

  /** Sets a property: an existing one keeps its position, a new one goes last. */
  setProp(name: string, value: Uint8Array): this {
    checkPropName(name);
    const p = this.properties.find((q) => q.name === name);
    if (p) p.value = value;
    else this.properties.push({ name, value });
    return this;
  }

  /**
   * Sets a property the way libfdt's setprop does on a node: an existing one keeps its position,
   * a new one goes FIRST. QEMU builds its trees with libfdt, so a builder that adds properties
   * in QEMU's order with this method gets QEMU's (reversed) order in the blob.
   */
  prependProp(name: string, value: Uint8Array): this {
    checkPropName(name);
    const p = this.properties.find((q) => q.name === name);
    if (p) p.value = value;
    else this.properties.unshift({ name, value });
    return this;
  }

  /** Removes property `name`; false when there was none. */
  removeProp(name: string): boolean {
    const i = this.properties.findIndex((p) => p.name === name);
    if (i < 0) return false;
    this.properties.splice(i, 1);
    return true;
  }

  /** The child node named `name` (unit address included), or undefined. */
  getChild(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** Adds a new child after the existing ones. */
  addChild(name: string): FdtNode {
    if (this.getChild(name)) throw new FdtError(`node ${JSON.stringify(this.name)} already has a child ${JSON.stringify(name)}`);
    const c = new FdtNode(name);
    this.children.push(c);
    return c;
  }

  /** Adds a new child before the existing ones (libfdt's add_subnode order, see prependProp). */
  prependChild(name: string): FdtNode {
    if (this.getChild(name)) throw new FdtError(`node ${JSON.stringify(this.name)} already has a child ${JSON.stringify(name)}`);
    const c = new FdtNode(name);
    this.children.unshift(c);
    return c;
  }
}

function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw new FdtError(`path ${JSON.stringify(path)} must be absolute`);
  return path.split('/').filter((s) => s.length > 0);
}

/** A whole tree plus the header-level data a DTB carries. */
export class DeviceTree {
  readonly root = new FdtNode('');
  readonly memReserve: MemReserveEntry[] = [];
  bootCpuidPhys = 0;

  /** The node at an absolute path such as `/cpus/PowerPC,POWER9@0`, if any. */
  node(path: string): FdtNode | undefined {
    let n: FdtNode | undefined = this.root;
    for (const part of splitPath(path)) {
      n = n.getChild(part);
      if (!n) return undefined;
    }
    return n;
  }

  /** The node at a path, creating missing nodes (each after its existing siblings). */
  ensureNode(path: string): FdtNode {
    let n = this.root;
    for (const part of splitPath(path)) n = n.getChild(part) ?? n.addChild(part);
    return n;
  }

  /** Every node, parents before children, siblings in order, with its absolute path. */
  *nodes(): Generator<[path: string, node: FdtNode]> {
    const stack: [string, FdtNode][] = [['/', this.root]];
    while (stack.length > 0) {
      const [path, n] = stack.pop()!;
      yield [path, n];
      for (let i = n.children.length - 1; i >= 0; i--) {
        const c = n.children[i]!;
        stack.push([path === '/' ? `/${c.name}` : `${path}/${c.name}`, c]);
      }
    }
  }
}

// ---- property value helpers -------------------------------------------------------------------

const utf8 = new TextEncoder();

function checkU32(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new FdtError(`cell value ${v} is not a 32-bit unsigned integer`);
  return v;
}

function toU64(v: bigint | number): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
  if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw new FdtError(`value ${String(v)} is not a 64-bit unsigned integer`);
  return b;
}

/** Big-endian 32-bit cells, e.g. `propU32(0, 2)` for `<0x00 0x02>`. */
export function propU32(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => dv.setUint32(i * 4, checkU32(c)));
  return out;
}

/** Big-endian 64-bit values, each as two cells (high cell first). */
export function propU64(...values: (bigint | number)[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, toU64(v)));
  return out;
}

/** A NUL-terminated string. */
export function propString(s: string): Uint8Array {
  return propStrings(s);
}

/** Strings back to back, each NUL-terminated (a "string list" such as `compatible`). */
export function propStrings(...list: string[]): Uint8Array {
  const parts = list.map((s) => {
    if (s.includes('\0')) throw new FdtError(`string ${JSON.stringify(s)} contains NUL`);
    return utf8.encode(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length + 1;
  }
  return out;
}

/** The empty value of a boolean property (present = true). */
export function propEmpty(): Uint8Array {
  return new Uint8Array(0);
}

/** Raw bytes, e.g. `propBytes(0, 0)` for `[00 00]`. */
export function propBytes(...bytes: number[]): Uint8Array {
  for (const b of bytes) if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new FdtError(`byte value ${b} out of range`);
  return Uint8Array.from(bytes);
}

/** Reads a value as big-endian 32-bit cells (its length must be a multiple of 4). */
export function readU32Cells(value: Uint8Array): number[] {
  if (value.length % 4 !== 0) throw new FdtError(`value of ${value.length} bytes is not a list of 32-bit cells`);
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let o = 0; o < value.length; o += 4) out.push(dv.getUint32(o));
  return out;
}

/** Reads a value as big-endian 64-bit values (its length must be a multiple of 8). */
export function readU64Cells(value: Uint8Array): bigint[] {
  if (value.length % 8 !== 0) throw new FdtError(`value of ${value.length} bytes is not a list of 64-bit values`);
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: bigint[] = [];
  for (let o = 0; o < value.length; o += 8) out.push(dv.getBigUint64(o));
  return out;
}

/** Reads a value as a list of NUL-terminated strings. */
export function readStrings(value: Uint8Array): string[] {
  if (value.length === 0 || value[value.length - 1] !== 0) throw new FdtError('value is not NUL-terminated');
  const dec = new TextDecoder();
  return dec.decode(value.subarray(0, value.length - 1)).split('\0');
}

/** Reads a value as one NUL-terminated string. */
export function readString(value: Uint8Array): string {
  const list = readStrings(value);
  if (list.length !== 1) throw new FdtError(`value holds ${list.length} strings, expected one`);
  return list[0]!;
}

// ---- encoder ----------------------------------------------------------------------------------

/** Growable big-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  u32(v: number): void {
    this.reserve(4);
    this.dv.setUint32(this.length, v);
    this.length += 4;
  }

  u64(v: bigint): void {
    this.reserve(8);
    this.dv.setBigUint64(this.length, v);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Zero padding up to a multiple of 4: every structure-block token starts 4-aligned. */
  align4(): void {
    const pad = (4 - (this.length & 3)) & 3;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Strings block: each property name stored once. A name that is the tail of one already stored
 * ("phandle" in "linux,phandle") points into it instead, as libfdt does, which keeps blob sizes
 * close to QEMU's.
 */
class StringTable {
  private text = '';

  offsetOf(name: string): number {
    checkPropName(name);
    const key = `${name}\0`;
    let off = this.text.indexOf(key);
    if (off < 0) {
      off = this.text.length;
      this.text += key;
    }
    return off;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.text, (c) => c.charCodeAt(0));
  }
}

/** Serialises a tree to a DTB (version 17). */
export function encodeDtb(tree: DeviceTree): Uint8Array {
  const rsv = new ByteWriter();
  for (const e of tree.memReserve) {
    rsv.u64(toU64(e.address));
    rsv.u64(toU64(e.size));
  }
  rsv.u64(0n);
  rsv.u64(0n);

  const strings = new StringTable();
  const st = new ByteWriter();
  const emit = (n: FdtNode): void => {
    st.u32(FDT_BEGIN_NODE);
    st.bytes(utf8.encode(n.name));
    st.bytes(new Uint8Array(1));
    st.align4();
    const seen = new Set<string>();
    for (const p of n.properties) {
      if (seen.has(p.name)) throw new FdtError(`node ${JSON.stringify(n.name)} has property ${p.name} twice`);
      seen.add(p.name);
      st.u32(FDT_PROP);
      st.u32(p.value.length);
      st.u32(strings.offsetOf(p.name));
      st.bytes(p.value);
      st.align4();
    }
    const names = new Set<string>();
    for (const c of n.children) {
      if (names.has(c.name)) throw new FdtError(`node ${JSON.stringify(n.name)} has child ${c.name} twice`);
      names.add(c.name);
      emit(c);
    }
    st.u32(FDT_END_NODE);
  };
  emit(tree.root);
  st.u32(FDT_END);

  const offRsv = HEADER_SIZE; // already 8-aligned, as the reservation entries must be
  const offStruct = offRsv + rsv.length;
  const offStrings = offStruct + st.length;
  const strBytes = strings.bytes();
  const total = offStrings + strBytes.length;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, offStruct, offStrings, offRsv, FDT_VERSION, FDT_LAST_COMP_VERSION, checkU32(tree.bootCpuidPhys), strBytes.length, st.length];
  header.forEach((v, i) => dv.setUint32(i * 4, v));
  out.set(rsv.result(), offRsv);
  out.set(st.result(), offStruct);
  out.set(strBytes, offStrings);
  return out;
}

// ---- decoder ----------------------------------------------------------------------------------

function readCString(blob: Uint8Array, start: number, end: number, what: string): [string, number] {
  let i = start;
  while (i < end && blob[i] !== 0) i++;
  if (i >= end) throw new FdtError(`${what} at offset ${start} is not NUL-terminated`);
  let s = '';
  for (let k = start; k < i; k++) s += String.fromCharCode(blob[k]!);
  return [s, i + 1];
}

/** Parses a DTB (version 16 or 17) into a tree; throws FdtError on any inconsistency. */
export function decodeDtb(blob: Uint8Array): DeviceTree {
  if (blob.length < HEADER_SIZE) throw new FdtError(`blob of ${blob.length} bytes is shorter than the FDT header`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = (i: number): number => dv.getUint32(i * 4);
  const magic = h(0);
  if (magic !== FDT_MAGIC) throw new FdtError(`bad magic 0x${magic.toString(16)} (expected 0x${FDT_MAGIC.toString(16)})`);
  const total = h(1);
  const offStruct = h(2);
  const offStrings = h(3);
  const offRsv = h(4);
  const version = h(5);
  const lastComp = h(6);
  if (version < 16 || lastComp > FDT_VERSION) throw new FdtError(`unsupported FDT version ${version} (last compatible ${lastComp})`);
  if (total > blob.length || total < HEADER_SIZE) throw new FdtError(`totalsize ${total} does not fit the ${blob.length}-byte blob`);
  const sizeStrings = h(8);
  // Version 16 has no struct size; the END token then bounds the walk.
  const sizeStruct = version >= 17 ? h(9) : total - offStruct;
  const within = (off: number, size: number, what: string): void => {
    if (off < HEADER_SIZE || off + size > total) throw new FdtError(`${what} [${off}, +${size}) lies outside the blob`);
  };
  within(offStruct, sizeStruct, 'structure block');
  within(offStrings, sizeStrings, 'strings block');
  if (offRsv % 8 !== 0) throw new FdtError(`memory reservation block offset ${offRsv} is not 8-aligned`);

  const tree = new DeviceTree();
  tree.bootCpuidPhys = h(7);
  for (let o = offRsv; ; o += RSV_ENTRY_SIZE) {
    within(o, RSV_ENTRY_SIZE, 'memory reservation entry');
    const address = dv.getBigUint64(o);
    const size = dv.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    tree.memReserve.push({ address, size });
  }

  const structEnd = offStruct + sizeStruct;
  let p = offStruct;
  const token = (): number => {
    if (p + 4 > structEnd) throw new FdtError(`structure block ends without FDT_END (offset ${p})`);
    const t = dv.getUint32(p);
    p += 4;
    return t;
  };
  const align = (): void => {
    p = (p + 3) & ~3;
  };

  let t = token();
  while (t === FDT_NOP) t = token();
  if (t !== FDT_BEGIN_NODE) throw new FdtError(`structure block starts with token 0x${t.toString(16)}, expected FDT_BEGIN_NODE`);
  const [rootName, afterRoot] = readCString(blob, p, structEnd, 'root node name');
  if (rootName !== '') throw new FdtError(`root node has name ${JSON.stringify(rootName)}`);
  p = afterRoot;
  align();
  const stack: FdtNode[] = [tree.root];
  const hasChildren = new Set<FdtNode>();
  for (;;) {
    t = token();
    if (t === FDT_NOP) continue;
    if (t === FDT_END) {
      if (stack.length !== 0) throw new FdtError('FDT_END inside an open node');
      break;
    }
    const cur = stack[stack.length - 1];
    if (!cur) throw new FdtError(`token 0x${t.toString(16)} after the root node was closed`);
    if (t === FDT_BEGIN_NODE) {
      const [name, next] = readCString(blob, p, structEnd, 'node name');
      p = next;
      align();
      if (cur.getChild(name)) throw new FdtError(`duplicate node ${JSON.stringify(name)}`);
      const n = new FdtNode(name);
      cur.children.push(n);
      hasChildren.add(cur);
      stack.push(n);
    } else if (t === FDT_END_NODE) {
      stack.pop();
    } else if (t === FDT_PROP) {
      const len = token();
      const nameoff = token();
      if (hasChildren.has(cur)) throw new FdtError(`property after a subnode in ${JSON.stringify(cur.name)}`);
      if (nameoff >= sizeStrings) throw new FdtError(`property name offset ${nameoff} is outside the strings block`);
      const [name] = readCString(blob, offStrings + nameoff, offStrings + sizeStrings, 'property name');
      if (p + len > structEnd) throw new FdtError(`property ${name} runs past the structure block`);
      if (cur.hasProp(name)) throw new FdtError(`duplicate property ${name} in ${JSON.stringify(cur.name)}`);
      cur.properties.push({ name, value: blob.slice(p, p + len) });
      p += len;
      align();
    } else {
      throw new FdtError(`unknown structure token 0x${t.toString(16)} at offset ${p - 4}`);
    }
  }
  return tree;
}
