/** 64-bit values travel as two unsigned 32-bit halves on hot paths; these join and split them. */
export function u64(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function hi32(v: bigint): number {
  return Number((v >> 32n) & 0xffff_ffffn);
}

export function lo32(v: bigint): number {
  return Number(v & 0xffff_ffffn);
}

