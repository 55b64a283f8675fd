export type BenchPart = 'cycle' | 'replay' | 'snapshot' | 'workers';
export interface BenchOptions {
    json: boolean;
    quick: boolean;
    /** Cycles per timed run. */
    cycles: number;
    /** Timed runs per size (the best is kept). */
    runs: number;
    parts: readonly BenchPart[];
    /** Build and run the C reference. */
    c: boolean;
    /** The C reference to build (default bench/xive_cycle.c). */
    cSource?: string;
}
export interface BenchIo {
    out(s: string): void;
    err(s: string): void;
}
export declare const BENCH_SIZES: readonly {
    sources: number;
    vcpus: number;
}[];
export declare function runBench(opts: BenchOptions, io: BenchIo): Promise<number>;
//# sourceMappingURL=run.d.ts.map