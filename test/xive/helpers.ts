/**
 * Shared fixtures for the XIVE tests: a CPU-line recorder, trace filters, an sPAPR XIVE built
 * with a few vCPUs, TIMA/ESB access helpers returning 64-bit values, and reference versions of
 * the spec's helper functions (prio_to_ipb, ipb_to_pipr) written from their definitions.
 */
import type { CpuLines } from '../../src/ports/lines.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { SpaprXive } from '../../src/spapr/spapr-xive.ts';
import { TraceBuffer, type TraceEvent } from '../../src/trace/events.ts';
import type { ThreadContext } from '../../src/xive/tctx.ts';

export interface LineCall {
  cpu: number;
  line: number;
  level: boolean;
}

/** Records every line change and keeps the current levels. */
export class LineRecorder implements CpuLines {
  readonly calls: LineCall[] = [];
  private readonly levels = new Map<string, boolean>();
  setLine(cpu: number, line: number, level: boolean): void {
    this.calls.push({ cpu, line, level });
    this.levels.set(`${cpu}/${line}`, level);
  }
  level(cpu: number, line: number): boolean {
    return this.levels.get(`${cpu}/${line}`) ?? false;
  }
  raises(): LineCall[] {
    return this.calls.filter((c) => c.level);
  }
  lowers(): LineCall[] {
    return this.calls.filter((c) => !c.level);
  }
  clear(): void {
    this.calls.length = 0;
  }
}

export function guestErrors(trace: TraceBuffer): string[] {
  return trace.events.flatMap((e) => (e.name === 'guest_error' ? [e.message] : []));
}

export function eventNames(trace: TraceBuffer): string[] {
  return trace.events.map((e) => e.name);
}

export function eventsNamed<N extends TraceEvent['name']>(trace: TraceBuffer, name: N): Extract<TraceEvent, { name: N }>[] {
  return trace.events.filter((e): e is Extract<TraceEvent, { name: N }> => e.name === name);
}

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
