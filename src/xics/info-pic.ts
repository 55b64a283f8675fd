/**
 * `info pic` for the XICS interrupt controller, in QEMU 7.2's pseries text: one line per vCPU's
 * ICP (interrupt presentation controller: XIRR, owner ICS, pending priority, MFRR), then the ICS
 * (interrupt source controller) range and one line per claimed source (kind, priority, status),
 * then the irqchip line.
 *
 * QEMU prints host pointers with %p (the ICS object, and an ICP's owner ICS while it has one).
 * The model prints the fixed token XICS_PIC_POINTER instead; a null owner prints `(nil)` as
 * glibc does. Comparisons with captured text must ignore the pointers: `maskPicPointers`
 * rewrites every pointer of a captured text to the token.
 */
import type { Ics } from './ics.ts';
import { XICS_FLAGS_IRQ_LSI, XICS_FLAGS_IRQ_MASK } from './ics.ts';
import type { Icp } from './icp.ts';

/** Stands for a host pointer; shaped like one glibc prints for a 64-bit heap address. */
export const XICS_PIC_POINTER = '0x1c5000000000';

function hex(v: number, width: number, pad = '0'): string {
  return (v >>> 0).toString(16).padStart(width, pad);
}

/** `CPU %d XIRR=%08x (%p) PP=%02x MFRR=%02x` */
export function icpPicLine(icp: Icp): string {
  const owner = icp.owner === null ? '(nil)' : XICS_PIC_POINTER;
  return `CPU ${icp.cpuIndex} XIRR=${hex(icp.xirr, 8)} (${owner}) PP=${hex(icp.pendingPriority, 2)} MFRR=${hex(icp.mfrr, 2)}`;
}

/** `ICS %4x..%4x %p`, then `  %4x %s %02x %02x` per claimed source in ascending order. */
export function icsPicLines(ics: Ics): string[] {
  const out = [`ICS ${hex(ics.offset, 4, ' ')}..${hex(ics.offset + ics.nrIrqs - 1, 4, ' ')} ${XICS_PIC_POINTER}`];
  for (let i = 0; i < ics.nrIrqs; i++) {
    const f = ics.flags[i]!;
    if ((f & XICS_FLAGS_IRQ_MASK) === 0) continue;
    const kind = (f & XICS_FLAGS_IRQ_LSI) !== 0 ? 'LSI' : 'MSI';
    out.push(`  ${hex(ics.offset + i, 4, ' ')} ${kind} ${hex(ics.priority[i]!, 2)} ${hex(ics.status[i]!, 2)}`);
  }
  return out;
}

/**
 * The lines of the XICS part: `icps` in CPU list order (null entries, vCPUs without an ICP,
 * are skipped as QEMU skips partially built vCPUs), then the ICS block.
 */
export function xicsPicLines(icps: readonly (Icp | null)[], ics: Ics): string[] {
  const out: string[] = [];
  for (const icp of icps) if (icp !== null) out.push(icpPicLine(icp));
  out.push(...icsPicLines(ics));
  return out;
}

/** The whole `info pic` text of a pseries machine running XICS, with the trailing newline. */
export function xicsInfoPic(icps: readonly (Icp | null)[], ics: Ics, irqchip: 'emulated' | 'in-kernel' = 'emulated'): string {
  return [...xicsPicLines(icps, ics), `irqchip: ${irqchip}`].join('\n') + '\n';
}

const CPU_POINTER = /^(CPU -?\d+ XIRR=[0-9a-f]{8} \()0x[0-9a-f]+(\) PP=[0-9a-f]{2} MFRR=[0-9a-f]{2})$/;
const ICS_POINTER = /^(ICS [ 0-9a-f]{4,}\.\.[ 0-9a-f]{4,} )0x[0-9a-f]+$/;

/**
 * Replaces the host pointers of an XICS `info pic` text (ICS header, non-null ICP owners) by
 * XICS_PIC_POINTER, so a capture can be compared with the model's output. `(nil)` is kept: a
 * null owner is state, not an address.
 */
export function maskPicPointers(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(CPU_POINTER, `$1${XICS_PIC_POINTER}$2`).replace(ICS_POINTER, `$1${XICS_PIC_POINTER}`))
    .join('\n');
}
