/**
 * PowerPC bit numbering helpers, checked against the definition rather than the code: a word is
 * written out as a string of binary digits, most significant first, so that bit n (IBM
 * numbering) is character n. A mask of bits a..b is the word whose characters a..b are 1; a field
 * is the binary number those characters spell; setting a field rewrites those characters only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  fieldShift,
  getField,
  getField64n,
  ppcBit32,
  ppcBit64Hi,
  ppcBit64Lo,
  ppcBit64n,
  ppcBit8,
  ppcBitMask32,
  ppcBitMask64Hi,
  ppcBitMask64Lo,
  ppcBitMask64n,
  ppcBitMask8,
  setField,
  setField64n,
} from '../../src/base/bits.ts';

/** Binary digits of `v`, `width` of them, bit 0 (the MSB) first. */
function digits(v: number | bigint, width: number): string {
  return BigInt.asUintN(width, BigInt(v)).toString(2).padStart(width, '0');
}

function fromDigits(s: string): bigint {
  return BigInt(`0b${s}`);
}

/** The word of `width` bits whose bits first..last (MSB-0) are set. */
function maskByDefinition(first: number, last: number, width: number): bigint {
  let s = '';
  for (let i = 0; i < width; i++) s += i >= first && i <= last ? '1' : '0';
  return fromDigits(s);
}

/** Bit ranges first..last (first <= last) inside a word of `width` bits. */
const range = (width: number) =>
  fc.tuple(fc.integer({ min: 0, max: width - 1 }), fc.integer({ min: 0, max: width - 1 })).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });

// ---- Examples from the XIVE, PAPR and KVM layouts ---------------------------------------------

test('masks of documented fields', () => {
  assert.equal(ppcBit32(0), 0x8000_0000); // END w0 VALID
  assert.equal(ppcBit32(31), 0x0000_0001); // PHYS word2 T
  assert.equal(ppcBitMask32(12, 15), 0x000f_0000); // END w0 QSIZE
  assert.equal(ppcBitMask32(10, 31), 0x003f_ffff); // END w1 PAGE_OFF
  assert.equal(ppcBitMask32(9, 12), 0x0078_0000); // END w6 NVT_BLOCK
  assert.equal(ppcBitMask32(0, 31), 0xffff_ffff);
  assert.equal(ppcBitMask32(0, 7), 0xff00_0000); // XIRR CPPR
  assert.equal(ppcBitMask32(8, 31), 0x00ff_ffff); // XIRR XISR
  assert.equal(ppcBit8(0), 0x80); // OS NSR EO
  assert.equal(ppcBitMask8(0, 1), 0xc0); // PHYS NSR HE
  assert.equal(ppcBit8(2), 0x20); // PHYS NSR I
  assert.equal(ppcBitMask8(0, 7), 0xff);
  assert.equal(ppcBit64Hi(0), 0x8000_0000); // EAS VALID
  assert.equal(ppcBitMask64Hi(4, 7), 0x0f00_0000); // EAS END_BLOCK
  assert.equal(ppcBitMask64Hi(8, 31), 0x00ff_ffff); // EAS END_INDEX
  assert.equal(ppcBit64Lo(32), 0x8000_0000); // EAS MASKED
  assert.equal(ppcBitMask64Lo(33, 63), 0x7fff_ffff); // EAS END_DATA
  assert.equal(ppcBit64n(60), 8n); // H_INT_GET_SOURCE_INFO H_INT_ESB flag
  assert.equal(ppcBit64n(63), 1n);
  assert.equal(ppcBit64n(0), 0x8000_0000_0000_0000n);
  assert.equal(ppcBitMask64n(0, 7), 0xff00_0000_0000_0000n);
  assert.equal(ppcBitMask64n(0, 63), 0xffff_ffff_ffff_ffffn);
});

test('fields of documented words', () => {
  // END word 0 with QSIZE 4 (64 KiB queue), valid and enqueue.
  assert.equal(getField(ppcBitMask32(12, 15), 0xc004_0000), 4);
  assert.equal(getField(ppcBit32(0), 0xc004_0000), 1);
  assert.equal(setField(ppcBitMask32(12, 15), 0xc000_0000, 9) >>> 0, 0xc009_0000);
  // XIRR 0xff001301: CPPR 0xff, XISR 0x1301.
  assert.equal(getField(ppcBitMask32(0, 7), 0xff00_1301), 0xff);
  assert.equal(getField(ppcBitMask32(8, 31), 0xff00_1301), 0x1301);
  assert.equal(setField(ppcBitMask32(0, 7), 0x0000_1301, 0x05) >>> 0, 0x0500_1301);
  // A signed view of the same word reads the same fields.
  assert.equal(getField(ppcBitMask32(0, 7), 0xff00_1301 | 0), 0xff);
  assert.equal(getField(ppcBitMask32(0, 31), -1), 0xffff_ffff);
  // KVM ICP state: CPPR in numeric bits 63..56 (IBM 0..7), XISR in 55..32.
  const icp = 0x05_000002_ff_ff_0000n;
  assert.equal(getField64n(ppcBitMask64n(0, 7), icp), 0x05n);
  assert.equal(getField64n(0x00ff_ffff_0000_0000n, icp), 2n);
  assert.equal(setField64n(0xff_0000_0000n, 0n, 0x1ffn), 0xff_0000_0000n);
});

test('field shifts are the position of the lowest set bit', () => {
  assert.equal(fieldShift(0x000f_0000), 16);
  assert.equal(fieldShift(0x8000_0000), 31);
  assert.equal(fieldShift(0xffff_ffff), 0);
  assert.equal(fieldShift(0x7fff_ffff), 0);
});

test('ranges outside the word or reversed are refused', () => {
  assert.throws(() => ppcBit32(32), RangeError);
  assert.throws(() => ppcBit32(-1), RangeError);
  assert.throws(() => ppcBitMask32(5, 4), RangeError);
  assert.throws(() => ppcBitMask32(0, 32), RangeError);
  assert.throws(() => ppcBitMask32(0.5, 3), RangeError);
  assert.throws(() => ppcBitMask8(0, 8), RangeError);
  assert.throws(() => ppcBit8(8), RangeError);
  assert.throws(() => ppcBitMask64Hi(31, 32), RangeError);
  assert.throws(() => ppcBitMask64Lo(31, 32), RangeError);
  assert.throws(() => ppcBitMask64Lo(32, 64), RangeError);
  assert.throws(() => ppcBit64n(64), RangeError);
  assert.throws(() => ppcBitMask64n(10, 9), RangeError);
  assert.throws(() => getField64n(0n, 1n), RangeError);
  assert.throws(() => getField64n(1n << 64n, 1n), RangeError);
});

// ---- Properties from the definition ---------------------------------------------------------------

test('property: 32-bit masks set exactly the numbered bits, counted from the MSB', () => {
  fc.assert(
    fc.property(range(32), ([a, b]) => {
      const m = ppcBitMask32(a, b);
      assert.ok(Number.isInteger(m) && m >= 0 && m <= 0xffff_ffff, 'unsigned 32-bit');
      assert.equal(BigInt(m), maskByDefinition(a, b, 32));
      assert.equal(ppcBit32(a), Number(maskByDefinition(a, a, 32)));
    }),
  );
});

test('property: byte masks set exactly the numbered bits, counted from the MSB', () => {
  for (let a = 0; a < 8; a++) {
    assert.equal(BigInt(ppcBit8(a)), maskByDefinition(a, a, 8));
    for (let b = a; b < 8; b++) assert.equal(BigInt(ppcBitMask8(a, b)), maskByDefinition(a, b, 8));
  }
});

test('property: a 64-bit mask split in halves is the 64-bit mask of the same bits', () => {
  fc.assert(
    fc.property(range(64), ([a, b]) => {
      const whole = maskByDefinition(a, b, 64);
      assert.equal(ppcBitMask64n(a, b), whole);
      assert.equal(ppcBit64n(a), maskByDefinition(a, a, 64));
      if (b <= 31) assert.equal(BigInt(ppcBitMask64Hi(a, b)), whole >> 32n);
      else if (a >= 32) assert.equal(BigInt(ppcBitMask64Lo(a, b)), whole & 0xffff_ffffn);
      else {
        assert.throws(() => ppcBitMask64Hi(a, b), RangeError);
        assert.throws(() => ppcBitMask64Lo(a, b), RangeError);
      }
    }),
  );
});

test('property: getField reads the number spelled by the numbered bits', () => {
  fc.assert(
    fc.property(range(32), u32, ([a, b], w) => {
      const expected = Number(fromDigits(digits(w, 32).slice(a, b + 1)));
      assert.equal(getField(ppcBitMask32(a, b), w), expected);
      assert.equal(getField(ppcBitMask32(a, b), w | 0), expected, 'signed view of the word');
    }),
  );
});

test('property: setField rewrites the numbered bits only, with the low bits of the value', () => {
  fc.assert(
    fc.property(range(32), u32, u32, ([a, b], w, v) => {
      const s = digits(w, 32);
      const width = b - a + 1;
      const expected = Number(fromDigits(s.slice(0, a) + digits(v, width) + s.slice(b + 1)));
      const r = setField(ppcBitMask32(a, b), w, v);
      assert.equal(r, expected | 0, 'the new word as a signed 32-bit integer');
      assert.equal(r >>> 0, expected);
      // Reading back gives the value truncated to the field.
      assert.equal(getField(ppcBitMask32(a, b), r), Number(BigInt(v) & ((1n << BigInt(width)) - 1n)));
    }),
  );
});

test('property: byte fields behave like the same bits of a 32-bit word', () => {
  fc.assert(
    fc.property(range(8), fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xff }), ([a, b], w, v) => {
      const m = ppcBitMask8(a, b);
      assert.equal(getField(m, w), Number(fromDigits(digits(w, 8).slice(a, b + 1))));
      const s = digits(w, 8);
      assert.equal(setField(m, w, v), Number(fromDigits(s.slice(0, a) + digits(v, b - a + 1) + s.slice(b + 1))));
    }),
  );
});

test('property: 64-bit fields as bigints, and as the halves of a split word', () => {
  fc.assert(
    fc.property(range(64), u64, u64, ([a, b], w, v) => {
      const s = digits(w, 64);
      const mask = ppcBitMask64n(a, b);
      assert.equal(getField64n(mask, w), fromDigits(s.slice(a, b + 1)));
      assert.equal(setField64n(mask, w, v), fromDigits(s.slice(0, a) + digits(v, b - a + 1) + s.slice(b + 1)));
      const hi = Number(w >> 32n);
      const lo = Number(w & 0xffff_ffffn);
      if (b <= 31) assert.equal(BigInt(getField(ppcBitMask64Hi(a, b), hi)), getField64n(mask, w));
      if (a >= 32) assert.equal(BigInt(getField(ppcBitMask64Lo(a, b), lo)), getField64n(mask, w));
    }),
  );
});
