/**
 * Parses lines of QEMU 7.2's "log" trace backend straight from bytes, as a streaming replay reads
 * gigabytes of log: each line is parsed from the bytes it was read into, and its numbers go to a
 * typed array rather than to an event object, so that a line costs no allocation. The rules are
 * those of parseTraceLine (parse.ts: the same templates, the same canonical forms): a line is
 * accepted by one exactly when it is accepted by the other.
 */
import type { TraceEvent } from './events.ts';
import { TOK_LIT } from './format.ts';
import {
  INT32_MAX,
  INT32_MIN,
  SMALL_BIGINTS,
  TEMPLATE_LIST,
  UINT32_MAX,
  nameHashStep,
  parseTraceLine,
  sharedBigInt,
} from './parse.ts';

const LIT: typeof TOK_LIT = TOK_LIT;

/** Most fields of any event (the width of a line's slot in a field array). */
export const MAX_FIELDS = Math.max(...TEMPLATE_LIST.map((t) => t.convs.length));

/** What parseLineBytes found, when not an event of TEMPLATE_LIST (those give their index). */
export const LINE_BLANK = -1;
/** A line of another subsystem: an event name, then a space or the end of the line. */
export const LINE_OTHER = -2;
/** Plain log text (no event name where one would start). */
export const LINE_TEXT = -3;
/** A known event whose message does not match its format (reason: MISMATCH of its name). */
export const LINE_MALFORMED = -4;
/** A timestamp prefix and no event name after it. */
export const LINE_NO_NAME = -5;

/**
 * Template names by hash, in an open-addressed table of typed arrays (linear probing): every
 * line's name is looked up, and a Map of arrays costs a hash-map probe and an array walk each.
 */
const NAME_SLOTS = 1 << Math.ceil(Math.log2(TEMPLATE_LIST.length * 4));
const NAME_HASH = new Int32Array(NAME_SLOTS);
const NAME_TI = new Int16Array(NAME_SLOTS).fill(-1);
const NAME_BYTES: readonly Uint8Array[] = TEMPLATE_LIST.map((t) => new TextEncoder().encode(t.name));
for (let i = 0; i < TEMPLATE_LIST.length; i++) {
  const name = TEMPLATE_LIST[i]!.name;
  let h = 0;
  for (let k = 0; k < name.length; k++) h = nameHashStep(h, name.charCodeAt(k));
  let slot = h & (NAME_SLOTS - 1);
  while (NAME_TI[slot]! >= 0) slot = (slot + 1) & (NAME_SLOTS - 1);
  NAME_HASH[slot] = h;
  NAME_TI[slot] = i;
}

/** Start and end of the event name found by the last parseLineBytes (for LINE_OTHER/malformed). */
export const lastName = { start: 0, end: 0, hash: 0 };

/**
 * Position just past `width`-padded hex digits at `pos` (canonical as scanHex), or -1. The value
 * goes to `bytesScanned`: a number, exact up to 13 digits; NaN beyond (the caller reads the text).
 */
let bytesScanned = 0;

function scanHexB(b: Uint8Array, pos: number, end: number, width: number, max: number): number {
  let i = pos;
  let v = 0;
  while (i < end) {
    const c = b[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else break;
    v = v * 16 + d;
    i++;
  }
  const n = i - pos;
  const min = width > 1 ? width : 1;
  if (n < min || n > max) return -1;
  if (n > min && b[pos] === 48) return -1;
  bytesScanned = n <= 13 ? v : NaN;
  return i;
}

function scanDecB(b: Uint8Array, pos: number, end: number, width: number, lo: number, hi: number): number {
  let i = pos;
  if (width > 0) while (i < end && b[i] === 32) i++;
  const spaces = i - pos;
  const neg = lo < 0 && i < end && b[i] === 45;
  if (neg) i++;
  const start = i;
  let v = 0;
  while (i < end) {
    const c = b[i]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
    if (i - start > 16) return -1;
  }
  const n = i - start;
  if (n === 0) return -1;
  if (n > 1 && b[start] === 48) return -1;
  if (neg) {
    if (v === 0) return -1;
    v = -v;
  }
  if (v < lo || v > hi) return -1;
  const text = n + (neg ? 1 : 0);
  if (spaces !== (width > text ? width - text : 0)) return -1;
  bytesScanned = v;
  return i;
}

/** Field value of a printed C value, as a number (booleans 0/1); NaN if no field value prints so. */
function fieldNumber(ctype: number, c: number): number {
  switch (ctype) {
    case CT_U8:
      return c >= 0 && c <= 0xff ? c : NaN;
    case CT_U16:
      return c >= 0 && c <= 0xffff ? c : NaN;
    case CT_U32:
      return c >>> 0;
    case CT_INT:
      return c | 0;
    case CT_BOOL:
      return c === 0 || c === 1 ? c : NaN;
    default:
      return NaN;
  }
}

/*
 * Each template's message compiled to a flat program of small integers, three a step: the
 * matcher runs on every line of a log, and reading integer opcodes from one typed array keeps it
 * monomorphic where walking the token objects compared strings per field.
 */
const OP_LIT = 0; // literal bytes: pool offset, length
const OP_LLX = 1; // %llx
const OP_LD = 2; // %ld
const OP_STR = 3; // %s (never matched here)
const OP_HEX = 4; // %x: width, C type
const OP_UDEC = 5; // %u: width, C type
const OP_SDEC = 6; // %d: width, C type
const CT_U8 = 0;
const CT_U16 = 1;
const CT_U32 = 2;
const CT_INT = 3;
const CT_BOOL = 4;
const CT_OTHER = 5;
const CTYPE_CODE: Readonly<Record<string, number>> = { u8: CT_U8, u16: CT_U16, u32: CT_U32, int: CT_INT, bool: CT_BOOL };

const LIT_POOL_BYTES: number[] = [];
const PROGRAMS: readonly Int32Array[] = TEMPLATE_LIST.map((t) => {
  const prog: number[] = [];
  for (const tok of t.toks) {
    if (tok.kind === LIT) {
      const bytes = new TextEncoder().encode(tok.text);
      prog.push(OP_LIT, LIT_POOL_BYTES.length, bytes.length);
      for (const x of bytes) LIT_POOL_BYTES.push(x);
      continue;
    }
    const ct = CTYPE_CODE[tok.ctype] ?? CT_OTHER;
    switch (tok.conv) {
      case 'llx':
        prog.push(OP_LLX, 0, 0);
        break;
      case 'ld':
        prog.push(OP_LD, 0, 0);
        break;
      case 's':
        prog.push(OP_STR, 0, 0);
        break;
      case 'x':
        prog.push(OP_HEX, tok.width, ct);
        break;
      case 'u':
        prog.push(OP_UDEC, tok.width, ct);
        break;
      default:
        prog.push(OP_SDEC, tok.width, ct);
    }
  }
  return Int32Array.from(prog);
});
const LIT_POOL = Uint8Array.from(LIT_POOL_BYTES);

/** Matches the message of template `ti` against b[pos, end), numbers into out[base..]. */
function matchBytes(ti: number, b: Uint8Array, pos: number, end: number, out: Float64Array, base: number): boolean {
  return matchBytesFrom(ti, b, pos, end, out, base) === end;
}

/**
 * Matches the message of template `ti` at b[pos..] (reading no further than `end`), numbers into
 * out[base..]: where the message ends, or -1.
 */
function matchBytesFrom(ti: number, b: Uint8Array, pos: number, end: number, out: Float64Array, base: number): number {
  const prog = PROGRAMS[ti]!;
  const pool = LIT_POOL;
  let f = base;
  for (let k = 0; k < prog.length; k += 3) {
    const op = prog[k]!;
    if (op === OP_LIT) {
      const at = prog[k + 1]!;
      const n = prog[k + 2]!;
      if (pos + n > end) return -1;
      for (let j = 0; j < n; j++) if (b[pos + j] !== pool[at + j]) return -1;
      pos += n;
      continue;
    }
    let e: number;
    switch (op) {
      case OP_LLX:
        e = scanHexB(b, pos, end, 0, 16);
        if (e < 0) return -1;
        out[f++] = bytesScanned;
        break;
      case OP_LD:
        e = scanDecB(b, pos, end, 0, 0, Number.MAX_SAFE_INTEGER);
        if (e < 0) return -1;
        out[f++] = bytesScanned;
        break;
      case OP_STR:
        return -1; // templates with strings go through parseTraceLine
      default: {
        const width = prog[k + 1]!;
        e =
          op === OP_HEX
            ? scanHexB(b, pos, end, width, 8)
            : op === OP_UDEC
              ? scanDecB(b, pos, end, width, 0, UINT32_MAX)
              : scanDecB(b, pos, end, width, INT32_MIN, INT32_MAX);
        if (e < 0) return -1;
        const v = fieldNumber(prog[k + 2]!, bytesScanned);
        if (v !== v) return -1;
        out[f++] = v;
      }
    }
    pos = e;
  }
  return pos;
}

const latin1 = new TextDecoder('latin1');

/**
 * Classifies the line b[start, end) (no newline) like parseTraceLine, without building anything:
 * the index of its template in TEMPLATE_LIST, with the field values in out[base..] (numbers;
 * booleans as 0 and 1; a 64-bit value of more than 13 hex digits as NaN), or one of the LINE_*
 * codes. The name of an other-subsystem or malformed line is left in `lastName`.
 */
export function parseLineBytes(b: Uint8Array, start: number, end: number, out: Float64Array, base: number): number {
  if (start === end) return LINE_BLANK;
  const first = b[start]!;
  if (first === 32 || first === 9 || first === 13) {
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (!(c === 32 || (c >= 9 && c <= 13))) return LINE_TEXT;
    }
    return LINE_BLANK;
  }
  let s = start;
  if (first >= 48 && first <= 57) s = start + timestampLengthB(b, start, end);
  let i = s;
  let h = 0;
  while (i < end) {
    const c = b[i]!;
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) break;
    h = (Math.imul(h, 31) + c) | 0;
    i++;
  }
  if (i === s) return s > start ? LINE_NO_NAME : LINE_TEXT;
  if (i < end && b[i] !== 32) return LINE_TEXT;
  lastName.start = s;
  lastName.end = i;
  lastName.hash = h;
  const ti = templateOfName(b, s, i, h);
  if (ti < 0) return LINE_OTHER;
  if (i === end) return LINE_MALFORMED;
  if (TEMPLATE_LIST[ti]!.hasString) {
    // Rare lines (PCI); the string parser finds where a string ends.
    const p = parseTraceLine(latin1.decode(b.subarray(start, end)));
    if (p.kind !== 'event') return LINE_MALFORMED;
    return ti;
  }
  return matchBytes(ti, b, i + 1, end, out, base) ? ti : LINE_MALFORMED;
}

/** Template index of the event name b[s..e) whose hash is h, or -1 when no template has that name. */
function templateOfName(b: Uint8Array, s: number, e: number, h: number): number {
  const n = e - s;
  for (let slot = h & (NAME_SLOTS - 1); NAME_TI[slot]! >= 0; slot = (slot + 1) & (NAME_SLOTS - 1)) {
    if (NAME_HASH[slot] !== h) continue;
    const cand = NAME_TI[slot]!;
    const name = NAME_BYTES[cand]!;
    if (name.length !== n) continue;
    let k = 0;
    while (k < n && name[k] === b[s + k]) k++;
    if (k === n) return cand;
  }
  return -1;
}

/** Where the line the last parseEventLine accepted ends: its newline, and its end before any CR. */
export const lastLine = { nl: 0, end: 0 };

/**
 * The common case of parseLineBytes, with no need to know where the line ends beforehand: an
 * event of a template without strings, whose message is followed by a newline (LF or CR LF)
 * before `limit`. Gives its template index (the fields in out[base..], the end in `lastLine`),
 * or -1 for any other line, which then goes through parseLineBytes. For the lines it accepts, it
 * finds what parseLineBytes finds on the line up to that newline: the newline cannot be part of
 * a name, a number or a literal (no format holds one), so every scan stops there alike.
 */
export function parseEventLine(b: Uint8Array, start: number, limit: number, out: Float64Array, base: number): number {
  if (start >= limit) return -1;
  const first = b[start]!;
  let s = start;
  if (first >= 48 && first <= 57) s = start + timestampLengthB(b, start, limit);
  let i = s;
  let h = 0;
  while (i < limit) {
    const c = b[i]!;
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) break;
    h = (Math.imul(h, 31) + c) | 0;
    i++;
  }
  if (i === s || i >= limit || b[i] !== 32) return -1;
  const ti = templateOfName(b, s, i, h);
  if (ti < 0 || TEMPLATE_LIST[ti]!.hasString) return -1;
  const p = matchBytesFrom(ti, b, i + 1, limit, out, base);
  if (p < 0 || p >= limit) return -1;
  if (b[p] === 10) {
    lastLine.nl = p;
    lastLine.end = p;
    return ti;
  }
  if (b[p] === 13 && p + 1 < limit && b[p + 1] === 10) {
    lastLine.nl = p + 1;
    lastLine.end = p;
    return ti;
  }
  return -1;
}

function timestampLengthB(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === start || i >= end || b[i] !== 64) return 0;
  const sec = ++i;
  while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === sec || i >= end || b[i] !== 46) return 0;
  const usec = ++i;
  while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i - usec !== 6 || i >= end || b[i] !== 58) return 0;
  return i + 1 - start;
}

/**
 * The event of a line that parseLineBytes accepted with template `ti` and fields in f[base..]:
 * built from the numbers, or from the text when a value did not fit one (`text` is called then).
 */
export function eventFromFields(ti: number, f: Float64Array, base: number, text: () => string): TraceEvent {
  const t = TEMPLATE_LIST[ti]!;
  if (t.hasString) return (parseTraceLine(text()) as { event: TraceEvent }).event;
  const convs = t.convs;
  const out: Record<string, unknown> = { name: t.name };
  for (let k = 0; k < convs.length; k++) {
    const c = convs[k]!;
    const v = f[base + k]!;
    if (c.conv === 'llx') {
      if (v !== v) return (parseTraceLine(text()) as { event: TraceEvent }).event;
      out[c.field] = v < 256 ? SMALL_BIGINTS[v] : sharedBigInt(v);
    } else if (c.ctype === 'bool') out[c.field] = v === 1;
    else out[c.field] = v;
  }
  return out as unknown as TraceEvent;
}
