/**
 * Where the pseries machine puts its XIVE controller: the guest addresses of the ESB pages
 * (VC region) and of the TIMA (thread interrupt management area), the single block, the first
 * NVT (notification virtual target) index, the priority kept for the hypervisor, the node the
 * device tree gives the controller, and how vCPUs map onto END (event notification descriptor)
 * and NVT indexes.
 */

/** Guest address of the ESB pages (the VC region): two 64K pages per LISN. */
export const SPAPR_XIVE_VC_BASE = 0x0006_0100_0000_0000;
/** Guest address of the TIMA region (four 64K pages: HW, HV, OS, user). */
export const SPAPR_XIVE_TM_BASE = 0x0006_0302_0318_0000;
/** NVT index of vCPU 0: vCPU v is dispatched on NVT 0x400 + v. */
export const SPAPR_XIVE_NVT_BASE = 0x400;
/** The one block of the sPAPR controller (EAS, END and NVT). */
export const SPAPR_XIVE_BLOCK_ID = 0;
/** Priority kept for the hypervisor: a guest cannot configure it. */
export const SPAPR_XIVE_HV_PRIO = 7;

/**
 * sPAPR's fixed routing layout, all in block SPAPR_XIVE_BLOCK_ID: vCPU v owns the 8 ENDs
 * v * 8 + priority (one event queue per priority), and is dispatched on NVT 0x400 + v. Code that
 * needs this arithmetic calls these functions; the reference guest keeps its own copy on purpose.
 */
export const SPAPR_XIVE_ENDS_PER_VCPU = 8;

/** END index of (vCPU id, priority); the priority is expected in 0..7. */
export function spaprEndIndex(vcpu: number, priority: number): number {
  return vcpu * SPAPR_XIVE_ENDS_PER_VCPU + priority;
}

/** vCPU id owning END `endIdx`. */
export function spaprEndVcpu(endIdx: number): number {
  return Math.floor(endIdx / SPAPR_XIVE_ENDS_PER_VCPU);
}

/** Priority of END `endIdx` within its vCPU's ENDs. */
export function spaprEndPriority(endIdx: number): number {
  return endIdx % SPAPR_XIVE_ENDS_PER_VCPU;
}

/** NVT index of a vCPU id. */
export function spaprNvtIndex(vcpu: number): number {
  return SPAPR_XIVE_NVT_BASE + vcpu;
}

/**
 * vCPU id of NVT `nvtIdx`, as a signed 32-bit integer: NVTs below the base give negative ids,
 * which name no vCPU (`>>> 0` gives the unsigned 32-bit value QEMU computes).
 */
export function spaprNvtVcpu(nvtIdx: number): number {
  return (nvtIdx - SPAPR_XIVE_NVT_BASE) | 0;
}

export const ESB_REGION_NAME = 'xive.esb-emulated';
export const TIMA_REGION_NAME = 'xive.tima';

/** Each TIMA (Thread Interrupt Management Area) page is 64 KiB; pages: HW, HV, OS, USER. */
export const XIVE_TM_PAGE_SIZE = 0x10000n;
export const XIVE_TM_OS_PAGE = BigInt(SPAPR_XIVE_TM_BASE) + 2n * XIVE_TM_PAGE_SIZE;
export const XIVE_TM_USER_PAGE = BigInt(SPAPR_XIVE_TM_BASE) + 3n * XIVE_TM_PAGE_SIZE;
/** The XIVE node is named after the USER page, its first `reg` entry. */
export const XIVE_NODE_NAME = `interrupt-controller@${XIVE_TM_USER_PAGE.toString(16)}`;
export const XIVE_NODE_PATH = `/${XIVE_NODE_NAME}`;
/** Event-queue sizes the guest may use, as log2 of bytes: only 64 KiB queues. */
export const XIVE_EQ_SIZE_SHIFTS: readonly number[] = [16];

/** Result of an MMIO access that the memory core checked. */
export const MMIO_OK = 0;
export const MMIO_INVALID = 1;

