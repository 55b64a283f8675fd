/**
 * Replay of QEMU 7.2 trace logs against the model. Every recorded guest or device action (hcall,
 * ESB load/store, TIMA load/store, device IRQ level change, IRQ claim, CAS) is turned into the
 * same operation on a fresh machine; everything the model then reports (its own trace events,
 * formatted as QEMU prints them) must appear in the log, in order. Loaded values (ESB, TIMA),
 * thread-context registers (notify/accept/set_cppr), presenter matches and END notifications are
 * thereby all checked.
 *
 * The log does not say which vCPU made a TIMA access: the vCPU is taken from the events the
 * access produced (accept, set_cppr, notify), else by trying each vCPU (most recent first) and
 * keeping the one whose outcome matches the log.
 *
 * The log is read as a stream (ReplayStream): bytes in, in pieces of any size, and a bounded
 * window of lines kept (line-window.ts). Everything the replay infers from the lines after an
 * action lies within that window; a log that would need more is refused as unusable.
 */
import { SpaprMachine } from '../spapr/machine.ts';
import { resolveMachine, type MachineConfig, type MachineSpec } from '../spapr/machine-config.ts';
import { SPAPR_IRQ_NR_IPIS, SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';
import type { IcMode } from '../spapr/cas.ts';
import { OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { formatTraceEvent } from '../trace/format.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { modelStateFor } from './state.ts';
import { SparseGuestMemory } from '../ports/memory.ts';
import { XiveUsageError } from '../base/errors.ts';
import { captureSnapshot, restoreSnapshot } from '../migration/snapshot.ts';
import { HCALL_EVENTS, mismatchOf } from './classes.ts';
import { leHostEquivalent as leHost } from './le-host.ts';
import { XicsInference, XICS_ACTIONS, inferGuestChoice } from './xics-actions.ts';
import { LineWindow, LINE_BINARY, LINE_BLANK, LINE_MALFORMED, LINE_OTHER, LOOKAHEAD_LINES, MAX_LINE_BYTES } from './line-window.ts';
import { malformedReason, TEMPLATE_LIST } from '../trace/parse.ts';
import { CAS, KIND, OUTPUT, POST, PRE, SKIP, T, matchesLine, fieldCount } from './line-match.ts';

/** Options of {@link replayTrace}: the machine the trace was recorded on, and what to do along. */
export interface ReplayOptions {
  /** The machine the trace was recorded on, in QEMU's terms (machine type, CPU, -smp, …). */
  spec?: MachineSpec;
  /** Shorthands over `spec`: -smp N, maxcpus=M, ic-mode. */
  smp?: number;
  maxCpus?: number;
  icMode?: IcMode;
  /** Guest RAM size in bytes (default 1 GiB). */
  ramSize?: number;
  /** Receives every model event that matched the log, in order (e.g. a Perfetto exporter). */
  tap?: TraceSink;
  /**
   * Every K actions: snapshot the machine (with guest RAM), encode, decode into a brand-new
   * machine and go on there. The run must end exactly as without it.
   */
  snapshotEvery?: number;
  /**
   * Called before each action, once everything the model reported so far has matched the log:
   * where the run stands (a progress bar; checkpoints to seek with, `at.checkpoint()`). Returning
   * false ends the run there, as if the log ended.
   */
  onProgress?: (at: ReplayProgress) => boolean | void;
}

/** Where a replay stands between two actions (ReplayOptions.onProgress). */
export interface ReplayProgress {
  /** 0-based index of the line the next action starts at. */
  line: number;
  /** Lines in the log. */
  lines: number;
  /** Actions replayed so far. */
  replayed: number;
  machine: SpaprMachine;
  /** What TraceReplay.run needs to go on from this point later (the machine with its guest RAM). */
  checkpoint(): ReplayCheckpoint;
}

/** A replay between two actions: the machine's snapshot and the replay's own position. */
export interface ReplayCheckpoint {
  readonly line: number;
  readonly replayed: number;
  readonly snapshot: Uint8Array;
  /** The vCPU of the last access, the CAS progress, the XICS vCPUs whose CPPR was opened. */
  readonly cpu: number;
  readonly casDone: boolean;
  readonly ov5Byte23: number | null;
  readonly xicsUp: readonly number[];
}

/** Where the model and the log part ways. */
export interface Divergence {
  /** 1-based line number in the trace. */
  line: number;
  /** The trace line (what QEMU recorded). */
  expected: string;
  /** What the model reported there (or a sentence when it reported nothing). */
  model: string;
  /** The model state most relevant to the divergence (info pic excerpt). */
  state: string;
}

/** The outcome of a replay. */
export interface ReplayResult {
  /**
   * ok: no divergence; diverged: see `divergence`; unusable: the trace or options are unusable (see
   * `reason`).
   */
  status: 'ok' | 'diverged' | 'unusable';
  /** One-line reason when unusable. */
  reason?: string;
  divergence?: Divergence;
  /** Guest/device actions replayed. */
  replayed: number;
  /** Model events matched against the log, and the values they carry. */
  eventsChecked: number;
  valuesChecked: number;
  /** Lines of other subsystems (or plain log text) skipped, by event name. */
  skipped: Map<string, number>;
  /** Notes worth telling the user (hotplug, CAS). */
  notes: string[];
  /** Snapshot/restore round trips done (snapshotEvery). */
  migrations: number;
  /** The model's `info pic` at the end (or at the divergence). */
  pic: string;
  /** The machine at the end (null when the trace was unusable). */
  machine: SpaprMachine | null;
}

const BASE_ESB = 0x0006_0100_0000_0000;
/** DRC type of a CPU core in the top 4 bits of a DRC index. */
const DRC_TYPE_CPU = 1;
const BASE_TIMA = 0x0006_0302_0318_0000;

/** A checkpoint with where its line starts in the log's bytes (what a resumed stream is fed from). */
export interface StreamCheckpoint extends ReplayCheckpoint {
  readonly offset: number;
}

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

/** Skip-count keys of lines that are no event. */
const KEY_BLANK = '(blank line)';
const KEY_TEXT = '(log text)';
const SPAPR_DRC_ATTACH = 'spapr_drc_attach';
const SPAPR_DRC_FINALIZING = 'spapr_drc_set_allocation_state_finalizing';

/**
 * A replay fed with the bytes of a log as they come: write() or room()/commit(), then end() for
 * the result. `finished` turns true as soon as the outcome is known (a divergence, unusable
 * input): the rest of the log need not be read.
 */
export class ReplayStream {
  private readonly win = new LineWindow();
  private readonly sink = new ActionEvents();
  private machine!: SpaprMachine;
  private currentCpu = 0;
  private guestOv5Byte23: number | null = null;
  private result!: ReplayResult;
  private maxCpus = 0;
  /** vCPUs present at start (-smp N): the others appear by hotplug. */
  private bootCpus = 0;
  private casDone = false;
  private xics!: XicsInference;
  private icMode: IcMode = 'xive';
  private prepared = false;
  private outcome: ReplayResult | null = null;
  /** The line the replay is at (0-based) and the lines checked for bad input so far. */
  private at = 0;
  private vetted = 0;
  /** Events the model reported that the log must show next. */
  private pending: TraceEvent[] = NONE;
  private pi = 0;
  private migratedAt = 0;
  private events = 0;
  private lastHcallStore = false;
  /** Skipped lines by key, in order of first appearance. */
  private readonly skipByTemplate = new Int32Array(TEMPLATE_LIST.length);
  private readonly skipByName: number[] = [];
  private skipBlank = 0;
  private skipText = 0;
  private readonly skipOrder: (string | number)[] = [];

  /** Lines in the whole log when known beforehand (a log held whole), else -1: ReplayProgress.lines. */
  totalLines = -1;
  /** Where the progress hook is told the run stands (one object, updated before each action). */
  private readonly progress: ReplayProgress | null = null;

  /**
   * A replay of a log from its start, or (`from`) from a checkpoint a replay of the same log
   * took: the bytes written are then the log's from the checkpoint's offset on.
   */
  constructor(
    private readonly opts: ReplayOptions,
    private readonly from?: StreamCheckpoint,
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
    while (this.outcome === null && this.at < win.count && win.ready(this.at)) {
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
    const every = this.opts.snapshotEvery ?? 0;
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
      this.opts.tap?.emit(ev);
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

  // ---- Lookahead -----------------------------------------------------------------------------

  /**
   * The limit of what may be read from the current line: lines from there up to it are parsed.
   * Returns it, or throws when line k lies beyond it and the log goes on.
   */
  private reach(k: number): boolean {
    const h = this.win.horizon(this.at);
    if (k < h) return true;
    if (this.win.complete && h === this.win.count) return false;
    throw new LookaheadExceeded(k);
  }

  /** The event of line k, null when it is no event line, undefined past the end of the log. */
  private lineEvent(k: number): TraceEvent | null | undefined {
    if (!this.reach(k)) return undefined;
    return this.win.code_(k) >= 0 ? this.win.event(k) : null;
  }

  /** Index of the first line at or after i that is not skipped, or -1. */
  private nextRelevant(i: number): number {
    for (let j = i; this.reach(j); j++) {
      const c = this.win.code_(j);
      if (c >= 0 && KIND[c] !== SKIP) return j;
    }
    return -1;
  }

  /** Index of the next action line (pre/post/cas) after i, skipping outputs and skipped lines. */
  private nextAction(i: number): number {
    for (let j = i + 1; this.reach(j); j++) {
      const c = this.win.code_(j);
      if (c < 0) continue;
      const k = KIND[c]!;
      if (k === PRE || k === POST || k === CAS) return j;
    }
    return -1;
  }

  /** Last line that can belong to the action at i (the line before the next action). */
  private groupEnd(i: number): number {
    const j = this.nextAction(i);
    return j < 0 ? this.win.count - 1 : j - 1;
  }

  // ---- Lines that are no action --------------------------------------------------------------

  /**
   * CPU hotplug and unplug, which leave no interrupt-controller event: a CPU core's DRC (dynamic
   * reconfiguration connector, index 0x1000_0000 + the vCPU id of its first thread) is attached
   * when the core is plugged (device_add creates its vCPUs and their presenter contexts), and
   * finalizes its release when an unplug completes (the guest let the core go; QEMU destroys the
   * vCPUs).
   */
  private cpuDrc(i: number, name: string): void {
    const m = /\bdrc: 0x([0-9a-f]+)/.exec(this.win.text(i));
    if (m === null) return;
    const index = parseInt(m[1]!, 16);
    if (index >>> 28 !== DRC_TYPE_CPU) return;
    const first = this.machine.cpuOfVcpuId(index & 0x0fff_ffff);
    if (first < 0) return;
    const threads = this.machine.config.smp.threads;
    for (let cpu = first; cpu < first + threads; cpu++) {
      if (name === SPAPR_DRC_ATTACH && !this.machine.hasCpu(cpu)) {
        this.machine.plugCpu(cpu);
        this.result.notes.push(`vCPU ${cpu} hot-plugged at line ${i + 1} (its core was added)`);
      } else if (name === SPAPR_DRC_FINALIZING && this.machine.hasCpu(cpu)) {
        this.machine.unplugCpu(cpu);
        this.xics.cpuGone(cpu);
        this.result.notes.push(`vCPU ${cpu} unplugged at line ${i + 1} (the guest released its core)`);
      }
    }
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

  // ---- Actions -------------------------------------------------------------------------------

  private checkpoint(line: number): StreamCheckpoint {
    const snapshot = captureSnapshot(this.machine, { includeMemory: true });
    return {
      line,
      offset: this.win.startOffset(line),
      replayed: this.result.replayed,
      snapshot,
      cpu: this.currentCpu,
      casDone: this.casDone,
      ov5Byte23: this.guestOv5Byte23,
      xicsUp: [...this.xics.up],
    };
  }

  /** Moves the run to a brand-new machine through an encoded snapshot (RAM included). */
  private migrate(): void {
    const bytes = captureSnapshot(this.machine, { includeMemory: true });
    this.machine = restoreSnapshot(bytes, { trace: this.sink, postLoadResend: false });
    this.result.machine = this.machine;
    this.result.migrations++;
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

  /** vCPUs named by lines i..j (target=, hcall targets, NVT indexes): hot-plug the missing ones. */
  private plugReferenced(i: number, j: number): void {
    const win = this.win;
    // Only vCPUs beyond -smp can be missing.
    if (this.bootCpus === this.maxCpus) return;
    for (let k = i; k <= j && k < win.count; k++) {
      const c = win.code_(k);
      if (c < 0) continue;
      // Trace events name a CPU by its index, except those that carry a server number (vCPU id).
      let id = -1;
      const ev = win.event(k);
      if ('target' in ev) id = typeof ev.target === 'bigint' ? Number(ev.target & 0xffff_ffffn) : ev.target;
      else if (ev.name === 'xive_presenter_notify') id = this.machine.cpuOfVcpuId(spaprNvtVcpu(ev.nvtIdx));
      else if (ev.name === 'xics_icp_irq') id = this.machine.cpuOfVcpuId(ev.server);
      else if (ev.name === 'xics_icp_check_ipi' || ev.name === 'xics_icp_eoi') id = ev.server;
      if (id >= this.bootCpus && id < this.maxCpus && !this.machine.hasCpu(id)) {
        this.machine.plugCpu(id);
        this.result.notes.push(`vCPU ${id} hot-plugged at line ${k + 1} (first reference)`);
      }
    }
  }

  private cas(i: number): void {
    const ev = this.win.event(i);
    this.result.replayed++;
    if (ev.name === 'spapr_cas_pvr') {
      // CAS runs once per boot: a second one means the guest rebooted, which resets the machine
      // (untraced) before its firmware negotiates again.
      if (this.casDone) {
        this.machine.reset();
        this.xics.reset();
        this.sink.take();
        this.result.notes.push(`machine reset before line ${i + 1} (the guest negotiates CAS again)`);
      }
      this.casDone = true;
      this.guestOv5Byte23 = null;
    }
    if (ev.name === 'spapr_ovec_parse_vector' && ev.vector === 5 && ev.byte === 23) this.guestOv5Byte23 = ev.entry;
    if (ev.name !== 'spapr_cas_continue') return;
    const mode = this.machine.icMode;
    const choice = mode === 'dual' ? inferGuestChoice((k) => this.lineEvent(k), i) : mode;
    const byte = this.guestOv5Byte23 ?? (choice === 'xics' ? 0 : OV5_XIVE_EXPLOIT);
    const out = this.machine.cas(byte);
    this.result.notes.push(
      out.ok ? `CAS at line ${i + 1}: the guest chose ${out.xive ? 'XIVE' : 'XICS'}` : `CAS at line ${i + 1}: QEMU would stop the VM: ${out.fatal}`,
    );
    this.sink.take();
  }

  /** vCPU hint from the events an access produced (lines from..to). */
  private hintedCpu(from: number, to: number): number {
    const win = this.win;
    for (let k = from; k <= to && k < win.count; k++) {
      const c = win.code_(k);
      if (c === T.xive_tctx_accept || c === T.xive_tctx_set_cppr || c === T.xive_tctx_notify) return win.field(k, 0);
    }
    return -1;
  }

  /**
   * Performs the action recorded at line `at`, whose reported events start at line `from`, and
   * returns what the model reported.
   */
  private execute(at: number, from: number): TraceEvent[] {
    const win = this.win;
    const c = win.code_(at);
    const m = this.machine;
    this.result.replayed++;
    this.lastHcallStore = false;
    switch (c) {
      case T.spapr_xive_set_irq:
        m.setIrq(win.field(at, 0), win.field(at, 1) !== 0);
        return this.sink.take();
      case T.xive_source_esb_write:
      case T.xive_source_esb_read:
      case T.xive_tctx_tm_write:
      case T.xive_tctx_tm_read: {
        const a = win.field(at, 0);
        const v = win.field(at, 2);
        // Offsets and values of more than 13 hex digits do not fit a number exactly: rare
        // enough to go through the event object.
        if (a !== a || v !== v) break;
        if (c === T.xive_source_esb_write) {
          m.mmioWrite(this.currentCpu, BASE_ESB + a, 8, v % 0x1_0000_0000, Math.floor(v / 0x1_0000_0000));
          return this.sink.take();
        }
        if (c === T.xive_source_esb_read) {
          m.mmioRead(this.currentCpu, BASE_ESB + a, 8);
          return this.sink.take();
        }
        return this.timaAccess(at, from, c === T.xive_tctx_tm_write, a, win.field(at, 1), v);
      }
    }
    const ev = win.event(at);
    if (XICS_ACTIONS.has(ev.name)) return this.xics.execute(at, ev, this.groupEnd(at));
    switch (ev.name) {
      case 'spapr_xive_claim_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.claimIrq(ev.lisn, ev.lsi);
        else m.xive!.claim(ev.lisn, ev.lsi);
        return this.sink.take();
      case 'spapr_xive_free_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.freeIrq(ev.lisn);
        else m.xive!.free(ev.lisn);
        return this.sink.take();
      case 'xive_source_esb_write':
        m.mmioWrite(this.currentCpu, BASE_ESB + Number(ev.addr), 8, Number(ev.value & 0xffff_ffffn), Number(ev.value >> 32n));
        return this.sink.take();
      case 'xive_source_esb_read':
        m.mmioRead(this.currentCpu, BASE_ESB + Number(ev.addr), 8);
        return this.sink.take();
      case 'xive_tctx_tm_write':
      case 'xive_tctx_tm_read':
        return this.timaAccess(at, from, ev.name === 'xive_tctx_tm_write', Number(ev.offset), ev.size, ev.value);
      default: {
        const op = HCALL_EVENTS.get(ev.name);
        if (op === undefined) return [];
        // The hcall's arguments are the event's fields, in order.
        const args: bigint[] = [];
        const rec = ev as unknown as Record<string, bigint>;
        for (const k in rec) if (k !== 'name') args.push(rec[k]!);
        if (ev.name === 'spapr_xive_esb') this.lastHcallStore = (ev.flags & 1n) !== 0n;
        if (ev.name === 'spapr_xive_set_queue_config') this.clearQueuePage(ev.qpage, ev.qsize);
        m.hcall(this.currentCpu, op, args);
        return this.sink.take();
      }
    }
  }

  /**
   * Linux zeroes an event-queue page just before it hands it to H_INT_SET_QUEUE_CONFIG. Guest
   * RAM writes are not traced, so the replay does it for the guest: it matters when a rebooted
   * guest reuses a page that held entries before the reset.
   */
  private clearQueuePage(qpage: bigint, qsize: bigint): void {
    if (qpage === 0n || qsize < 12n || qsize > 24n) return;
    const mem = this.machine.memory;
    const base = Number(qpage);
    const len = 2 ** Number(qsize);
    if (!mem.isRam(base, len)) return;
    for (let a = base; a < base + len; a += 4) if (mem.read32(a) !== 0) mem.write32(a, 0);
  }

  /** A TIMA access (value: a number below 2^53 or the logged bigint). */
  private timaAccess(at: number, from: number, write: boolean, offset: number, size: number, value: number | bigint): TraceEvent[] {
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
  private runTima(cpu: number, write: boolean, offset: number, size: number, value: number | bigint): TraceEvent[] {
    const addr = BASE_TIMA + offset;
    if (write) {
      if (typeof value === 'number') this.machine.mmioWrite(cpu, addr, size, value % 0x1_0000_0000, Math.floor(value / 0x1_0000_0000));
      else this.machine.mmioWrite(cpu, addr, size, Number(value & 0xffff_ffffn), Number(value >> 32n));
    } else this.machine.mmioRead(cpu, addr, size);
    return this.sink.take();
  }

  /** Do the events match the log from line `from` on (skipped lines aside), without counting? */
  private fits(from: number, evs: TraceEvent[]): boolean {
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

/** Text is fed to the stream in pieces of this many characters (or bytes). */
const TEXT_PIECE = 1 << 20;

/** Lines of a log held as text, as the replay splits it (a last line needs no newline). */
function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && !text.endsWith('\n') ? n + 1 : n;
}

/**
 * Replays a QEMU 7.2 trace log (the text of the file) on a fresh machine and checks every event the
 * model reports against the log.
 */
export function replayTrace(text: string, opts: ReplayOptions): ReplayResult {
  const r = new ReplayStream(opts);
  if (opts.onProgress !== undefined) r.totalLines = countLines(text);
  const enc = new TextEncoder();
  for (let p = 0; p < text.length && !r.finished; p += TEXT_PIECE) {
    let q = Math.min(text.length, p + TEXT_PIECE);
    // Never cut a surrogate pair.
    if (q < text.length && (text.charCodeAt(q - 1) & 0xfc00) === 0xd800) q++;
    const piece = text.slice(p, q);
    p = q - TEXT_PIECE;
    const dst = r.room(piece.length * 3);
    const { written } = enc.encodeInto(piece, dst);
    r.commit(written);
  }
  return r.end();
}

/**
 * A log held whole, to replay more than once: from its start, or again from a checkpoint that a
 * run of it took (ReplayProgress.checkpoint), which then needs only the log from that point on.
 * The playground's timeline seeks this way.
 */
export class TraceReplay {
  private readonly bytes: Uint8Array;
  private readonly lines: number;

  constructor(
    text: string,
    private readonly opts: ReplayOptions,
  ) {
    this.bytes = new TextEncoder().encode(text);
    this.lines = countLines(text);
  }

  /** Replays the log from its first line, or from a checkpoint (the counts then start at the checkpoint's). */
  run(from?: ReplayCheckpoint): ReplayResult {
    let start: StreamCheckpoint | undefined;
    if (from !== undefined) {
      if (typeof (from as Partial<StreamCheckpoint>).offset !== 'number') throw new Error('not a checkpoint of a replay of this log');
      start = from as StreamCheckpoint;
    }
    const r = new ReplayStream(this.opts, start);
    r.totalLines = this.lines;
    const bytes = this.bytes;
    for (let p = start?.offset ?? 0; p < bytes.length && !r.finished; p += TEXT_PIECE) r.write(bytes.subarray(p, p + TEXT_PIECE));
    return r.end();
  }
}
