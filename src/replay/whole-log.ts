/**
 * Replay of a log held whole as text: replayTrace (one run, the package's entry point) and
 * TraceReplay (a log replayed more than once, from its start or from a checkpoint of an earlier
 * run, as the playground's timeline seeks). Both feed a ReplayStream; nothing here needs Node,
 * the browser runs it too.
 */
import type { ReplayCheckpoint, ReplayOptions, ReplayResult, StreamCheckpoint } from './api.ts';
import { ReplayStream } from './stream.ts';

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
