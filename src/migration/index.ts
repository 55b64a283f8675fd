/**
 * Versioned snapshots of a machine, as the package subpath `xive/migration`: capture, inspect,
 * restore into a new machine or into an existing one, with capabilities checked first.
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
