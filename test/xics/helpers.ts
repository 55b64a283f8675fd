/**
 * Fixtures of the XICS tests: a small machine made of one ICS (interrupt source controller) and
 * one ICP (interrupt presentation controller) per vCPU (vCPU id = cpu index, as under TCG), a
 * hcall/RTAS context over it, its trace as QEMU text, and every state byte of it so error paths
 * can be checked to change nothing.
 */
import assert from 'node:assert/strict';
import { Ics } from '../../src/xics/ics.ts';
import { Icp, SimpleXicsFabric } from '../../src/xics/icp.ts';
import { xicsHcall, type XicsHcallContext } from '../../src/spapr/xics-hcalls.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { LineState, LINE_INT } from '../../src/ports/lines.ts';
import { regsOf } from '../support/hcall.ts';
import { partsText, xicsParts } from '../support/state.ts';
import { drainTrace } from '../support/trace.ts';

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
  r.ics.tracer.sink = buf;
  for (const icp of r.icps) icp.tracer.sink = buf;
}

/** The rig's trace so far as QEMU log lines; clears the buffer. */
export function take(r: Rig): string[] {
  return drainTrace(r.buf);
}

export function hcall(r: Rig, cpu: number, opcode: number, args: readonly bigint[] = []): { ret: number; regs: bigint[] } {
  const regs = regsOf(args);
  const ret = xicsHcall(r.ctx, cpu, opcode, regs);
  return { ret, regs };
}

/** Every state byte of the rig (ICS arrays, ICP registers and owners, CPU lines). */
export function snapshot(r: Rig): string {
  return partsText({ ...xicsParts(r.ics, r.icps), lines: r.icps.map((i) => Number(r.lines.level(i.cpuIndex, LINE_INT))).join(',') });
}

/** Global irq → srcno of the default ICS. */
export const src = (irq: number): number => irq - 0x1000;
