/** Public API of the xive library. */
export * from './xive/regs.ts';
export { pqTrigger, pqTriggerForwards, pqEoi, pqEoiForwards } from './xive/esb.ts';
export { XiveSource, ESB_ALL_ONES } from './xive/source.ts';
export { XiveRouter, NVT_MISSING, NVT_INVALID, NVT_VALID, type NvtStore, type Presenter } from './xive/router.ts';
export { XivePresenter } from './xive/presenter.ts';
export { ThreadContext } from './xive/tctx.ts';
export { Tima } from './xive/tima.ts';
export * from './spapr/hcall.ts';
export * from './spapr/irq-map.ts';
export * from './spapr/cas.ts';
export { SpaprXive, SPAPR_XIVE_VC_BASE, SPAPR_XIVE_TM_BASE, SPAPR_XIVE_NVT_BASE } from './spapr/spapr-xive.ts';
export { spaprEndIndex, spaprEndVcpu, spaprEndPriority, spaprNvtIndex, spaprNvtVcpu } from './spapr/xive-layout.ts';
export { xiveHcall, isXiveHcall } from './spapr/xive-hcalls.ts';
export { SpaprMachine, DEFAULT_RAM_SIZE, type MachineOptions } from './spapr/machine.ts';
export { INTC_NAMES, type SpaprIntc, type IntcName, type IntcPlatform, type IntcStateSpec, type SectionSpec, type SectionStates } from './spapr/intc.ts';
export type { IntcView, IntcViewOptions, CpuStateView, SourceStateView, QueueStateView, RingView, IcpView, RouteView, XicsSourceView, QueueEntryView } from './spapr/intc-view.ts';
export type { ConfigState, SpaprState } from './spapr/machine-state.ts';
export { ManualClock, type Clock } from './ports/clock.ts';
export { SparseGuestMemory, type GuestMemory } from './ports/memory.ts';
export { LineState, LINE_INT, LINE_HINT, type CpuLines } from './ports/lines.ts';
export { TraceBuffer, Tracer, type TraceEvent, type TraceSink } from './trace/events.ts';
export { formatTraceEvent } from './trace/format.ts';
export { parseTraceLine } from './trace/parse.ts';
export { infoPic } from './monitor/info-pic.ts';
export { replayTrace, type ReplayResult, type ReplayOptions } from './replay/replay.ts';
export { XiveUsageError } from './base/errors.ts';
export { Ics, XICS_IRQ_BASE, XICS_NR_IRQS, XICS_IPI } from './xics/ics.ts';
export { Icp } from './xics/icp.ts';
export { xicsHcall, xicsRtas, XICS_RTAS_TOKENS, RTAS_OUT_SUCCESS, RTAS_OUT_HW_ERROR, RTAS_OUT_PARAM_ERROR } from './spapr/xics-hcalls.ts';
export { xicsInfoPic, maskPicPointers, XICS_PIC_POINTER } from './xics/info-pic.ts';
export { SpaprXics } from './spapr/spapr-xics.ts';
export { interruptControllerTree } from './spapr/device-tree.ts';
export { DeviceTree, encodeDtb, decodeDtb } from './spapr/fdt.ts';
export { toDts } from './spapr/dts.ts';
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
} from './migration/snapshot.ts';
export {
  KvmVm,
  KvmFault,
  KvmXicsDevice,
  KvmXiveDevice,
  xicsSourceWord,
  u64Buffer,
  u32Buffer,
  readU32,
  readU64,
  writeU32,
  writeU64,
  type KvmDevice,
  type KvmMapping,
  type KvmEsbMapping,
  type KvmTimaMapping,
} from './kvm/device.ts';
/** The Linux KVM uAPI numbers and layouts the device-control API takes (groups, attributes, errnos). */
export * as uapi from './kvm/uapi.ts';
export { Monitor } from './monitor/commands.ts';
export { PerfettoSink } from './trace-export/perfetto.ts';
export { XiveGuest } from './guest/ops-xive.ts';
export { XicsGuest } from './guest/ops-xics.ts';
export { createGuest, defaultGuestMode, GUEST_MODES, type GuestMode } from './guest/guest.ts';
export type { ReferenceGuest, ReferenceGuestStats, GuestCpuCounters, GuestSourceCounters, GuestLabels, SourceKind } from './guest/driver.ts';
export { runGuestWorkload } from './guest/workload.ts';
export { FlatGuestMemory } from './ports/memory.ts';
export { allocateSharedTables, sharedMemoryAvailable, type SharedXiveTables } from './spapr/shared-tables.ts';
