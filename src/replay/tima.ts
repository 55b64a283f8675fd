/**
 * TIMA (thread interrupt management area) accesses of the log, and which vCPU made each. The log
 * does not name the vCPU of a TIMA access: it is taken from the events the access produced
 * (accept, set_cppr, notify), else by trying each vCPU (most recent first) on a saved thread
 * context and keeping the first whose outcome matches the following lines.
 */
import type { TraceEvent } from '../trace/events.ts';
import { leHostEquivalent as leHost } from './le-host.ts';
import { KIND, SKIP, T, matchesLine } from './line-match.ts';
import { ReplayRun } from './run.ts';

const BASE_TIMA = 0x0006_0302_0318_0000;

/** The TIMA side of a replay run. */
export abstract class TimaReplay extends ReplayRun {
  /** vCPU hint from the events an access produced (lines from..to). */
  protected hintedCpu(from: number, to: number): number {
    const win = this.win;
    for (let k = from; k <= to && k < win.count; k++) {
      const c = win.code_(k);
      if (c === T.xive_tctx_accept || c === T.xive_tctx_set_cppr || c === T.xive_tctx_notify) return win.field(k, 0);
    }
    return -1;
  }

  /** A TIMA access (value: a number below 2^53 or the logged bigint). */
  protected timaAccess(at: number, from: number, write: boolean, offset: number, size: number, value: number | bigint): TraceEvent[] {
    const m = this.machine;
    const end = write ? this.groupEnd(at) : at;
    const hint = this.hintedCpu(write ? at : from, end);
    if (hint >= 0 && m.hasCpu(hint)) {
      this.currentCpu = hint;
      return this.runTima(hint, write, offset, size, value);
    }
    const order: number[] = [];
    if (m.hasCpu(this.currentCpu)) order.push(this.currentCpu);
    for (const c of m.vcpus) if (c !== this.currentCpu) order.push(c);
    if (order.length === 1) {
      this.currentCpu = order[0]!;
      return this.runTima(order[0]!, write, offset, size, value);
    }
    // Try each vCPU on a saved context; keep the first whose reported events match the log.
    for (const cpu of order) {
      const t = m.xive!.tctxOfCpu(cpu)!;
      const saved = t.regs.slice();
      const lines = t.lines;
      const evs = this.runTima(cpu, write, offset, size, value);
      if (this.fits(from, evs)) {
        this.currentCpu = cpu;
        return evs;
      }
      t.regs.set(saved);
      if (t.lines !== lines) {
        for (const line of [0, 1]) m.lines.setLine(t.cpuIndex, line, ((lines >> line) & 1) === 1);
        t.lines = lines;
      }
      m.xive!.presenter.update(t);
    }
    this.currentCpu = order[0]!;
    return this.runTima(order[0]!, write, offset, size, value);
  }

  /** The TIMA access made by vCPU `cpu`; returns what the model reported. */
  protected runTima(cpu: number, write: boolean, offset: number, size: number, value: number | bigint): TraceEvent[] {
    const addr = BASE_TIMA + offset;
    if (write) {
      if (typeof value === 'number') this.machine.mmioWrite(cpu, addr, size, value % 0x1_0000_0000, Math.floor(value / 0x1_0000_0000));
      else this.machine.mmioWrite(cpu, addr, size, Number(value & 0xffff_ffffn), Number(value >> 32n));
    } else this.machine.mmioRead(cpu, addr, size);
    return this.sink.take();
  }

  /** Do the events match the log from line `from` on (skipped lines aside), without counting? */
  protected fits(from: number, evs: TraceEvent[]): boolean {
    const win = this.win;
    let k = from;
    for (const ev of evs) {
      while (this.reach(k) && (win.code_(k) < 0 || KIND[win.code_(k)] === SKIP)) k++;
      if (!this.reach(k)) return false;
      const c = win.code_(k);
      if (!matchesLine(ev, c, win.fields, win.fieldBase(k), win, k) && !leHost(ev, win.event(k), false)) return false;
      k++;
    }
    return true;
  }
}
