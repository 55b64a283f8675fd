/**
 * The public face of the replay of QEMU 7.2 trace logs: its options, what it reports while it
 * runs (progress, checkpoints to resume from) and its outcome. Kept apart from the machinery so
 * that the package's documented types live in one place.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { MachineSpec } from '../spapr/machine-config.ts';
import type { IcMode } from '../spapr/cas.ts';
import type { TraceSink } from '../trace/events.ts';

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

/** A checkpoint with where its line starts in the log's bytes (what a resumed stream is fed from). */
export interface StreamCheckpoint extends ReplayCheckpoint {
  readonly offset: number;
}
