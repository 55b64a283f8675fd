/**
 * Snapshot files for the CLI (monitor savevm/loadvm and --load, replay --save-snapshot, serve
 * --load): reading and writing the snapshot container, and reading QEMU migration streams, which
 * every command that loads a snapshot also takes (told apart by their first bytes). Streams are
 * read from the file in place, never whole: a guest's RAM makes them hundreds of megabytes. A
 * gzip-compressed file (told by its magic) is decompressed in memory first, up to GZIP_MAX bytes,
 * since a compressed file cannot be read at random offsets.
 * Every failure is one line that says which file it is about.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UsageFailure } from './args.ts';
import type { MonitorHost } from '../monitor/commands.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import { captureSnapshot, restoreSnapshot, SnapshotError } from '../migration/snapshot.ts';
import { isQemuStream, QemuStreamError, readQemuStream, restoreQemuStream, type ByteSink, type ByteSource, type QemuStream } from '../migration/qemu-stream.ts';

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Largest decompressed size of a gzip-compressed stream or snapshot (1 GiB). */
export const GZIP_MAX = 1 << 30;

/** The whole decompressed content of a gzip file, as a ByteSource. */
function gunzipSource(path: string, what: string): ByteSource & { close(): void } {
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(readFileSync(path), { maxOutputLength: GZIP_MAX });
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    const why = c === 'ERR_BUFFER_TOO_LARGE' ? `more than ${GZIP_MAX / 2 ** 20} MiB once decompressed; decompress it first (gunzip)` : `damaged gzip data (${c ?? (e as Error).message})`;
    throw new UsageFailure(`cannot read ${what} '${path}': ${why}`);
  }
  return {
    size: bytes.length,
    read(offset, into) {
      const part = bytes.subarray(offset, offset + into.length);
      into.set(part);
      return part.length;
    },
    close: () => undefined,
  };
}

/** An open file as a ByteSource (decompressed when gzip); `close` releases it. */
function openSource(path: string, what: string): ByteSource & { close(): void } {
  let fd: number;
  let size: number;
  let gzip: boolean;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageFailure(`cannot read ${what} '${path}': ${code(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = st.size;
    const magic = new Uint8Array(2);
    gzip = size >= 2 && readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } catch (e) {
    closeSync(fd);
    throw new UsageFailure(`cannot read ${what} '${path}': ${code(e)}`);
  }
  if (gzip) {
    closeSync(fd);
    return gunzipSource(path, what);
  }
  return {
    size,
    read(offset, into) {
      let done = 0;
      try {
        while (done < into.length && offset + done < size) {
          const n = readSync(fd, into, done, into.length - done, offset + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw new UsageFailure(`cannot read ${what} '${path}': ${code(e)}`);
      }
      return done;
    },
    close: () => closeSync(fd),
  };
}

/** Runs `fn` on the file as a ByteSource; QemuStreamErrors become one-line usage errors. */
export function withStreamFile<T>(path: string, fn: (src: ByteSource) => T): T {
  const src = openSource(path, 'QEMU migration stream');
  try {
    return fn(src);
  } catch (e) {
    if (e instanceof QemuStreamError) throw new UsageFailure(`${path}: ${e.message}`);
    throw e;
  } finally {
    src.close();
  }
}

/** A QEMU migration stream file, read (structure, interrupt state, event-queue pages). */
export function readQemuStreamFile(path: string): QemuStream {
  return withStreamFile(path, readQemuStream);
}

/** A machine running on from the interrupt state of a QEMU migration stream file. */
export function loadQemuStreamFile(path: string): SpaprMachine {
  const s = readQemuStreamFile(path);
  try {
    return restoreQemuStream(s);
  } catch (e) {
    if (e instanceof QemuStreamError) throw new UsageFailure(`${path}: ${e.message}`);
    throw e;
  }
}

/** Is the file a QEMU migration stream (by its magic)? */
function startsAsQemuStream(path: string): boolean {
  const src = openSource(path, 'snapshot');
  try {
    const head = new Uint8Array(Math.min(8, src.size));
    src.read(0, head);
    return isQemuStream(head);
  } finally {
    src.close();
  }
}

/**
 * A machine restored from a snapshot file, or from a QEMU migration stream; unreadable or refused
 * files are usage errors.
 */
export function loadSnapshotFile(path: string): SpaprMachine {
  if (startsAsQemuStream(path)) return loadQemuStreamFile(path);
  const src = openSource(path, 'snapshot');
  const bytes = new Uint8Array(src.size);
  try {
    if (src.read(0, bytes) !== bytes.length) throw new UsageFailure(`cannot read snapshot '${path}': short read`);
  } finally {
    src.close();
  }
  try {
    return restoreSnapshot(bytes);
  } catch (e) {
    // SnapshotError messages are one line starting with "snapshot" that says what is wrong.
    if (e instanceof SnapshotError) throw new UsageFailure(`${path}: ${e.message}`);
    throw e;
  }
}

/** Writes bytes to a file; a failure is a usage error naming `what`. */
export function writeBytesFile(path: string, bytes: Uint8Array, what: string): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new UsageFailure(`cannot write ${what} '${path}': ${code(e)}`);
  }
}

/** Writes a snapshot (interrupt state and guest RAM) of `machine`; returns the byte count. */
export function saveSnapshotFile(path: string, machine: SpaprMachine): number {
  const bytes = captureSnapshot(machine, { includeMemory: true });
  writeBytesFile(path, bytes, 'snapshot');
  return bytes.length;
}

/**
 * A file written in order through a buffer (the pruned stream), created at the first write so
 * that a refused input leaves no file behind; `close` flushes it.
 */
export function fileSink(path: string): ByteSink & { close(): void } {
  let fd = -1;
  const buf = new Uint8Array(1 << 20);
  let used = 0;
  const put = (bytes: Uint8Array, n: number): void => {
    try {
      if (fd < 0) fd = openSync(path, 'w');
      let done = 0;
      while (done < n) done += writeSync(fd, bytes, done, n - done);
    } catch (e) {
      throw new UsageFailure(`cannot write '${path}': ${code(e)}`);
    }
  };
  const flush = (): void => {
    if (used > 0) put(buf, used);
    used = 0;
  };
  return {
    write(bytes) {
      if (used + bytes.length > buf.length) flush();
      if (bytes.length > buf.length) put(bytes, bytes.length);
      else {
        buf.set(bytes, used);
        used += bytes.length;
      }
    },
    close() {
      try {
        flush();
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    },
  };
}

/** File access for the monitor's savevm/loadvm. */
export function snapshotHost(): MonitorHost {
  return {
    saveSnapshot: (path, m) => `saved ${saveSnapshotFile(path, m)} bytes to ${path}\n`,
    loadSnapshot: (path) => loadSnapshotFile(path),
  };
}
