/**
 * Snapshot files for the CLI (savevm/loadvm, --load, --save-snapshot): reading and writing the
 * snapshot container, with refusals reported as one-line usage failures naming the snapshot.
 */
import type { MonitorHost } from '../monitor/commands.ts';

/** File access for the monitor's savevm/loadvm; empty until snapshots are available. */
export function snapshotHost(): MonitorHost {
  return {};
}
