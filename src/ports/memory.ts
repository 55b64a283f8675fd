/**
 * GuestMemory port: the guest RAM the interrupt controller reads and writes (event queues).
 * An embedder plugs in its own RAM; SparseGuestMemory is a ready-made one that only allocates
 * the 64 KiB pages that are written.
 *
 * Values are big-endian 32-bit words, as the XIVE writes them into guest memory.
 */

export interface GuestMemory {
  /** True when [addr, addr+len) is entirely guest RAM (what QEMU's address_space_map checks). */
  isRam(addr: number, len: number): boolean;
  /** BE 32-bit load; -1 when addr is not RAM. */
  read32(addr: number): number;
  /** BE 32-bit store; false when addr is not RAM. */
  write32(addr: number, value: number): boolean;
}

const PAGE_SHIFT = 16;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/** RAM of `size` bytes at guest physical 0, allocated page by page on first write. */
export class SparseGuestMemory implements GuestMemory {
  private readonly pages = new Map<number, DataView>();

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

  read8(addr: number): number {
    if (!this.isRam(addr, 1)) return -1;
    const page = this.pages.get(Math.floor(addr / PAGE_SIZE));
    return page === undefined ? 0 : page.getUint8(addr % PAGE_SIZE);
  }

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
