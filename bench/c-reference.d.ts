export interface CReference {
    compiler: string;
    source: string;
    results: {
        sources: number;
        vcpus: number;
        cycle_ns: number;
        cycles: number;
    }[];
}
/** The C source to build: `explicit` when given (null if it does not exist), else bench/xive_cycle.c. */
export declare function findCSource(explicit: string | undefined): string | null;
export declare function runCReference(source: string | null, sizes: readonly {
    sources: number;
    vcpus: number;
}[], cycles: number, runs: number, log: (line: string) => void): {
    ref: CReference | null;
    reason: string | null;
};
//# sourceMappingURL=c-reference.d.ts.map