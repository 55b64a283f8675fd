/**
 * Little-endian byte writer and bounds-checked reader for saved state (each block's state
 * layout, the snapshot container around them), plus CRC-32. Fields are little-endian; table
 * images are copied as they are (the architected big-endian words the model keeps), never
 * re-encoded.
 *
 * The reader never throws a RangeError: running past the end of what it was given, or a value
 * its decoder refuses, is a DecodeError whose one-line message names what was being read, so a
 * damaged or short input gives a clear message instead of a crash or a half-read value.
 */

/** Why saved bytes could not be decoded: they end early, or they hold a value that cannot be. */
export type DecodeErrorCode = 'truncated' | 'corrupt';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';

  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message.replace(/[\r\n]+/g, ' '));
  }
}

export class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < at + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.len = at + n;
    return at;
  }

  // reserve() may swap the buffer, so it runs before `this.buf`/`this.view` are read.
  u8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, true);
  }
  /** A non-negative safe integer as 64 bits (two LE words, low first). */
  u64(v: number): void {
    this.u32(v % 0x1_0000_0000);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  /** u8 length + ASCII/UTF-8 bytes (identifiers, capability names). */
  shortString(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length > 255) throw new RangeError(`identifier too long: ${s}`);
    this.u8(b.length);
    this.bytes(b);
  }
  /** u32 length + UTF-8 bytes. */
  longString(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.bytes(b);
  }
  /** Overwrites a u32 already written (e.g. a length known only at the end). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  /**
   * @param data the bytes to read (not copied)
   * @param what how to name them in an error ("snapshot section 'ics'")
   * @param short the error code for running past the end
   */
  constructor(
    private readonly data: Uint8Array,
    readonly what: string,
    private readonly short: DecodeErrorCode = 'corrupt',
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.data.length - this.pos;
  }

  private take(n: number, field: string): number {
    if (n < 0 || this.pos + n > this.data.length) {
      throw new DecodeError(this.short, `${this.what} ends early: ${field} needs ${n} byte(s) at offset ${this.pos}, only ${Math.max(0, this.data.length - this.pos)} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    return this.data[this.take(1, field)]!;
  }
  u16(field: string): number {
    return this.view.getUint16(this.take(2, field), true);
  }
  u32(field: string): number {
    return this.view.getUint32(this.take(4, field), true);
  }
  u64(field: string): number {
    const lo = this.u32(field);
    const hi = this.u32(field);
    const v = hi * 0x1_0000_0000 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError('corrupt', `${this.what}: ${field} ${v} is beyond 2^53`);
    return v;
  }
  /** A view of the next `n` bytes (copy it before keeping it past the input's lifetime). */
  bytes(n: number, field: string): Uint8Array {
    const at = this.take(n, field);
    return this.data.subarray(at, at + n);
  }
  shortString(field: string): string {
    return decodeUtf8(this.bytes(this.u8(field), field), this.what, field);
  }
  longString(field: string): string {
    return decodeUtf8(this.bytes(this.u32(field), field), this.what, field);
  }
  /** The section must have been read exactly: leftovers mean writer and reader disagree. */
  end(): void {
    if (this.pos !== this.data.length) {
      throw new DecodeError('corrupt', `${this.what} has ${this.data.length - this.pos} unexpected byte(s) after its last field`);
    }
  }

  /** The error for a value the decoder refuses: "<what> is invalid: <detail>". */
  invalid(detail: string): DecodeError {
    return new DecodeError('corrupt', `${this.what} is invalid: ${detail}`);
  }
}

function decodeUtf8(b: Uint8Array, what: string, field: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new DecodeError('corrupt', `${what}: ${field} is not valid UTF-8`);
  }
}

// ---- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib/PNG compute it) ------------

let crcTable: Uint32Array | null = null;

function table(): Uint32Array {
  if (crcTable !== null) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32 of `data` ("123456789" gives 0xCBF43926). */
export function crc32(data: Uint8Array): number {
  const t = table();
  let c = 0xffff_ffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffff_ffff) >>> 0;
}
