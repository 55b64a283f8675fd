/**
 * The snapshot container: a self-describing binary envelope around versioned sections.
 *
 *   offset  size  field (container fields little-endian)
 *   0       8     magic 89 50 49 43 53 4E 41 50  ("\x89PICSNAP"; the high first byte catches
 *                 7-bit transfers and text-mode newline mangling, like PNG's signature)
 *   8       2     format version (this build writes and reads 1)
 *   10      2     header flags, 0 in version 1
 *   12      4     total length in bytes, checksum included
 *   16      2     capability count, then each capability: u8 length + ASCII name
 *   …       2     section count, then each section: u8 id length + ASCII id, u16 section
 *                 version, u32 payload length, payload
 *   end-4   4     CRC-32 (IEEE) of every byte before it
 *
 * Checks run in an order that keeps the message useful: magic, then format version (a newer
 * format may lay out everything after it differently, so nothing else is trusted before it),
 * then the announced length (truncation), then the checksum, then the structure. Section
 * payloads are opaque here; snapshot.ts and sections.ts give them meaning.
 */
import { ByteReader, ByteWriter, DecodeError, crc32 } from '../base/bytes.ts';
import { SnapshotError } from './errors.ts';

/** The 8 bytes a snapshot starts with ("\x89PICSNAP"). */
export const SNAPSHOT_MAGIC = Uint8Array.of(0x89, 0x50, 0x49, 0x43, 0x53, 0x4e, 0x41, 0x50);
/** The container format this build writes. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Every container format version this build reads (older ones stay here forever). */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1];

const FIXED_HEADER = 16;
const CRC_BYTES = 4;

export interface Section {
  readonly id: string;
  readonly version: number;
  readonly payload: Uint8Array;
}

export interface Container {
  readonly formatVersion: number;
  readonly capabilities: readonly string[];
  readonly sections: readonly Section[];
}

const ID_RE = /^[a-z0-9][a-z0-9.-]*$/;

export function encodeContainer(capabilities: readonly string[], sections: readonly Section[]): Uint8Array {
  const w = new ByteWriter();
  w.bytes(SNAPSHOT_MAGIC);
  w.u16(SNAPSHOT_FORMAT_VERSION);
  w.u16(0);
  w.u32(0); // total length, patched below
  w.u16(capabilities.length);
  for (const c of capabilities) {
    if (!ID_RE.test(c)) throw new RangeError(`capability name ${JSON.stringify(c)} is not a lower-case identifier`);
    w.shortString(c);
  }
  w.u16(sections.length);
  for (const s of sections) {
    if (!ID_RE.test(s.id)) throw new RangeError(`section id ${JSON.stringify(s.id)} is not a lower-case identifier`);
    w.shortString(s.id);
    w.u16(s.version);
    w.u32(s.payload.length);
    w.bytes(s.payload);
  }
  w.patchU32(12, w.length + CRC_BYTES);
  const body = w.finish();
  const out = new Uint8Array(body.length + CRC_BYTES);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

/** Parses and checks the envelope; every refusal is a SnapshotError with a one-line message. */
export function decodeContainer(bytes: Uint8Array): Container {
  const n = bytes.length;
  const magicSeen = Math.min(n, SNAPSHOT_MAGIC.length);
  for (let i = 0; i < magicSeen; i++) {
    if (bytes[i] !== SNAPSHOT_MAGIC[i]) {
      throw new SnapshotError('bad-magic', `snapshot rejected: not a snapshot file (magic bytes are ${hexBytes(bytes.subarray(0, magicSeen))}, expected ${hexBytes(SNAPSHOT_MAGIC)})`);
    }
  }
  if (n < SNAPSHOT_MAGIC.length + 2) throw new SnapshotError('truncated', `snapshot is truncated: ${n} byte(s), too short for its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8, true);
  if (!READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new SnapshotError(
      'format-version',
      `snapshot format version ${version} is not readable by this build (it reads version${READABLE_FORMAT_VERSIONS.length > 1 ? 's' : ''} ${READABLE_FORMAT_VERSIONS.join(', ')})`,
    );
  }
  if (n < FIXED_HEADER) throw new SnapshotError('truncated', `snapshot is truncated: ${n} byte(s), too short for its header`);
  const total = view.getUint32(12, true);
  if (n < total) throw new SnapshotError('truncated', `snapshot is truncated: ${n} of ${total} bytes present`);
  if (total < FIXED_HEADER + 4 + CRC_BYTES) throw new SnapshotError('corrupt', `snapshot header is damaged: announced length ${total} is below the minimum`);
  if (n > total) throw new SnapshotError('trailing-bytes', `snapshot has ${n - total} unexpected byte(s) after its end (length ${total})`);
  const stored = view.getUint32(total - CRC_BYTES, true);
  const computed = crc32(bytes.subarray(0, total - CRC_BYTES));
  if (stored !== computed) {
    throw new SnapshotError('checksum', `snapshot is damaged: CRC-32 is ${hex32(computed)}, the file says ${hex32(stored)}`);
  }
  const flags = view.getUint16(10, true);
  if (flags !== 0) throw new SnapshotError('corrupt', `snapshot header has unknown flags 0x${flags.toString(16)} for format version ${version}`);

  try {
    return { formatVersion: version, ...readContents(new ByteReader(bytes.subarray(FIXED_HEADER, total - CRC_BYTES), 'snapshot container', 'corrupt')) };
  } catch (e) {
    if (e instanceof DecodeError) throw new SnapshotError(e.code, e.message);
    throw e;
  }
}

/** Capability names, then sections (id, version, payload), to the end of the container. */
function readContents(r: ByteReader): { capabilities: string[]; sections: Section[] } {
  const capCount = r.u16('capability count');
  const capabilities: string[] = [];
  for (let i = 0; i < capCount; i++) {
    const c = r.shortString(`capability ${i}`);
    if (!ID_RE.test(c)) throw new SnapshotError('corrupt', `snapshot capability ${JSON.stringify(c)} is not a valid name`);
    if (capabilities.includes(c)) throw new SnapshotError('corrupt', `snapshot lists capability '${c}' twice`);
    capabilities.push(c);
  }
  const secCount = r.u16('section count');
  const sections: Section[] = [];
  for (let i = 0; i < secCount; i++) {
    const id = r.shortString(`section ${i} id`);
    if (!ID_RE.test(id)) throw new SnapshotError('corrupt', `snapshot section ${i} has an invalid id ${JSON.stringify(id)}`);
    if (sections.some((s) => s.id === id)) throw new SnapshotError('corrupt', `snapshot has section '${id}' twice`);
    const sv = r.u16(`section '${id}' version`);
    const len = r.u32(`section '${id}' length`);
    const payload = r.bytes(len, `section '${id}' payload`);
    sections.push({ id, version: sv, payload });
  }
  r.end();
  return { capabilities, sections };
}

function hexBytes(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ') || '(none)';
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}
