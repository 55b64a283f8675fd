/**
 * The streaming replay of a QEMU 7.2 trace log (ReplayStream): bytes in, in pieces of any size,
 * lines parsed into a bounded window (line-window.ts), and a walk over them that matches every
 * event the model reported against the log, skips other subsystems' lines, and performs each
 * action (actions.ts) when nothing reported is left to find. Bad input (binary data, malformed
 * known events, an overlong line, a log needing more lookahead than the window) ends the run as
 * unusable with the line it is at.
 */
import { SpaprMachine } from '../spapr/machine.ts';
import { resolveMachine, type MachineConfig, type MachineSpec } from '../spapr/machine-config.ts';
import { SPAPR_IRQ_NR_IPIS, SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { formatTraceEvent } from '../trace/format.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { modelStateFor } from './state.ts';
import { SparseGuestMemory } from '../ports/memory.ts';
import { XiveUsageError } from '../base/errors.ts';
import { restoreSnapshot } from '../migration/snapshot.ts';
import { mismatchOf } from './classes.ts';
import { leHostEquivalent as leHost } from './le-host.ts';
import { XicsInference } from './xics-actions.ts';
import { LINE_BINARY, LINE_BLANK, LINE_MALFORMED, LINE_OTHER, LOOKAHEAD_LINES, MAX_LINE_BYTES } from './line-window.ts';
import { malformedReason, TEMPLATE_LIST } from '../trace/parse.ts';
import { CAS, KIND, OUTPUT, POST, SKIP, T, matchesLine, fieldCount } from './line-match.ts';
import type { ReplayOptions, ReplayProgress, ReplayResult, StreamCheckpoint } from './api.ts';
import { LookaheadExceeded } from './run.ts';
import { ActionReplay, SPAPR_DRC_ATTACH, SPAPR_DRC_FINALIZING } from './actions.ts';

/** Skip-count keys of lines that are no event. */
const KEY_BLANK = '(blank line)';
const KEY_TEXT = '(log text)';

/**
 * A replay fed with the bytes of a log as they come: write() or room()/commit(), then end() for
 * the result. `finished` turns true as soon as the outcome is known (a divergence, unusable
 * input): the rest of the log need not be read.
 */
export class ReplayStream extends ActionReplay {
  /** Skipped lines by key, in order of first appearance. */
  private readonly skipByTemplate = new Int32Array(TEMPLATE_LIST.length);
  private readonly skipByName: number[] = [];
  private skipBlank = 0;
  private skipText = 0;
  private readonly skipOrder: (string | number)[] = [];

  /** Options read at every line, held here. */
  private readonly snapshotEvery: number;
  private readonly tap: TraceSink | undefined;

  /** Where the progress hook is told the run stands (one object, updated before each action). */
  private readonly progress: ReplayProgress | null = null;

  /**
   * A replay of a log from its start, or (`from`) from a checkpoint a replay of the same log
   * took: the bytes written are then the log's from the checkpoint's offset on.
   */
  constructor(
    opts: ReplayOptions,
    from?: StreamCheckpoint,
  ) {
    super(opts, from);
    this.snapshotEvery = opts.snapshotEvery ?? 0;
    this.tap = opts.tap;
    if (opts.onProgress !== undefined) {
      const at: ReplayProgress = { line: 0, lines: 0, replayed: 0, machine: null!, checkpoint: () => this.checkpoint(at.line) };
      this.progress = at;
    }
  }

  /** The outcome is known; further input is ignored. */
  get finished(): boolean {
    return this.outcome !== null;
  }

  /** Lines read so far (complete ones). */
  get linesRead(): number {
    return this.win.count;
  }

  /** Bytes taken in so far. */
  get bytesRead(): number {
    return this.win.bytes;
  }

  /** A place to write at least `min` bytes of the log into; then commit(n). */
  room(min: number): Uint8Array {
    return this.win.room(min);
  }

  commit(n: number): void {
    if (this.outcome !== null) return;
    this.win.commit(n);
    this.pump();
  }

  write(bytes: Uint8Array): void {
    if (this.outcome !== null) return;
    this.win.write(bytes);
    this.pump();
  }

  /** No more input: the result of the replay. */
  end(): ReplayResult {
    if (this.outcome === null) {
      this.win.end();
      this.pump();
    }
    return this.outcome ?? this.finish();
  }

  /**
   * The input broke off (a damaged compressed file): the lines read so far are replayed, and
   * unless they diverge, the log is unusable where it stops.
   */
  abandon(reason: string): ReplayResult {
    if (this.outcome === null) {
      this.win.end();
      this.pump();
    }
    if (this.outcome !== null && this.outcome.status !== 'ok') return this.outcome;
    this.outcome = null;
    this.result.status = 'unusable';
    this.result.reason = `line ${this.win.count + 1}: ${reason}`;
    return this.finish();
  }

  // ---- Driving -------------------------------------------------------------------------------

  private pump(): void {
    try {
      while (this.outcome === null) {
        const starved = this.win.parse();
        if (this.win.overlong >= 0) {
          this.outcome = this.unusable(`line ${this.win.overlong + 1}: longer than ${MAX_LINE_BYTES >> 20} MiB: not a trace log`);
          return;
        }
        const before = this.at;
        this.advance();
        if (this.outcome !== null) return;
        if (this.win.complete && this.at >= this.win.count) {
          this.outcome = this.finish();
          return;
        }
        // Wait for more input unless the window is full and the replay moved (room again).
        if (!starved || this.at === before) return;
      }
    } catch (e) {
      if (e instanceof LookaheadExceeded) {
        this.outcome = this.unusable(
          `line ${this.at + 1}: what follows this line does not settle it within ${LOOKAHEAD_LINES} lines (line ${e.at + 1}); ` +
            'the log cannot be replayed in bounded memory',
        );
        return;
      }
      // An action the machine cannot even attempt (a LISN outside the IRQ space, a vCPU beyond
      // max-cpus...) means the log does not describe this machine.
      if (e instanceof XiveUsageError) {
        this.outcome = this.unusable(`line ${this.at + 1}: ${e.message}`);
        return;
      }
      throw e;
    }
  }

  /** Replays the lines whose lookahead is available. */
  private advance(): void {
    const win = this.win;
    if (!this.prepared) {
      if (!win.ready(this.at)) return;
      const early = this.prepare();
      this.prepared = true;
      if (early !== null) {
        this.outcome = early;
        return;
      }
    }
    // Lines this far from the end of what is parsed have their whole lookahead: no need to ask.
    const sure = win.complete ? win.count : win.count - LOOKAHEAD_LINES;
    while (this.outcome === null && this.at < win.count && (this.at < sure || win.ready(this.at))) {
      this.vet();
      if (this.outcome !== null) return;
      this.step();
      win.first = this.at;
    }
  }

  /** Refuses bad lines (malformed known events, events of a missing controller) before use. */
  private vet(): void {
    const win = this.win;
    const h = win.horizon(this.at);
    for (let k = Math.max(this.vetted, this.at); k < h; k++) {
      const c = win.code_(k);
      if (c === LINE_BINARY) {
        this.outcome = this.unusable(`line ${k + 1}: a NUL byte: the trace is binary, not a text file`);
        return;
      }
      if (c === LINE_MALFORMED) {
        const name = win.nameOf(k);
        const ti = TEMPLATE_LIST.findIndex((t) => t.name === name);
        this.outcome = this.unusable(`line ${k + 1}: malformed ${name} event: ${malformedReason(ti)}`);
        return;
      }
      if (c >= 0) {
        this.events++;
        const m = mismatchOf(c, this.icMode);
        if (m !== null) {
          this.outcome = this.unusable(`line ${k + 1}: ${m}`);
          return;
        }
      } else if (c === LINE_OTHER && win.nameOf(k).includes('_')) {
        // Lines of other subsystems count too (a machine paused before the guest ran logs only
        // those); QEMU's event names all have an underscore, prose words do not.
        this.events++;
      }
    }
    if (h > this.vetted) this.vetted = h;
  }

  private unusable(reason: string): ReplayResult {
    this.result.status = 'unusable';
    this.result.reason = reason;
    return this.finish();
  }

  private finish(): ReplayResult {
    if (this.outcome !== null) return this.outcome;
    if (this.result.status === 'ok') {
      if (this.events === 0) {
        this.result.status = 'unusable';
        this.result.reason = 'no QEMU trace events found (is this a trace log of the "log" backend?)';
      } else if (this.prepared && this.machine !== undefined) {
        this.result.pic = infoPic(this.machine);
      }
    }
    const skipped = this.result.skipped;
    skipped.clear();
    for (const key of this.skipOrder) {
      if (typeof key === 'number') {
        if (key >= 0) skipped.set(TEMPLATE_LIST[key]!.name, this.skipByTemplate[key]!);
        else skipped.set(this.win.names[-key - 1]!, this.skipByName[-key - 1]!);
      } else skipped.set(key, key === KEY_BLANK ? this.skipBlank : this.skipText);
    }
    this.outcome = this.result;
    return this.result;
  }

  // ---- Start ---------------------------------------------------------------------------------

  /** Checks the options and the log's start and builds the machine; null when usable. */
  private prepare(): ReplayResult | null {
    const { smp, maxCpus: maxCpusGiven, icMode: icModeGiven } = this.opts;
    if (this.win.count <= this.at) return null; // an empty log: no events, said at the end
    if (smp !== undefined && (!Number.isInteger(smp) || smp < 1 || smp > SPAPR_MAX_CPUS)) return this.unusable(`--smp must be 1..${SPAPR_MAX_CPUS}`);
    if (maxCpusGiven !== undefined && (!Number.isInteger(maxCpusGiven) || maxCpusGiven < (smp ?? 1) || maxCpusGiven > SPAPR_MAX_CPUS)) {
      return this.unusable(`--max-cpus must be ${smp ?? 1}..${SPAPR_MAX_CPUS}`);
    }
    const spec: MachineSpec = { ...this.opts.spec, smp: { ...this.opts.spec?.smp } };
    if (smp !== undefined) spec.smp!.cpus = smp;
    if (maxCpusGiven !== undefined) spec.smp!.maxcpus = maxCpusGiven;
    if (icModeGiven !== undefined) spec.icMode = icModeGiven;
    let cfg: MachineConfig;
    try {
      cfg = resolveMachine(spec);
    } catch (e) {
      if (e instanceof XiveUsageError) return this.unusable(e.message);
      throw e;
    }
    this.icMode = cfg.icMode;
    this.maxCpus = cfg.smp.maxCpus;
    this.bootCpus = cfg.smp.cpus;
    // The machine claims one IPI per possible server before anything else: the log's leading IPI
    // claims tell how many possible vCPUs it was recorded with.
    // (A resumed run's machine comes from its checkpoint: the log's start was checked then.)
    const win = this.win;
    const h = this.from === undefined ? win.horizon(0) : 0;
    let ipis = 0;
    for (let k = 0; k < h; k++) {
      const c = win.code_(k);
      if (c < 0) continue;
      if (c === T.spapr_xive_claim_irq && win.field(k, 0) < SPAPR_IRQ_NR_IPIS) ipis++;
      else break;
    }
    if (ipis !== 0 && ipis !== cfg.nrServers) {
      const per = cfg.vsmt / cfg.smp.threads;
      const want = Number.isInteger(ipis / per) ? ` (use --max-cpus ${ipis / per})` : '';
      return this.unusable(
        per === 1
          ? `the trace was recorded with ${ipis} possible vCPUs (it claims ${ipis} IPIs) but the replay has ${cfg.nrServers}: use --max-cpus ${ipis}`
          : `the trace claims ${ipis} IPIs (one per possible vCPU id) but this machine has ${cfg.nrServers} vCPU ids (vsmt ${cfg.vsmt})${want}`,
      );
    }
    try {
      this.machine =
        this.from !== undefined
          ? restoreSnapshot(this.from.snapshot, { trace: this.sink, postLoadResend: false })
          : new SpaprMachine({
        spec,
        // A log that starts with the machine's claims shows every device claim; otherwise (XICS
        // claims are never traced) the default pseries devices are there.
        devices: ipis === 0 ? 'default' : 'none',
        trace: this.sink,
        memory: new SparseGuestMemory(this.opts.ramSize ?? 1 << 30),
            });
    } catch (e) {
      if (e instanceof XiveUsageError) return this.unusable(e.message);
      throw e;
    }
    this.result.machine = this.machine;
    const self = this;
    this.xics = new XicsInference({
      get machine() {
        return self.machine;
      },
      lineEvent: (k) => this.lineEvent(k),
      nextRelevant: (k) => this.nextRelevant(k),
      note: (t) => this.result.notes.push(t),
      takeEmitted: () => this.sink.take(),
      get currentCpu() {
        return self.currentCpu;
      },
      set currentCpu(c: number) {
        self.currentCpu = c;
      },
    });
    if (this.from !== undefined) for (const cpu of this.from.xicsUp) this.xics.up.add(cpu);
    // The machine's own claims are the log's first lines, unless the log starts later.
    if (ipis === 0) this.sink.take();
    else this.setPending(this.sink.take());
    return null;
  }

  // ---- The walk over the lines -----------------------------------------------------------------

  /** One step at line `at`: match it against a pending event, skip it, or perform its action. */
  private step(): void {
    const i = this.at;
    const win = this.win;
    const c = win.code_(i);
    const kind = c >= 0 ? KIND[c]! : SKIP;
    const every = this.snapshotEvery;
    if (every > 0 && this.pi >= this.pending.length && this.result.replayed - this.migratedAt >= every) {
      this.migratedAt = this.result.replayed;
      this.migrate();
      this.setPending(this.sink.take());
    }
    const at = this.progress;
    if (at !== null && kind !== SKIP && this.pi >= this.pending.length) {
      at.line = i;
      at.lines = this.totalLines >= 0 ? this.totalLines : win.count;
      at.replayed = this.result.replayed;
      at.machine = this.machine;
      if (this.opts.onProgress!(at) === false) {
        // Stopped there, as if the log ended.
        this.outcome = this.finish();
        return;
      }
    }
    if (this.pi < this.pending.length) {
      if (kind === SKIP) {
        this.skip(i, c);
        this.at++;
        return;
      }
      const ev = this.pending[this.pi]!;
      if (!this.matchAt(i, ev)) {
        this.diverge(i, ev);
        return;
      }
      this.pi++;
      if (this.tap !== undefined) this.tap.emit(ev);
      this.at++;
      return;
    }
    if (kind === SKIP) {
      this.skip(i, c);
      this.at++;
      return;
    }
    if (kind === CAS) {
      this.cas(i);
      this.at++;
      return;
    }
    if (kind === OUTPUT) {
      // Side effects of an action the log records after them: find that action.
      const j = this.nextAction(i);
      if (j < 0 || KIND[win.code_(j)] !== POST) {
        this.divergeNothing(i, 'the model reported no such event here');
        return;
      }
      this.plugReferenced(i, j);
      this.setPending(this.execute(j, i));
      if (this.pending.length === 0) this.divergeNothing(i, 'the model reported no such event here');
      return;
    }
    this.plugReferenced(i, this.groupEnd(i));
    this.setPending(this.execute(i, i));
    if (this.pending.length === 0) this.divergeNothing(i, `the model did not perform ${TEMPLATE_LIST[c]!.name}`);
  }

  private setPending(evs: TraceEvent[]): void {
    this.pending = evs;
    this.pi = 0;
  }


  private skip(i: number, c: number): void {
    if (c >= 0) {
      if (this.skipByTemplate[c]++ === 0) this.skipOrder.push(c);
      return;
    }
    if (c === LINE_OTHER) {
      const id = this.win.nameId_(i);
      if (id >= this.skipByName.length || this.skipByName[id] === undefined) {
        while (this.skipByName.length <= id) this.skipByName.push(0);
      }
      if (this.skipByName[id]!++ === 0) this.skipOrder.push(-id - 1);
      const name = this.win.names[id]!;
      // Only the DRC lines matter, and they are few: the name is compared only for those.
      if (name.length > 12 && name.charCodeAt(6) === 100 && (name === SPAPR_DRC_ATTACH || name === SPAPR_DRC_FINALIZING)) this.cpuDrc(i, name);
      return;
    }
    if (c === LINE_BLANK) {
      if (this.skipBlank++ === 0) this.skipOrder.push(KEY_BLANK);
    } else if (this.skipText++ === 0) this.skipOrder.push(KEY_TEXT);
  }

  /** Does model event `ev` match trace line i? Counts the checked values when it does. */
  private matchAt(i: number, ev: TraceEvent): boolean {
    const win = this.win;
    const c = win.code_(i);
    if (c < 0) return false;
    // The model's line must equal the log line, with or without its timestamp: the fields are
    // compared as printed (the parser accepts only text it prints back identically).
    let ok = matchesLine(ev, c, win.fields, win.fieldBase(i), win, i);
    if (!ok) ok = leHost(ev, win.event(i), this.lastHcallStore);
    if (ok) {
      this.result.eventsChecked++;
      // A match is of the line's own template (the little-endian equivalence too: same event).
      this.result.valuesChecked += fieldCount(c);
    }
    return ok;
  }


  private diverge(i: number, modelEv: TraceEvent): void {
    this.result.status = 'diverged';
    const c = this.win.code_(i);
    this.result.divergence = {
      line: i + 1,
      expected: this.win.text(i),
      model: formatTraceEvent(modelEv),
      state: modelStateFor(this.machine, c >= 0 ? this.win.event(i) : modelEv),
    };
    this.result.pic = infoPic(this.machine);
    this.outcome = this.finish();
  }

  private divergeNothing(i: number, what: string): void {
    this.result.status = 'diverged';
    const c = this.win.code_(i);
    this.result.divergence = { line: i + 1, expected: this.win.text(i), model: `(${what})`, state: modelStateFor(this.machine, c >= 0 ? this.win.event(i) : null) };
    this.result.pic = infoPic(this.machine);
    this.outcome = this.finish();
  }
}
