import type { SharedXiveTables } from '../src/spapr/shared-tables.ts';
export interface ThroughputJob {
    mode: 'throughput';
    sources: number;
    vcpus: number;
    lanes: number;
    lane: number;
    warmup: number;
    cycles: number;
    tables: SharedXiveTables;
    ram: SharedArrayBuffer;
    /** [0]: workers ready, [1]: go. */
    barrier: Int32Array;
}
export interface StressJob {
    mode: 'stress';
    sources: number;
    vcpus: number;
    workers: number;
    me: number;
    /** Triggers per source. */
    rounds: number;
    tables: SharedXiveTables;
    ram: SharedArrayBuffer;
    /** Per source: triggers not yet followed by their EOI (at most 2, so none can be merged). */
    inflight: Int32Array;
    triggers: Int32Array;
    deliveries: Int32Array;
    /** [0]: deliveries in all, [1]: entries with an unknown EISN. */
    totals: Int32Array;
    /** Give up after this long without progress. */
    stallMs: number;
}
export type WorkerJob = ThroughputJob | StressJob;
export interface ThroughputReport {
    delivered: number;
    check: number;
    ns: number;
}
export interface StressReport {
    produced: number;
    stalled: boolean;
}
//# sourceMappingURL=worker.d.ts.map