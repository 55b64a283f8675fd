/**
 * Monitor commands (an HMP-like console over a pseries machine): `info pic` exactly as QEMU 7.2
 * prints it, interrupt statistics, and commands that act as a guest or a device would
 * (hcalls, RTAS calls, MMIO, device interrupts, CAS, reset, CPU hotplug), plus snapshots through
 * host-provided file access. Every command answers with text; bad input gives a one-line error
 * and never stops the console.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { infoPic } from './info-pic.ts';
import * as H from '../spapr/hcall.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';
import { SPAPR_XIRQ_BASE, SPAPR_NR_XIRQS } from '../spapr/irq-map.ts';
import { LINE_HINT, LINE_INT } from '../ports/lines.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';

/**
 * Counts of interrupt activity per LISN and per vCPU, fed by the machine's trace events; the
 * device interrupts the monitor raises itself are counted by the monitor (`deviceRaised`), since
 * XICS device events do not say which edge they are.
 */
export class IrqStats implements TraceSink {
  readonly raised = new Map<number, number>();
  readonly presented = new Map<number, number>();
  readonly accepted = new Map<number, number>();

  constructor(private readonly next: TraceSink | null = null) {}

  /** A device input went up (an MSI, or an LSI line that was low). */
  deviceRaised(irq: number): void {
    this.bump(this.raised, irq);
  }

  private bump(m: Map<number, number>, k: number): void {
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  /** Counts the event, then passes it on to the next sink. */
  emit(ev: TraceEvent): void {
    switch (ev.name) {
      case 'xive_source_esb_write':
        if (Number(ev.addr & 0x1ffffn) < 0x10000) this.bump(this.raised, ev.srcno); // trigger page
        break;
      case 'xics_icp_check_ipi':
        this.bump(this.raised, 2);
        this.bump(this.presented, ev.server);
        break;
      case 'xive_presenter_notify':
        this.bump(this.presented, spaprNvtVcpu(ev.nvtIdx));
        break;
      case 'xics_icp_raise':
        break;
      case 'xics_icp_irq':
        this.bump(this.presented, ev.server);
        break;
      case 'xive_tctx_accept':
        this.bump(this.accepted, ev.target);
        break;
      case 'xics_icp_accept':
        if ((ev.oldXirr & 0xffffff) !== 0) this.bump(this.accepted, -1);
        break;
      default:
        break;
    }
    this.next?.emit(ev);
  }
}

/** What the host lets the monitor do outside the machine (files). */
export interface MonitorHost {
  /** Writes a snapshot of `machine` to `path` (savevm); returns what to print. */
  saveSnapshot?(path: string, machine: SpaprMachine): string;
  /** Reads the machine saved at `path` (loadvm). */
  loadSnapshot?(path: string): SpaprMachine;
}

export class MonitorError extends Error {
  override readonly name = 'MonitorError';
}

const HCALLS: Record<string, number> = Object.fromEntries(Object.entries(H.HCALL_NAMES).map(([n, name]) => [name.toLowerCase(), Number(n)]));

export const MONITOR_COMMANDS: readonly { name: string; args: string; help: string }[] = [
  { name: 'help', args: '[command]', help: 'list the commands' },
  { name: 'info', args: 'pic|irq|cpus|mode', help: 'show the interrupt controller (pic: as QEMU prints it), IRQ statistics, vCPU lines, ic-mode' },
  { name: 'trigger', args: 'IRQ', help: 'a device interrupt: pulse an MSI, or raise an LSI (lower it with "irq IRQ 0")' },
  { name: 'irq', args: 'IRQ 0|1', help: 'set a device interrupt input level' },
  { name: 'hcall', args: 'CPU NAME|OPCODE [R4 [R5 ...]]', help: 'make an hcall as vCPU CPU (e.g. hcall 0 h_int_get_source_info 0 0x1000)' },
  { name: 'rtas', args: 'CPU NAME NRET [ARGS...]', help: 'an RTAS call (e.g. rtas 0 ibm,get-xive 3 0x1000)' },
  { name: 'mmio', args: 'read CPU ADDR SIZE | write CPU ADDR SIZE VALUE', help: 'a guest load/store of 1, 2, 4 or 8 bytes' },
  { name: 'cas', args: 'BYTE23', help: 'the guest CAS call with option vector 5 byte 23 (0x40: XIVE, 0: XICS)' },
  { name: 'system_reset', args: '', help: 'machine reset' },
  { name: 'cpu-add', args: 'ID', help: 'hot-plug vCPU ID (a CPU index)' },
  { name: 'cpu-del', args: 'ID', help: 'unplug vCPU ID once the guest has released it (device_del of its core)' },
  { name: 'savevm', args: 'FILE', help: 'write a snapshot of the interrupt state (and guest RAM) to FILE' },
  { name: 'loadvm', args: 'FILE', help: 'replace the machine by the snapshot in FILE' },
];

function num(s: string | undefined, what: string): bigint {
  if (s === undefined) throw new MonitorError(`missing ${what}`);
  try {
    if (!/^(0x[0-9a-f]+|\d+|-\d+)$/i.test(s)) throw new Error();
    const v = BigInt(s);
    return v;
  } catch {
    throw new MonitorError(`${what} must be a number (decimal or 0x hex), got '${s}'`);
  }
}

/**
 * A 64-bit register value: 0..2^64-1, or a negative number down to -2^63 taken as two's
 * complement. Anything wider would be silently cut to its low 64 bits, so it is refused.
 */
function reg64(s: string | undefined, what: string): bigint {
  const v = num(s, what);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new MonitorError(`${what} must fit in 64 bits (0..0xffffffffffffffff, or a negative number down to -2^63), got '${s}'`);
  return BigInt.asUintN(64, v);
}

function small(s: string | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = num(s, what);
  if (v < 0n || v > BigInt(max)) throw new MonitorError(`${what} must be in 0..${max}, got '${s}'`);
  return Number(v);
}

/**
 * The HMP-like monitor of a machine: `run` executes one command line (info pic, info irq, hcall,
 * mmio, trigger…).
 */
export class Monitor {
  stats: IrqStats;

  constructor(
    public machine: SpaprMachine,
    private readonly host: MonitorHost = {},
  ) {
    this.stats = new IrqStats(machine.trace);
    machine.setTrace(this.stats);
  }

  /** Runs one command line; returns its output (possibly empty). Errors come back as text. */
  run(line: string): { output: string; ok: boolean; quit?: boolean } {
    const words = line.trim().split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return { output: '', ok: true };
    try {
      const out = this.exec(words);
      if (out === null) return { output: '', ok: true, quit: true };
      return { output: out, ok: true };
    } catch (e) {
      if (e instanceof MonitorError || e instanceof XiveUsageError) return { output: `Error: ${e.message}\n`, ok: false };
      // Host failures (e.g. an unreadable or refused snapshot file) are one line too.
      return { output: `Error: ${(e as Error).message}\n`, ok: false };
    }
  }

  /** Completion candidates for a partial line. */
  complete(line: string): string[] {
    const words = line.split(/\s+/);
    if (words.length <= 1) return [...MONITOR_COMMANDS.map((c) => c.name), 'quit'].filter((c) => c.startsWith(words[0] ?? ''));
    if (words[0] === 'info' && words.length === 2) return ['pic', 'irq', 'cpus', 'mode'].filter((c) => c.startsWith(words[1]!)).map((c) => `info ${c}`);
    if (words[0] === 'hcall' && words.length === 3) return Object.keys(HCALLS).filter((c) => c.startsWith(words[2]!)).map((c) => `hcall ${words[1]} ${c}`);
    return [];
  }

  private exec(w: string[]): string | null {
    const m = this.machine;
    const cmd = w[0]!;
    switch (cmd) {
      case 'quit':
      case 'q':
        return null;
      case 'help':
      case '?':
        return MONITOR_COMMANDS.filter((c) => w[1] === undefined || c.name === w[1])
          .map((c) => `${c.name}${c.args ? ' ' + c.args : ''} -- ${c.help}\n`)
          .join('') + (w[1] === undefined ? 'quit -- leave the monitor\n' : '');
      case 'info':
        return this.info(w[1]);
      case 'trigger': {
        const irq = this.irqArg(w[1]);
        if (this.isLsi(irq)) this.setLevel(irq, true);
        else {
          m.pulseMsi(irq);
          this.stats.deviceRaised(irq);
        }
        return '';
      }
      case 'irq': {
        const irq = this.irqArg(w[1]);
        this.setLevel(irq, small(w[2], 'level', 1) === 1);
        return '';
      }
      case 'hcall': {
        const cpu = this.cpuArg(w[1]);
        const name = w[2];
        if (name === undefined) throw new MonitorError('missing hcall name or opcode');
        const op = HCALLS[name.toLowerCase()] ?? small(name, 'hcall opcode', 0xffff);
        const args = w.slice(3).map((a, i) => reg64(a, `R${4 + i}`));
        if (args.length > H.HCALL_REGS) throw new MonitorError(`at most ${H.HCALL_REGS} arguments (R4..R9)`);
        const r = m.hcall(cpu, op, args);
        return `${H.HCALL_STATUS_NAMES[r.ret] ?? r.ret} ${r.regs.map((v, i) => `R${4 + i}=0x${v.toString(16)}`).join(' ')}\n`;
      }
      case 'rtas': {
        const cpu = this.cpuArg(w[1]);
        const name = w[2];
        if (name === undefined) throw new MonitorError('missing RTAS call name');
        const nret = small(w[3], 'nret', 16);
        const args = w.slice(4).map((a) => small(a, 'argument', 0xffff_ffff));
        return `${m.rtas(cpu, name, args, nret).join(' ')}\n`;
      }
      case 'mmio': {
        const dir = w[1];
        const cpu = this.cpuArg(w[2]);
        const addr = small(w[3], 'address');
        const size = small(w[4], 'size', 8);
        if (![1, 2, 4, 8].includes(size)) throw new MonitorError('size must be 1, 2, 4 or 8');
        if (dir === 'read') {
          const lo = m.mmioRead(cpu, addr, size);
          const v = size === 8 ? (BigInt(m.mmioHi) << 32n) | BigInt(lo) : BigInt(lo);
          return `0x${v.toString(16)}\n`;
        }
        if (dir === 'write') {
          const v = reg64(w[5], 'value');
          m.mmioWrite(cpu, addr, size, Number(v & 0xffff_ffffn), Number(v >> 32n));
          return '';
        }
        throw new MonitorError("mmio needs 'read' or 'write'");
      }
      case 'cas': {
        const out = m.cas(small(w[1], 'byte 23', 0xff));
        return out.ok ? `negotiated ${out.xive ? 'XIVE' : 'XICS'}\n` : `the VM would stop: ${out.fatal}\n`;
      }
      case 'system_reset':
        m.reset();
        this.levels.clear();
        return '';
      case 'cpu-add':
        m.plugCpu(small(w[1], 'vCPU id', m.maxCpus - 1));
        return '';
      case 'cpu-del': {
        const cpu = this.cpuArg(w[1]);
        if (cpu === 0) throw new MonitorError('the boot vCPU 0 cannot be unplugged');
        m.unplugCpu(cpu);
        return '';
      }
      case 'savevm': {
        if (w[1] === undefined) throw new MonitorError('missing FILE');
        if (this.host.saveSnapshot === undefined) throw new MonitorError('snapshots are not available here');
        return this.host.saveSnapshot(w[1], m);
      }
      case 'loadvm': {
        if (w[1] === undefined) throw new MonitorError('missing FILE');
        if (this.host.loadSnapshot === undefined) throw new MonitorError('snapshots are not available here');
        const next = this.host.loadSnapshot(w[1]);
        this.machine = next;
        this.levels.clear();
        this.stats = new IrqStats(next.trace);
        next.setTrace(this.stats);
        return '';
      }
      default:
        throw new MonitorError(`unknown command: '${cmd}' (try 'help')`);
    }
  }

  /** Device input levels set from the monitor, to count rising edges. */
  private readonly levels = new Map<number, boolean>();

  private setLevel(irq: number, level: boolean): void {
    if (level && this.levels.get(irq) !== true) this.stats.deviceRaised(irq);
    this.levels.set(irq, level);
    this.machine.setIrq(irq, level);
  }

  private isLsi(irq: number): boolean {
    return this.machine.isLsi(irq);
  }

  private irqArg(s: string | undefined): number {
    const irq = small(s, 'IRQ', 0xffff_ffff);
    if (irq < SPAPR_XIRQ_BASE || irq >= SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS) throw new MonitorError(`device IRQ must be in 0x1000..0x1fff, got ${s}`);
    return irq;
  }

  private cpuArg(s: string | undefined): number {
    const cpu = small(s, 'vCPU', 0xffff_ffff);
    if (!this.machine.hasCpu(cpu)) throw new MonitorError(`no vCPU ${cpu} (plugged: ${this.machine.vcpus.join(', ')})`);
    return cpu;
  }

  private info(what: string | undefined): string {
    const m = this.machine;
    switch (what) {
      case 'pic':
        return infoPic(m);
      case 'mode':
        return `ic-mode ${m.icMode}, active controller ${m.activeController().toUpperCase()}${m.halted ? `, stopped: ${m.halted}` : ''}\n`;
      case 'cpus':
        return m.vcpus.map((c) => `CPU ${c}: INT ${m.lineLevel(c, LINE_INT) ? 'raised' : 'low'}${m.intc.cpuLines.includes(LINE_HINT) ? `, HINT ${m.lineLevel(c, LINE_HINT) ? 'raised' : 'low'}` : ''}\n`).join('');
      case 'irq': {
        const s = this.stats;
        const rows = [...s.raised].sort((a, b) => a[0] - b[0]).map(([irq, n]) => `  ${irq.toString(16).padStart(8, '0')} ${String(n).padStart(10)}\n`);
        const cpus = m.vcpus.map((c) => `  CPU ${String(c).padEnd(5)} ${String(s.presented.get(c) ?? 0).padStart(10)} ${String(s.accepted.get(c) ?? 0).padStart(10)}\n`);
        return `  IRQ          raised\n${rows.join('')}  vCPU       presented  accepted\n${cpus.join('')}`;
      }
      default:
        throw new MonitorError(`info needs one of: pic, irq, cpus, mode`);
    }
  }
}
