/**
 * The sections of a pseries interrupt snapshot: the machine's own (its platform and each
 * interrupt controller block save and load their state, with their byte layouts, in
 * src/spapr/machine-state.ts and the blocks) plus guest RAM, which only a snapshot carries. This
 * module finds the codec of each section and turns what a codec refuses into a SnapshotError
 * naming the section. When a layout changes, its codec gets a new version and keeps its old
 * decoders, so every snapshot ever written keeps loading.
 */
import { ByteReader, ByteWriter, DecodeError } from '../base/bytes.ts';
import type { StateCodec } from '../base/state.ts';
import { MACHINE_SECTIONS } from '../spapr/machine-state.ts';
import { SnapshotError } from './errors.ts';

export interface RamBlock {
  addr: number;
  data: Uint8Array;
}

export interface RamState {
  ramSize: number;
  blockShift: number;
  blocks: RamBlock[];
}

/** Everything a snapshot can hold, decoded. */
export interface SnapshotState {
  /** The machine's sections (config, spapr, each controller block), by id. */
  machine: Map<string, unknown>;
  /** Guest RAM, when the snapshot carries it. */
  ram: RamState | null;
}

/** Layout: RAM size (u64), block shift (u8), block count (u32), then per block its address (u64) and bytes. */
export const RAM_STATE: StateCodec<RamState> = {
  version: 1,
  encode(s, w) {
    w.u64(s.ramSize);
    w.u8(s.blockShift);
    w.u32(s.blocks.length);
    for (const b of s.blocks) {
      w.u64(b.addr);
      w.bytes(b.data);
    }
  },
  decoders: {
    1: (r) => {
      const ramSize = r.u64('ram size');
      const blockShift = r.u8('block shift');
      if (blockShift < 2 || blockShift > 24) throw r.invalid(`block shift ${blockShift}`);
      const size = 2 ** blockShift;
      const n = r.u32('block count');
      if (n * (8 + size) !== r.remaining) throw r.invalid(`${n} blocks of ${size} bytes do not match the ${r.remaining} bytes present`);
      const blocks: RamBlock[] = [];
      let next = 0;
      for (let i = 0; i < n; i++) {
        const addr = r.u64('block address');
        if (addr % size !== 0 || addr < next || addr + size > ramSize) {
          throw r.invalid(`block at 0x${addr.toString(16)} is unaligned, out of order or outside the ${ramSize}-byte RAM`);
        }
        next = addr + size;
        blocks.push({ addr, data: r.bytes(size, 'block data').slice() });
      }
      return { ramSize, blockShift, blocks };
    },
  },
};

export const RAM_SECTION = 'guest-ram';

/** Every section a snapshot can hold, in the order they are written. */
const CODECS: ReadonlyMap<string, StateCodec<unknown>> = new Map<string, StateCodec<unknown>>([
  ...[...MACHINE_SECTIONS].map(([id, s]) => [id, s.codec] as [string, StateCodec<unknown>]),
  [RAM_SECTION, RAM_STATE as StateCodec<unknown>],
]);

/** Section ids in the order a snapshot lists them. */
export const SECTION_IDS: readonly string[] = [...CODECS.keys()];

export function isSectionId(id: string): boolean {
  return CODECS.has(id);
}

/** The version of each section this build writes. */
export function sectionVersion(id: string): number {
  return CODECS.get(id)!.version;
}

/** Encodes one section's state with its codec. */
export function encodeSection(id: string, state: unknown): Uint8Array {
  const w = new ByteWriter();
  CODECS.get(id)!.encode(state, w);
  return w.finish();
}

/** Decodes one section with the decoder of its version, or refuses naming what is wrong. */
export function decodeSection(id: string, version: number, payload: Uint8Array): unknown {
  const codec = CODECS.get(id)!;
  const dec = codec.decoders[version];
  if (dec === undefined) {
    const known = Object.keys(codec.decoders).join(', ');
    throw new SnapshotError('section-version', `snapshot section '${id}' has version ${version}, which this build cannot read (it reads ${known})`);
  }
  const r = new ByteReader(payload, `snapshot section '${id}'`);
  try {
    const state = dec(r);
    r.end();
    return state;
  } catch (e) {
    if (e instanceof DecodeError) throw new SnapshotError(e.code, e.message);
    throw e;
  }
}
