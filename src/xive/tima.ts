/**
 * TIMA (Thread Interrupt Management Area): the MMIO window through which a thread reads and
 * writes its own interrupt context. Four 64 KiB pages give four views of the same 64-byte
 * register file (HW, HV, OS, USER) with per-byte access rights, plus "special operations" at
 * fixed offsets (ACK, CPPR change, SET_OS_PENDING, push/pull of contexts).
 *
 * Accesses are decoded as QEMU 7.2 does, including its oddities (raw register stores bypass
 * CPPR clamping; the HW and HV pages are reachable by the guest). The one deliberate difference:
 * context pulls return the architected word (what a big-endian host returns), not QEMU's
 * byte-reversed value on little-endian hosts.
 */
import * as R from './regs.ts';
import { getField } from '../base/bits.ts';
import type { ThreadContext } from './tctx.ts';
import { Tracer } from '../trace/events.ts';
import { u64 } from '../base/u64.ts';

// Module-private copies of the page field of an offset and of the special operations, decoded on
// every access (the engine folds a module's own constants, while an imported one is loaded from
// its module cell and checked on every use; measured on the interrupt cycle).
const TM_OFFSET_PAGE = R.TM_OFFSET_PAGE;
const TM_SHIFT = R.TM_SHIFT;
const TM_PAGE_HV = R.TM_PAGE_HV;
const TM_PAGE_OS = R.TM_PAGE_OS;
const TM_QW1_OS = R.TM_QW1_OS;
const TM_SPC_ACK_OS_REG = R.TM_SPC_ACK_OS_REG;
const TM_SPC_SET_OS_PENDING = R.TM_SPC_SET_OS_PENDING;
const TM_SPC_PULL_OS_CTX = R.TM_SPC_PULL_OS_CTX;
const TM_SPC_PULL_POOL_CTX = R.TM_SPC_PULL_POOL_CTX;
const TM_SPC_ACK_HV_REG = R.TM_SPC_ACK_HV_REG;

// Per-byte rights for each page view: 0 none, 1 write, 2 read, 3 both. 64 bytes per page.
const ROW_ZERO = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const RIGHTS: readonly Uint8Array[] = [
  // HW
  Uint8Array.from([
    ...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[0, 0, 3, 3, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 0, 3, 0, 2, 3, 0, 0, 3, 3, 3, 3, 0],
  ]),
  // HV
  Uint8Array.from([
    ...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[0, 0, 3, 3, 0, 0, 0, 0, 0, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 0, 3, 0, 2, 3, 0, 0, 3, 0, 0, 0, 0],
  ]),
  // OS
  Uint8Array.from([
    ...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[2, 3, 2, 2, 2, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
    ...ROW_ZERO,
    ...ROW_ZERO,
  ]),
  // USER
  Uint8Array.from([...[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ...ROW_ZERO, ...ROW_ZERO, ...ROW_ZERO]),
];

const enum Op {
  None,
  SetOsCppr,
  PushOsCtx,
  SetPhysCppr,
  VtPush,
  VtPoll,
  AckOs,
  SetOsPending,
  PullOsCtx,
  PullPoolCtx,
  AckHv,
}

/**
 * The special operations QEMU's table lists: (lowest page allowed, offset, size, is store). Read
 * once, to build OPS below.
 */
function lookupOp(page: number, off: number, size: number, write: boolean): Op {
  const os = page <= TM_PAGE_OS;
  const hv = page <= TM_PAGE_HV;
  if (write) {
    switch (off) {
      case 0x011:
        return size === 1 && os ? Op.SetOsCppr : Op.None;
      case 0x018:
        return size === 4 && hv ? Op.PushOsCtx : Op.None;
      case 0x031:
        return size === 1 && hv ? Op.SetPhysCppr : Op.None;
      case 0x038:
        return size === 1 && hv ? Op.VtPush : Op.None;
      case TM_SPC_SET_OS_PENDING:
        return size === 1 && os ? Op.SetOsPending : Op.None;
      default:
        return Op.None;
    }
  }
  switch (off) {
    case 0x038:
      return size === 1 && hv ? Op.VtPoll : Op.None;
    case TM_SPC_ACK_OS_REG:
      return size === 2 && os ? Op.AckOs : Op.None;
    case TM_SPC_PULL_OS_CTX:
      return (size === 4 || size === 8) && hv ? Op.PullOsCtx : Op.None;
    case TM_SPC_PULL_POOL_CTX:
      return (size === 4 || size === 8) && hv ? Op.PullPoolCtx : Op.None;
    case TM_SPC_ACK_HV_REG:
      return size === 2 && hv ? Op.AckHv : Op.None;
    default:
      return Op.None;
  }
}

/**
 * The special operations as a table, worked out once from lookupOp: entry
 * (store << 14) | (page << 12) | (offset & 0xFFF) holds the operation in bits 0-3 and, in bits
 * 4-7, the access sizes (1, 2, 4, 8 as bits) that select it. An access then costs one load and a
 * mask instead of the switch (every TIMA access is decoded).
 */
const OPS = new Uint8Array(2 << 14);
for (let store = 0; store < 2; store++) {
  for (let page = 0; page < 4; page++) {
    for (let off = 0; off < 0x1000; off++) {
      let entry = 0;
      for (const size of [1, 2, 4, 8]) {
        const op = lookupOp(page, off, size, store === 1);
        if (op !== Op.None) entry = op | ((entry >>> 4) | size) << 4;
      }
      OPS[(store << 14) | (page << 12) | off] = entry;
    }
  }
}
const OPS_STORE = 1 << 14;

/** The special operation of an access of `size` bytes at OPS index `index` (Op.None if none). */
function opAt(index: number, size: number): Op {
  const e = OPS[index]!;
  return ((e >>> 4) & size) !== 0 ? e & 0xf : Op.None;
}

/** What the TIMA needs from its surroundings besides the thread context itself. */
export interface TimaHooks {
  /** A WORD2 of `tctx` changed: the presenter must re-index it. */
  camChanged(tctx: ThreadContext): void;
  /** Pending priorities saved in an NVT, taken (and cleared) when its context is pushed. */
  takeNvtIpb(blk: number, idx: number): number;
}

/** The TIMA of a XIVE controller: decodes the loads and stores of a thread on its 4-page region. */
export class Tima {
  /** High 32 bits of the last 8-byte load (the return value carries the low 32). */
  hi = 0;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();

  constructor(readonly hooks: TimaHooks) {}

  /**
   * Load of `size` bytes (1, 2, 4 or 8, naturally aligned: checked by the caller) at `offset`
   * inside the 4-page TIMA region, performed by the thread owning `tctx`.
   */
  read(tctx: ThreadContext, offset: number, size: number): number {
    const op = opAt(((offset & TM_OFFSET_PAGE) >>> 4) | (offset & 0xfff), size);
    if (op === Op.None) return this.readRegisters(tctx, offset, size);
    // Special operations return 32 bits at most (a pulled context's 8-byte load has hi = 0).
    const lo = op === Op.AckOs ? tctx.accept(TM_QW1_OS) : this.special(tctx, op);
    this.hi = 0;
    if (this.tracer.sink !== null) this.traceRead(offset, size, 0, lo);
    return lo;
  }

  private traceRead(offset: number, size: number, hi: number, lo: number): void {
    this.tracer.sink!.emit({ name: 'xive_tctx_tm_read', offset: BigInt(offset), size, value: u64(hi, lo) });
  }

  /** A load that is no special operation: the register bytes the page may read. */
  private readRegisters(tctx: ThreadContext, offset: number, size: number): number {
    const page = (offset & TM_OFFSET_PAGE) >>> TM_SHIFT;
    let lo: number;
    let hi = 0;
    if ((offset & 0x800) !== 0) {
      this.tracer.guestError(`XIVE: invalid read access at TIMA @${offset.toString(16)}`);
      this.hi = size === 8 ? 0xffff_ffff : 0;
      return size >= 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    } else {
      const reg = offset & 0x3f;
      const ring = offset & 0x30;
      const rights = RIGHTS[page]!;
      let any = false;
      for (let i = 0; i < size; i++) if ((rights[reg + i]! & 2) !== 0) any = true;
      if (size < 4 || !any || ring === R.TM_QW0_USER) {
        this.tracer.guestError(`XIVE: invalid read access at TIMA @${offset.toString(16)}`);
        if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xive_tctx_tm_read', offset: BigInt(offset), size, value: 0xffff_ffff_ffff_ffffn });
        this.hi = size === 8 ? 0xffff_ffff : 0;
        return size >= 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
      }
      lo = 0;
      const n = Math.min(size, 4);
      if (size === 8) {
        for (let i = 0; i < 4; i++) hi = (hi << 8) | ((rights[reg + i]! & 2) !== 0 ? tctx.regs[reg + i]! : 0);
        for (let i = 4; i < 8; i++) lo = (lo << 8) | ((rights[reg + i]! & 2) !== 0 ? tctx.regs[reg + i]! : 0);
      } else {
        for (let i = 0; i < n; i++) lo = (lo << 8) | ((rights[reg + i]! & 2) !== 0 ? tctx.regs[reg + i]! : 0);
      }
      lo >>>= 0;
      hi >>>= 0;
    }
    this.hi = hi;
    if (this.tracer.sink !== null) this.traceRead(offset, size, hi, lo);
    return lo;
  }

  /** Store of `size` bytes; for 8-byte stores `hi` carries the upper 32 bits. */
  write(tctx: ThreadContext, offset: number, size: number, lo: number, hi = 0): void {
    if (this.tracer.sink !== null) this.traceWrite(offset, size, lo, hi);
    const op = opAt(OPS_STORE | ((offset & TM_OFFSET_PAGE) >>> 4) | (offset & 0xfff), size);
    if (op === Op.SetOsCppr) tctx.setCppr(TM_QW1_OS, lo & 0xff);
    else if (op !== Op.None) this.specialWrite(tctx, op, lo >>> 0);
    else this.writeRegisters(tctx, offset, size, lo, hi);
  }

  private traceWrite(offset: number, size: number, lo: number, hi: number): void {
    this.tracer.sink!.emit({ name: 'xive_tctx_tm_write', offset: BigInt(offset), size, value: size === 8 ? u64(hi, lo) : BigInt(lo >>> 0) });
  }

  /** A store that is no special operation: the register bytes the page may write. */
  private writeRegisters(tctx: ThreadContext, offset: number, size: number, lo: number, hi: number): void {
    const page = (offset & TM_OFFSET_PAGE) >>> TM_SHIFT;
    if ((offset & 0x800) !== 0) {
      this.tracer.guestError(`XIVE: invalid write access at TIMA @${offset.toString(16)}`);
      return;
    }
    const reg = offset & 0x3f;
    const ring = offset & 0x30;
    const rights = RIGHTS[page]!;
    let any = false;
    for (let i = 0; i < size; i++) if ((rights[reg + i]! & 1) !== 0) any = true;
    if (size < 4 || !any || ring === R.TM_QW0_USER) {
      this.tracer.guestError(`XIVE: invalid write access at TIMA @${offset.toString(16)}`);
      return;
    }
    let camTouched = false;
    for (let i = 0; i < size; i++) {
      if ((rights[reg + i]! & 1) === 0) continue;
      const byte = size === 8 ? (i < 4 ? hi >>> (24 - 8 * i) : lo >>> (56 - 8 * i)) : lo >>> (8 * (size - 1 - i));
      tctx.regs[reg + i] = byte & 0xff;
      if (((reg + i) & 0xc) === 0x8) camTouched = true;
    }
    if (camTouched) this.hooks.camChanged(tctx);
  }

  private special(tctx: ThreadContext, op: Op): number {
    switch (op) {
      case Op.VtPoll:
        return tctx.regs[R.TM_QW3_WORD2]!;
      case Op.AckOs:
        return tctx.accept(R.TM_QW1_OS);
      case Op.AckHv:
        return tctx.accept(R.TM_QW3_HV_PHYS);
      case Op.PullOsCtx: {
        const w2 = tctx.word2(R.TM_QW1_OS);
        if ((w2 & R.TM_QW1W2_VO) === 0) {
          const cam = getField(R.TM_QW1W2_OS_CAM, w2);
          this.tracer.guestError(`XIVE: pulling invalid NVT ${getField(R.CAM_NVT_BLOCK, cam).toString(16)}/${getField(R.CAM_NVT_INDEX, cam).toString(16)} !?`);
        }
        tctx.setWord2(R.TM_QW1_OS, w2 & ~R.TM_QW1W2_VO);
        tctx.lowerLine(R.TM_QW1_OS);
        this.hooks.camChanged(tctx);
        return w2;
      }
      case Op.PullPoolCtx: {
        const w2 = tctx.word2(R.TM_QW2_HV_POOL) & ~R.TM_QW2W2_VP;
        tctx.setWord2(R.TM_QW2_HV_POOL, w2);
        this.hooks.camChanged(tctx);
        return w2 >>> 0;
      }
      default:
        return 0;
    }
  }

  private specialWrite(tctx: ThreadContext, op: Op, value: number): void {
    switch (op) {
      case Op.SetOsCppr:
        tctx.setCppr(R.TM_QW1_OS, value & 0xff);
        return;
      case Op.SetPhysCppr:
        tctx.setCppr(R.TM_QW3_HV_PHYS, value & 0xff);
        return;
      case Op.VtPush:
        tctx.regs[R.TM_QW3_WORD2] = value & 0xff;
        this.hooks.camChanged(tctx);
        return;
      case Op.SetOsPending:
        tctx.ipbUpdate(R.TM_QW1_OS, R.prioToIpb(value & 0xff));
        return;
      case Op.PushOsCtx: {
        tctx.setWord2(R.TM_QW1_OS, value);
        this.hooks.camChanged(tctx);
        if ((value & R.TM_QW1W2_VO) !== 0) {
          const cam = getField(R.TM_QW1W2_OS_CAM, value);
          const ipb = this.hooks.takeNvtIpb(getField(R.CAM_NVT_BLOCK, cam), getField(R.CAM_NVT_INDEX, cam));
          tctx.ipbUpdate(R.TM_QW1_OS, ipb);
        }
        return;
      }
      default:
        return;
    }
  }

}
