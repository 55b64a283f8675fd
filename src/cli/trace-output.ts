/**
 * The file behind `--trace FILE`: text written as it comes, gzip-compressed when the name ends
 * in .gz (each flushed piece a gzip member; gunzip and `xive replay` read the concatenation as
 * one stream).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants, gzipSync } from 'node:zlib';
import type { LineOutput } from '../replay/log-writer.ts';
import { UsageFailure } from './args.ts';

export class TraceFile implements LineOutput {
  private readonly fd: number;
  private readonly gzip: boolean;
  /** Bytes written to the file. */
  bytes = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new UsageFailure(`cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.gzip = path.endsWith('.gz');
  }

  write(text: string): void {
    // Fast compression: a trace of gigabytes is written in seconds, and still shrinks tenfold.
    const data = this.gzip ? gzipSync(text, { level: constants.Z_BEST_SPEED }) : Buffer.from(text, 'latin1');
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      throw new UsageFailure(`cannot write '${this.path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.bytes += data.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
