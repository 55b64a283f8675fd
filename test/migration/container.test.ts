/**
 * The container on its own: any capability list and any sections survive encode/decode; the
 * byte writer grows without losing data; the reader reports running short as a SnapshotError
 * naming what it was reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeContainer, encodeContainer, SNAPSHOT_MAGIC } from '../../src/migration/container.ts';
import { ByteReader, ByteWriter, DecodeError } from '../../src/base/bytes.ts';
import { decodeSection } from '../../src/migration/sections.ts';
import { SnapshotError } from '../../src/migration/errors.ts';

const ident = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);

test('any capabilities and sections round-trip through the container', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(ident, { maxLength: 5 }),
      fc.uniqueArray(fc.record({ id: ident, version: fc.integer({ min: 0, max: 0xffff }), payload: fc.uint8Array({ maxLength: 3000 }) }), { selector: (s) => s.id, maxLength: 6 }),
      (caps, sections) => {
        const b = encodeContainer(caps, sections);
        assert.deepEqual([...b.subarray(0, 8)], [...SNAPSHOT_MAGIC]);
        const c = decodeContainer(b);
        assert.equal(c.formatVersion, 1);
        assert.deepEqual(c.capabilities, caps);
        assert.deepEqual(
          c.sections.map((s) => ({ id: s.id, version: s.version, payload: s.payload.slice() })),
          sections.map((s) => ({ ...s, payload: s.payload.slice() })),
        );
      },
    ),
    { numRuns: 150, seed: 11 },
  );
});

test('the writer keeps every byte across growth; the reader reads them back', () => {
  const w = new ByteWriter();
  for (let i = 0; i < 5000; i++) {
    w.u8(i & 0xff);
    w.u16(i);
    w.u32(i * 65_537);
    w.u64(i * 2 ** 40 + i);
  }
  w.shortString('xive-tctx');
  w.longString('halted: é');
  const r = new ByteReader(w.finish(), 'test data');
  for (let i = 0; i < 5000; i++) {
    assert.equal(r.u8('a'), i & 0xff);
    assert.equal(r.u16('b'), i & 0xffff);
    assert.equal(r.u32('c'), (i * 65_537) >>> 0);
    assert.equal(r.u64('d'), i * 2 ** 40 + i);
  }
  assert.equal(r.shortString('s'), 'xive-tctx');
  assert.equal(r.longString('l'), 'halted: é');
  r.end();
});

test('reading past the end, or leaving bytes unread, is a DecodeError naming the data', () => {
  const r = new ByteReader(Uint8Array.of(1, 2, 3), "snapshot section 'icp'");
  assert.throws(() => r.u32('xirr'), (e: unknown) => e instanceof DecodeError && e.code === 'corrupt' && /^snapshot section 'icp' ends early: xirr needs 4 byte\(s\) at offset 0, only 3 left$/.test(e.message));
  const r2 = new ByteReader(Uint8Array.of(1, 2, 3), "snapshot section 'icp'");
  r2.u8('x');
  assert.throws(() => r2.end(), /section 'icp' has 2 unexpected byte\(s\)/);
  const bad = new ByteReader(Uint8Array.of(2, 0xc3, 0x28), "snapshot section 'spapr'");
  assert.throws(() => bad.shortString('halted reason'), /halted reason is not valid UTF-8/);
});

test('a section that decodes short is a SnapshotError naming the section', () => {
  assert.throws(
    () => decodeSection('icp', 1, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3)),
    (e: unknown) => e instanceof SnapshotError && e.code === 'corrupt' && /^snapshot section 'icp' /.test(e.message),
  );
});

test('the encoder refuses identifiers that would not read back', () => {
  assert.throws(() => encodeContainer(['Bad Cap'], []), RangeError);
  assert.throws(() => encodeContainer([], [{ id: '', version: 1, payload: new Uint8Array() }]), RangeError);
});
