/**
 * QEMU 7.2 migration streams of pseries machines: the public entry points.
 *
 *   readQemuStream(source)            the stream's sections and its decoded interrupt state
 *   qemuStreamState(stream)           that state in the model's terms (a snapshot's sections)
 *   qemuStreamToSnapshot(source)      the same as a snapshot file of the model
 *   restoreQemuStream(source, opts)   a new machine running on from the stream's state
 *   pruneQemuStream(source, sink)     the stream with only the RAM pages the state refers to
 *   diffQemuStreams(a, b)             their interrupt states compared field by field
 *
 * Bytes come through a ByteSource (a file, or bytes in memory); every refusal is a
 * QemuStreamError with a one-line message naming the byte offset and the section. The format and
 * how each field maps to the model: docs/qemu-migration-stream.md.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { encodeState, restoreSnapshot, SnapshotError, type RestoreOptions } from './snapshot.ts';
import type { SnapshotState } from './sections.ts';
import { QemuStreamError } from './qemu/errors.ts';
import type { QemuStream } from './qemu/reader.ts';
import { snapshotStateOf } from './qemu/model.ts';
import { diffRows, stateRows, type RowDiff } from './qemu/rows.ts';

export { QemuStreamError } from './qemu/errors.ts';
export { bytesSource, type ByteSource } from './qemu/source.ts';
export { isQemuStream } from './qemu/format.ts';
export { readQemuStream, type QemuStream } from './qemu/reader.ts';
export { pruneQemuStream, type ByteSink } from './qemu/prune.ts';
export { stateRows, type Row, type RowDiff, type FieldValue } from './qemu/rows.ts';

/** The stream's interrupt state as the model's saved sections, with the event-queue pages. */
export function qemuStreamState(s: QemuStream): SnapshotState {
  return snapshotStateOf(s.state, s.ramBlock.size, s.pages);
}

/** The stream's interrupt state as a snapshot of the model (docs/snapshots.md). */
export function qemuStreamToSnapshot(s: QemuStream): Uint8Array {
  return encodeState(qemuStreamState(s));
}

/**
 * A new machine of the stream's configuration holding its interrupt state and event queues, as a
 * snapshot restore builds it (RestoreOptions: trace sink, CPU lines, memory, post-load resend).
 */
export function restoreQemuStream(s: QemuStream, opts: RestoreOptions = {}): SpaprMachine {
  const bytes = qemuStreamToSnapshot(s);
  try {
    return restoreSnapshot(bytes, opts);
  } catch (e) {
    // The state was checked section by section already; what is left is machine-wide.
    if (e instanceof SnapshotError) {
      throw new QemuStreamError('inconsistent', { offset: s.state.offsets.spapr ?? 0, where: "section 'spapr' instance 0" }, e.message);
    }
    throw e;
  }
}

/** The interrupt states of two streams, compared field by field in the architecture's names. */
export function diffQemuStreams(a: QemuStream, b: QemuStream): RowDiff[] {
  return diffRows(stateRows(a.state, a.ramBlock.size), stateRows(b.state, b.ramBlock.size));
}

/** The stream as plain data: its sections and its interrupt state as rows (for --json). */
export function qemuStreamJson(s: QemuStream): Record<string, unknown> {
  return {
    size: s.size,
    machineType: s.machineType,
    ramBlocks: s.layout.ramBlocks,
    pages: s.layout.pages,
    sections: s.layout.sections.map(({ name, instance, version, kind, offset, records, bytes }) => ({ name, instance, version, kind, offset, records, bytes })),
    eventQueuePages: [...s.pages.keys()].sort((x, y) => x - y),
    state: Object.fromEntries(stateRows(s.state, s.ramBlock.size)),
  };
}
