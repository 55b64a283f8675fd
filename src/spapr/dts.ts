/**
 * DTS (device tree source) text of a device tree, printed the way `dtc -I dtb -O dts` prints it
 * (cells, strings and byte arrays guessed from the bytes as dtc does), for humans to read.
 */
import { readU32Cells, type DeviceTree, type FdtNode } from './fdt.ts';

// ---- DTS text ---------------------------------------------------------------------------------

const hex = (v: number | bigint, width: number): string => v.toString(16).padStart(width, '0');

/** Printable ASCII, as `isprint` in the C locale. */
const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;
/** Control characters that have a C escape sequence. */
const C_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0b, '\\v'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
]);

/**
 * A DTB carries no types, so (like dtc) the text form guesses one per value: strings when the
 * value ends in NUL, holds only printable characters, escapes and NULs, and has at least as
 * many text characters as NULs; else 32-bit cells when the length is a multiple of 4; else bytes.
 */
function formatValue(v: Uint8Array): string {
  let nul = 0;
  let notString = 0;
  for (const c of v) {
    if (c === 0) nul++;
    else if (!isPrint(c) && !C_ESCAPES.has(c)) notString++;
  }
  if (v.length > 0 && v[v.length - 1] === 0 && notString === 0 && nul <= v.length - nul) {
    let s = '"';
    for (let i = 0; i < v.length - 1; i++) {
      const c = v[i]!;
      if (c === 0) s += '\\0';
      else if (c === 0x22) s += '\\"';
      else if (c === 0x5c) s += '\\\\';
      else if (C_ESCAPES.has(c)) s += C_ESCAPES.get(c)!;
      else s += String.fromCharCode(c);
    }
    return `${s}"`;
  }
  if (v.length % 4 === 0) return `<${readU32Cells(v).map((c) => `0x${hex(c, 2)}`).join(' ')}>`;
  return `[${Array.from(v, (b) => hex(b, 2)).join(' ')}]`;
}

/** The tree as DTS text laid out like `dtc -I dtb -O dts` prints it (tabs, blank line before each subnode). */
export function toDts(tree: DeviceTree): string {
  let out = '/dts-v1/;\n\n';
  for (const e of tree.memReserve) out += `/memreserve/\t0x${hex(e.address, 16)} 0x${hex(e.size, 16)};\n`;
  const write = (n: FdtNode, depth: number): void => {
    const ind = '\t'.repeat(depth);
    out += `${ind}${depth === 0 ? '/' : n.name} {\n`;
    for (const p of n.properties) {
      out += p.value.length === 0 ? `${ind}\t${p.name};\n` : `${ind}\t${p.name} = ${formatValue(p.value)};\n`;
    }
    for (const c of n.children) {
      out += '\n';
      write(c, depth + 1);
    }
    out += `${ind}};\n`;
  };
  write(tree.root, 0);
  return out;
}
