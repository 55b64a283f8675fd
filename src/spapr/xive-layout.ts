/**
 * Where the pseries machine puts its XIVE controller: the guest addresses of the ESB pages
 * (VC region) and of the TIMA (thread interrupt management area), the single block, the first
 * NVT (notification virtual target) index, the priority kept for the hypervisor, and the node
 * the device tree gives the controller.
 */

export const SPAPR_XIVE_VC_BASE = 0x0006_0100_0000_0000;
export const SPAPR_XIVE_TM_BASE = 0x0006_0302_0318_0000;
export const SPAPR_XIVE_NVT_BASE = 0x400;
export const SPAPR_XIVE_BLOCK_ID = 0;
export const SPAPR_XIVE_HV_PRIO = 7;
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

