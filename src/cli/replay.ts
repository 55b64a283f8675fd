/**
 * `xive replay TRACE`: replays a QEMU 7.2 trace log on the model and reports the first
 * divergence, a summary and the model's `info pic`.
 * Exit status: 0 no divergence (and `info pic` equal to --expect-pic), 1 divergence, 2 unusable input.
 */
import { closeSync, fstatSync, statSync, openSync, readFileSync, readSync, writeFileSync, createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { startProgress, rateMBs, type Progress } from './progress.ts';
import { PerfettoSink } from '../trace-export/perfetto.ts';
import { saveSnapshotFile } from './snapshot-files.ts';
import { parse, intOption, sizeOption, UsageFailure } from './args.ts';
import { MACHINE_HELP, MACHINE_OPTIONS, machineConfigOf, machineHelp, machineSpecOf } from './machine-args.ts';
import { ReplayStream, type ReplayOptions, type ReplayResult } from '../replay/replay.ts';
import { parseTraceLine } from '../trace/parse.ts';
import { maskPicPointers } from '../xics/info-pic.ts';

export const REPLAY_HELP = `Usage: xive replay TRACE [machine options] [--ram SIZE] [--expect-pic FILE]

Replays a QEMU 7.2 trace log (the "log" trace backend, events spapr_xive*, xive_*, xics_*,
spapr_cas* enabled) on a fresh model of the same machine and checks every value the log records:
ESB and TIMA load results, thread-context registers of notify/accept/set_cppr, presenter
matches, END notifications, and every XICS event (IPIs, accepts, EOIs, deliveries, rejects).
In dual mode it follows the guest's CAS choice. Prints the first divergence, a summary and the
model's \`info pic\` (XICS host pointers are compared as one token).

The machine options are those QEMU was given (machine type, CPU, -smp, ic-mode, vsmt, PHBs);
a vCPU the log references beyond -smp (up to maxcpus) is hot-plugged at its first reference.

${MACHINE_HELP}
Options:
  --ram SIZE         guest RAM (default 1G, as in the reference captures)
  --expect-pic FILE  also require the final \`info pic\` to equal FILE
  --perfetto FILE    write the interrupt activity as Chrome Trace Event JSON (ui.perfetto.dev)
  --snapshot-every K every K actions, snapshot the machine, encode it, decode it into a brand-new
                     machine and continue there (the run must end exactly the same)
  --save-snapshot F  write a snapshot of the final machine (interrupt state + guest RAM) to F
  --quiet            no progress bar (there is none either when the output is not a terminal)
  -h, --help         this help

TRACE is read as a stream, in constant memory whatever its size; a gzip-compressed trace
(.gz, or any file starting with the gzip magic bytes) is read directly.

Exit status: 0 no divergence, 1 divergence, 2 unusable input.

Examples:
  xive replay test/fixtures/qemu/xive-smp2.trace --smp 2 --ic-mode xive --expect-pic test/fixtures/qemu/xive-smp2.pic
  xive replay test/fixtures/qemu/xics-smp2.trace --smp 2 --ic-mode dual --expect-pic test/fixtures/qemu/xics-smp2.pic
  xive replay guest.trace --machine pseries-4.1 --cpu POWER9 --smp 4
`;

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Output is an interactive terminal (progress bars allowed). */
  tty?: boolean;
  /** Binary output (FDT blobs). */
  outBytes?(b: Uint8Array): void;
}

export function writeText(path: string, text: string, io: Io): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageFailure(`cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  io.out(`wrote ${path}\n`);
}

function readText(path: string, what: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageFailure(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.includes(0)) throw new UsageFailure(`${what} '${path}' is binary, not a text file`);
  return buf.toString('utf8');
}

/** Field-level description of a divergence between two trace lines. */
function fieldDiff(expected: string, model: string): string[] {
  const e = parseTraceLine(expected);
  const m = parseTraceLine(model);
  if (e.kind !== 'event' || m.kind !== 'event') return [];
  if (e.event.name !== m.event.name) return [`event: expected ${e.event.name}, model ${m.event.name}`];
  const out: string[] = [];
  const er = e.event as unknown as Record<string, unknown>;
  const mr = m.event as unknown as Record<string, unknown>;
  for (const k of Object.keys(er)) {
    if (er[k] !== mr[k]) {
      const f = (v: unknown) => (typeof v === 'bigint' || typeof v === 'number' ? `0x${v.toString(16)}` : String(v));
      out.push(`${k}: expected ${f(er[k])}, model ${f(mr[k])}`);
    }
  }
  return out;
}

/**
 * A report line with its invisible characters shown (\r, \t, other control bytes as \xNN), so
 * two lines that differ only there do not look identical.
 */
export function visible(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export function printReplay(r: ReplayResult, io: Io, label: string): void {
  const skipped = [...r.skipped.values()].reduce((a, b) => a + b, 0);
  for (const n of r.notes) io.out(`${n}\n`);
  if (r.divergence !== undefined) {
    const d = r.divergence;
    io.out(`DIVERGENCE at ${label}:${d.line}\n`);
    io.out(`  trace: ${visible(d.expected)}\n`);
    io.out(`  model: ${visible(d.model)}\n`);
    for (const f of fieldDiff(d.expected, d.model)) io.out(`  ${f}\n`);
    io.out(`  model state:\n${d.state.replace(/^/gm, '    ')}\n`);
  }
  io.out(
    `replayed ${r.replayed} actions, checked ${r.eventsChecked} events (${r.valuesChecked} values), skipped ${skipped} lines` +
      (skipped > 0 ? ` (${[...r.skipped].map(([k, v]) => `${k}: ${v}`).join(', ')})` : '') +
      '\n',
  );
  io.out(`info pic:\n${r.pic}`);
}

/** Bytes read from a file at a time. */
const READ_SIZE = 4 << 20;

function cannotRead(path: string, e: unknown): UsageFailure {
  return new UsageFailure(`cannot read trace '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
}

/**
 * Replays the trace file at `path` as a stream (plain or gzip), with a progress bar in bytes of
 * the file. Stops reading as soon as the outcome is known.
 */
export async function replayFile(path: string, opts: ReplayOptions, progress: Progress): Promise<ReplayResult> {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch (e) {
    throw cannotRead(path, e);
  }
  const stream = new ReplayStream(opts);
  const t0 = performance.now();
  let fileBytes = 0;
  const show = (): void => {
    const ms = performance.now() - t0;
    progress.update(fileBytes, { lines: stream.linesRead.toLocaleString('en-US'), mbs: rateMBs(fileBytes, ms) });
  };
  try {
    // Two bytes tell a gzip stream (RFC 1952: 1f 8b), whatever the file is called.
    const head = new Uint8Array(2);
    let n: number;
    try {
      n = readSync(fd, head, 0, 2, 0);
    } catch (e) {
      throw cannotRead(path, e);
    }
    if (n === 2 && head[0] === 0x1f && head[1] === 0x8b) {
      // Compressed input in small pieces: a piece of a very repetitive log inflates sixtyfold, and
      // all of it is held until the replay takes it.
      const file = createReadStream(path, { highWaterMark: 64 << 10 });
      file.on('data', (b) => (fileBytes += (b as Buffer).length));
      const gunzip = createGunzip({ chunkSize: 256 << 10 });
      file.on('error', (e) => gunzip.destroy(e));
      file.pipe(gunzip);
      try {
        for await (const chunk of gunzip) {
          stream.write(chunk as Buffer);
          show();
          if (stream.finished) break;
        }
      } catch (e) {
        // A cut or damaged compressed file: what was decompressed so far is replayed, and the
        // damage is reported where the text stops.
        if (!stream.finished) return stream.abandon(`the gzip data is damaged or cut short (${(e as Error).message})`);
      } finally {
        file.destroy();
        gunzip.destroy();
      }
    } else {
      let pos = 0;
      while (!stream.finished) {
        // A short file needs no buffer of READ_SIZE.
        const want = Math.min(READ_SIZE, Math.max(64 << 10, size - pos));
        const dst = stream.room(want);
        try {
          n = readSync(fd, dst, 0, Math.min(dst.length, want), pos);
        } catch (e) {
          throw cannotRead(path, e);
        }
        if (n === 0) break;
        pos += n;
        fileBytes = pos;
        stream.commit(n);
        show();
      }
    }
  } finally {
    closeSync(fd);
  }
  return stream.end();
}

/**
 * The one line that says why a trace cannot be replayed: FILE:LINE: what is wrong, when the
 * reason is at a line (control characters of the name shown, so the line stays one line).
 */
export function unusableMessage(path: string, reason: string): string {
  const m = /^line (\d+): /.exec(reason);
  if (m === null) return `unusable trace '${visible(path)}': ${visible(reason)}`;
  return `${visible(path)}:${m[1]}: unusable trace at line ${m[1]}: ${visible(reason.slice(m[0].length))}`;
}

export async function replayCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...MACHINE_OPTIONS,
    ram: { type: 'string' },
    'expect-pic': { type: 'string' },
    perfetto: { type: 'string' },
    'snapshot-every': { type: 'string' },
    'save-snapshot': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(REPLAY_HELP);
    return 0;
  }
  const listing = machineHelp(values);
  if (listing !== null) {
    io.out(listing);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageFailure(positionals.length === 0 ? 'replay needs a TRACE file' : `replay takes one TRACE file, got ${positionals.length}`);
  const spec = machineSpecOf(values);
  machineConfigOf(values); // QEMU's refusals come before anything is read
  const ramSize = sizeOption(values, 'ram', 1 << 30);
  const path = positionals[0]!;
  const expectPic = typeof values['expect-pic'] === 'string' ? readText(values['expect-pic'], 'expected info pic') : null;
  const perfetto = typeof values.perfetto === 'string' ? new PerfettoSink() : undefined;
  const snapshotEvery = values['snapshot-every'] !== undefined ? intOption(values, 'snapshot-every', 1, 1e9) : undefined;
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    // reported by replayFile
  }
  const progress = startProgress(io, { total: size, quiet: values.quiet === true, format: '{percentage}% | {lines} lines | {mbs} MB/s | {eta_formatted} left', fields: { lines: 0, mbs: '0.0' } });
  let r: ReplayResult;
  try {
    r = await replayFile(path, { spec, ramSize, tap: perfetto, snapshotEvery }, progress);
  } finally {
    progress.stop();
  }
  if (r.status === 'unusable') throw new UsageFailure(unusableMessage(path, r.reason ?? 'unusable'));
  printReplay(r, io, path);
  if (perfetto !== undefined) writeText(values.perfetto as string, perfetto.serialize(), io);
  if (snapshotEvery !== undefined) io.out(`moved to a restored snapshot ${r.migrations} times (every ${snapshotEvery} actions)\n`);
  if (typeof values['save-snapshot'] === 'string' && r.machine !== null) {
    const n = saveSnapshotFile(values['save-snapshot'], r.machine);
    io.out(`saved ${n} bytes to ${values['save-snapshot']}\n`);
  }
  if (r.status === 'diverged') return 1;
  if (expectPic !== null) {
    // QEMU's XICS output shows host pointers: both sides get the same token there.
    const a = maskPicPointers(expectPic.replace(/\r\n/g, '\n')).split('\n');
    const b = maskPicPointers(r.pic).split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        io.out(`info pic differs from ${values['expect-pic']} at line ${i + 1}:\n  expected: ${a[i] ?? '(end of file)'}\n  model:    ${b[i] ?? '(end of output)'}\n`);
        return 1;
      }
    }
    io.out(`info pic matches ${values['expect-pic']}\n`);
  }
  io.out('no divergence\n');
  return 0;
}
