/**
 * Host byte order helpers for Atomics on tables kept in big-endian layout. Atomics only work on
 * integer typed arrays, which read in the host's byte order, while the XIVE tables and the event
 * queues hold architected big-endian words; these convert between the two.
 */

/** True on little-endian hosts (every common one), where the Int32 view of a BE word is swapped. */
export const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** The host-order Int32 that holds the big-endian word `v`. */
export function toBigEndian(v: number): number {
  return HOST_LE ? bswap32(v) : v | 0;
}

/** The big-endian word (unsigned) held in the host-order Int32 `raw`. */
export function fromBigEndian(raw: number): number {
  return (HOST_LE ? bswap32(raw) : raw) >>> 0;
}

/** Is `buffer` a SharedArrayBuffer (false where the global does not exist)? */
export function isSharedBuffer(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}
