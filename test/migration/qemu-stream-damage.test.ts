/**
 * Damaged QEMU migration streams: real streams cut short at every kind of place and with bytes
 * flipped in the device sections, the VM description and the headers. Each is either refused
 * with a QemuStreamError — one line naming a byte offset inside the stream and the section (or
 * record) where it went wrong — or, when the flipped byte is one the reader does not interpret
 * or a value that is still valid, loads into a whole machine. Nothing else may escape, and no
 * machine is built from a refused stream. Streams of another machine, unknown section versions
 * and RAM encodings other than normal and zero pages are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSource, QemuStreamError, readQemuStream, restoreQemuStream } from '../../src/migration/qemu-stream.ts';
import { walkRecords, type PageRecord, type SectionSummary } from '../../src/migration/qemu/records.ts';
import { Cursor } from '../../src/migration/qemu/source.ts';
import { findDescription } from '../../src/migration/qemu/vmdesc.ts';
import { seeded } from '../support/rng.ts';
import { streamBytes } from './qemu-streams.ts';

type Outcome = { refused: QemuStreamError } | { pic: string };

/** Reads and loads `b`; a refusal must be a one-line QemuStreamError naming a byte and a place. */
function attempt(b: Uint8Array, what: string): Outcome {
  let s;
  try {
    s = readQemuStream(bytesSource(b));
    return { pic: restoreQemuStream(s).infoPic() };
  } catch (e) {
    if (!(e instanceof QemuStreamError)) throw new Error(`${what}: ${(e as Error)?.stack ?? String(e)}`);
    assert.doesNotMatch(e.message, /\n/, what);
    const m = /at byte (\d+) \(0x[0-9a-f]+\), (.+?): /.exec(e.message);
    assert.ok(m !== null, `${what}: ${e.message}`);
    assert.ok(Number(m[1]) <= b.length, `${what}: offset ${m[1]} beyond the ${b.length}-byte stream`);
    assert.ok(m[2]!.length > 0);
    return { refused: e };
  }
}

/** `attempt` on `b` with the byte at `off` xored with `x`, then put back. */
function flipped(b: Uint8Array, off: number, x: number, what: string): Outcome {
  b[off]! ^= x;
  try {
    return attempt(b, what);
  } finally {
    b[off]! ^= x;
  }
}

function layoutOf(b: Uint8Array): { sections: SectionSummary[]; pages: PageRecord[]; json: { offset: number; length: number } } {
  const at = findDescription(bytesSource(b))!;
  const pages: PageRecord[] = [];
  walkRecordsPages(b, pages);
  return { sections: readQemuStream(bytesSource(b)).layout.sections, pages, json: { offset: at.jsonOffset, length: at.jsonLength } };
}

function walkRecordsPages(b: Uint8Array, pages: PageRecord[]): void {
  try {
    walkRecords(new Cursor(bytesSource(b)), null, { page: (p) => void pages.push(p) });
  } catch {
    // The walk without a description stops at the first device section, after the RAM.
  }
}

for (const name of ['xive-smp2', 'xics-smp2', 'p41-smp4']) {
  const orig = streamBytes(name);
  const { sections, json } = layoutOf(orig);

  test(`${name}: cut short anywhere, the stream is refused naming the byte and the section`, () => {
    const rnd = seeded(15);
    const cuts = new Set<number>([0, 3, 8, 12, 30, orig.length - 1, json.offset - 7, json.offset - 6, json.offset + 100]);
    for (const s of sections) {
      cuts.add(s.offset);
      cuts.add(s.offset + 1);
      cuts.add(s.offset + Math.floor(s.bytes / 2));
    }
    for (let i = 0; i < 12; i++) cuts.add(Math.floor(rnd() * orig.length));
    for (const cut of cuts) {
      const r = attempt(orig.subarray(0, cut), `cut at ${cut}`);
      assert.ok('refused' in r, `cut at ${cut} was not refused`);
      assert.ok(['truncated', 'not-a-stream'].includes(r.refused.code), `cut at ${cut}: ${r.refused.message}`);
    }
  });

  test(`${name}: flipped bytes in the device sections are refused or load a whole machine`, () => {
    const rnd = seeded(7);
    const devices = sections.filter((s) => s.kind === 'device');
    const interrupt = devices.filter((s) => ['spapr-xive', 'xive-source', 'xive-tctx', 'ics', 'icp/server', 'spapr', 'spapr_pci', 'cpu'].includes(s.name));
    const work = orig.slice();
    let refused = 0;
    for (let i = 0; i < (name === 'p41-smp4' ? 8 : 24); i++) {
      const s = (i % 2 === 0 ? interrupt : devices)[Math.floor(rnd() * (i % 2 === 0 ? interrupt : devices).length)]!;
      // Half the flips hit a section's record header or its first bytes, where structure lives.
      const off = s.offset + (i % 4 < 2 ? Math.floor(rnd() * Math.min(s.bytes, 48)) : Math.floor(rnd() * s.bytes));
      if ('refused' in flipped(work, off, 1 + Math.floor(rnd() * 255), `byte ${off} of ${s.name} flipped`)) refused++;
    }
    assert.ok(refused > 0);
  });

  test(`${name}: flipped bytes in the VM description are refused or load a whole machine`, () => {
    const rnd = seeded(11);
    const work = orig.slice();
    let refused = 0;
    for (let i = 0; i < 25; i++) {
      const off = json.offset - 6 + Math.floor(rnd() * (json.length + 6));
      if ('refused' in flipped(work, off, 1 + Math.floor(rnd() * 255), `byte ${off} of the VM description flipped`)) refused++;
    }
    assert.ok(refused > 0);
  });
}

test('flipped bytes in the file header and the configuration record are refused', () => {
  const orig = streamBytes('xive-smp2');
  for (let off = 0; off < 24; off++) {
    const b = orig.slice();
    b[off]! ^= 0x40;
    const r = attempt(b, `header byte ${off}`);
    assert.ok('refused' in r, `header byte ${off}`);
  }
});

/** The stream with its configuration record's machine type replaced. */
function withMachineType(orig: Uint8Array, type: string): Uint8Array {
  const len = new DataView(orig.buffer, orig.byteOffset).getUint32(9, false);
  const name = new TextEncoder().encode(type);
  const head = new Uint8Array(13 + name.length);
  head.set(orig.subarray(0, 9));
  new DataView(head.buffer).setUint32(9, name.length, false);
  head.set(name, 13);
  const out = new Uint8Array(head.length + orig.length - 13 - len);
  out.set(head);
  out.set(orig.subarray(13 + len), head.length);
  return out;
}

test('a stream of another machine is refused by name', () => {
  const orig = streamBytes('xive-smp2');
  let r = attempt(withMachineType(orig, 'pc-i440fx-7.2'), 'x86 machine');
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'unsupported');
  assert.match(r.refused.message, /machine 'pc-i440fx-7\.2', not of a pseries machine/);
  r = attempt(withMachineType(orig, 'pseries-9.9'), 'unknown pseries');
  assert.ok('refused' in r);
  assert.match(r.refused.message, /'pseries-9\.9' is not a QEMU 7\.2 pseries machine/);
});

test('an unknown section version is refused by name', () => {
  const orig = streamBytes('xive-smp2');
  const { sections, json } = layoutOf(orig);
  const sec = sections.find((s) => s.name === 'xive-source')!;
  const b = orig.slice();
  // The version in the section header (after type, id, name length, name, instance) …
  const vAt = sec.offset + 1 + 4 + 1 + sec.name.length + 4;
  new DataView(b.buffer).setUint32(vAt, 2, false);
  // … and in the VM description, which must agree with it.
  const text = new TextDecoder().decode(b.subarray(json.offset, json.offset + json.length));
  const i = text.indexOf('"name": "xive-source"') >= 0 ? text.indexOf('"name": "xive-source"') : text.indexOf('"name":"xive-source"');
  assert.ok(i >= 0);
  const v = text.indexOf('"version"', i);
  const digit = text.indexOf('1', v);
  b[json.offset + digit] = 0x32;
  const r = attempt(b, 'xive-source version 2');
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'unsupported');
  assert.match(r.refused.message, /section 'xive-source' has version 2; this reader takes version 1/);
});

test('RAM encodings other than normal and zero pages are refused by name', () => {
  const orig = streamBytes('xive-smp2');
  const { pages } = layoutOf(orig);
  const p = pages.find((x) => x.kind === 'page')!;
  for (const [flag, re] of [
    [0x40, /XBZRLE/],
    [0x100, /compressed pages/],
    [0x80, /RDMA/],
  ] as const) {
    const b = orig.slice();
    const v = new DataView(b.buffer);
    v.setUint32(p.recordOffset + 4, (v.getUint32(p.recordOffset + 4, false) & ~0xfff) | flag | (p.namesBlock ? 0 : 0x20), false);
    const r = attempt(b, `RAM flag 0x${flag.toString(16)}`);
    assert.ok('refused' in r);
    assert.equal(r.refused.code, 'unsupported');
    assert.match(r.refused.message, re);
    assert.match(r.refused.message, new RegExp(`at byte ${p.recordOffset} .*section 'ram'`));
  }
});

test('bytes that are no migration stream are refused as such', () => {
  const r = attempt(new TextEncoder().encode('this is not a stream\n'), 'text');
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'not-a-stream');
});
