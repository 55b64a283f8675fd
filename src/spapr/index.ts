/**
 * The pseries platform (sPAPR: the server Power Architecture Platform Reference), as the
 * package subpath `xive/spapr`: the machine and its options, the hcall and RTAS numbers,
 * the IRQ number space, CAS negotiation, the interrupt-controller interface with its XIVE and
 * XICS backends, state views, the device tree and shared tables for worker threads.
 *
 * @module xive/spapr
 */
export * from './hcall.ts';
export * from './irq-map.ts';
export * from './cas.ts';
export { spaprEndIndex, spaprEndVcpu, spaprEndPriority, spaprNvtIndex, spaprNvtVcpu } from './xive-layout.ts';
export { SpaprXive, SPAPR_XIVE_VC_BASE, SPAPR_XIVE_TM_BASE, SPAPR_XIVE_NVT_BASE, type SpaprXiveOptions } from './spapr-xive.ts';
export { xiveHcall, isXiveHcall, type XiveHcallContext, type XiveHcallController } from './xive-hcalls.ts';
export { SpaprMachine, DEFAULT_RAM_SIZE, type MachineOptions } from './machine.ts';
export {
  resolveMachine,
  MachineConfigError,
  type MachineSpec,
  type MachineConfig,
  type SmpSpec,
  type Topology,
  type Accel,
  type KernelIrqchip,
} from './machine-config.ts';
export { MACHINE_TYPE_NAMES, DEFAULT_MACHINE_TYPE, type MachineType, type IrqBackends } from './machine-types.ts';
export { CPU_MODEL_NAMES, COMPAT_MODES, type CpuModel, type CompatMode } from './cpu-models.ts';
export { INTC_NAMES, type SpaprIntc, type IntcName, type IntcPlatform, type IntcStateSpec, type SectionSpec, type SectionStates, type StateShape } from './intc.ts';
export type { IntcView, IntcViewOptions, CpuStateView, SourceStateView, QueueStateView, RingView, IcpView, RouteView, XicsSourceView, QueueEntryView } from './intc-view.ts';
export type { ConfigState, SpaprState } from './machine-state.ts';
export { xicsHcall, xicsRtas, XICS_RTAS_TOKENS, RTAS_OUT_SUCCESS, RTAS_OUT_HW_ERROR, RTAS_OUT_PARAM_ERROR, type XicsRtasName, type XicsHcallContext } from './xics-hcalls.ts';
export { SpaprXics } from './spapr-xics.ts';
export { interruptControllerTree } from './device-tree.ts';
export { DeviceTree, FdtNode, encodeDtb, decodeDtb, type MemReserveEntry, type FdtProperty } from './fdt.ts';
export { toDts } from './dts.ts';
export { allocateSharedTables, sharedMemoryAvailable, type SharedXiveTables } from './shared-tables.ts';
