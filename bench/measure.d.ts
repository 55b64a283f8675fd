import { type CycleRig } from './cycle.ts';
import type { SnapshotMethod } from './snapshot.ts';
import type { SpaprMachine } from '../src/spapr/machine.ts';
export interface CycleResult {
    sources: number;
    vcpus: number;
    /** Best timed run, ns per cycle. */
    cycle_ns: number;
    median_ns: number;
    cycles: number;
    setup_ms: number;
    /** C reference at the same size (best of its runs), or null. */
    c_ns: number | null;
    ratio_to_c: number | null;
    /** The C reference transcribed to JavaScript (bench/js-reference.ts), best run. */
    js_reference_ns: number;
    /** Garbage collections during the timed runs. */
    gc_count: number;
    /** Heap bytes allocated per cycle, measured on a run short enough to see no collection. */
    alloc_bytes_per_cycle: number | null;
}
/** Counts garbage collections (Node reports each as a performance entry). */
export declare class GcCounter {
    private readonly starts;
    private readonly obs;
    constructor();
    /** Collections that started in [t0, t1] (performance.now() times); waits for late reports. */
    between(t0: number, t1: number): Promise<number>;
    stop(): void;
}
/** The gc() function V8 gives with --expose-gc, turned on at run time; null if refused. */
export declare function exposeGc(): (() => void) | null;
export declare function round(v: number, digits?: number): number;
export declare function measureCycle(rig: CycleRig, setupMs: number, cycles: number, runs: number, gcs: GcCounter): Promise<Omit<CycleResult, 'c_ns' | 'ratio_to_c' | 'js_reference_ns'>>;
export declare function measureJsReference(sources: number, vcpus: number, cycles: number, runs: number): number;
export interface SnapshotResult {
    method: string;
    snapshot_ms: number;
    restore_ms: number;
    bytes: number;
}
/** Best snapshot and best restore time of `method` on `machine` over `runs` rounds. */
export declare function measureSnapshot<S>(method: SnapshotMethod<S>, machine: SpaprMachine, runs: number): SnapshotResult;
export type MigrationResult = {
    machine: string;
    api: string;
    snapshot_ms: number;
    restore_ms: number;
    bytes: number;
} | {
    error: string;
};
/** src/migration's versioned snapshots (captureSnapshot / restoreInto) of `machine`. */
export declare function measureMigration(machine: SpaprMachine, runs: number): MigrationResult;
//# sourceMappingURL=measure.d.ts.map