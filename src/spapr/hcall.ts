/**
 * PAPR hypervisor-call conventions: status codes returned in R3 and the opcodes of the
 * interrupt-controller hcalls. An hcall gets R4.. as `args` and returns R3 plus R4..R9 as the
 * guest sees them afterwards (registers an hcall does not write keep their input values).
 */

export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_P2 = -55;
export const H_P3 = -56;
export const H_P4 = -57;
export const H_P5 = -58;

export const H_INT_GET_SOURCE_INFO = 0x3a8;
export const H_INT_SET_SOURCE_CONFIG = 0x3ac;
export const H_INT_GET_SOURCE_CONFIG = 0x3b0;
export const H_INT_GET_QUEUE_INFO = 0x3b4;
export const H_INT_SET_QUEUE_CONFIG = 0x3b8;
export const H_INT_GET_QUEUE_CONFIG = 0x3bc;
export const H_INT_SET_OS_REPORTING_LINE = 0x3c0;
export const H_INT_GET_OS_REPORTING_LINE = 0x3c4;
export const H_INT_ESB = 0x3c8;
export const H_INT_SYNC = 0x3cc;
export const H_INT_RESET = 0x3d0;

export const H_EOI = 0x64;
export const H_CPPR = 0x68;
export const H_IPI = 0x6c;
export const H_IPOLL = 0x70;
export const H_XIRR = 0x74;
export const H_XIRR_X = 0x2fc;

/** Number of argument/result registers carried (R4..R9). */
export const HCALL_REGS = 6;

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

export interface HcallResult {
  /** R3: H_SUCCESS or a (negative) PAPR error code. */
  ret: number;
  /** R4..R9 after the call. */
  regs: bigint[];
}
