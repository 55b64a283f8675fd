/**
 * Snapshot and restore of a controller's state for the benchmark. A SnapshotMethod takes the
 * state of a BigXiveMachine and puts it back; the benchmark times both halves whatever the method.
 *
 * RAW_TABLE_COPY is the floor of any snapshot format: a byte copy of every table (source status
 * and LSI map, EAS, END, thread contexts), and on restore the copy back plus the re-indexing of
 * the presenter that any restore needs. Versioned snapshots (src/migration) serialise the same
 * tables with headers and checks, for a SpaprMachine.
 */
import type { BigXiveMachine } from './big-machine.ts';

export interface SnapshotMethod<S> {
  readonly name: string;
  snapshot(m: BigXiveMachine): S;
  restore(m: BigXiveMachine, s: S): void;
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

function bytesOf(v: DataView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export const RAW_TABLE_COPY: SnapshotMethod<RawTables> = {
  name: 'raw table copy (typed-array slices of the source status bytes, LSI map, EAS, END and thread-context tables)',
  snapshot(m) {
    const x = m.xive;
    return {
      status: x.source.status.slice(),
      lsiMap: x.source.lsiMap.slice(),
      eas: bytesOf(x.router.eas).slice(),
      ends: bytesOf(x.router.ends).slice(),
      tctx: x.tctxRegs.slice(),
    };
  },
  restore(m, s) {
    const x = m.xive;
    x.source.status.set(s.status);
    x.source.lsiMap.set(s.lsiMap);
    bytesOf(x.router.eas).set(s.eas);
    bytesOf(x.router.ends).set(s.ends);
    x.tctxRegs.set(s.tctx);
    // The CAM lines may differ from the ones indexed.
    for (const t of x.cpus) x.presenter.update(t);
  },
  bytes(s) {
    return s.status.byteLength + s.lsiMap.byteLength + s.eas.byteLength + s.ends.byteLength + s.tctx.byteLength;
  },
};
