/**
 * Shared helpers for the XICS tests: a small machine made of one ICS and one ICP per vCPU
 * (vCPU id = cpu index, as under TCG), a hcall/RTAS context over it, the trace as QEMU text, and
 * a snapshot of every state byte so error paths can be checked to change nothing.
 */
import assert from 'node:assert/strict';
import { Ics } from '../../src/xics/ics.ts';
import { Icp, SimpleXicsFabric } from '../../src/xics/icp.ts';
import { xicsHcall, type XicsHcallContext } from '../../src/spapr/xics-hcalls.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { LineState, LINE_INT } from '../../src/ports/lines.ts';

export const SENTINELS: readonly bigint[] = [
  0x1111_2222_3333_4444n,
  0x5555_6666_7777_8888n,
  0x9999_aaaa_bbbb_ccccn,
  0xdddd_eeee_ffff_0001n,
  0x0123_4567_89ab_cdefn,
  0xfedc_ba98_7654_3210n,
];

export interface Rig {
  fabric: SimpleXicsFabric;
  ics: Ics;
  icps: Icp[];
  lines: LineState;
  buf: TraceBuffer;
  ctx: Omit<XicsHcallContext, 'ics'> & { ics: Ics | null; active: boolean; reports: string[]; ticks: bigint };
}

export interface RigOptions {
  smp?: number;
  /** Size of the ICS (default 0x1000 sources from 0x1000). */
  nrIrqs?: number;
  trace?: boolean;
  /** Claim QEMU's default pseries sources (EPOW, hotplug, VTY, NVRAM as MSI; PHB0 INTA-D as LSI). */
  defaults?: boolean;
  /** Open every CPU with H_CPPR(0xFF) as Linux does at bring-up (before tracing starts). */
  open?: boolean;
}

export function rig(opts: RigOptions = {}): Rig {
  const smp = opts.smp ?? 2;
  const fabric = new SimpleXicsFabric();
  const ics = new Ics(fabric, 0x1000, opts.nrIrqs ?? 0x1000);
  fabric.ics = ics;
  const lines = new LineState();
  const icps: Icp[] = [];
  for (let i = 0; i < smp; i++) {
    const icp = new Icp(i, i, fabric, lines);
    fabric.addIcp(icp);
    icps.push(icp);
  }
  if (opts.defaults ?? true) {
    for (const irq of [0x1000, 0x1001, 0x1100, 0x1101]) assert.ok(ics.claim(irq, false));
    for (const irq of [0x1200, 0x1201, 0x1202, 0x1203]) assert.ok(ics.claim(irq, true));
  }
  ics.reset();
  for (const icp of icps) icp.reset();
  const buf = new TraceBuffer();
  const ctx = {
    active: true,
    reports: [] as string[],
    ticks: 0x1234_5678_9abc_def0n,
    ics: ics as Ics | null,
    icpOfCpu: (cpu: number) => icps[cpu] ?? null,
    icpByServer: (server: number) => fabric.icpByServer(server),
    emulatedXicsActive(): boolean {
      return this.active;
    },
    hostTicks(): bigint {
      return this.ticks;
    },
    errorReport(message: string): void {
      this.reports.push(message);
    },
  };
  const r: Rig = { fabric, ics, icps, lines, buf, ctx };
  if (opts.open ?? false) for (const icp of icps) icp.setCppr(0xff);
  if (opts.trace ?? true) setTrace(r, buf);
  return r;
}

export function setTrace(r: Rig, buf: TraceBuffer | null): void {
  r.ics.trace = buf;
  for (const icp of r.icps) icp.trace = buf;
}

/** The trace so far as QEMU log lines; clears the buffer. */
export function take(r: Rig): string[] {
  const out = r.buf.events.map(formatTraceEvent);
  r.buf.clear();
  return out;
}

/** The 6 registers R4..R9 built from `args`, the rest filled with sentinels. */
export function regsOf(args: readonly bigint[]): bigint[] {
  const regs = SENTINELS.slice();
  for (let i = 0; i < args.length; i++) regs[i] = BigInt.asUintN(64, args[i]!);
  return regs;
}

export function hcall(r: Rig, cpu: number, opcode: number, args: readonly bigint[] = []): { ret: number; regs: bigint[] } {
  const regs = regsOf(args);
  const ret = xicsHcall(r.ctx, cpu, opcode, regs);
  return { ret, regs };
}

/** Every state byte of the rig (ICS arrays, ICP registers and owners, CPU lines). */
export function snapshot(r: Rig): string {
  const { ics } = r;
  return JSON.stringify({
    server: Array.from(ics.server),
    priority: Array.from(ics.priority),
    saved: Array.from(ics.savedPriority),
    status: Array.from(ics.status),
    flags: Array.from(ics.flags),
    icps: r.icps.map((i) => [i.xirr, i.pendingPriority, i.mfrr, i.owner === null, i.outputLevel, r.lines.level(i.cpuIndex, LINE_INT)]),
  });
}

/** Global irq → srcno of the default ICS. */
export const src = (irq: number): number => irq - 0x1000;
