/**
 * Guest physical addresses of the sPAPR XIVE MMIO regions, written out here independently of the
 * model: the ESB (event state buffer) pages of the sources, the END (event notification
 * descriptor) ESB pages, and the TIMA (thread interrupt management area) with its HV and OS
 * views; plus the ESB accesses a guest makes through a machine.
 */
import type { SpaprMachine } from '../../src/spapr/machine.ts';

/** Base of the source ESB pages (VC region), as the hcalls return it. */
export const VC_BASE = 0x0006_0100_0000_0000n;
/** Base of the END ESB pages. */
export const END_BASE = 0x0006_0100_4000_0000n;
/** Base of the TIMA: the user view; the HV and OS views follow, 64 KiB each. */
export const TM_BASE = 0x0006_0302_0318_0000;
export const TIMA_HV = TM_BASE + 0x1_0000;
export const TIMA_OS = TM_BASE + 0x2_0000;
/** VC_BASE as a Number for the MMIO entry points. */
export const ESB_BASE = Number(VC_BASE);
/** Two 64 KiB pages per source (ESB shift 17): trigger, then management. */
export const ESB_STRIDE = 0x2_0000;

/** Guest address of the trigger page of `lisn`. */
export function triggerPage(lisn: number): number {
  return ESB_BASE + lisn * ESB_STRIDE;
}

/** Guest address of the management page of `lisn`. */
export function mgmtPage(lisn: number): number {
  return triggerPage(lisn) + 0x1_0000;
}

/** 8-byte ESB store of 0 on the trigger page (an MSI/IPI trigger from the guest). */
export function trigger(m: SpaprMachine, lisn: number): void {
  m.mmioWrite(0, triggerPage(lisn), 8, 0, 0);
}

/** 8-byte ESB load of `op` (0xC00 SET_PQ_00 etc.) on the management page; returns the value. */
export function esbLoad(m: SpaprMachine, lisn: number, op: number): bigint {
  return m.mmioRead64(0, mgmtPage(lisn) + op);
}
