/**
 * Versioned snapshots of a machine, as the package subpath `xive/migration`: capture, inspect,
 * restore into a new machine or into an existing one, with capabilities checked first; and QEMU 7.2
 * migration streams of pseries guests: read, converted to a snapshot or a running machine,
 * compared, pruned.
 *
 * @module xive/migration
 */
export {
  captureSnapshot,
  restoreSnapshot,
  restoreInto,
  inspectSnapshot,
  machineCapabilities,
  SnapshotError,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  READABLE_FORMAT_VERSIONS,
  KNOWN_CAPABILITIES,
  type Capability,
  type SnapshotErrorCode,
  type SnapshotInfo,
  type CaptureOptions,
  type RestoreOptions,
  type RestoreIntoOptions,
} from './snapshot.ts';
export {
  QemuStreamError,
  bytesSource,
  isQemuStream,
  readQemuStream,
  qemuStreamToSnapshot,
  restoreQemuStream,
  diffQemuStreams,
  qemuStreamJson,
  pruneQemuStream,
  stateRows,
  type ByteSource,
  type ByteSink,
  type QemuStream,
  type Row,
  type RowDiff,
  type FieldValue,
} from './qemu-stream.ts';
export type { QemuStreamErrorCode, StreamPlace } from './qemu/errors.ts';
export type { VmDescription, DescDevice, DescVmsd, DescField } from './qemu/vmdesc.ts';
export type { StreamLayout, SectionSummary } from './qemu/records.ts';
export type { QemuPseriesState, QemuCpu, QemuPhb } from './qemu/pseries.ts';
export type { PruneResult } from './qemu/prune.ts';
