/**
 * Snapshot files for the CLI (monitor savevm/loadvm and --load, replay --save-snapshot, serve
 * --load): reading and writing the snapshot container. Every failure is one line that says it
 * is about the snapshot file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageFailure } from './args.ts';
import type { MonitorHost } from '../monitor/commands.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import { captureSnapshot, restoreSnapshot, SnapshotError } from '../migration/snapshot.ts';

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** A machine restored from a snapshot file; unreadable or refused files are usage errors. */
export function loadSnapshotFile(path: string): SpaprMachine {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageFailure(`cannot read snapshot '${path}': ${code(e)}`);
  }
  try {
    return restoreSnapshot(bytes);
  } catch (e) {
    // SnapshotError messages are one line starting with "snapshot" that says what is wrong.
    if (e instanceof SnapshotError) throw new UsageFailure(`${path}: ${e.message}`);
    throw e;
  }
}

/** Writes a snapshot (interrupt state and guest RAM) of `machine`; returns the byte count. */
export function saveSnapshotFile(path: string, machine: SpaprMachine): number {
  const bytes = captureSnapshot(machine, { includeMemory: true });
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new UsageFailure(`cannot write snapshot '${path}': ${code(e)}`);
  }
  return bytes.length;
}

/** File access for the monitor's savevm/loadvm. */
export function snapshotHost(): MonitorHost {
  return {
    saveSnapshot: (path, m) => `saved ${saveSnapshotFile(path, m)} bytes to ${path}\n`,
    loadSnapshot: (path) => loadSnapshotFile(path),
  };
}
