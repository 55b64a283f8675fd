/**
 * XIVE tables in shared memory, for embedders that run vCPUs on several threads (worker threads
 * in Node, web workers in a browser): the EAS and END tables, the source status bytes and LSI
 * map, the thread-context registers and one lock word per vCPU, each in a SharedArrayBuffer.
 * Handing the same object to SpaprMachine (`xiveBuffers`, with `attach` on the threads that join)
 * on every thread gives them one controller; the lock words switch its updates to their atomic
 * forms (src/xive/atomics.ts).
 *
 * The object holds only typed arrays over SharedArrayBuffers, so it can be posted to another
 * thread as is (postMessage or workerData share the memory, they do not copy it).
 */
import * as R from '../xive/regs.ts';
import type { MachineOptions } from './machine.ts';
import { XiveUsageError } from '../base/errors.ts';
import { SPAPR_XIVE_ENDS_PER_VCPU } from './xive-layout.ts';

/** Caller-provided buffers of the XIVE tables (MachineOptions.xiveBuffers). */
export type XiveBuffers = NonNullable<MachineOptions['xiveBuffers']>;

/** The XIVE tables of one controller in shared memory, with one lock word per vCPU. */
export interface SharedXiveTables extends XiveBuffers {
  readonly eas: SharedArrayBuffer;
  readonly ends: SharedArrayBuffer;
  readonly locks: Int32Array;
}

/** Whether SharedArrayBuffer exists here (in a browser: only with cross-origin isolation). */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer !== 'undefined';
}

/**
 * Zeroed shared tables for `nrIrqs` LISNs (IPIs included: SPAPR_IRQ_NR_IPIS + the machine's
 * nrXirqs) and `nrServers` vCPUs (the machine's maxCpus).
 */
export function allocateSharedTables(nrIrqs: number, nrServers: number): SharedXiveTables {
  if (!sharedMemoryAvailable()) throw new XiveUsageError('SharedArrayBuffer is not available here (browsers need cross-origin isolation)');
  return {
    eas: new SharedArrayBuffer(nrIrqs * R.EAS_BYTES),
    ends: new SharedArrayBuffer(nrServers * SPAPR_XIVE_ENDS_PER_VCPU * R.END_BYTES),
    status: new Uint8Array(new SharedArrayBuffer(nrIrqs)),
    lsiMap: new Uint32Array(new SharedArrayBuffer(((nrIrqs + 31) >>> 5) * 4)),
    tctx: new Uint8Array(new SharedArrayBuffer(nrServers * R.TCTX_BYTES)),
    locks: new Int32Array(new SharedArrayBuffer(nrServers * 4)),
  };
}
