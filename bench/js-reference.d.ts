/**
 * The C reference (bench/xive_cycle.c) transcribed to JavaScript: the same flat tables in typed
 * arrays, the same happy path (no access checks, no trace, no error cases), the same cycle. It is
 * not the model; it shows what the language costs for this work, between the C reference and
 * the model, which does everything the hardware checks on each access.
 */
/** A class rather than closures: each instance gets code for its own tables, not a shared guess. */
export declare class JsReference {
    readonly sources: number;
    readonly vcpus: number;
    private readonly pq;
    private readonly eas;
    private readonly ends;
    private readonly tctx;
    private readonly mem;
    private readonly gidx;
    private readonly gtog;
    private readonly entries;
    constructor(sources: number, vcpus: number);
    private present;
    private endNotify;
    private trigger;
    private ackOs;
    private setCppr;
    /** Cycles from .. from + count - 1; returns the events consumed. */
    run(from: number, count: number): number;
}
export declare function buildJsReference(sources: number, vcpus: number): JsReference;
//# sourceMappingURL=js-reference.d.ts.map