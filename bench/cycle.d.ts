/**
 * The interrupt cycle benchmark: one Linux-style XIVE interrupt at a time, through the guest entry
 * points of an ordinary pseries machine (SpaprMachine, ic-mode xive) only — ESB trigger store ->
 * (EAS -> END enqueue -> presenter inside the model) -> TIMA ACK load -> read of the event-queue
 * entry from guest RAM with the toggle check -> ESB load SET_PQ_00 (EOI) -> CPPR store 0xFF —
 * with sources taken round-robin and source s routed to vCPU s % vcpus. It is the same work as
 * the C reference (bench/xive_cycle.c), which does it by hand over flat arrays.
 *
 * The machine is sized for the run (its device interrupt range holds the sources; with 2^20
 * sources the IPIs are sources too), set up as a guest does: CAS asking for XIVE exploitation,
 * H_INT_SET_QUEUE_CONFIG per vCPU, H_INT_SET_SOURCE_CONFIG per source, then an ESB SET_PQ_00
 * load to enable each source.
 */
import { SpaprMachine } from '../src/spapr/machine.ts';
import { type GuestMemory } from '../src/ports/memory.ts';
import type { CpuLines } from '../src/ports/lines.ts';
import type { XiveBuffers } from '../src/spapr/shared-tables.ts';
export declare const CYCLE_PRIORITY = 6;
/** log2 of each vCPU's event-queue size in bytes (16K entries, as Linux allocates). */
export declare const CYCLE_QUEUE_SHIFT = 16;
/** EISN of source s is EISN_BASE + s (the C reference's data). */
export declare const CYCLE_EISN_BASE = 16;
export declare const TM_ACK_OS: number;
export declare const TM_CPPR_OS: number;
/** Where a cycle of `sources` sources runs: the machine's size and the LISN of source 0. */
export interface CycleLayout {
    /** Size of the machine's device interrupt range (SpaprMachine's nrXirqs). */
    readonly nrXirqs: number;
    /** LISNs of the machine, IPIs included: the size of its XIVE tables. */
    readonly nrIrqs: number;
    /** Source s of the cycle is LISN firstLisn + s. */
    readonly firstLisn: number;
}
/**
 * The sources are device interrupts from 0x1000 on, in a device range of the default size or
 * larger; past what the device range can hold they start lower and take IPIs as well (the
 * 2^20-source machine is its whole LISN space), which needs every IPI claimed: 4096 vCPUs.
 */
export declare function cycleLayout(sources: number, vcpus: number): CycleLayout;
export interface CycleRigOptions {
    sources: number;
    vcpus: number;
    /** Guest RAM; default a flat RAM just large enough for the queues. */
    memory?: GuestMemory;
    /** The vCPUs' interrupt lines; by default nothing is wired (the guest polls). */
    lines?: CpuLines;
    /** XIVE tables in caller-provided (e.g. shared) buffers, sized by cycleLayout(...).nrIrqs. */
    buffers?: XiveBuffers;
    /** Join a machine another thread configured (shared buffers): no setup hcalls. */
    attach?: boolean;
    /**
     * Split the machine into `lanes` independent parts (default 1), for threads that each run
     * one: lane w has the contiguous sources [w*sources/lanes, (w+1)*sources/lanes), taken
     * round-robin by the vCPUs c with c % lanes === w. With one lane, source s goes to vCPU
     * s % vcpus, as in the C reference. `sources` and `vcpus` must be multiples of `lanes`.
     */
    lanes?: number;
    /** The lane this rig's cycles run (default 0). */
    lane?: number;
}
/** A configured machine plus the guest driver's per-vCPU consumer state. */
export interface CycleRig {
    readonly machine: SpaprMachine;
    readonly memory: GuestMemory;
    readonly sources: number;
    readonly vcpus: number;
    /** LISN of source 0 (see cycleLayout). */
    readonly firstLisn: number;
    /** Guest address of each vCPU's queue. */
    readonly qpage: Float64Array;
    readonly qmask: number;
    /** Consumer index and toggle per vCPU (an entry is valid when its bit 31 differs). */
    readonly idx: Int32Array;
    readonly toggle: Uint8Array;
    /**
     * Each source's trigger and EOI page addresses, as the guest keeps them (Linux's per-interrupt
     * trig_mmio / eoi_mmio), made on the first run (see guestPages).
     */
    trig: number[] | null;
    eoi: number[] | null;
    readonly lanes: number;
    readonly lane: number;
    /** Events consumed, and the sum of their EISNs (compared with the C reference's "check"). */
    delivered: number;
    check: number;
}
/** Queue of vCPU c: 64K-aligned slots from guest physical 0, as the C reference lays them out. */
export declare function queueAddress(c: number): number;
export declare function cycleRamSize(vcpus: number): number;
/** Guest address of the ESB pages (trigger page, then management page) of LISN `lisn`. */
export declare function esbPage(lisn: number): number;
/** Guest address of the SET_PQ_00 load (the EOI) of LISN `lisn`. */
export declare function esbEoi(lisn: number): number;
/** Builds the machine and configures it as Linux would (unless attaching to a configured one). */
export declare function buildCycleRig(opts: CycleRigOptions): CycleRig;
/**
 * Runs cycles number `from` .. `from + count - 1` of the rig's lane: cycle n triggers the lane's
 * source n % (its sources), taken by its vCPU as configured (with one lane: source n % sources,
 * vCPU source % vcpus). Returns the number of events consumed by these cycles.
 */
export declare function runCycles(rig: CycleRig, from: number, count: number): number;
/**
 * The check value of cycles 0 .. cycles-1 over sources base .. base + sources - 1 (the sum of
 * the EISNs consumed); with base 0 it is the C reference's "check".
 */
export declare function expectedCheck(sources: number, cycles: number, base?: number): number;
//# sourceMappingURL=cycle.d.ts.map