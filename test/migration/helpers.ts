/**
 * Shared helpers for the snapshot tests: corpus machines (a QEMU capture replayed, whole or up to
 * a cut), a fingerprint of every piece of interrupt state read straight from the machine (not
 * through the snapshot code, so a field the snapshot forgets shows up as a difference), QEMU's
 * post-load applied in place (the reference for XICS, whose migration drops the ICP owner and
 * resends), a machine proxy whose target can be swapped under a running guest, and seeded
 * random guest/device operations for XIVE and XICS.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { replayTrace } from '../../src/replay/replay.ts';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import type { IcMode } from '../../src/spapr/cas.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { LineState, LINE_HINT, LINE_INT } from '../../src/ports/lines.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { mulberry32 } from '../../src/guest/workload.ts';
import * as H from '../../src/spapr/hcall.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url);
export const GOLDEN_DIR = new URL('../fixtures/snapshots/', import.meta.url);

export interface CorpusCase {
  name: string;
  trace: string;
  icMode: IcMode;
  smp: number;
  maxCpus?: number;
}

export const CORPUS: readonly CorpusCase[] = [
  { name: 'xive-smp2', trace: 'qemu/xive-smp2.trace', icMode: 'xive', smp: 2 },
  { name: 'xics-smp2', trace: 'qemu/xics-smp2.trace', icMode: 'xics', smp: 2 },
  { name: 'dual-xive', trace: 'qemu-extra/dual-xive.trace', icMode: 'dual', smp: 2 },
  { name: 'dual-xics', trace: 'qemu-extra/dual-xics.trace', icMode: 'dual', smp: 2 },
  { name: 'xive-hotplug', trace: 'qemu-extra/xive-hotplug.trace', icMode: 'xive', smp: 2, maxCpus: 4 },
];

export function corpusCase(name: string): CorpusCase {
  const c = CORPUS.find((x) => x.name === name);
  assert.ok(c !== undefined, `no corpus case ${name}`);
  return c;
}

const textCache = new Map<string, string[]>();

function traceLines(path: string): string[] {
  let l = textCache.get(path);
  if (l === undefined) {
    l = readFileSync(new URL(path, FIXTURES), 'utf8').split('\n');
    textCache.set(path, l);
  }
  return l;
}

/**
 * The machine after replaying a capture, whole (fraction 1) or up to the first line at or after
 * `fraction` of it where the replay is still in step with the log. Its trace sink is detached.
 */
export function corpusMachine(c: CorpusCase, fraction = 1): SpaprMachine {
  const lines = traceLines(c.trace);
  for (let cut = Math.floor(lines.length * fraction); cut <= lines.length; cut++) {
    const r = replayTrace(lines.slice(0, cut).join('\n') + '\n', { smp: c.smp, maxCpus: c.maxCpus, icMode: c.icMode });
    if (r.status !== 'ok') continue;
    const m = r.machine!;
    m.setTrace(null);
    return m;
  }
  throw new Error(`no clean cut of ${c.trace} after ${fraction}`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Levels the port holds for each vCPU (INT, HINT). */
export function portLevels(m: SpaprMachine): string {
  const port = m.lines;
  assert.ok(port instanceof LineState, 'these tests use the default LineState port');
  return m.vcpus.map((v) => `${v}:${port.level(v, LINE_INT) ? 1 : 0}${port.level(v, LINE_HINT) ? 1 : 0}`).join(' ');
}

/** Every piece of interrupt state, read from the machine's own structures. */
export function fingerprint(m: SpaprMachine, withRam = true): Record<string, string> {
  const f: Record<string, string> = {
    config: `${m.icMode} smp=${m.smp} max=${m.maxCpus} vcpus=${m.vcpus.join(',')}`,
    active: m.activeController(),
    pic: infoPic(m),
    ov5: hex(m.ov5Cas),
    msi: hex(m.msi.bitmap),
    halted: String(m.halted),
    mmioHi: String(m.mmioHi),
    port: portLevels(m),
    lineLevel: m.vcpus.map((v) => `${m.lineLevel(v, LINE_INT)}/${m.lineLevel(v, LINE_HINT)}`).join(' '),
  };
  const x = m.xive;
  if (x !== null) {
    const b = (d: DataView) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    f.eas = hex(b(x.router.eas));
    f.ends = hex(b(x.router.ends));
    f.status = hex(x.source.status);
    f.lsi = Array.from({ length: x.nrIrqs }, (_, i) => (x.source.isLsi(i) ? '1' : '0')).join('');
    f.tctxRegs = hex(x.tctxRegs);
    f.tctx = x.cpus.map((t) => `${t.cpuIndex}:${t.lines}`).join(' ');
    f.mmio = String(x.mmioEnabled);
  }
  const xc = m.xics;
  if (xc !== null) {
    const ics = xc.ics;
    f.ics = [ics.server, ics.priority, ics.savedPriority, ics.status, ics.flags].map((a) => hex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))).join('|');
    f.icp = xc.icps.map((c) => `${c.cpuIndex}:${c.xirr.toString(16)}/${c.pendingPriority}/${c.mfrr}/${c.outputLevel}/${c.owner === null ? 'nil' : 'ics'}`).join(' ');
  }
  if (withRam && m.memory instanceof SparseGuestMemory) f.ram = ramDigest(m.memory);
  return f;
}

/** Non-zero RAM words as "addr=value" (RAM the tests touch is a few pages). */
export function ramDigest(mem: SparseGuestMemory): string {
  const out: string[] = [];
  for (const p of mem.touchedPages()) {
    for (let a = p * 0x10000; a < (p + 1) * 0x10000; a += 4) {
      const w = mem.read32(a);
      if (w !== 0) out.push(`${a.toString(16)}=${w.toString(16)}`);
    }
  }
  return out.join(',');
}

/**
 * What QEMU's XICS migration does to a machine, applied in place: ICP state reloaded (the owner
 * is not migrated), then, XICS being active, a resend on every ICP in vCPU order.
 */
export function qemuPostLoadInPlace(m: SpaprMachine): void {
  const xc = m.xics;
  if (xc === null) return;
  for (const v of m.vcpus) {
    const c = xc.icpOfCpu(v)!;
    c.setState(c.xirr, c.pendingPriority, c.mfrr);
  }
  if (m.activeController() === 'xics') for (const v of m.vcpus) xc.icpOfCpu(v)!.resend();
}

/** Formatted trace lines of a buffer (and clears it). */
export function drainTrace(buf: TraceBuffer): string[] {
  const out = buf.events.map(formatTraceEvent);
  buf.clear();
  return out;
}

/**
 * A stand-in for a machine whose target can be replaced while a guest uses it: every method
 * call first runs `beforeCall(n)` with the number of calls so far. The guest keeps its own state
 * (queues it reads, counters), as a migrated guest does.
 */
export class SwitchableMachine {
  current: SpaprMachine;
  calls = 0;
  beforeCall: ((n: number) => void) | null = null;
  readonly proxy: SpaprMachine;

  constructor(initial: SpaprMachine) {
    this.current = initial;
    this.proxy = new Proxy({} as SpaprMachine, {
      get: (_t, key) => {
        const target = this.current;
        const v: unknown = Reflect.get(target, key, target);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          this.beforeCall?.(this.calls++);
          const now = this.current;
          return (Reflect.get(now, key, now) as (...a: unknown[]) => unknown).apply(now, args);
        };
      },
    });
  }
}

export const TIMA_HV = 0x0006_0302_0318_0000 + 0x10000;
export const TIMA_OS = 0x0006_0302_0318_0000 + 0x20000;
export const ESB_BASE = 0x0006_0100_0000_0000;

/**
 * One random XIVE guest or device action on `m` (seeded by `rand`): ESB loads/stores on claimed
 * sources, ACK and CPPR through the TIMA, OS context pull/push (which re-indexes the presenter),
 * source/queue configuration hcalls, device input.
 */
export function randomXiveOp(m: SpaprMachine, rand: () => number): void {
  const x = m.xive!;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const claimed: number[] = [];
  for (let i = 0; i < x.nrIrqs; i++) if (x.router.easValid(i)) claimed.push(i);
  const cpu = pick(m.vcpus);
  const lisn = pick(claimed);
  const page = ESB_BASE + lisn * 2 ** x.esbShift;
  const mgmt = page + 2 ** (x.esbShift - 1);
  switch (Math.floor(rand() * 12)) {
    case 10:
      m.mmioRead(cpu, TIMA_HV + 0x818, 4); // pull the OS context
      break;
    case 11:
      m.mmioWrite(cpu, TIMA_HV + 0x018, 4, (0x8000_0000 | (0x400 + pick(m.vcpus))) >>> 0); // push an OS context
      break;
    case 0:
      m.mmioWrite(cpu, page, 8, 0, 0); // trigger
      break;
    case 1:
      m.mmioRead(cpu, mgmt + pick([0x000, 0x800, 0xc00, 0xd00, 0xe00, 0xf00]), 8);
      break;
    case 2:
      m.mmioRead(cpu, TIMA_OS + 0x810, 2); // ACK
      break;
    case 3:
      m.mmioWrite(cpu, TIMA_OS + 0x11, 1, pick([0xff, 7, 6, 5, 0])); // CPPR
      break;
    case 4:
      m.hcall(cpu, H.H_INT_SET_SOURCE_CONFIG, [pick([0n, 1n, 2n]), BigInt(lisn), BigInt(pick(m.vcpus)), BigInt(pick([5, 6, 0xff])), BigInt(1 + Math.floor(rand() * 100))]);
      break;
    case 5:
      m.hcall(cpu, H.H_INT_SET_QUEUE_CONFIG, [0n, BigInt(pick(m.vcpus)), BigInt(pick([5, 6])), BigInt(0x800_0000 + 0x10000 * Math.floor(rand() * 4)), 12n]);
      break;
    case 6:
      m.hcall(cpu, H.H_INT_ESB, [0n, BigInt(lisn), BigInt(pick([0x000, 0x800, 0xc00])), 0n]);
      break;
    case 7:
      if (lisn >= 0x1000) m.setIrq(lisn, rand() < 0.6);
      break;
    case 8:
      if (lisn >= 0x1000) m.pulseMsi(lisn);
      break;
    default:
      m.mmioRead(cpu, mgmt + 0x800, 8); // ESB GET
      break;
  }
}

/** One random XICS guest or device action (hcalls, RTAS, device input). */
export function randomXicsOp(m: SpaprMachine, rand: () => number): void {
  const ics = m.xics!.ics;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const claimed: number[] = [];
  for (let i = 0; i < ics.nrIrqs; i++) if (ics.isClaimed(i)) claimed.push(ics.offset + i);
  const cpu = pick(m.vcpus);
  const irq = pick(claimed);
  switch (Math.floor(rand() * 9)) {
    case 0:
      m.hcall(cpu, H.H_CPPR, [BigInt(pick([0xff, 6, 5, 4, 0]))]);
      break;
    case 1:
    case 2: {
      const xirr = m.hcall(cpu, H.H_XIRR).regs[0]!;
      if (rand() < 0.8) m.hcall(cpu, H.H_EOI, [xirr]);
      break;
    }
    case 3:
      m.hcall(cpu, H.H_IPI, [BigInt(pick(m.vcpus)), BigInt(pick([0xff, 5, 4, 6]))]);
      break;
    case 4:
      m.rtas(cpu, 'ibm,set-xive', [irq, pick(m.vcpus), pick([5, 4, 6, 0xff])], 1);
      break;
    case 5:
      m.rtas(cpu, pick(['ibm,int-off', 'ibm,int-on']), [irq], 1);
      break;
    case 6:
      m.setIrq(irq, rand() < 0.6);
      break;
    case 7:
      m.pulseMsi(irq);
      break;
    default:
      m.hcall(cpu, H.H_EOI, [BigInt(((pick([5, 6, 0xff]) << 24) | irq) >>> 0)]);
      break;
  }
}

export function seeded(seed: number): () => number {
  return mulberry32(seed);
}

/** Deep copy of every byte of a file-like buffer (so tests can damage it). */
export function copy(b: Uint8Array): Uint8Array {
  return b.slice();
}
