/**
 * The replay's entry points, gathered: the public types (api.ts), the streaming replay
 * (stream.ts) and the replay of a log held whole (whole-log.ts). Importers keep one path whatever
 * module each piece lives in.
 */
export type { ReplayOptions, ReplayProgress, ReplayCheckpoint, Divergence, ReplayResult } from './api.ts';
export { ReplayStream } from './stream.ts';
export { replayTrace, TraceReplay } from './whole-log.ts';
