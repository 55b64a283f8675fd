import type { MachineSpec } from '../src/spapr/machine-config.ts';
export interface CorpusTrace {
    /** Path below test/fixtures/, without ".trace" (folder/name). */
    readonly name: string;
    /** The machine it was taken on. */
    readonly spec: MachineSpec;
}
/** The captures of the fixtures manifest, in its order. */
export declare function replayCorpus(): CorpusTrace[];
/** The corpus with the text of each trace. */
export declare function readReplayCorpus(): {
    trace: CorpusTrace;
    text: string;
}[];
export interface TraceReplayRate {
    name: string;
    /** Lines of the trace that are QEMU trace events. */
    events: number;
    /** Best replay time (ms). */
    ms: number;
    events_per_s: number;
    /** The controller the guest used (XICS logs pay QEMU's resend scan of every source). */
    controller: 'xive' | 'xics';
}
export interface ReplayRates {
    traces: TraceReplayRate[];
    events: number;
    ms: number;
    events_per_s: number;
    xive_events_per_s: number;
    xics_events_per_s: number;
}
/** Replays each trace `runs` times; throws if one does not replay cleanly. */
export declare function measureReplay(texts: readonly {
    trace: CorpusTrace;
    text: string;
}[], runs: number): ReplayRates;
//# sourceMappingURL=replay.d.ts.map