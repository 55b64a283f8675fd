/**
 * The two RTAS (run-time abstraction services) calls through which a pseries guest sets up the
 * message-signalled interrupts of its PCI functions: ibm,change-msi (get, resize or release a
 * block of MSI or MSI-X numbers for one function) and ibm,query-interrupt-source-number (which
 * IRQ a function's vector N got). Every check, its order, the return words and the allocation
 * follow QEMU 7.2, including what it gets wrong (docs/configurations.md, "PHBs and MSIs"):
 *
 * - neither call checks nargs or nret: the argument words a guest did not pass read as 0 here
 *   (QEMU reads whatever follows in the argument buffer), and the return words are stored
 *   whatever nret says (ibm,change-msi's fourth only when nret > 3);
 * - MSI blocks of pseries-3.1 and later are unaligned and MSI-X blocks start on an even number
 *   (irq-map.ts, MsiAllocator.allocFor); when no block fits, QEMU misses the failure and aborts
 *   on an assertion while claiming past the device range: the machine halts;
 * - pseries-3.0 and older search the ICS for the first free block (an MSI block aligned to its
 *   size, which QEMU asserts is 1, 2, 4, 8, 16 or 32: any other size aborts).
 *
 * Blocks are kept per PHB and per configuration address exactly as the guest passed it; a new
 * block for an address replaces (and then frees) the old one; a PHB reset frees them all.
 */
import { XiveUsageError } from '../base/errors.ts';
import type { Tracer } from '../trace/events.ts';
import { LEGACY_ALIGNED_COUNTS, legacyFindFree, SPAPR_XIRQ_BASE, type MsiAllocator, type MsiKind } from './irq-map.ts';
import { SPAPR_PCI_MSI_WINDOW, type MsiBlock, type SpaprPhb } from './phb.ts';
import { RTAS_OUT_HW_ERROR, RTAS_OUT_PARAM_ERROR, RTAS_OUT_SUCCESS } from './xics-hcalls.ts';

/** RTAS tokens QEMU 7.2 advertises in /rtas for the PCI MSI calls. */
export const MSI_RTAS_TOKENS = {
  'ibm,query-interrupt-source-number': 0x2018,
  'ibm,change-msi': 0x2019,
} as const;

export type MsiRtasName = keyof typeof MSI_RTAS_TOKENS;

/**
 * ibm,change-msi function codes (argument 3) QEMU implements; 0 (query) and 2 (reset) are
 * refused like any other code.
 */
export const RTAS_CHANGE_FN = 1;
export const RTAS_CHANGE_MSI_FN = 3;
export const RTAS_CHANGE_MSIX_FN = 4;

/** Interrupt types ibm,change-msi reports (return word 3). */
export const RTAS_TYPE_MSI = 1;
export const RTAS_TYPE_MSIX = 2;

export function isMsiRtas(name: string): name is MsiRtasName {
  return Object.prototype.hasOwnProperty.call(MSI_RTAS_TOKENS, name);
}

/** What the MSI calls need from the machine. */
export interface MsiRtasContext {
  readonly phbs: readonly SpaprPhb[];
  /** pseries-3.0 and older: first-free search over the ICS instead of the MSI bitmap. */
  readonly legacyIrqAllocation: boolean;
  readonly msi: MsiAllocator;
  /** Sources of the ICS the legacy search walks (from 0x1000). */
  readonly nrXirqs: number;
  /** Is the device IRQ claimed (by the controllers)? */
  isClaimed(irq: number): boolean;
  /** Claims an MSI number in every controller; false when it is already claimed. */
  claim(irq: number): boolean;
  /** Frees `count` numbers from `irq` in every controller. */
  free(irq: number, count: number): void;
  readonly tracer: Tracer;
  /** QEMU stops here (an assertion): the machine halts with this message. */
  abort(message: string): void;
}

const hex = (v: number): string => (v >>> 0).toString(16);

function phbOf(ctx: MsiRtasContext, buidHi: number, buidLo: number): SpaprPhb | null {
  const buid = (BigInt(buidHi) << 32n) | BigInt(buidLo);
  return ctx.phbs.find((p) => p.buid === buid) ?? null;
}

/** Frees a block's numbers: the bitmap (pseries-3.1 and later) then the controllers. */
function release(ctx: MsiRtasContext, b: MsiBlock): void {
  if (!ctx.legacyIrqAllocation) ctx.msi.free(b.firstIrq, b.num);
  ctx.free(b.firstIrq, b.num);
}

/** PHB reset: every MSI block of the bridge is freed. */
export function resetPhbMsis(ctx: MsiRtasContext, phb: SpaprPhb): void {
  for (const b of phb.msis.values()) release(ctx, b);
  phb.msis.clear();
}

/**
 * Runs ibm,change-msi or ibm,query-interrupt-source-number. `args` are the argument words the
 * guest passed (u32): configuration address, BUID high and low words, then for change-msi the
 * function, the requested count and a sequence number, for query the vector. Returns the words
 * QEMU stores from rets[0] on, the status first as a signed RTAS_OUT_* value; an empty list
 * when QEMU aborts instead of returning (the machine is then halted).
 */
export function msiRtas(ctx: MsiRtasContext, name: string, args: readonly number[], nret: number): number[] {
  if (!isMsiRtas(name)) throw new XiveUsageError(`${JSON.stringify(name)} is not a PCI MSI RTAS call; expected one of ${Object.keys(MSI_RTAS_TOKENS).join(', ')}`);
  for (const w of args) if (!isU32(w)) throw new XiveUsageError(`RTAS argument words are 32-bit unsigned integers, got ${w}`);
  if (!isU32(nret)) throw new XiveUsageError(`nret is a 32-bit unsigned integer, got ${nret}`);
  const arg = (i: number): number => args[i] ?? 0;
  const configAddr = arg(0);
  const phb = phbOf(ctx, arg(1), arg(2));
  const fn = phb?.functionAt(configAddr) ?? null;
  if (phb === null || fn === null) return [RTAS_OUT_PARAM_ERROR];
  return name === 'ibm,change-msi' ? changeMsi(ctx, phb, configAddr, arg(3), arg(4), arg(5), nret) : querySource(ctx, phb, configAddr, arg(3));
}

function changeMsi(ctx: MsiRtasContext, phb: SpaprPhb, configAddr: number, func: number, reqArg: number, seqNum: number, nret: number): number[] {
  const fn = phb.functionAt(configAddr)!;
  const sink = ctx.tracer.sink;
  let kind: MsiKind;
  if (func === RTAS_CHANGE_FN && fn.msi !== null) kind = 'msi';
  else if (func === RTAS_CHANGE_FN && fn.msix !== null) kind = 'msix';
  else if (func === RTAS_CHANGE_MSI_FN && fn.msi !== null) kind = 'msi';
  else if (func === RTAS_CHANGE_MSIX_FN && fn.msix !== null) kind = 'msix';
  else {
    if (func !== RTAS_CHANGE_FN && func !== RTAS_CHANGE_MSI_FN && func !== RTAS_CHANGE_MSIX_FN) ctx.tracer.guestError(`rtas_ibm_change_msi(${func}) is not implemented`);
    return [RTAS_OUT_PARAM_ERROR];
  }
  const type = kind === 'msi' ? RTAS_TYPE_MSI : RTAS_TYPE_MSIX;
  const old = phb.msis.get(configAddr);

  if (reqArg === 0) {
    if (old === undefined) {
      sink?.emit({ name: 'spapr_pci_msi', msg: 'Releasing wrong config', ca: configAddr });
      return [RTAS_OUT_HW_ERROR];
    }
    // The device's messages are cleared (MSI-X with a zero count leaves its table as it is).
    if (fn.msi !== null) sink?.emit({ name: 'spapr_pci_msi_setup', devName: fn.name, vector: 0, addr: 0n });
    phb.msis.delete(configAddr);
    release(ctx, old);
    sink?.emit({ name: 'spapr_pci_msi', msg: 'Released MSIs', ca: configAddr });
    return [RTAS_OUT_SUCCESS, 0];
  }

  const maxIrqs = (kind === 'msi' ? fn.msi : fn.msix) ?? 0;
  if (maxIrqs === 0) {
    ctx.tracer.guestError(`Requested interrupt type ${type} is not enabled for device ${hex(configAddr)}`);
    return [RTAS_OUT_HW_ERROR];
  }
  let reqNum = reqArg;
  let irq = 0;
  if (reqNum > maxIrqs) {
    // The guest is told how many it can have and asks again; nothing is allocated.
    sink?.emit({ name: 'spapr_pci_msi_retry', configAddr, reqNum, maxIrqs });
    reqNum = maxIrqs;
  } else {
    if (ctx.legacyIrqAllocation) {
      if (kind === 'msi' && !LEGACY_ALIGNED_COUNTS.includes(reqNum)) {
        ctx.abort(`QEMU aborts: the legacy IRQ search takes aligned blocks of 1, 2, 4, 8, 16 or 32 numbers, ibm,change-msi asked for ${reqNum} MSIs`);
        return [];
      }
      const first = legacyFindFree(ctx.nrXirqs, reqNum, kind === 'msi', (s) => !ctx.isClaimed(SPAPR_XIRQ_BASE + s));
      if (first < 0) {
        ctx.tracer.guestError(`Can't allocate MSIs for device ${hex(configAddr)}: can't find a free ${reqNum}-IRQ block`);
        return [RTAS_OUT_HW_ERROR];
      }
      irq = SPAPR_XIRQ_BASE + first;
    } else {
      irq = ctx.msi.allocFor(reqNum, kind);
      if (irq < 0) {
        ctx.abort(`QEMU aborts: no free block of ${reqNum} MSI numbers, a failure its bitmap search does not report, so it claims IRQs past the device range`);
        return [];
      }
    }
    for (let i = 0; i < reqNum; i++) {
      if (!ctx.claim(irq + i)) {
        if (i > 0) ctx.free(irq, i);
        if (!ctx.legacyIrqAllocation) ctx.msi.free(irq, reqNum);
        ctx.tracer.guestError(`Can't allocate MSIs for device ${hex(configAddr)}: IRQ ${irq + i} is not free`);
        return [RTAS_OUT_HW_ERROR];
      }
    }
    // The previous block goes only now, so the new one never reuses its numbers.
    if (old !== undefined) {
      phb.msis.delete(configAddr);
      release(ctx, old);
    }
    if (sink !== null) {
      if (kind === 'msi') sink.emit({ name: 'spapr_pci_msi_setup', devName: fn.name, vector: 0, addr: SPAPR_PCI_MSI_WINDOW });
      else for (let i = 0; i < reqNum; i++) sink.emit({ name: 'spapr_pci_msi_setup', devName: fn.name, vector: i, addr: SPAPR_PCI_MSI_WINDOW });
    }
    phb.msis.set(configAddr, { firstIrq: irq, num: reqNum, kind });
  }
  sink?.emit({ name: 'spapr_pci_rtas_ibm_change_msi', cfg: configAddr, func, req: reqNum, first: irq });
  const seq = (seqNum + 1) >>> 0;
  return nret > 3 ? [RTAS_OUT_SUCCESS, reqNum, seq, type] : [RTAS_OUT_SUCCESS, reqNum, seq];
}

function querySource(ctx: MsiRtasContext, phb: SpaprPhb, configAddr: number, vector: number): number[] {
  const b = phb.msis.get(configAddr);
  if (b === undefined || b.firstIrq === 0 || b.num === 0 || vector >= b.num) {
    ctx.tracer.sink?.emit({ name: 'spapr_pci_msi', msg: 'Failed to return vector', ca: configAddr });
    return [RTAS_OUT_HW_ERROR];
  }
  const irq = b.firstIrq + vector;
  ctx.tracer.sink?.emit({ name: 'spapr_pci_rtas_ibm_query_interrupt_source_number', ioa: vector, intr: irq });
  // The last word is the trigger type: 1 = edge (an MSI), 0 = level.
  return [RTAS_OUT_SUCCESS, irq, 1];
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}
