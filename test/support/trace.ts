/**
 * Trace and output-line fixtures: a recorder of the CPU interrupt lines a block drives, filters
 * over a trace buffer, and the buffer as QEMU's log text.
 */
import type { CpuLines } from '../../src/ports/lines.ts';
import type { TraceBuffer, TraceEvent } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';

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

/** The messages of the guest_error events. */
export function guestErrors(trace: TraceBuffer): string[] {
  return trace.events.flatMap((e) => (e.name === 'guest_error' ? [e.message] : []));
}

export function eventNames(trace: TraceBuffer): string[] {
  return trace.events.map((e) => e.name);
}

export function eventsNamed<N extends TraceEvent['name']>(trace: TraceBuffer, name: N): Extract<TraceEvent, { name: N }>[] {
  return trace.events.filter((e): e is Extract<TraceEvent, { name: N }> => e.name === name);
}

/** The events so far as QEMU log lines; clears the buffer. */
export function drainTrace(trace: TraceBuffer): string[] {
  const out = trace.events.map(formatTraceEvent);
  trace.clear();
  return out;
}
