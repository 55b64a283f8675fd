/**
 * Perfetto / Chrome Trace Event export of the interrupt activity: a TraceSink that turns the
 * model's events into the JSON that ui.perfetto.dev (and chrome://tracing) open.
 *
 * Layout: one process "xive"; one thread track per vCPU plus a "sources" track. Instants mark
 * triggers (device inputs, ESB trigger stores, IPIs), a slice spans each interrupt from the
 * notification of its vCPU to the end of its handling (XIVE: CPPR back to 0xFF; XICS: EOI), and
 * a counter per vCPU follows the events waiting for it (presented and not yet handled). Logs
 * have no clock, so the time axis is the event order: one event = one microsecond.
 */
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';

interface ChromeEvent {
  name: string;
  ph: 'i' | 'X' | 'C' | 'M';
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: 't' | 'p' | 'g';
  cat?: string;
  args?: Record<string, unknown>;
}

const PID = 1;
const SOURCES_TID = 0;

export class PerfettoSink implements TraceSink {
  private readonly events: ChromeEvent[] = [];
  private clock = 0;
  private readonly open = new Map<number, { ts: number; what: string }>();
  private readonly depth = new Map<number, number>();
  private readonly cpus = new Set<number>();

  constructor(private readonly next: TraceSink | null = null) {}

  private tid(cpu: number): number {
    if (!this.cpus.has(cpu)) {
      this.cpus.add(cpu);
      this.events.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: cpu + 1, args: { name: `vCPU ${cpu}` } });
      this.events.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID, tid: cpu + 1, args: { sort_index: cpu + 1 } });
    }
    return cpu + 1;
  }

  private instant(name: string, tid: number, args: Record<string, unknown>): void {
    this.events.push({ name, ph: 'i', s: 't', ts: this.clock, pid: PID, tid, cat: 'trigger', args });
  }

  private begin(cpu: number, what: string): void {
    this.tid(cpu);
    if (!this.open.has(cpu)) this.open.set(cpu, { ts: this.clock, what });
  }

  private end(cpu: number): void {
    const o = this.open.get(cpu);
    if (o === undefined) return;
    this.open.delete(cpu);
    this.events.push({ name: o.what, ph: 'X', ts: o.ts, dur: Math.max(1, this.clock - o.ts), pid: PID, tid: this.tid(cpu), cat: 'interrupt' });
  }

  private counter(cpu: number, delta: number | null): void {
    const v = delta === null ? 0 : Math.max(0, (this.depth.get(cpu) ?? 0) + delta);
    this.depth.set(cpu, v);
    this.events.push({ name: `queue depth vCPU ${cpu}`, ph: 'C', ts: this.clock, pid: PID, tid: this.tid(cpu), args: { pending: v } });
  }

  /** Turns the event into timeline entries, then passes it on to the next sink. */
  emit(ev: TraceEvent): void {
    this.clock++;
    switch (ev.name) {
      case 'spapr_xive_set_irq':
        if (ev.val !== 0) this.instant(`IRQ 0x${ev.lisn.toString(16)}`, SOURCES_TID, { lisn: ev.lisn });
        break;
      case 'xive_source_esb_write':
        if (Number(ev.addr & 0x1ffffn) < 0x10000) this.instant(`trigger LISN 0x${ev.srcno.toString(16)}`, SOURCES_TID, { lisn: ev.srcno });
        break;
      case 'xics_ics_set_irq_msi':
      case 'xics_ics_set_irq_lsi':
        this.instant(`IRQ 0x${ev.nr.toString(16)}`, SOURCES_TID, { irq: ev.nr });
        break;
      case 'xive_presenter_notify': {
        const cpu = spaprNvtVcpu(ev.nvtIdx);
        if (cpu >= 0) this.counter(cpu, +1);
        break;
      }
      case 'xive_tctx_notify':
        this.begin(ev.target, `interrupt prio ${ev.pipr}`);
        break;
      case 'xive_tctx_set_cppr':
        if (ev.cppr === 0xff) {
          this.end(ev.target);
          this.counter(ev.target, null);
        }
        break;
      case 'xics_icp_check_ipi':
        this.instant(`IPI to vCPU ${ev.server}`, SOURCES_TID, { server: ev.server });
        this.counter(ev.server, +1);
        this.begin(ev.server, 'IPI');
        break;
      case 'xics_icp_irq':
        this.counter(ev.server, +1);
        this.begin(ev.server, `irq 0x${ev.nr.toString(16)}`);
        break;
      case 'xics_icp_eoi':
        this.end(ev.server);
        this.counter(ev.server, -1);
        break;
      default:
        break;
    }
    this.next?.emit(ev);
  }

  /** The trace as a Chrome Trace Event JSON object (open slices are closed at the end). */
  toJSON(): { traceEvents: ChromeEvent[]; displayTimeUnit: string; otherData: Record<string, string> } {
    this.clock++;
    for (const cpu of [...this.open.keys()]) this.end(cpu);
    const meta: ChromeEvent[] = [
      { name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'xive' } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: SOURCES_TID, args: { name: 'sources' } },
    ];
    return { traceEvents: [...meta, ...this.events], displayTimeUnit: 'ns', otherData: { clock: 'one unit per model event' } };
  }

  /** The trace as Chrome Trace Event JSON text (see toJSON). */
  serialize(): string {
    return JSON.stringify(this.toJSON());
  }
}
