/**
 * A QEMU trace log replayed for the playground's timeline: one run over the whole log that
 * reports its progress and keeps a checkpoint every K actions (the machine's snapshot with guest
 * RAM, the replay's position, the activity counts so far), then the state at any event on
 * demand — the nearest checkpoint at or before it is restored and the replay goes on from there
 * to the event, so a seek costs at most K actions whatever the length of the log.
 *
 * An event is one guest or device action of the log (what `xive replay` counts as replayed):
 * event n is the state once the first n actions and everything they reported are replayed;
 * event 0 is the machine before the first one, the last event the end of the run (or the
 * divergence). Counters are fed by the model events that matched the log.
 *
 * Platform-neutral (it runs in a Web Worker); nothing here reads files.
 */
import { TraceReplay, type Divergence, type ReplayCheckpoint, type ReplayProgress, type ReplayResult } from '../replay/replay.ts';
import type { MachineSpec } from '../spapr/machine-config.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { LiveCounters, machineView, type MachineView } from './state.ts';

/** What the run over the whole log found. */
export interface ReplaySummary {
  status: ReplayResult['status'];
  /** Why the log cannot be replayed on this machine (status 'unusable'). */
  reason: string | null;
  divergence: Divergence | null;
  /** Actions replayed: the timeline's events are 0..events. */
  events: number;
  lines: number;
  eventsChecked: number;
  valuesChecked: number;
  skippedLines: number;
  notes: string[];
  checkpoints: number;
}

/** The machine at one event of the timeline. */
export interface TimelineFrame {
  event: number;
  events: number;
  /** 1-based line of the log where event `event` (the last action replayed) starts; null at 0. */
  line: number | null;
  /** That line's text. */
  text: string | null;
  view: MachineView;
  /** The model's `info pic` at that event. */
  pic: string;
}

export interface TimelineOptions {
  /** The machine the log was recorded on. */
  spec: MachineSpec;
  ramSize?: number;
  /** Actions between two checkpoints (default: one per thousandth of the log's lines, at least every 200 actions). */
  every?: number;
  /** Progress of the first run (0-based line reached, lines), at most about every half percent. */
  onProgress?: (line: number, lines: number) => void;
}

/** A trace sink whose destination can change between runs. */
class Relay implements TraceSink {
  to: TraceSink | null = null;
  emit(ev: TraceEvent): void {
    this.to?.emit(ev);
  }
}

interface Checkpoint {
  at: ReplayCheckpoint;
  counters: LiveCounters;
}

export class ReplayTimeline {
  private readonly text: string;
  private readonly engine: TraceReplay;
  private readonly relay = new Relay();
  /** What the replay's progress hook does: record the first run, or stop a seek at its event. */
  private hook: (at: ReplayProgress) => boolean | void = () => {};
  private readonly checkpoints: Checkpoint[] = [];
  /** 0-based line at which each action starts. */
  private readonly actionLines: number[] = [];
  /** Line starts in `text` (the log split at '\n', as the replay splits it). */
  private readonly lineStarts: number[] = [0];
  private final: { machine: SpaprMachine; counters: LiveCounters } | null = null;
  private summary: ReplaySummary | null = null;

  constructor(
    text: string,
    private readonly opts: TimelineOptions,
  ) {
    this.text = text;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.engine = new TraceReplay(text, { spec: opts.spec, ramSize: opts.ramSize, tap: this.relay, onProgress: (at) => this.hook(at) });
  }

  /** Replays the whole log once, keeping checkpoints; later calls answer the same summary. */
  run(): ReplaySummary {
    if (this.summary !== null) return this.summary;
    const lines = this.lineStarts.length - (this.text.endsWith('\n') ? 1 : 0);
    const every = this.opts.every ?? Math.max(200, Math.ceil(lines / 1000));
    const counters = new LiveCounters();
    this.relay.to = counters;
    const progress = this.opts.onProgress;
    const step = Math.max(1, Math.floor(lines / 200));
    let reported = -step;
    this.hook = (at) => {
      this.actionLines.push(at.line);
      if (at.replayed % every === 0) this.checkpoints.push({ at: at.checkpoint(), counters: counters.copy() });
      if (progress !== undefined && at.line - reported >= step) {
        reported = at.line;
        progress(at.line, at.lines);
      }
    };
    const r = this.engine.run();
    this.hook = () => {};
    progress?.(lines, lines);
    if (r.machine !== null && r.status !== 'unusable') this.final = { machine: r.machine, counters };
    this.summary = {
      status: r.status,
      reason: r.reason ?? null,
      divergence: r.divergence ?? null,
      events: r.status === 'unusable' ? 0 : r.replayed,
      lines,
      eventsChecked: r.eventsChecked,
      valuesChecked: r.valuesChecked,
      skippedLines: [...r.skipped.values()].reduce((a, b) => a + b, 0),
      notes: r.notes,
      checkpoints: this.checkpoints.length,
    };
    return this.summary;
  }

  /** The machine at event `n` (clamped to the timeline); needs a run that could replay the log. */
  seek(n: number): TimelineFrame {
    const summary = this.run();
    if (this.final === null) throw new Error(`the log could not be replayed: ${summary.reason ?? summary.status}`);
    const events = summary.events;
    const target = Math.min(Math.max(Math.trunc(Number.isFinite(n) ? n : 0), 0), events);
    if (target === events) return this.frame(target, this.final.machine, this.final.counters);
    const cp = this.checkpointAtOrBefore(target);
    const counters = cp.counters.copy();
    this.relay.to = counters;
    this.hook = (at) => at.replayed < target;
    let r: ReplayResult;
    try {
      r = this.engine.run(cp.at);
    } finally {
      this.hook = () => {};
      this.relay.to = null;
    }
    // Before the end of the first run, a resumed run stops at its event as that run went by.
    if (r.status !== 'ok' || r.machine === null || r.replayed !== target) throw new Error(`seek to event ${target} ended at ${r.replayed} (${r.status})`);
    return this.frame(target, r.machine, counters);
  }

  private checkpointAtOrBefore(n: number): Checkpoint {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.checkpoints[mid]!.at.replayed <= n) lo = mid;
      else hi = mid - 1;
    }
    return this.checkpoints[lo]!;
  }

  private frame(event: number, machine: SpaprMachine, counters: LiveCounters): TimelineFrame {
    const line = event === 0 ? null : this.actionLines[event - 1]!;
    return {
      event,
      events: this.summary!.events,
      line: line === null ? null : line + 1,
      text: line === null ? null : this.lineText(line),
      view: machineView(machine, { counters }),
      pic: infoPic(machine),
    };
  }

  private lineText(i: number): string {
    const start = this.lineStarts[i]!;
    const next = this.lineStarts[i + 1];
    const line = this.text.slice(start, next === undefined ? this.text.length : next - 1);
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}
