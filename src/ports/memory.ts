/**
 * GuestMemory port: the guest RAM the interrupt controller reads and writes (event queues).
 * An embedder plugs in its own RAM; SparseGuestMemory is a ready-made one that only allocates
 * the 64 KiB pages that are written, FlatGuestMemory one over a single (possibly shared) buffer.
 *
 * Values are big-endian 32-bit words, as the XIVE writes them into guest memory.
 */
import { fromBigEndian, isSharedBuffer, toBigEndian } from '../base/endian.ts';

/** The guest RAM the controller reads and writes (event queues): big-endian 32-bit words. */
export interface GuestMemory {
  /** True when [addr, addr+len) is entirely guest RAM (what QEMU's address_space_map checks). */
  isRam(addr: number, len: number): boolean;
  /** BE 32-bit load; -1 when addr is not RAM. */
  read32(addr: number): number;
  /** BE 32-bit store; false when addr is not RAM. */
  write32(addr: number, value: number): boolean;
  /**
   * True when write32 also takes the word as a signed 32-bit integer (bit 31 as the sign). The
   * controller then passes event-queue entries, whose bit 31 is the generation, as small
   * integers rather than as numbers above 2^31, which a call boxes into a new heap object.
   */
  readonly signedWrite32?: boolean;
}

const PAGE_SHIFT = 16;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/** RAM of `size` bytes at guest physical 0, allocated page by page on first write. */
export class SparseGuestMemory implements GuestMemory {
  private readonly pages = new Map<number, DataView>();
  readonly signedWrite32 = true;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`guest RAM size must be a positive integer, got ${size}`);
  }

  isRam(addr: number, len: number): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.size && Number.isSafeInteger(addr + len);
  }

  read32(addr: number): number {
    if (!this.isRam(addr, 4)) return -1;
    const page = this.pages.get(Math.floor(addr / PAGE_SIZE));
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) return this.slowRead32(addr);
    return page === undefined ? 0 : page.getUint32(off, false);
  }

  write32(addr: number, value: number): boolean {
    if (!this.isRam(addr, 4)) return false;
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) {
      for (let i = 0; i < 4; i++) this.write8(addr + i, (value >>> (24 - 8 * i)) & 0xff);
      return true;
    }
    this.page(Math.floor(addr / PAGE_SIZE)).setUint32(off, value >>> 0, false);
    return true;
  }

  /** Byte load; -1 when addr is not RAM. */
  read8(addr: number): number {
    if (!this.isRam(addr, 1)) return -1;
    const page = this.pages.get(Math.floor(addr / PAGE_SIZE));
    return page === undefined ? 0 : page.getUint8(addr % PAGE_SIZE);
  }

  /** Byte store; false when addr is not RAM. */
  write8(addr: number, value: number): boolean {
    if (!this.isRam(addr, 1)) return false;
    this.page(Math.floor(addr / PAGE_SIZE)).setUint8(addr % PAGE_SIZE, value & 0xff);
    return true;
  }

  /** The pages that hold data (for snapshots and inspection). */
  touchedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  private slowRead32(addr: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v = (v << 8) | this.read8(addr + i);
    return v >>> 0;
  }

  private page(n: number): DataView {
    let p = this.pages.get(n);
    if (p === undefined) {
      p = new DataView(new ArrayBuffer(PAGE_SIZE));
      this.pages.set(n, p);
    }
    return p;
  }
}

/**
 * RAM of `size` bytes at guest physical 0 in one contiguous buffer: what an embedder that already
 * holds its guest RAM as an ArrayBuffer (or a SharedArrayBuffer shared with worker threads) plugs
 * in. Event-queue accesses are one bounds check and one DataView access, with no page lookup.
 *
 * Over a SharedArrayBuffer, aligned words go through Atomics on an Int32Array view: a queue entry
 * written by one thread (generation bit and data) is then seen by another whole, never half
 * written, and ordered with the other atomic updates of the controller.
 */
export class FlatGuestMemory implements GuestMemory {
  readonly size: number;
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Int32 view of the whole buffer when it is shared (atomic word accesses), else null. */
  private readonly words: Int32Array | null;
  readonly signedWrite32 = true;

  constructor(sizeOrBuffer: number | ArrayBufferLike) {
    const buffer = typeof sizeOrBuffer === 'number' ? new ArrayBuffer(checkedSize(sizeOrBuffer)) : sizeOrBuffer;
    this.size = buffer.byteLength;
    if (this.size === 0) throw new RangeError('guest RAM size must be a positive integer, got 0');
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.words = isSharedBuffer(buffer) ? new Int32Array(buffer, 0, Math.floor(this.size / 4)) : null;
  }

  /** The buffer holding the RAM (share it with workers to share the RAM). */
  get buffer(): ArrayBufferLike {
    return this.bytes.buffer;
  }

  isRam(addr: number, len: number): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.size && Number.isSafeInteger(addr + len);
  }

  // Kept small (the shared-buffer path is a method of its own) so that the compiler inlines them
  // into the event-queue code: a word with bit 31 set returned or passed by a real call is boxed.
  read32(addr: number): number {
    if (!(addr >= 0 && addr + 4 <= this.size && Number.isSafeInteger(addr))) return -1;
    return this.words === null ? this.view.getUint32(addr, false) : this.sharedRead32(addr);
  }

  write32(addr: number, value: number): boolean {
    if (!(addr >= 0 && addr + 4 <= this.size && Number.isSafeInteger(addr))) return false;
    if (this.words === null) this.view.setUint32(addr, value >>> 0, false);
    else this.sharedWrite32(addr, value);
    return true;
  }

  private sharedRead32(addr: number): number {
    return (addr & 3) === 0 ? fromBigEndian(Atomics.load(this.words!, addr / 4)) : this.view.getUint32(addr, false);
  }

  private sharedWrite32(addr: number, value: number): void {
    if ((addr & 3) === 0) Atomics.store(this.words!, addr / 4, toBigEndian(value));
    else this.view.setUint32(addr, value >>> 0, false);
  }
}

function checkedSize(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`guest RAM size must be a positive integer, got ${size}`);
  return size;
}
