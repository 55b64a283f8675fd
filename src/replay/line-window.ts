/**
 * The lines of a trace log as a replay reads them: a sliding window over a stream of bytes, in
 * constant memory whatever the length of the log.
 *
 * Bytes are written straight into one buffer (`room` / `commit`, so a file can be read into it
 * with no copy); each line is parsed once, as soon as it is complete, into typed arrays (its
 * template, its numbers, where its bytes are). A line is dropped once the replay has gone past
 * it. The replay looks ahead of the line it is at, never behind; how far ahead it may look is
 * bounded (LOOKAHEAD_LINES lines, LOOKAHEAD_BYTES bytes), which also bounds the memory.
 */
import {
  LINE_BLANK,
  LINE_MALFORMED,
  LINE_OTHER,
  MAX_FIELDS,
  eventFromFields,
  lastName,
  parseLineBytes,
} from '../trace/parse.ts';
import type { TraceEvent } from '../trace/events.ts';

/** Lines past the current one the replay may read (the reference captures need under 2,000). */
export const LOOKAHEAD_LINES = 1 << 16;
/** Bytes of log past the start of the current line the replay may read. */
export const LOOKAHEAD_BYTES = 32 << 20;
/** Longest line taken (QEMU's are under 300 bytes): a longer one is not a trace log. */
export const MAX_LINE_BYTES = 1 << 20;
/** Lines kept at once: the lookahead, and as many again parsed ahead of it. */
const CAPACITY = LOOKAHEAD_LINES * 2;
/** Slots to start with: a short log (a test, a seek) does not pay for the whole window. */
const FIRST_SLOTS = 4096;

/** Line codes below 0 (template indices are 0 and up), as parse.ts gives them. */
export { LINE_BLANK, LINE_MALFORMED, LINE_OTHER };
/** A line holding a NUL byte: binary data, no text log. */
export const LINE_BINARY = -6;

const utf8 = new TextDecoder('utf-8');

export class LineWindow {
  private buf = new Uint8Array(1 << 16);
  /** Stream offset of buf[0]. */
  private bufBase = 0;
  /** Bytes in buf (valid data ends at buf[fill]). */
  private fill = 0;
  /** Where the scan for the next line starts (an index in buf). */
  private scan = 0;
  /** Stream offset where the line being scanned starts. */
  private lineStart = 0;
  private ended = false;
  /** Set when a line grew longer than MAX_LINE_BYTES: its 0-based number. */
  overlong = -1;

  /** Lines parsed so far (the next line number to parse, 0-based). */
  count = 0;
  /** First line still kept (the replay's position: nothing before it is read again). */
  first = 0;

  /** Line slots (a power of two, grown up to CAPACITY): line i is in slot i & mask. */
  private mask = FIRST_SLOTS - 1;
  private off = new Float64Array(FIRST_SLOTS);
  private len = new Int32Array(FIRST_SLOTS);
  private code = new Int16Array(FIRST_SLOTS);
  /** Interned name of an other-subsystem or malformed line (index in `names`). */
  private nameId = new Int32Array(FIRST_SLOTS);
  /** The numbers of each line, MAX_FIELDS a line (read it again after a parse: it may be replaced). */
  fields = new Float64Array(FIRST_SLOTS * MAX_FIELDS);
  /** Names of other-subsystem lines, interned (a log has few distinct ones). */
  readonly names: string[] = [];
  private readonly nameByHash = new Map<number, number[]>();

  /**
   * Starts the window at line `line` of a log whose bytes from stream offset `offset` on are
   * written next (a replay resumed from a checkpoint): line numbers and offsets stay those of
   * the whole log. Only before anything is written.
   */
  startAt(line: number, offset: number): void {
    this.count = line;
    this.first = line;
    this.bufBase = offset;
    this.lineStart = offset;
  }

  /** Bytes taken in so far (with a window started at an offset, counted from the log's start). */
  get bytes(): number {
    return this.bufBase + this.fill;
  }

  get atEnd(): boolean {
    return this.ended;
  }

  /**
   * A place to write at least `min` more bytes of the log (it may be larger); then call
   * commit with how many were written.
   */
  room(min: number): Uint8Array {
    if (this.buf.length - this.fill < min) this.makeRoom(min);
    return this.buf.subarray(this.fill);
  }

  private makeRoom(min: number): void {
    // Keep the bytes of the lines still needed and of the line being scanned.
    const keepFrom = Math.min(this.firstOffset(), this.lineStart) - this.bufBase;
    const keep = this.fill - keepFrom;
    let size = this.buf.length;
    while (size - keep < min) size *= 2;
    if (size !== this.buf.length) {
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(keepFrom, this.fill));
      this.buf = next;
    } else {
      this.buf.copyWithin(0, keepFrom, this.fill);
    }
    this.bufBase += keepFrom;
    this.fill = keep;
    this.scan -= keepFrom;
  }

  private firstOffset(): number {
    return this.first < this.count ? this.off[this.first & this.mask]! : this.lineStart;
  }

  /** `n` bytes were written at the start of what room() gave. */
  commit(n: number): void {
    this.fill += n;
  }

  /** Copies bytes in (for input that does not come from a file read). */
  write(bytes: Uint8Array): void {
    this.room(bytes.length).set(bytes);
    this.commit(bytes.length);
  }

  /** The input is complete: a last line without a newline still counts. */
  end(): void {
    this.ended = true;
  }

  /** Whether another line may be parsed now without going past what is kept. */
  private hasSlot(): boolean {
    if (this.count - this.first > this.mask) {
      if (this.mask + 1 >= CAPACITY) return false;
      this.grow();
    }
    return this.lineStart - this.firstOffset() < 2 * LOOKAHEAD_BYTES;
  }

  /** Twice the slots, the kept lines moved to theirs. */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const mask = size - 1;
    const off = new Float64Array(size);
    const len = new Int32Array(size);
    const code = new Int16Array(size);
    const nameId = new Int32Array(size);
    const fields = new Float64Array(size * MAX_FIELDS);
    for (let i = this.first; i < this.count; i++) {
      const a = i & this.mask;
      const b = i & mask;
      off[b] = this.off[a]!;
      len[b] = this.len[a]!;
      code[b] = this.code[a]!;
      nameId[b] = this.nameId[a]!;
      fields.set(this.fields.subarray(a * MAX_FIELDS, (a + 1) * MAX_FIELDS), b * MAX_FIELDS);
    }
    this.mask = mask;
    this.off = off;
    this.len = len;
    this.code = code;
    this.nameId = nameId;
    this.fields = fields;
  }

  /** Every byte written has been parsed into lines and no more will come. */
  get complete(): boolean {
    return this.ended && this.lineStart >= this.bufBase + this.fill;
  }

  /**
   * Whether the replay may work at line i: every line it may look at from there is parsed (or
   * the log is complete).
   */
  ready(i: number): boolean {
    if (this.complete) return true;
    if (this.count > i + LOOKAHEAD_LINES) return true;
    return this.count > i && this.endOffset(this.count - 1) - this.startOffset(i) > LOOKAHEAD_BYTES;
  }

  /**
   * One past the last line the replay may look at from line i: LOOKAHEAD_LINES lines, and no
   * line ending more than LOOKAHEAD_BYTES after line i starts. Depends on the log alone, not on
   * how it was cut into chunks.
   */
  horizon(i: number): number {
    let h = Math.min(this.count, i + LOOKAHEAD_LINES + 1);
    const limit = this.startOffset(i) + LOOKAHEAD_BYTES;
    if (h > i + 1 && this.endOffset(h - 1) > limit) {
      let lo = i + 1;
      let hi = h - 1;
      // The last line within the bytes allowed, by bisection (offsets grow with line numbers).
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.endOffset(mid) <= limit) lo = mid;
        else hi = mid - 1;
      }
      h = lo + 1;
    }
    return h;
  }

  /**
   * Parses the complete lines written so far, as long as there is a slot for them. Returns
   * whether it stopped for want of a slot (the replay must move on first).
   */
  parse(): boolean {
    const b = this.buf;
    const fill = this.fill;
    let scan = this.scan;
    // A newline just past the data stops the search there: without it, a search that finds no
    // newline in a short piece runs on through the rest of the buffer, once per piece.
    if (fill < b.length) b[fill] = 10;
    while (true) {
      if (!this.hasSlot()) {
        this.scan = scan;
        return true;
      }
      const s = this.lineStart - this.bufBase;
      let nl = b.indexOf(10, scan);
      if (nl < 0 || nl >= fill) {
        if (fill - s > MAX_LINE_BYTES && this.overlong < 0) this.overlong = this.count;
        if (!this.ended || s >= fill) {
          this.scan = fill;
          return false;
        }
        nl = fill; // the last line has no newline
      }
      let e = nl;
      if (e > s && b[e - 1] === 13) e--; // CR LF
      this.addLine(b, s, e);
      this.lineStart = this.bufBase + nl + 1;
      scan = nl + 1;
      if (nl === fill) {
        this.scan = fill;
        this.lineStart = this.bufBase + fill;
        return false;
      }
    }
  }

  private addLine(b: Uint8Array, s: number, e: number): void {
    const slot = this.count & this.mask;
    this.off[slot] = this.bufBase + s;
    this.len[slot] = e - s;
    let c = parseLineBytes(b, s, e, this.fields, slot * MAX_FIELDS);
    if (c < 0 && c !== LINE_BLANK) {
      for (let k = s; k < e; k++) {
        if (b[k] === 0) {
          c = LINE_BINARY;
          break;
        }
      }
    }
    this.code[slot] = c;
    if (c === LINE_OTHER || c === LINE_MALFORMED) this.nameId[slot] = this.intern(b, lastName.start, lastName.end, lastName.hash);
    this.count++;
  }

  private intern(b: Uint8Array, s: number, e: number, h: number): number {
    const list = this.nameByHash.get(h);
    if (list !== undefined) {
      for (const id of list) {
        const name = this.names[id]!;
        if (name.length !== e - s) continue;
        let k = 0;
        while (k < name.length && name.charCodeAt(k) === b[s + k]) k++;
        if (k === name.length) return id;
      }
    }
    const id = this.names.length;
    let name = '';
    for (let k = s; k < e; k++) name += String.fromCharCode(b[k]!);
    this.names.push(name);
    if (list === undefined) this.nameByHash.set(h, [id]);
    else list.push(id);
    return id;
  }

  /** Template index of line i (0 and up), or a LINE_* code. */
  code_(i: number): number {
    return this.code[i & this.mask]!;
  }

  /** Field k of line i (see parseLineBytes). */
  field(i: number, k: number): number {
    return this.fields[(i & this.mask) * MAX_FIELDS + k]!;
  }

  /** Where line i's numbers start in `fields`. */
  fieldBase(i: number): number {
    return (i & this.mask) * MAX_FIELDS;
  }

  /** Interned name id of an other-subsystem or malformed line (index in `names`). */
  nameId_(i: number): number {
    return this.nameId[i & this.mask]!;
  }

  /** Name of an other-subsystem or malformed line. */
  nameOf(i: number): string {
    return this.names[this.nameId[i & this.mask]!]!;
  }

  /** The text of line i (without its newline or CR). */
  text(i: number): string {
    const slot = i & this.mask;
    const s = this.off[slot]! - this.bufBase;
    return utf8.decode(this.buf.subarray(s, s + this.len[slot]!));
  }

  /** The event of line i, which must be a parsed event line. */
  event(i: number): TraceEvent {
    return eventFromFields(this.code[i & this.mask]!, this.fields, (i & this.mask) * MAX_FIELDS, () => this.text(i));
  }

  /** Stream offset just past line i's bytes (for lookahead in bytes). */
  endOffset(i: number): number {
    const slot = i & this.mask;
    return this.off[slot]! + this.len[slot]!;
  }

  startOffset(i: number): number {
    return this.off[i & this.mask]!;
  }
}
