/**
 * Saved state of a hardware block: each block (XIVE source, router, thread context, XICS ICS and
 * ICP, the platform) describes its own state as a plain object, copies it out and back in, and
 * defines its byte layout here as a versioned codec. Migration only composes them: it never
 * reaches inside a block.
 *
 * A codec writes one version and reads every version it ever wrote, so old saved state keeps
 * loading when a layout changes (the new layout gets a new version and decoder, the old decoder
 * stays). Decoders check what a state can know about itself (sizes, value ranges) and refuse the
 * rest with a DecodeError; how states relate to a machine is checked by their owner.
 */
import type { ByteReader, ByteWriter } from './bytes.ts';

export interface StateCodec<S> {
  /** The version this build writes. */
  readonly version: number;
  encode(s: S, w: ByteWriter): void;
  /**
   * One decoder per readable version. A decoder reads one state and leaves the reader after it;
   * whoever reads a whole section checks that nothing is left over (ByteReader.end).
   */
  readonly decoders: Readonly<Record<number, (r: ByteReader) => S>>;
}

/** A saved state that does not fit where it is loaded: which value, as saved and as here. */
export interface StateMismatch {
  what: string;
  saved: string | number;
  here: string | number;
}

/** One entry of a per-vCPU list of block states. */
export interface PerCpu<S> {
  vcpu: number;
  state: S;
}

/**
 * A list of one block state per vCPU, in plug order. Layout: the count (u32), then for each
 * entry the vCPU id (u32) and the block's own layout. `entryBytes` is the smallest size of an
 * entry, so a damaged count is refused before anything is allocated for it.
 */
export function perCpuCodec<S>(elem: StateCodec<S>, entryBytes: number): StateCodec<PerCpu<S>[]> {
  const decoders: Record<number, (r: ByteReader) => PerCpu<S>[]> = {};
  for (const [v, dec] of Object.entries(elem.decoders)) {
    decoders[Number(v)] = (r) => {
      const n = r.u32('count');
      if (n * entryBytes > r.remaining) throw r.invalid(`${n} entries of ${entryBytes} bytes do not fit in the ${r.remaining} bytes left`);
      const out: PerCpu<S>[] = [];
      for (let i = 0; i < n; i++) out.push({ vcpu: r.u32('vCPU id'), state: dec(r) });
      return out;
    };
  }
  return {
    version: elem.version,
    encode(list, w) {
      w.u32(list.length);
      for (const e of list) {
        w.u32(e.vcpu);
        elem.encode(e.state, w);
      }
    },
    decoders,
  };
}
