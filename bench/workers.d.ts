export interface WorkerThroughput {
    workers: number;
    sources: number;
    vcpus: number;
    cycles: number;
    /** Interrupt cycles per second, all workers together (wall time of the slowest). */
    cycles_per_s: number;
    /** Mean time of one cycle as one worker sees it. */
    cycle_ns: number;
    /** Every cycle delivered its event with the right EISN. */
    ok: boolean;
}
/**
 * One machine of `sources` sources and `vcpus` vCPUs in shared memory, split into `workers`
 * lanes; each worker runs `cycles` cycles on its lane after `warmup` unmeasured ones.
 */
export declare function runWorkerThroughput(workers: number, sources: number, vcpus: number, cycles: number, warmup?: number): Promise<WorkerThroughput>;
export interface StressResult {
    workers: number;
    sources: number;
    rounds: number;
    triggers: number;
    deliveries: number;
    /** Sources whose deliveries differ from their triggers (lost or duplicated events). */
    mismatched: {
        source: number;
        triggers: number;
        deliveries: number;
    }[];
    /** Queue entries whose EISN is no source's. */
    unknownEntries: number;
    /** A worker stopped making progress (an event was lost for good). */
    stalled: boolean;
    ms: number;
}
/**
 * `workers` workers, `sources` sources on `vcpus` vCPUs, each source triggered `rounds` times by
 * a worker that is not always the one handling it (see bench/worker.ts).
 */
export declare function runWorkerStress(workers: number, sources: number, vcpus: number, rounds: number, stallMs?: number): Promise<StressResult>;
//# sourceMappingURL=workers.d.ts.map