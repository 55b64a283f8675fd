/**
 * The state of one replay run, shared by the modules that drive it: the window of log lines, the
 * machine, what the model reported and must still be found in the log, and the lookahead rules
 * (how far past the current line the replay may read, and the next action line). Everything a
 * replay infers from the lines after an action lies within the window; asking for a line beyond
 * it throws LookaheadExceeded, which the driver reports as an unusable log.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { IcMode } from '../spapr/cas.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import type { XicsInference } from './xics-actions.ts';
import { LineWindow } from './line-window.ts';
import { CAS, KIND, POST, PRE, SKIP } from './line-match.ts';
import type { ReplayOptions, ReplayResult, StreamCheckpoint } from './api.ts';

/** The replay needs a line beyond the lookahead it may use. */
export class LookaheadExceeded extends Error {
  constructor(readonly at: number) {
    super('lookahead exceeded');
  }
}

/** Collects what the model reports during one action (guest errors left out). */
class ActionEvents implements TraceSink {
  events: TraceEvent[] = [];
  emit(ev: TraceEvent): void {
    if (ev.name !== 'guest_error') this.events.push(ev);
  }
  take(): TraceEvent[] {
    const out = this.events;
    if (out.length === 0) return out;
    this.events = [];
    return out;
  }
}

const NONE: TraceEvent[] = [];

/** The run's state and its lookahead over the window (ReplayStream drives it). */
export abstract class ReplayRun {
  protected readonly win = new LineWindow();
  protected readonly sink = new ActionEvents();
  protected machine!: SpaprMachine;
  protected currentCpu = 0;
  protected guestOv5Byte23: number | null = null;
  protected result!: ReplayResult;
  protected maxCpus = 0;
  /** vCPUs present at start (-smp N): the others appear by hotplug. */
  protected bootCpus = 0;
  protected casDone = false;
  protected xics!: XicsInference;
  protected icMode: IcMode = 'xive';
  protected prepared = false;
  protected outcome: ReplayResult | null = null;
  /** The line the replay is at (0-based) and the lines checked for bad input so far. */
  protected at = 0;
  protected vetted = 0;
  /** Events the model reported that the log must show next. */
  protected pending: TraceEvent[] = NONE;
  protected pi = 0;
  protected migratedAt = 0;
  protected events = 0;
  protected lastHcallStore = false;

  /** Lines in the whole log when known beforehand (a log held whole), else -1: ReplayProgress.lines. */
  totalLines = -1;

  constructor(
    protected readonly opts: ReplayOptions,
    protected readonly from?: StreamCheckpoint,
  ) {
    this.result = { status: 'ok', replayed: from?.replayed ?? 0, eventsChecked: 0, valuesChecked: 0, skipped: new Map(), notes: [], migrations: 0, pic: '', machine: null };
    if (from !== undefined) {
      this.win.startAt(from.line, from.offset);
      this.at = this.vetted = from.line;
      this.migratedAt = from.replayed;
      this.currentCpu = from.cpu;
      this.casDone = from.casDone;
      this.guestOv5Byte23 = from.ov5Byte23;
    }
  }

  // ---- Lookahead -----------------------------------------------------------------------------

  /**
   * The limit of what may be read from the current line: lines from there up to it are parsed.
   * Returns it, or throws when line k lies beyond it and the log goes on.
   */
  protected reach(k: number): boolean {
    const h = this.win.horizon(this.at);
    if (k < h) return true;
    if (this.win.complete && h === this.win.count) return false;
    throw new LookaheadExceeded(k);
  }

  /** The event of line k, null when it is no event line, undefined past the end of the log. */
  protected lineEvent(k: number): TraceEvent | null | undefined {
    if (!this.reach(k)) return undefined;
    return this.win.code_(k) >= 0 ? this.win.event(k) : null;
  }

  /** Index of the first line at or after i that is not skipped, or -1. */
  protected nextRelevant(i: number): number {
    for (let j = i; this.reach(j); j++) {
      const c = this.win.code_(j);
      if (c >= 0 && KIND[c] !== SKIP) return j;
    }
    return -1;
  }

  /** Index of the next action line (pre/post/cas) after i, skipping outputs and skipped lines. */
  protected nextAction(i: number): number {
    for (let j = i + 1; this.reach(j); j++) {
      const c = this.win.code_(j);
      if (c < 0) continue;
      const k = KIND[c]!;
      if (k === PRE || k === POST || k === CAS) return j;
    }
    return -1;
  }

  /** Last line that can belong to the action at i (the line before the next action). */
  protected groupEnd(i: number): number {
    const j = this.nextAction(i);
    return j < 0 ? this.win.count - 1 : j - 1;
  }
}
