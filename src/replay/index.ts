/**
 * Replay of QEMU 7.2 trace logs, as the package subpath `xive/replay`: every guest or device
 * action of the log is performed on a fresh machine and every event the model reports must be
 * in the log, in order, with the same values.
 *
 * @module xive/replay
 */
export { replayTrace, type ReplayResult, type ReplayOptions, type ReplayProgress, type ReplayCheckpoint, type Divergence } from './replay.ts';
