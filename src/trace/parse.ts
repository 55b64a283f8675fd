/**
 * Parses lines of QEMU 7.2's "log" trace backend back into trace events.
 *
 * The parser walks the same compiled templates the formatter prints from (format.ts) and accepts
 * only the canonical text printf would produce (no stray leading zeros, lowercase hex, exact
 * padding, values that fit the C argument type). That makes every accepted line round-trip:
 * `formatTraceEvent(parseTraceLine(line).event) === line`, so a replay can compare lines or
 * events interchangeably.
 *
 * It runs over whole captures, so it scans with charCodeAt instead of regular expressions:
 * numbers are accumulated in place and nothing is allocated on the way except the event itself
 * (and the substrings of `%s` fields).
 */

import type { TraceEvent } from './events.ts';
import { TEMPLATES, TOK_LIT, type ConvTok, type EventTemplate, type LitTok, type Tok } from './format.ts';

/**
 * One line of a QEMU trace log: a known event, another event (by name), a blank line, or a
 * malformed one.
 */
export type ParsedLine =
  | { kind: 'event'; event: TraceEvent }
  | { kind: 'other'; name: string }
  | { kind: 'blank' }
  | { kind: 'bad'; reason: string };

/**
 * Names of the QEMU trace events the parser turns into events. `guest_error` is not among them:
 * guest-error messages carry no event name, so they cannot be recognised from the text.
 */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(TEMPLATES.keys());

// Module-local copies: some loaders turn imported bindings into getter calls, which shows up on a
// path that runs once per field of every line.
const templates = TEMPLATES;
const LIT: typeof TOK_LIT = TOK_LIT;

const BLANK: ParsedLine = Object.freeze({ kind: 'blank' });
const NOT_TRACE: ParsedLine = Object.freeze({ kind: 'bad', reason: 'not a trace line' });
const NO_NAME: ParsedLine = Object.freeze({ kind: 'bad', reason: 'no event name after the timestamp' });

// One frozen result per event, so rejecting a line allocates nothing.
const MISMATCH = new Map<string, ParsedLine>();
for (const t of templates.values()) {
  MISMATCH.set(t.name, Object.freeze({ kind: 'bad', reason: `${t.name}: message does not match "${t.fmt}"` }));
}

/**
 * Templates by a hash of the event name, computed while the name is scanned: looking a name up
 * this way needs neither the name as a string nor hashing it (a string hash per line showed in
 * profiles of whole-capture parsing). Several names can share a hash; each is compared in place.
 */
const BY_HASH = new Map<number, EventTemplate[]>();
for (const t of templates.values()) {
  let h = 0;
  for (let k = 0; k < t.name.length; k++) h = nameHashStep(h, t.name.charCodeAt(k));
  const list = BY_HASH.get(h);
  if (list === undefined) BY_HASH.set(h, [t]);
  else list.push(t);
}

function nameHashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + c) | 0;
}

/** The template whose name is line[start, end), or undefined. */
function templateAt(line: string, start: number, end: number, h: number): EventTemplate | undefined {
  const list = BY_HASH.get(h);
  if (list === undefined) return undefined;
  const n = end - start;
  for (let j = 0; j < list.length; j++) {
    const t = list[j]!;
    const name = t.name;
    if (name.length !== n) continue;
    let k = 0;
    while (k < n && name.charCodeAt(k) === line.charCodeAt(start + k)) k++;
    if (k === n) return t;
  }
  return undefined;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const UINT32_MAX = 0xffff_ffff;

// Small bigints are the common case (flags, priorities, ESB values); sharing them spares a heap
// allocation per field.
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

/**
 * Larger values recur too (TIMA offsets, ESB addresses, queue pages): a capture holds a few
 * thousand distinct ones over tens of thousands of lines. Sharing them keeps a parsed capture
 * from holding one heap bigint per field, which the garbage collector would copy and promote.
 * Bounded, so that parsing arbitrary text cannot grow it without limit.
 */
const BIGINT_CACHE = new Map<number, bigint>();
const BIGINT_CACHE_MAX = 1 << 14;

function sharedBigInt(v: number): bigint {
  let b = BIGINT_CACHE.get(v);
  if (b === undefined) {
    b = BigInt(v);
    if (BIGINT_CACHE.size < BIGINT_CACHE_MAX) BIGINT_CACHE.set(v, b);
  }
  return b;
}

/** Value of the last successful scan (number or bigint), read right after the scan returns. */
let scanned: number | bigint = 0;

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Hex digits at `pos`, at least `width` of them (zero padding), no leading zero beyond that,
 * at most `max`. Returns the end position or -1.
 */
function scanHex(line: string, pos: number, width: number, max: number): number {
  const len = line.length;
  let i = pos;
  let v = 0;
  while (i < len) {
    const d = hexDigit(line.charCodeAt(i));
    if (d < 0) break;
    // Exact up to 13 digits (52 bits); longer ones are redone with BigInt below.
    v = v * 16 + d;
    i++;
  }
  const n = i - pos;
  const min = width > 1 ? width : 1;
  if (n < min || n > max) return -1;
  if (n > min && line.charCodeAt(pos) === 48) return -1;
  if (max > 8) {
    if (n <= 2 && v < 256) scanned = SMALL_BIGINTS[v] as bigint;
    else scanned = n <= 13 ? sharedBigInt(v) : BigInt(`0x${line.slice(pos, i)}`);
  } else {
    scanned = v;
  }
  return i;
}

/**
 * A decimal number at `pos`, right-aligned with spaces to `width` characters, canonical
 * (no leading zeros, no "-0"), within [lo, hi]. Returns the end position or -1.
 */
function scanDec(line: string, pos: number, width: number, lo: number, hi: number): number {
  const len = line.length;
  let i = pos;
  if (width > 0) while (i < len && line.charCodeAt(i) === 32) i++;
  const spaces = i - pos;
  const neg = lo < 0 && i < len && line.charCodeAt(i) === 45;
  if (neg) i++;
  const start = i;
  let v = 0;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
    if (i - start > 16) return -1;
  }
  const n = i - start;
  if (n === 0) return -1;
  if (n > 1 && line.charCodeAt(start) === 48) return -1;
  if (neg) {
    if (v === 0) return -1;
    v = -v;
  }
  if (v < lo || v > hi) return -1;
  const text = n + (neg ? 1 : 0);
  if (spaces !== (width > text ? width - text : 0)) return -1;
  scanned = v;
  return i;
}

/** Turns the printed C value back into the field value; undefined if no field value prints so. */
function toField(t: ConvTok, c: number): number | boolean | undefined {
  switch (t.ctype) {
    case 'u8':
      return c >= 0 && c <= 0xff ? c : undefined;
    case 'u16':
      return c >= 0 && c <= 0xffff ? c : undefined;
    case 'u32':
      return c >>> 0;
    case 'int':
      return c | 0;
    case 'bool':
      return c === 0 ? false : c === 1 ? true : undefined;
    default:
      return undefined;
  }
}

/** Matches tokens `ti..` of `t` against `line` from `pos` to its end, filling `out`. */
function matchFrom(t: EventTemplate, ti: number, line: string, pos: number, out: Record<string, unknown>): boolean {
  const toks = t.toks;
  for (; ti < toks.length; ti++) {
    const tok = toks[ti] as Tok;
    if (tok.kind === LIT) {
      if (!line.startsWith(tok.text, pos)) return false;
      pos += tok.text.length;
      continue;
    }
    let end: number;
    switch (tok.conv) {
      case 's': {
        // The string ends where the following text starts; try the last occurrence first so a
        // string that happens to contain that text still parses as it was printed.
        const next = (toks[ti + 1] as LitTok).text;
        let p = line.lastIndexOf(next);
        while (p >= pos) {
          if (matchFrom(t, ti + 1, line, p, out)) {
            out[tok.field] = line.slice(pos, p);
            return true;
          }
          if (p === 0) break;
          p = line.lastIndexOf(next, p - 1);
        }
        return false;
      }
      case 'llx':
        end = scanHex(line, pos, 0, 16);
        if (end < 0) return false;
        out[tok.field] = scanned;
        break;
      case 'ld':
        end = scanDec(line, pos, 0, 0, Number.MAX_SAFE_INTEGER);
        if (end < 0) return false;
        out[tok.field] = scanned;
        break;
      default: {
        // 'x' and 'u' print the argument as unsigned 32-bit, 'd' as signed.
        end =
          tok.conv === 'x'
            ? scanHex(line, pos, tok.width, 8)
            : tok.conv === 'u'
              ? scanDec(line, pos, tok.width, 0, UINT32_MAX)
              : scanDec(line, pos, tok.width, INT32_MIN, INT32_MAX);
        if (end < 0) return false;
        const v = toField(tok, scanned as number);
        if (v === undefined) return false;
        out[tok.field] = v;
      }
    }
    pos = end;
  }
  return pos === line.length;
}

function isEventNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Length of a `-msg timestamp=on` prefix (`<tid>@<sec>.<usec>:`) at the line start, else 0. */
function timestampLength(line: string): number {
  const len = line.length;
  let i = 0;
  while (i < len && isDigit(line.charCodeAt(i))) i++;
  if (i === 0 || i >= len || line.charCodeAt(i) !== 64) return 0; // '@'
  const sec = ++i;
  while (i < len && isDigit(line.charCodeAt(i))) i++;
  if (i === sec || i >= len || line.charCodeAt(i) !== 46) return 0; // '.'
  const usec = ++i;
  while (i < len && isDigit(line.charCodeAt(i))) i++;
  if (i - usec !== 6 || i >= len || line.charCodeAt(i) !== 58) return 0; // ':'
  return i + 1;
}

/** Classifies one log line (without its newline) and decodes the events of the union. */
export function parseTraceLine(line: string): ParsedLine {
  const len = line.length;
  if (len === 0) return BLANK;
  const first = line.charCodeAt(0);
  if (first === 32 || first === 9 || first === 13) return /^\s*$/.test(line) ? BLANK : NOT_TRACE;
  const start = isDigit(first) ? timestampLength(line) : 0;
  let i = start;
  let h = 0;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (!isEventNameChar(c)) break;
    h = nameHashStep(h, c);
    i++;
  }
  if (i === start) return start > 0 ? NO_NAME : NOT_TRACE;
  if (i < len && line.charCodeAt(i) !== 32) return NOT_TRACE;
  const t = templateAt(line, start, i, h);
  if (t === undefined) return { kind: 'other', name: line.slice(start, i) };
  const name = t.name;
  if (i === len) return MISMATCH.get(name) as ParsedLine;
  const out: Record<string, unknown> = { name };
  if (!matchFrom(t, 0, line, i + 1, out)) return MISMATCH.get(name) as ParsedLine;
  return { kind: 'event', event: out as unknown as TraceEvent };
}

// ---- Byte-level parsing -------------------------------------------------------------------------
//
// A streaming replay reads gigabytes of log: it parses each line straight from the bytes it was
// read into, and keeps the numbers in a typed array rather than in an event object, so that a
// line costs no allocation. The rules are those of parseTraceLine above (the same templates, the
// same canonical forms): a line is accepted by one exactly when it is accepted by the other.

/** Every template, in a fixed order: a line's template is kept as its index here. */
export const TEMPLATE_LIST: readonly EventTemplate[] = [...templates.values()];

/** Most fields of any event (the width of a line's slot in a field array). */
export const MAX_FIELDS = Math.max(...TEMPLATE_LIST.map((t) => t.convs.length));

const INDEX_BY_NAME = new Map<string, number>(TEMPLATE_LIST.map((t, i) => [t.name, i]));

/** Index in TEMPLATE_LIST of an event name, or -1. */
export function templateIndex(name: string): number {
  return INDEX_BY_NAME.get(name) ?? -1;
}

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

/** Literal tokens as byte arrays (all the formats are ASCII). */
const LIT_BYTES: readonly (readonly (Uint8Array | null)[])[] = TEMPLATE_LIST.map((t) =>
  t.toks.map((tok) => (tok.kind === LIT ? new TextEncoder().encode(tok.text) : null)),
);

const BYTE_BY_HASH = new Map<number, number[]>();
for (let i = 0; i < TEMPLATE_LIST.length; i++) {
  const name = TEMPLATE_LIST[i]!.name;
  let h = 0;
  for (let k = 0; k < name.length; k++) h = nameHashStep(h, name.charCodeAt(k));
  const list = BYTE_BY_HASH.get(h);
  if (list === undefined) BYTE_BY_HASH.set(h, [i]);
  else list.push(i);
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
function fieldNumber(t: ConvTok, c: number): number {
  switch (t.ctype) {
    case 'u8':
      return c >= 0 && c <= 0xff ? c : NaN;
    case 'u16':
      return c >= 0 && c <= 0xffff ? c : NaN;
    case 'u32':
      return c >>> 0;
    case 'int':
      return c | 0;
    case 'bool':
      return c === 0 || c === 1 ? c : NaN;
    default:
      return NaN;
  }
}

/** Matches the message of template `ti` against b[pos, end), numbers into out[base..]. */
function matchBytes(ti: number, b: Uint8Array, pos: number, end: number, out: Float64Array, base: number): boolean {
  const toks = TEMPLATE_LIST[ti]!.toks;
  const lits = LIT_BYTES[ti]!;
  let f = base;
  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k] as Tok;
    if (tok.kind === LIT) {
      const lit = lits[k]!;
      const n = lit.length;
      if (pos + n > end) return false;
      for (let j = 0; j < n; j++) if (b[pos + j] !== lit[j]) return false;
      pos += n;
      continue;
    }
    let e: number;
    switch (tok.conv) {
      case 'llx':
        e = scanHexB(b, pos, end, 0, 16);
        if (e < 0) return false;
        out[f++] = bytesScanned;
        break;
      case 'ld':
        e = scanDecB(b, pos, end, 0, 0, Number.MAX_SAFE_INTEGER);
        if (e < 0) return false;
        out[f++] = bytesScanned;
        break;
      case 's':
        return false; // templates with strings go through parseTraceLine
      default: {
        e =
          tok.conv === 'x'
            ? scanHexB(b, pos, end, tok.width, 8)
            : tok.conv === 'u'
              ? scanDecB(b, pos, end, tok.width, 0, UINT32_MAX)
              : scanDecB(b, pos, end, tok.width, INT32_MIN, INT32_MAX);
        if (e < 0) return false;
        const v = fieldNumber(tok, bytesScanned);
        if (v !== v) return false;
        out[f++] = v;
      }
    }
    pos = e;
  }
  return pos === end;
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
  const list = BYTE_BY_HASH.get(h);
  let ti = -1;
  if (list !== undefined) {
    const n = i - s;
    for (let j = 0; j < list.length && ti < 0; j++) {
      const name = TEMPLATE_LIST[list[j]!]!.name;
      if (name.length !== n) continue;
      let k = 0;
      while (k < n && name.charCodeAt(k) === b[s + k]) k++;
      if (k === n) ti = list[j]!;
    }
  }
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

/** The reason parseTraceLine gives for a malformed line of template `ti`. */
export function malformedReason(ti: number): string {
  return (MISMATCH.get(TEMPLATE_LIST[ti]!.name) as { reason: string }).reason;
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
