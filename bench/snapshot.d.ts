/**
 * Snapshot and restore of a controller's state for the benchmark. A SnapshotMethod takes the
 * XIVE state of a pseries machine (SpaprMachine) and puts it back; the benchmark times both
 * halves whatever the method.
 *
 * RAW_TABLE_COPY is the floor of any snapshot format: a byte copy of every table (source status
 * and LSI map, EAS, END, thread contexts), and on restore the copy back plus the re-indexing of
 * the presenter that any restore needs. Versioned snapshots (src/migration) serialise the same
 * tables with headers and checks, and the rest of the machine with them.
 */
import type { SpaprMachine } from '../src/spapr/machine.ts';
export interface SnapshotMethod<S> {
    readonly name: string;
    snapshot(m: SpaprMachine): S;
    restore(m: SpaprMachine, s: S): void;
    /** Size of a snapshot in bytes. */
    bytes(s: S): number;
}
export interface RawTables {
    status: Uint8Array;
    lsiMap: Uint32Array;
    eas: Uint8Array;
    ends: Uint8Array;
    tctx: Uint8Array;
}
export declare const RAW_TABLE_COPY: SnapshotMethod<RawTables>;
//# sourceMappingURL=snapshot.d.ts.map