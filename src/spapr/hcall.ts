/**
 * PAPR hypervisor-call conventions: status codes returned in R3 and the opcodes of the
 * interrupt-controller hcalls. An hcall gets R4.. as `args` and returns R3 plus R4..R9 as the
 * guest sees them afterwards (registers an hcall does not write keep their input values).
 */

/** hcall status (R3): success. */
export const H_SUCCESS = 0;
/** hcall status: busy, retry (never returned by the interrupt hcalls). */
export const H_BUSY = 1;
/** hcall status: hardware error (a vCPU without ICP, a failed ESB access in H_INT_ESB). */
export const H_HARDWARE = -1;
/** hcall status: unknown or unavailable function (e.g. a XIVE hcall before CAS chose XIVE). */
export const H_FUNCTION = -2;
/** hcall status: made from problem state (user mode). */
export const H_PRIVILEGE = -3;
/** hcall status: a bad parameter. */
export const H_PARAMETER = -4;
/** hcall status: parameter 2 is bad. */
export const H_P2 = -55;
/** hcall status: parameter 3 is bad. */
export const H_P3 = -56;
/** hcall status: parameter 4 is bad. */
export const H_P4 = -57;
/** hcall status: parameter 5 is bad. */
export const H_P5 = -58;

/** XIVE hcall: the ESB pages and flags of a source (LISN). */
export const H_INT_GET_SOURCE_INFO = 0x3a8;
/** XIVE hcall: route a source to a vCPU and priority with an EISN, or mask it. */
export const H_INT_SET_SOURCE_CONFIG = 0x3ac;
/** XIVE hcall: the routing of a source (vCPU, priority, EISN). */
export const H_INT_GET_SOURCE_CONFIG = 0x3b0;
/** XIVE hcall: the ESB page and size limit of the event queue of a vCPU and priority. */
export const H_INT_GET_QUEUE_INFO = 0x3b4;
/** XIVE hcall: set up (or reset) the event queue of a vCPU and priority. */
export const H_INT_SET_QUEUE_CONFIG = 0x3b8;
/** XIVE hcall: the event queue of a vCPU and priority (address, size, index, toggle). */
export const H_INT_GET_QUEUE_CONFIG = 0x3bc;
/** XIVE hcall: set the OS reporting line (not supported, H_FUNCTION). */
export const H_INT_SET_OS_REPORTING_LINE = 0x3c0;
/** XIVE hcall: get the OS reporting line (not supported, H_FUNCTION). */
export const H_INT_GET_OS_REPORTING_LINE = 0x3c4;
/** XIVE hcall: an ESB load or store done by the hypervisor for the guest. */
export const H_INT_ESB = 0x3c8;
/** XIVE hcall: sync a source (its pending events reach their queue). */
export const H_INT_SYNC = 0x3cc;
/** XIVE hcall: reset every source and queue of the guest. */
export const H_INT_RESET = 0x3d0;

/** XICS hcall: end of interrupt (writes XIRR: CPPR and the source). */
export const H_EOI = 0x64;
/** XICS hcall: set the current processor priority. */
export const H_CPPR = 0x68;
/** XICS hcall: set the MFRR of a server (send an IPI). */
export const H_IPI = 0x6c;
/** XICS hcall: read the XIRR and MFRR of a server without accepting. */
export const H_IPOLL = 0x70;
/** XICS hcall: accept the pending interrupt (returns XIRR). */
export const H_XIRR = 0x74;
/** XICS hcall: accept the pending interrupt, also returning the host timebase. */
export const H_XIRR_X = 0x2fc;

/** Number of argument/result registers carried (R4..R9). */
export const HCALL_REGS = 6;

/** Names of the interrupt-controller hcalls, by opcode. */
export const HCALL_NAMES: Readonly<Record<number, string>> = {
  [H_INT_GET_SOURCE_INFO]: 'H_INT_GET_SOURCE_INFO',
  [H_INT_SET_SOURCE_CONFIG]: 'H_INT_SET_SOURCE_CONFIG',
  [H_INT_GET_SOURCE_CONFIG]: 'H_INT_GET_SOURCE_CONFIG',
  [H_INT_GET_QUEUE_INFO]: 'H_INT_GET_QUEUE_INFO',
  [H_INT_SET_QUEUE_CONFIG]: 'H_INT_SET_QUEUE_CONFIG',
  [H_INT_GET_QUEUE_CONFIG]: 'H_INT_GET_QUEUE_CONFIG',
  [H_INT_SET_OS_REPORTING_LINE]: 'H_INT_SET_OS_REPORTING_LINE',
  [H_INT_GET_OS_REPORTING_LINE]: 'H_INT_GET_OS_REPORTING_LINE',
  [H_INT_ESB]: 'H_INT_ESB',
  [H_INT_SYNC]: 'H_INT_SYNC',
  [H_INT_RESET]: 'H_INT_RESET',
  [H_CPPR]: 'H_CPPR',
  [H_EOI]: 'H_EOI',
  [H_IPI]: 'H_IPI',
  [H_IPOLL]: 'H_IPOLL',
  [H_XIRR]: 'H_XIRR',
  [H_XIRR_X]: 'H_XIRR_X',
};

/** Names of the hcall status codes, by value. */
export const HCALL_STATUS_NAMES: Readonly<Record<number, string>> = {
  [H_SUCCESS]: 'H_SUCCESS',
  [H_BUSY]: 'H_BUSY',
  [H_HARDWARE]: 'H_HARDWARE',
  [H_FUNCTION]: 'H_FUNCTION',
  [H_PRIVILEGE]: 'H_PRIVILEGE',
  [H_PARAMETER]: 'H_PARAMETER',
  [H_P2]: 'H_P2',
  [H_P3]: 'H_P3',
  [H_P4]: 'H_P4',
  [H_P5]: 'H_P5',
};

/** What an hcall leaves in the guest registers. */
export interface HcallResult {
  /** R3: H_SUCCESS or a (negative) PAPR error code. */
  ret: number;
  /** R4..R9 after the call. */
  regs: bigint[];
}
