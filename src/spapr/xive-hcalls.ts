/**
 * The sPAPR XIVE hypercalls (H_INT_*): how a pseries guest discovers its sources, routes them to
 * (vCPU, priority) event queues, configures those queues and reaches ESBs it cannot map. Every
 * argument check, flag and PAPR error code follows QEMU 7.2; nothing is changed before all
 * checks have passed.
 *
 * Deliberate difference: H_INT_ESB load results and store data are the architected values (what
 * QEMU does on a big-endian host); QEMU on a little-endian host byte-reverses them.
 */
import * as R from '../xive/regs.ts';
import * as H from './hcall.ts';
import type { XiveRouter } from '../xive/router.ts';
import type { XiveSource } from '../xive/source.ts';
import type { TraceSink, TraceEvent } from '../trace/events.ts';
import { MMIO_OK, SPAPR_XIVE_BLOCK_ID, spaprEndIndex, spaprNvtIndex, spaprNvtVcpu } from './xive-layout.ts';
import type { GuestMemory } from '../ports/memory.ts';
import { hi32, lo32, u64 } from '../base/u64.ts';
import { getField, ppcBit64n, setField } from '../base/bits.ts';

const M64 = 0xffff_ffff_ffff_ffffn;

// Flags, by their PAPR bit numbers in the 64-bit register.
export const SPAPR_XIVE_SRC_H_INT_ESB = ppcBit64n(60);
export const SPAPR_XIVE_SRC_LSI = ppcBit64n(61);
export const SPAPR_XIVE_SRC_TRIGGER = ppcBit64n(62);
export const SPAPR_XIVE_SRC_SET_EISN = ppcBit64n(62);
export const SPAPR_XIVE_SRC_MASK = ppcBit64n(63);
export const SPAPR_XIVE_END_ALWAYS_NOTIFY = ppcBit64n(63);
export const SPAPR_XIVE_END_DEBUG = ppcBit64n(63);
export const SPAPR_XIVE_ESB_STORE = ppcBit64n(63);
/**
 * H_INT_GET_QUEUE_CONFIG's generation flag: QEMU puts it at numeric bit 62 (PAPR bit 1) although
 * its comment says PAPR bit 62; the value QEMU returns is kept.
 */
const QUEUE_CONFIG_GENERATION = ppcBit64n(1);

/**
 * What the hcalls use of the sPAPR XIVE controller (SpaprXive, spapr-xive.ts). Named here rather
 * than imported, so that the controller, which dispatches to these hcalls, and the hcalls do not
 * depend on each other.
 */
export interface XiveHcallController {
  readonly nrIrqs: number;
  readonly hvPrio: number;
  readonly esbShift: number;
  readonly vcBase: number;
  readonly endBase: number;
  readonly router: XiveRouter;
  readonly source: XiveSource;
  readonly trace: TraceSink | null;
  /** Is there a vCPU with this id (server number)? */
  hasVcpuId(vcpuId: number): boolean;
  /** Reports a guest error. */
  diag(message: string): void;
  /** Size in bytes of the ESB region. */
  esbRegionSize(): number;
  /** ESB region access at offset `off`: MMIO_OK or MMIO_INVALID. */
  esbRead(off: number, size: number, out: Uint32Array): number;
  /** ESB region store at offset `off`: MMIO_OK or MMIO_INVALID. */
  esbWrite(off: number, size: number, lo: number, hi: number): number;
}

/** What the XIVE hcalls work on: the controller, guest RAM, and the CAS outcome. */
export interface XiveHcallContext {
  readonly xive: XiveHcallController;
  readonly memory: GuestMemory;
  /** Did the guest negotiate XIVE exploitation at CAS (option vector 5 byte 23 bit 0x40)? */
  xiveNegotiated(): boolean;
}

type Handler = (ctx: XiveHcallContext, a: bigint[]) => number;

function guestError(ctx: XiveHcallContext, message: string): void {
  ctx.xive.diag(message);
}

/** LISN check shared by the source hcalls: range, then "claimed". */
function checkLisn(ctx: XiveHcallContext, lisn: bigint): boolean {
  const x = ctx.xive;
  if (lisn >= BigInt(x.nrIrqs)) {
    guestError(ctx, `XIVE: Unknown LISN ${lisn.toString(16)}`);
    return false;
  }
  if (!x.router.easValid(Number(lisn))) {
    guestError(ctx, `XIVE: Invalid LISN ${lisn.toString(16)}`);
    return false;
  }
  return true;
}

/** A target is a 32-bit vCPU id that must exist. Returns the id or -1. */
function targetToVcpu(ctx: XiveHcallContext, target: bigint): number {
  const id = Number(target & 0xffff_ffffn);
  return ctx.xive.hasVcpuId(id) ? id : -1;
}

function reservedPriority(ctx: XiveHcallContext, priority: bigint): boolean {
  if (Number(priority & 0xffn) >= ctx.xive.hvPrio) {
    guestError(ctx, `XIVE: priority ${BigInt.asIntN(64, priority)} is reserved`);
    return true;
  }
  return false;
}

const getSourceInfo: Handler = (ctx, a) => {
  const [flags, lisn] = [a[0]!, a[1]!];
  if (flags !== 0n) return H.H_PARAMETER;
  if (!checkLisn(ctx, lisn)) return H.H_P2;
  const x = ctx.xive;
  const n = Number(lisn);
  let f = 0n;
  if (x.source.isLsi(n)) f |= SPAPR_XIVE_SRC_H_INT_ESB | SPAPR_XIVE_SRC_LSI;
  if (x.esbShift !== R.ESB_64K_2PAGE && x.esbShift !== R.ESB_4K_2PAGE) f |= SPAPR_XIVE_SRC_TRIGGER;
  const page = BigInt(x.vcBase) + (BigInt(n) << BigInt(x.esbShift));
  const twoPage = x.esbShift === R.ESB_64K_2PAGE || x.esbShift === R.ESB_4K_2PAGE;
  const mgmt = twoPage ? page + (1n << BigInt(x.esbShift - 1)) : page;
  a[0] = f;
  a[1] = (f & SPAPR_XIVE_SRC_H_INT_ESB) !== 0n ? M64 : mgmt;
  a[2] = (f & SPAPR_XIVE_SRC_H_INT_ESB) === 0n && twoPage ? page : M64;
  a[3] = BigInt(twoPage ? x.esbShift - 1 : x.esbShift);
  return H.H_SUCCESS;
};

const setSourceConfig: Handler = (ctx, a) => {
  const [flags, lisn, target, priority, eisn] = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!];
  if ((flags & ~(SPAPR_XIVE_SRC_SET_EISN | SPAPR_XIVE_SRC_MASK)) !== 0n) return H.H_PARAMETER;
  if (!checkLisn(ctx, lisn)) return H.H_P2;
  const r = ctx.xive.router;
  const n = Number(lisn);
  if (priority === 0xffn) {
    r.setEas(n, R.EAS_HI_VALID, R.EAS_LO_MASKED);
    return H.H_SUCCESS;
  }
  let lo = r.easLo(n);
  lo = (flags & SPAPR_XIVE_SRC_MASK) !== 0n ? lo | R.EAS_LO_MASKED : lo & ~R.EAS_LO_MASKED;
  if (reservedPriority(ctx, priority)) return H.H_P4;
  const vcpu = targetToVcpu(ctx, target);
  if (vcpu < 0) return H.H_P3;
  const endIdx = spaprEndIndex(vcpu, Number(priority & 0xffn));
  const hi = setField(R.EAS_HI_END_INDEX, setField(R.EAS_HI_END_BLOCK, r.easHi(n), SPAPR_XIVE_BLOCK_ID), endIdx);
  if ((flags & SPAPR_XIVE_SRC_SET_EISN) !== 0n) lo = setField(R.EAS_LO_END_DATA, lo, lo32(eisn));
  r.setEas(n, hi, lo);
  return H.H_SUCCESS;
};

const getSourceConfig: Handler = (ctx, a) => {
  const [flags, lisn] = [a[0]!, a[1]!];
  if (flags !== 0n) return H.H_PARAMETER;
  if (!checkLisn(ctx, lisn)) return H.H_P2;
  const r = ctx.xive.router;
  const n = Number(lisn);
  const endIdx = r.easEndIndex(n);
  // An out-of-range END index cannot be built through the hcalls; read it as a reset END.
  const inRange = endIdx < r.nrEnds;
  const nvt = inRange ? r.endNvtIndex(endIdx) : 0;
  a[0] = BigInt(spaprNvtVcpu(nvt) >>> 0);
  a[1] = r.easMasked(n) ? 0xffn : BigInt(inRange ? r.endPriority(endIdx) : 0);
  a[2] = BigInt(r.easData(n));
  return H.H_SUCCESS;
};

const getQueueInfo: Handler = (ctx, a) => {
  const [flags, target, priority] = [a[0]!, a[1]!, a[2]!];
  if (flags !== 0n) return H.H_PARAMETER;
  if (reservedPriority(ctx, priority)) return H.H_P3;
  const vcpu = targetToVcpu(ctx, target);
  if (vcpu < 0) return H.H_P2;
  const x = ctx.xive;
  const endIdx = spaprEndIndex(vcpu, Number(priority & 0xffn));
  a[0] = BigInt(x.endBase) + (BigInt(endIdx) << BigInt(x.esbShift));
  const w0 = x.router.endWord(endIdx, 0);
  a[1] = (w0 & R.END_W0_ENQUEUE) !== 0 ? BigInt(getField(R.END_W0_QSIZE, w0) + 12) : 0n;
  return H.H_SUCCESS;
};

const setQueueConfig: Handler = (ctx, a) => {
  const [flags, target, priority, qpage, qsize] = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!];
  if ((flags & ~SPAPR_XIVE_END_ALWAYS_NOTIFY) !== 0n) return H.H_PARAMETER;
  if (reservedPriority(ctx, priority)) return H.H_P3;
  const vcpu = targetToVcpu(ctx, target);
  if (vcpu < 0) return H.H_P2;
  const r = ctx.xive.router;
  const endIdx = spaprEndIndex(vcpu, Number(priority & 0xffn));
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = r.endWord(endIdx, i);
  switch (qsize) {
    case 12n:
    case 16n:
    case 21n:
    case 24n: {
      if ((qpage & ((1n << qsize) - 1n)) !== 0n) {
        guestError(ctx, `XIVE: EQ @0x${qpage.toString(16)} is not naturally aligned with ${(1n << qsize).toString(16)}`);
        return H.H_P4;
      }
      w[2] = setField(R.END_W2_OP_DESC_HI, 0, hi32(qpage));
      w[3] = lo32(qpage);
      w[0] = setField(R.END_W0_QSIZE, w[0]! | R.END_W0_ENQUEUE, Number(qsize) - 12);
      break;
    }
    case 0n:
      r.resetEnd(endIdx);
      return H.H_SUCCESS;
    default:
      guestError(ctx, `XIVE: invalid EQ size ${qsize.toString(16)}`);
      return H.H_P5;
  }
  const bytes = 2 ** Number(qsize);
  if (qpage > BigInt(Number.MAX_SAFE_INTEGER) || !ctx.memory.isRam(Number(qpage), bytes)) {
    guestError(ctx, `XIVE: failed to map EQ @0x${qpage.toString(16)}`);
    return H.H_P4;
  }
  w[6] = setField(R.END_W6_NVT_INDEX, setField(R.END_W6_NVT_BLOCK, 0, SPAPR_XIVE_BLOCK_ID), spaprNvtIndex(vcpu));
  w[7] = setField(R.END_W7_F0_PRIORITY, 0, Number(priority & 0xffn));
  if ((flags & SPAPR_XIVE_END_ALWAYS_NOTIFY) !== 0n) w[0] |= R.END_W0_UCOND_NOTIFY;
  else w[0] &= ~R.END_W0_UCOND_NOTIFY;
  w[1] = R.END_W1_GENERATION;
  w[0] |= R.END_W0_VALID;
  for (let i = 0; i < 8; i++) r.setEndWord(endIdx, i, w[i]!);
  return H.H_SUCCESS;
};

const getQueueConfig: Handler = (ctx, a) => {
  const [flags, target, priority] = [a[0]!, a[1]!, a[2]!];
  if ((flags & ~SPAPR_XIVE_END_DEBUG) !== 0n) return H.H_PARAMETER;
  if (reservedPriority(ctx, priority)) return H.H_P3;
  const vcpu = targetToVcpu(ctx, target);
  if (vcpu < 0) return H.H_P2;
  const r = ctx.xive.router;
  const endIdx = spaprEndIndex(vcpu, Number(priority & 0xffn));
  const w0 = r.endWord(endIdx, 0);
  let out0 = (w0 & R.END_W0_UCOND_NOTIFY) !== 0 ? SPAPR_XIVE_END_ALWAYS_NOTIFY : 0n;
  if ((flags & SPAPR_XIVE_END_DEBUG) !== 0n && r.endGeneration(endIdx) !== 0) out0 |= QUEUE_CONFIG_GENERATION;
  const enq = (w0 & R.END_W0_ENQUEUE) !== 0;
  a[0] = out0;
  a[1] = enq ? BigInt(r.endQueueAddr(endIdx)) : 0n;
  a[2] = enq ? BigInt(getField(R.END_W0_QSIZE, w0) + 12) : 0n;
  a[3] = (flags & SPAPR_XIVE_END_DEBUG) !== 0n ? BigInt(r.endQueueIndex(endIdx)) : 0n;
  return H.H_SUCCESS;
};

const notImplemented: Handler = () => H.H_FUNCTION;

const esbScratch = new Uint32Array(2);

const esb: Handler = (ctx, a) => {
  const [flags, lisn, offset, data] = [a[0]!, a[1]!, a[2]!, a[3]!];
  if ((flags & ~SPAPR_XIVE_ESB_STORE) !== 0n) return H.H_PARAMETER;
  if (!checkLisn(ctx, lisn)) return H.H_P2;
  const x = ctx.xive;
  if (offset > 1n << BigInt(x.esbShift)) {
    guestError(ctx, `XIVE: Invalid ESB offset 0x${offset.toString(16)}`);
    return H.H_P3;
  }
  const mgmt = (lisn << BigInt(x.esbShift)) + (1n << BigInt(x.esbShift - 1));
  const regionOff = Number(mgmt + offset);
  const store = (flags & SPAPR_XIVE_ESB_STORE) !== 0n;
  let ok = regionOff + 8 <= x.esbRegionSize();
  if (ok) {
    ok = store
      ? x.esbWrite(regionOff, 8, lo32(data), hi32(data)) === MMIO_OK
      : x.esbRead(regionOff, 8, esbScratch) === MMIO_OK;
  }
  if (!ok) {
    guestError(ctx, `XIVE: failed to access ESB @0x${(BigInt(x.vcBase) + BigInt(regionOff)).toString(16)}`);
    return H.H_HARDWARE;
  }
  a[0] = store ? M64 : u64(esbScratch[1]!, esbScratch[0]!);
  return H.H_SUCCESS;
};

const sync: Handler = (ctx, a) => {
  const [flags, lisn] = [a[0]!, a[1]!];
  if (flags !== 0n) return H.H_PARAMETER;
  if (!checkLisn(ctx, lisn)) return H.H_P2;
  return H.H_SUCCESS;
};

// QEMU 7.2 requests a device reset that reaches none of the tables: success, nothing changes.
const reset: Handler = (_ctx, a) => (a[0]! !== 0n ? H.H_PARAMETER : H.H_SUCCESS);

const TABLE: ReadonlyMap<number, { handler: Handler; trace: (a: readonly bigint[]) => TraceEvent }> = new Map([
  [H.H_INT_GET_SOURCE_INFO, { handler: getSourceInfo, trace: (a) => ({ name: 'spapr_xive_get_source_info', flags: a[0]!, lisn: a[1]! }) }],
  [H.H_INT_SET_SOURCE_CONFIG, { handler: setSourceConfig, trace: (a) => ({ name: 'spapr_xive_set_source_config', flags: a[0]!, lisn: a[1]!, target: a[2]!, priority: a[3]!, eisn: a[4]! }) }],
  [H.H_INT_GET_SOURCE_CONFIG, { handler: getSourceConfig, trace: (a) => ({ name: 'spapr_xive_get_source_config', flags: a[0]!, lisn: a[1]! }) }],
  [H.H_INT_GET_QUEUE_INFO, { handler: getQueueInfo, trace: (a) => ({ name: 'spapr_xive_get_queue_info', flags: a[0]!, target: a[1]!, priority: a[2]! }) }],
  [H.H_INT_SET_QUEUE_CONFIG, { handler: setQueueConfig, trace: (a) => ({ name: 'spapr_xive_set_queue_config', flags: a[0]!, target: a[1]!, priority: a[2]!, qpage: a[3]!, qsize: a[4]! }) }],
  [H.H_INT_GET_QUEUE_CONFIG, { handler: getQueueConfig, trace: (a) => ({ name: 'spapr_xive_get_queue_config', flags: a[0]!, target: a[1]!, priority: a[2]! }) }],
  [H.H_INT_SET_OS_REPORTING_LINE, { handler: notImplemented, trace: (a) => ({ name: 'spapr_xive_set_os_reporting_line', flags: a[0]! }) }],
  [H.H_INT_GET_OS_REPORTING_LINE, { handler: notImplemented, trace: (a) => ({ name: 'spapr_xive_get_os_reporting_line', flags: a[0]! }) }],
  [H.H_INT_ESB, { handler: esb, trace: (a) => ({ name: 'spapr_xive_esb', flags: a[0]!, lisn: a[1]!, offset: a[2]!, data: a[3]! }) }],
  [H.H_INT_SYNC, { handler: sync, trace: (a) => ({ name: 'spapr_xive_sync', flags: a[0]!, lisn: a[1]! }) }],
  [H.H_INT_RESET, { handler: reset, trace: (a) => ({ name: 'spapr_xive_reset', flags: a[0]! }) }],
]);

/** Whether `opcode` is one of the 11 XIVE hcalls (H_INT_*). */
export function isXiveHcall(opcode: number): boolean {
  return TABLE.has(opcode);
}

/**
 * Runs one H_INT_* hcall. `regs` are R4..R9 (64-bit, each masked to 64 bits by the caller) and
 * are updated in place with the outputs on success only.
 */
export function xiveHcall(ctx: XiveHcallContext, opcode: number, regs: bigint[]): number {
  const entry = TABLE.get(opcode);
  if (entry === undefined) return H.H_FUNCTION;
  const trace = ctx.xive.trace;
  if (trace !== null) trace.emit(entry.trace(regs));
  if (!ctx.xiveNegotiated()) return H.H_FUNCTION;
  // Work on a copy so that a failing hcall leaves the guest registers untouched.
  const work = regs.slice();
  const ret = entry.handler(ctx, work);
  if (ret === H.H_SUCCESS) for (let i = 0; i < regs.length; i++) regs[i] = work[i]!;
  return ret;
}
