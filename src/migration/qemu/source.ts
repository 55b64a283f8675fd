/**
 * Where a QEMU migration stream's bytes come from, and a cursor that reads them in order.
 *
 * The reader never holds a whole stream (a guest's RAM makes it hundreds of megabytes): it asks a
 * ByteSource for the ranges it walks, through a Cursor with a fixed-size window. A source is a
 * file on the command line (src/cli) or bytes in memory (tests, a browser); this module uses no
 * host API. QEMU writes every multi-byte number big-endian.
 */
import { QemuStreamError, type QemuStreamErrorCode } from './errors.ts';

/** Random-access bytes of known size. */
export interface ByteSource {
  readonly size: number;
  /** Copies the bytes at [offset, offset + into.length) into `into`; returns how many it copied
   * (fewer only at the end of the source). */
  read(offset: number, into: Uint8Array): number;
}

/** A source over bytes held in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, into) {
      const n = Math.max(0, Math.min(into.length, bytes.length - offset));
      into.set(bytes.subarray(offset, offset + n));
      return n;
    },
  };
}

const WINDOW = 1 << 20;

/**
 * Sequential big-endian reads from a ByteSource with a fixed window. Every read names what it
 * reads; running past the end is a 'truncated' QemuStreamError at the end offset, naming `where`
 * (the caller keeps it up to date with the section and field being read).
 */
export class Cursor {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  /** Stream offset of buf[0], and how many bytes of buf are valid. */
  private base = 0;
  private valid = 0;
  private pos: number;
  /** What is being read, for error messages ("section 'ics' instance 0"). */
  where = 'the header';

  constructor(
    readonly source: ByteSource,
    start = 0,
    window = WINDOW,
  ) {
    this.buf = new Uint8Array(window);
    this.view = new DataView(this.buf.buffer);
    this.pos = start;
    this.base = start;
  }

  get offset(): number {
    return this.pos;
  }

  get atEnd(): boolean {
    return this.pos >= this.source.size;
  }

  /** An error at `at` (default: the current offset) naming `where`. */
  error(code: QemuStreamErrorCode, detail: string, at = this.pos, where = this.where): QemuStreamError {
    return new QemuStreamError(code, { offset: at, where }, detail);
  }

  /** Makes `n` bytes at the current offset available in the window; returns their index there. */
  private need(n: number, what: string): number {
    if (this.pos >= this.base && this.pos + n <= this.base + this.valid) return this.pos - this.base;
    if (n > this.buf.length) throw new RangeError(`window of ${this.buf.length} bytes cannot hold ${n}`);
    this.base = this.pos;
    this.valid = this.pos < this.source.size ? this.source.read(this.pos, this.buf) : 0;
    if (n > this.valid) throw this.truncated(what);
    return 0;
  }

  private truncated(what: string): QemuStreamError {
    return this.error('truncated', `the stream ends at byte ${this.source.size} while reading ${what}`, this.source.size);
  }

  /** The next byte without consuming it, or -1 at the end. */
  peek8(ahead = 0): number {
    if (this.pos + ahead >= this.source.size) return -1;
    const saved = this.pos;
    this.pos += ahead;
    try {
      return this.buf[this.need(1, 'a byte')]!;
    } finally {
      this.pos = saved;
    }
  }

  u8(what: string): number {
    const i = this.need(1, what);
    this.pos += 1;
    return this.buf[i]!;
  }

  be16(what: string): number {
    const i = this.need(2, what);
    this.pos += 2;
    return this.view.getUint16(i, false);
  }

  be32(what: string): number {
    const i = this.need(4, what);
    this.pos += 4;
    return this.view.getUint32(i, false);
  }

  /** A 64-bit value as two 32-bit halves [hi, lo]. */
  be64Words(what: string): [number, number] {
    const i = this.need(8, what);
    this.pos += 8;
    return [this.view.getUint32(i, false), this.view.getUint32(i + 4, false)];
  }

  /** A 64-bit value below 2^53 (RAM offsets and sizes); larger is damage. */
  be64Number(what: string): number {
    const at = this.pos;
    const [hi, lo] = this.be64Words(what);
    if (hi >= 0x20_0000) throw this.error('damaged', `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is beyond 2^53`, at);
    return hi * 0x1_0000_0000 + lo;
  }

  be64(what: string): bigint {
    const [hi, lo] = this.be64Words(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A copy of the next `n` bytes. */
  bytes(n: number, what: string): Uint8Array {
    if (n <= this.buf.length) {
      const i = this.need(n, what);
      this.pos += n;
      return this.buf.slice(i, i + n);
    }
    if (this.pos + n > this.source.size) throw this.truncated(what);
    const out = new Uint8Array(n);
    if (this.source.read(this.pos, out) !== n) throw this.truncated(what);
    this.pos += n;
    return out;
  }

  /** Length-prefixed (u8) text, as QEMU writes section and block names. */
  name(what: string): string {
    const n = this.u8(`the length of ${what}`);
    const b = this.bytes(n, what);
    let s = '';
    for (const c of b) {
      if (c < 0x20 || c > 0x7e) throw this.error('damaged', `${what} holds the non-printable byte 0x${c.toString(16).padStart(2, '0')}`, this.pos - n);
      s += String.fromCharCode(c);
    }
    return s;
  }

  skip(n: number, what: string): void {
    if (this.pos + n > this.source.size) throw this.truncated(what);
    this.pos += n;
  }
}
