/**
 * Fixtures of the XIVE block tests: an sPAPR XIVE built with a few vCPUs, TIMA (thread interrupt
 * management area) and ESB (event state buffer) accesses through its MMIO entry points returning
 * 64-bit values, and reference versions of the spec's functions (prio_to_ipb, ipb_to_pipr)
 * written from their definitions.
 */
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { SpaprXive } from '../../src/spapr/spapr-xive.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import type { ThreadContext } from '../../src/xive/tctx.ts';
import { LineRecorder } from '../support/trace.ts';

/** prio_to_ipb from the spec: 0 if p > 7, else 1 << (7 - p). */
export function refPrioToIpb(p: number): number {
  return p > 7 ? 0 : 1 << (7 - p);
}

/** ipb_to_pipr from the spec: 0xFF for 0, else the count of leading zero bits of the byte. */
export function refIpbToPipr(ipb: number): number {
  if ((ipb & 0xff) === 0) return 0xff;
  let n = 0;
  for (let bit = 0x80; (ipb & bit) === 0; bit >>= 1) n++;
  return n;
}

export interface SpaprFixture {
  xive: SpaprXive;
  trace: TraceBuffer;
  lines: LineRecorder;
  memory: SparseGuestMemory;
  cpus: ThreadContext[];
}

/** A sPAPR XIVE with vCPUs 0..nCpus-1 (nr-irqs 0x2000), traced, line changes cleared. */
export function makeSpapr(nCpus = 2, nrServers = Math.max(2, nCpus)): SpaprFixture {
  const memory = new SparseGuestMemory(1 << 30);
  const lines = new LineRecorder();
  const trace = new TraceBuffer();
  const xive = new SpaprXive({ nrIrqs: 0x2000, nrServers, memory, lines, trace });
  const cpus: ThreadContext[] = [];
  for (let i = 0; i < nCpus; i++) cpus.push(xive.addCpu(i));
  lines.clear();
  trace.clear();
  return { xive, trace, lines, memory, cpus };
}

const out = new Uint32Array(2);

/** TIMA load through the sPAPR MMIO entry point; the 64-bit value the bus returns. */
export function timaLoad(xive: SpaprXive, t: ThreadContext, off: number, size: number): bigint {
  xive.timaRead(t, off, size, out);
  return size === 8 ? (BigInt(out[1]!) << 32n) | BigInt(out[0]!) : BigInt(out[0]!) & ((1n << BigInt(8 * size)) - 1n);
}

/** TIMA store through the sPAPR MMIO entry point. */
export function timaStore(xive: SpaprXive, t: ThreadContext, off: number, size: number, value: bigint | number): void {
  const v = BigInt(value);
  xive.timaWrite(t, off, size, Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn));
}

/** ESB 8-byte load through the sPAPR MMIO entry point. */
export function esbLoad(xive: SpaprXive, off: number): bigint {
  xive.esbRead(off, 8, out);
  return (BigInt(out[1]!) << 32n) | BigInt(out[0]!);
}

/** ESB 8-byte store through the sPAPR MMIO entry point. */
export function esbStore(xive: SpaprXive, off: number, value: bigint | number = 0): void {
  const v = BigInt(value);
  xive.esbWrite(off, 8, Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn));
}

/** Region offsets of the sPAPR ESB pages (esb_shift 17). */
export const trigPage = (lisn: number): number => lisn * 0x20000;
export const mgmtPage = (lisn: number): number => lisn * 0x20000 + 0x10000;
