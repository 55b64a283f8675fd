/**
 * PowerPC (IBM, MSB-0) bit numbering, as the POWER, PAPR and XIVE documents use it: bit 0 is the
 * most significant bit of the word. The mask builders turn such bit numbers into the numeric
 * masks the code tests; getField / setField read and write a field through its mask alone, the
 * shift being the number of trailing zero bits of the mask.
 *
 * The number functions work on 32-bit words and allocate nothing. getField / setField work the
 * shift out on every call: engines do not fold constants imported from another module, so on
 * the per-interrupt paths, where every instruction and the compiler's inlining budget count,
 * fields are read with the mask and a shift constant computed once with fieldShift. Masks come
 * out unsigned (0x8000_0000, not -2^31) so they compare equal to hex literals.
 *
 * A 64-bit word that the model keeps as two big-endian 32-bit halves (hi = bits 0-31, lo = bits
 * 32-63) is described half by half with the *64Hi / *64Lo builders, which take the bit numbers of
 * the 64-bit word. The bigint functions (suffix `n`) are for 64-bit values off the hot paths:
 * hypercall registers and host API words.
 */

function checkRange(first: number, last: number, width: number, what: string): void {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || first > last || last >= width) {
    throw new RangeError(`${what}: bits ${first}..${last} are not a range inside a ${width}-bit word (0 = most significant bit, first <= last)`);
  }
}

// ---- 32-bit words -------------------------------------------------------------------------------

/** Mask of bit `bit` (0 = MSB) of a 32-bit word. */
export function ppcBit32(bit: number): number {
  checkRange(bit, bit, 32, 'ppcBit32');
  return 0x8000_0000 >>> bit;
}

/** Mask of bits `first`..`last` (inclusive, 0 = MSB) of a 32-bit word. */
export function ppcBitMask32(first: number, last: number): number {
  checkRange(first, last, 32, 'ppcBitMask32');
  // Two shifts for the low end: a shift count of 32 would be taken as 0.
  return ((0xffff_ffff >>> first) & ~((0xffff_ffff >>> last) >>> 1)) >>> 0;
}

// ---- 8-bit registers (thread-context bytes) -----------------------------------------------------

/** Mask of bit `bit` (0 = MSB) of a byte. */
export function ppcBit8(bit: number): number {
  checkRange(bit, bit, 8, 'ppcBit8');
  return 0x80 >>> bit;
}

/** Mask of bits `first`..`last` (inclusive, 0 = MSB) of a byte. */
export function ppcBitMask8(first: number, last: number): number {
  checkRange(first, last, 8, 'ppcBitMask8');
  return (0xff >>> first) & ~(0xff >>> (last + 1)) & 0xff;
}

// ---- 64-bit words kept as two 32-bit halves -------------------------------------------------------

/** Mask, in the high half (bits 0-31), of bit `bit` of a 64-bit word. */
export function ppcBit64Hi(bit: number): number {
  return ppcBitMask64Hi(bit, bit);
}

/** Mask, in the low half (bits 32-63), of bit `bit` of a 64-bit word. */
export function ppcBit64Lo(bit: number): number {
  return ppcBitMask64Lo(bit, bit);
}

/** Mask, in the high half, of bits `first`..`last` (0-31) of a 64-bit word. */
export function ppcBitMask64Hi(first: number, last: number): number {
  checkRange(first, last, 32, 'ppcBitMask64Hi');
  return ppcBitMask32(first, last);
}

/** Mask, in the low half, of bits `first`..`last` (32-63) of a 64-bit word. */
export function ppcBitMask64Lo(first: number, last: number): number {
  checkRange(first, last, 64, 'ppcBitMask64Lo');
  if (first < 32) throw new RangeError(`ppcBitMask64Lo: bits ${first}..${last} reach into the high half (bits 0-31)`);
  return ppcBitMask32(first - 32, last - 32);
}

// ---- Field access on 32-bit words -----------------------------------------------------------------

/** Position of the lowest set bit of a non-zero 32-bit mask (the shift of its field). */
export function fieldShift(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/**
 * Value of the field `mask` of `word`, unsigned. The mask is a non-zero contiguous mask such as
 * the builders above return; `word` may be signed or unsigned, only its low 32 bits count.
 */
export function getField(mask: number, word: number): number {
  // Converted once: a mask with bit 0 set is no small integer, and would be checked at each use.
  const m = mask | 0;
  return (word & m) >>> (31 - Math.clz32(m & -m));
}

/**
 * `word` with the field `mask` replaced by `value` (bits of `value` beyond the field's width are
 * dropped). The result is the new word's 32 bits as a signed integer, as JavaScript's bitwise
 * operators produce them (the engine keeps it a small integer, never a boxed number); `>>> 0`
 * gives the unsigned value, and typed-array or DataView stores take either.
 */
export function setField(mask: number, word: number, value: number): number {
  const m = mask | 0;
  return (word & ~m) | ((value << (31 - Math.clz32(m & -m))) & m);
}

// ---- 64-bit values as bigints (off the hot paths) -------------------------------------------------

/** Mask of bit `bit` (0 = MSB) of a 64-bit word. */
export function ppcBit64n(bit: number): bigint {
  checkRange(bit, bit, 64, 'ppcBit64n');
  return 1n << BigInt(63 - bit);
}

/** Mask of bits `first`..`last` (inclusive, 0 = MSB) of a 64-bit word. */
export function ppcBitMask64n(first: number, last: number): bigint {
  checkRange(first, last, 64, 'ppcBitMask64n');
  return ((1n << BigInt(last - first + 1)) - 1n) << BigInt(63 - last);
}

function fieldShift64n(mask: bigint): bigint {
  if (mask <= 0n || mask > 0xffff_ffff_ffff_ffffn) throw new RangeError(`field mask 0x${mask.toString(16)} is not a non-zero 64-bit mask`);
  const lo = Number(mask & 0xffff_ffffn);
  if (lo !== 0) return BigInt(fieldShift(lo));
  return BigInt(32 + fieldShift(Number(mask >> 32n)));
}

/** Value of the field `mask` of the 64-bit `word`. */
export function getField64n(mask: bigint, word: bigint): bigint {
  return (word & mask) >> fieldShift64n(mask);
}

/** The 64-bit `word` with the field `mask` replaced by `value` (extra bits of `value` dropped). */
export function setField64n(mask: bigint, word: bigint, value: bigint): bigint {
  return (word & ~mask) | ((value << fieldShift64n(mask)) & mask);
}
