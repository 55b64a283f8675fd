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
import type { SpaprXive } from '../src/spapr/spapr-xive.ts';

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

function xiveOf(m: SpaprMachine): SpaprXive {
  if (m.xive === null) throw new Error('the raw table copy takes a machine with a XIVE controller');
  return m.xive;
}

function bytesOf(v: DataView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export const RAW_TABLE_COPY: SnapshotMethod<RawTables> = {
  name: 'raw table copy (typed-array slices of the source status bytes, LSI map, EAS, END and thread-context tables)',
  snapshot(m) {
    const x = xiveOf(m);
    return {
      status: x.source.status.slice(),
      lsiMap: x.source.lsiMap.slice(),
      eas: bytesOf(x.router.eas).slice(),
      ends: bytesOf(x.router.ends).slice(),
      tctx: x.tctxRegs.slice(),
    };
  },
  restore(m, s) {
    const x = xiveOf(m);
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
