/**
 * Progress bars of the long-running commands (replay, demo, fuzz, bench), drawn on standard
 * error with cli-progress: the work done, its rate and the time left. Only on an interactive
 * terminal and without --quiet; otherwise every call does nothing, so that piped output and
 * logs stay clean.
 */
import cliProgress from 'cli-progress';

/** What the bars need to know of a command's output (the commands' Io has it). */
interface Terminal {
  /** Output is an interactive terminal. */
  tty?: boolean;
}

export interface Progress {
  /** Work done so far (in the unit given to startProgress), and the figures shown beside it. */
  update(done: number, fields?: Readonly<Record<string, string | number>>): void;
  /** A line of output above the bar (the bar is drawn again under it). */
  log(line: string): void;
  /** Removes the bar (call before printing the results). */
  stop(): void;
}

const NONE: Progress = { update() {}, log() {}, stop() {} };

/** The bar appears once the work has taken this long. */
const SHOW_AFTER_MS = 1000;

export interface ProgressOptions {
  /** Total of the work, in its unit (bytes, events, steps). */
  total: number;
  /** What follows the bar: cli-progress placeholders ({value}, {total}, {eta_formatted}) and the fields given to update. */
  format: string;
  /** Fields shown before the first update. */
  fields?: Readonly<Record<string, string | number>>;
  /** --quiet was given. */
  quiet?: boolean;
}

/** Whether a bar may be drawn: the output is a terminal, standard error too, and no --quiet. */
export function progressAllowed(io: Terminal, quiet: boolean | undefined): boolean {
  return io.tty === true && !quiet && process.stderr.isTTY === true;
}

/** A progress bar, or one that draws nothing when progressAllowed says no. */
export function startProgress(io: Terminal, opts: ProgressOptions): Progress {
  if (!progressAllowed(io, opts.quiet)) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} ${opts.format}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      // The commands run synchronously: draw from update(), at most ten times a second.
      synchronousUpdate: true,
      fps: 10,
      etaBuffer: 50,
      barsize: 30,
      gracefulExit: true,
    },
    cliProgress.Presets.shades_classic,
  );
  // A command done within a second shows no bar at all: it would only flash.
  const t0 = performance.now();
  let started = false;
  let stopped = false;
  return {
    update(done, fields) {
      if (stopped) return;
      if (!started) {
        if (performance.now() - t0 < SHOW_AFTER_MS) return;
        started = true;
        bar.start(Math.max(1, opts.total), 0, { ...opts.fields });
      }
      bar.update(done, fields === undefined ? undefined : { ...fields });
    },
    log(line) {
      if (!started || stopped) {
        process.stderr.write(`${line}\n`);
        return;
      }
      process.stderr.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

/** Megabytes per second over `ms` milliseconds, as the bars print it. */
export function rateMBs(bytes: number, ms: number): string {
  return ms <= 0 ? '0.0' : (bytes / 1e6 / (ms / 1000)).toFixed(1);
}
