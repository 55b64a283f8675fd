/**
 * The xive library: an exact model of the POWER9 XIVE and legacy XICS interrupt controllers of
 * pseries (sPAPR) virtual machines. The root entry exports everything; the subpaths `xive/xive`,
 * `xive/xics`, `xive/spapr`, `xive/replay`, `xive/migration` and `xive/kvm` export one area each
 * (the same bindings), for embedders that want only that part.
 *
 * @module xive
 */
export * from './xive/index.ts';
export * from './xics/index.ts';
export * from './spapr/index.ts';
export * from './replay/index.ts';
export * from './migration/index.ts';
export * from './kvm/index.ts';
export { ManualClock, type Clock } from './ports/clock.ts';
export { SparseGuestMemory, FlatGuestMemory, type GuestMemory } from './ports/memory.ts';
export { LineState, LINE_INT, LINE_HINT, type CpuLines } from './ports/lines.ts';
export { TraceBuffer, Tracer, type TraceEvent, type TraceSink } from './trace/events.ts';
export { formatTraceEvent } from './trace/format.ts';
export { parseTraceLine, type ParsedLine } from './trace/parse.ts';
export type { StateMismatch } from './base/state.ts';
export { infoPic } from './monitor/info-pic.ts';
export { Monitor, IrqStats, type MonitorHost } from './monitor/commands.ts';
export { XiveUsageError } from './base/errors.ts';
export { PerfettoSink } from './trace-export/perfetto.ts';
export {
  XiveGuest,
  XiveGuestError,
  type XiveGuestOptions,
  type XiveSource as XiveGuestSource,
  type CpuCounters as XiveCpuCounters,
  type GuestStats as XiveGuestStats,
} from './guest/ops-xive.ts';
export {
  XicsGuest,
  XicsGuestError,
  type XicsGuestOptions,
  type XicsSourceCounters, type XicsSource as XicsGuestSource, type XicsCpuCounters, type XicsGuestStats } from './guest/ops-xics.ts';
export { createGuest, defaultGuestMode, GUEST_MODES, type GuestMode, type CreateGuestOptions } from './guest/guest.ts';
export { GuestError } from './guest/driver.ts';
export type { ReferenceGuest, ReferenceGuestStats, GuestCpuCounters, GuestSourceCounters, GuestLabels, SourceKind, BaseStats, GuestDriver } from './guest/driver.ts';
export { runGuestWorkload, type WorkloadOptions, type RunStats } from './guest/workload.ts';
