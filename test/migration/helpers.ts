/**
 * Fixtures of the snapshot tests: machines replayed from the QEMU captures (whole or up to a
 * cut), QEMU's post-load applied in place (the reference for XICS, whose migration drops the ICP
 * owner and resends), a machine proxy whose target can be swapped under a running guest, and
 * seeded random guest/device operations for XIVE and XICS.
 */
import { replayTrace } from '../../src/replay/replay.ts';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import * as H from '../../src/spapr/hcall.ts';
import { CAPTURES, captureLines, type Capture } from '../support/captures.ts';
import { ESB_BASE, TIMA_HV, TIMA_OS } from '../support/mmio.ts';

export const GOLDEN_DIR = new URL('../fixtures/snapshots/', import.meta.url);

/**
 * The captures the round-trip and continuation tests replay: every 2-vCPU machine of the
 * manifest (one per ic-mode, negotiated controller, CPU hotplug and device mix). The larger
 * machines bring no other kind of state and would double the time of these tests; the replay
 * tests cover them.
 */
export const CORPUS: readonly Capture[] = CAPTURES.filter((c) => c.machine.smp === 2);

/**
 * The machine after replaying a capture, whole (fraction 1) or up to the first line at or after
 * `fraction` of it where the replay is still in step with the log. Its trace sink is detached.
 */
export function corpusMachine(c: Capture, fraction = 1): SpaprMachine {
  const lines = captureLines(c);
  for (let cut = Math.floor(lines.length * fraction); cut <= lines.length; cut++) {
    const r = replayTrace(lines.slice(0, cut).join('\n') + '\n', { ...c.machine });
    if (r.status !== 'ok') continue;
    const m = r.machine!;
    m.setTrace(null);
    return m;
  }
  throw new Error(`no clean cut of ${c.name} after ${fraction}`);
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
