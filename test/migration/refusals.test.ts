/**
 * Every way a snapshot is refused — not a snapshot, truncated anywhere, damaged anywhere,
 * unknown format or section version, unknown section, a capability the target lacks, a target of
 * another shape, contents that contradict themselves — gives a SnapshotError with a one-line
 * message that starts with "snapshot", and leaves the target exactly as it was: same state read
 * from the machine, same port levels, no trace event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { captureSnapshot, restoreInto, restoreSnapshot, inspectSnapshot, SnapshotError, type SnapshotErrorCode } from '../../src/migration/snapshot.ts';
import { decodeContainer, encodeContainer, type Section } from '../../src/migration/container.ts';
import { crc32 } from '../../src/base/bytes.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { SparseGuestMemory, type GuestMemory } from '../../src/ports/memory.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { corpusMachine } from './helpers.ts';
import { capture } from '../support/captures.ts';
import { fingerprint } from '../support/state.ts';

const XIVE = capture('xive-smp2');
const XICS = capture('xics-smp2');

/** A snapshot of a busy machine (with RAM) and a target in another busy state. */
const SNAP = captureSnapshot(corpusMachine(XIVE), { includeMemory: true });
const SNAP_XICS = captureSnapshot(corpusMachine(XICS));

function target(c = XIVE): { m: SpaprMachine; buf: TraceBuffer; before: Record<string, string> } {
  const m = corpusMachine(c, 0.5);
  const buf = new TraceBuffer();
  m.setTrace(buf);
  return { m, buf, before: fingerprint(m) };
}

/** Refused with `code`, a one-line message starting with "snapshot", target untouched. */
function assertRefused(t: ReturnType<typeof target>, bytes: Uint8Array, code: SnapshotErrorCode | SnapshotErrorCode[], pattern?: RegExp, opts?: { capabilities?: string[] }): SnapshotError {
  let err: unknown;
  try {
    restoreInto(t.m, bytes, opts);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SnapshotError, `expected a SnapshotError, got ${String(err)}`);
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(err.code), `code ${err.code} (${err.message}), expected ${codes.join(' or ')}`);
  assert.match(err.message, /^snapshot\b/);
  assert.ok(!/[\r\n]/.test(err.message), 'one line');
  if (pattern !== undefined) assert.match(err.message, pattern);
  assert.deepEqual(fingerprint(t.m), t.before, 'the target changed');
  assert.equal(t.buf.events.length, 0, 'the target traced something');
  return err;
}

/** The container with its sections/capabilities edited and a valid checksum. */
function rebuild(bytes: Uint8Array, edit: (caps: string[], sections: Section[]) => void): Uint8Array {
  const c = decodeContainer(bytes);
  const caps = [...c.capabilities];
  const sections = [...c.sections];
  edit(caps, sections);
  return encodeContainer(caps, sections);
}

function fixCrc(b: Uint8Array): Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
  return b;
}

test('the reference snapshot itself is accepted (the refusals below are about their damage)', () => {
  const t = target();
  restoreInto(t.m, SNAP);
  assert.notDeepEqual(fingerprint(t.m), t.before);
});

test('bad magic: another file, text, an empty file', () => {
  const t = target();
  const b = SNAP.slice();
  b[0] = 0x7f;
  assertRefused(t, b, 'bad-magic', /not a snapshot file/);
  assertRefused(t, new TextEncoder().encode('CPU 0 XIRR=ff000000\n'), 'bad-magic');
  assertRefused(t, new Uint8Array(0), 'truncated');
});

test('truncated at every length is refused as truncated', () => {
  const t = target();
  // Every cut in the header and around every section boundary, then random cuts anywhere.
  const cuts = new Set<number>();
  for (let i = 0; i < 80; i++) cuts.add(i);
  let off = 16 + 2;
  for (const cap of decodeContainer(SNAP).capabilities) off += 1 + cap.length;
  off += 2;
  for (const s of decodeContainer(SNAP).sections) {
    off += 1 + s.id.length + 2 + 4;
    for (const d of [-1, 0, 1]) cuts.add(off + d);
    off += s.payload.length;
    for (const d of [-1, 0, 1]) cuts.add(off + d);
  }
  for (let i = 1; i <= 5; i++) cuts.add(SNAP.length - i);
  for (const n of cuts) assertRefused(t, SNAP.subarray(0, n), 'truncated');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: SNAP.length - 1 }), (n) => {
      assertRefused(t, SNAP.subarray(0, n), 'truncated', /truncated/);
    }),
    { numRuns: 150, seed: 42 },
  );
});

test('bytes after the end are refused', () => {
  const t = target();
  const b = new Uint8Array(SNAP.length + 1);
  b.set(SNAP);
  assertRefused(t, b, 'trailing-bytes');
});

test('any flipped bits are refused: magic, version, length, otherwise the checksum', () => {
  const t = target();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: SNAP.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const b = SNAP.slice();
      b[at]! ^= mask;
      const expect: SnapshotErrorCode[] =
        at < 8 ? ['bad-magic'] : at < 10 ? ['format-version'] : at >= 12 && at < 16 ? ['truncated', 'trailing-bytes', 'corrupt'] : ['checksum'];
      assertRefused(t, b, expect);
    }),
    { numRuns: 300, seed: 7, examples: [[SNAP.length - 1, 1], [20, 0x80], [SNAP.length >> 1, 0xff]] },
  );
  const b = SNAP.slice();
  b[SNAP.length >> 1]! ^= 4;
  assertRefused(t, b, 'checksum', /damaged: CRC-32 is 0x[0-9a-f]{8}, the file says 0x[0-9a-f]{8}/);
});

test('an unknown format version is refused before anything else is trusted', () => {
  const t = target();
  for (const v of [0, 2, 0xffff]) {
    const b = SNAP.slice();
    new DataView(b.buffer).setUint16(8, v, true);
    assertRefused(t, b, 'format-version', new RegExp(`format version ${v} is not readable by this build \\(it reads version 1\\)`));
    assertRefused(t, fixCrc(b), 'format-version');
  }
});

test('reserved header flags set (with a valid checksum) are refused', () => {
  const t = target();
  const b = SNAP.slice();
  new DataView(b.buffer).setUint16(10, 1, true);
  assertRefused(t, fixCrc(b), 'corrupt', /unknown flags/);
});

test('an unknown section version is refused, naming the section', () => {
  const t = target();
  for (const id of ['config', 'spapr', 'spapr-xive', 'xive-source', 'xive-tctx', 'guest-ram']) {
    const b = rebuild(SNAP, (_c, s) => {
      const i = s.findIndex((x) => x.id === id);
      s[i] = { ...s[i]!, version: 99 };
    });
    assertRefused(t, b, 'section-version', new RegExp(`section '${id}' has version 99, which this build cannot read \\(it reads ${id === 'config' ? '1, 2' : '1'}\\)`));
  }
  const tx = target(XICS);
  for (const id of ['ics', 'icp']) {
    const b = rebuild(SNAP_XICS, (_c, s) => {
      const i = s.findIndex((x) => x.id === id);
      s[i] = { ...s[i]!, version: 9 };
    });
    assertRefused(tx, b, 'section-version', new RegExp(`'${id}' has version 9`));
  }
});

test('an unknown section is refused', () => {
  const t = target();
  const b = rebuild(SNAP, (_c, s) => s.push({ id: 'xive-nvt', version: 1, payload: new Uint8Array(4) }));
  assertRefused(t, b, 'unknown-section', /section 'xive-nvt' \(version 1\), which this build does not know/);
});

test('a capability the target lacks is refused', () => {
  // One this build does not know at all.
  const t = target();
  assertRefused(t, rebuild(SNAP, (c) => c.push('xive2')), 'capability', /needs capability 'xive2', which this build does not have/);
  // Guest RAM into a machine whose memory cannot be replaced.
  const sparse = new SparseGuestMemory(1 << 30);
  const custom: GuestMemory = { isRam: (a, l) => sparse.isRam(a, l), read32: (a) => sparse.read32(a), write32: (a, v) => sparse.write32(a, v) };
  const m = new SpaprMachine({ smp: 2, icMode: 'xive', memory: custom });
  const buf = new TraceBuffer();
  m.setTrace(buf);
  assertRefused({ m, buf, before: fingerprint(m) }, SNAP, 'capability', /needs capability 'guest-ram', which the target machine lacks/);
  // A restorer that declines a capability.
  assertRefused(t, SNAP, 'capability', /'guest-ram'/, { capabilities: ['xive', 'xics', 'hotplug'] });
  assert.throws(() => restoreSnapshot(SNAP, { capabilities: ['xive'] }), (e: unknown) => e instanceof SnapshotError && e.code === 'capability' && /'guest-ram', which this restore lacks/.test(e.message));
  assert.throws(() => restoreSnapshot(SNAP, { memory: custom }), (e: unknown) => e instanceof SnapshotError && e.code === 'capability');
  assert.equal(sparse.touchedPages().length, 0, 'the offered memory was written');
  // Hot-plugged vCPUs into a restorer without hotplug.
  const hp = new SpaprMachine({ smp: 1, maxCpus: 2, icMode: 'xive' });
  hp.plugCpu(1);
  const hpSnap = captureSnapshot(hp);
  const ht = new SpaprMachine({ smp: 1, maxCpus: 2, icMode: 'xive' });
  const hbuf = new TraceBuffer();
  ht.setTrace(hbuf);
  assertRefused({ m: ht, buf: hbuf, before: fingerprint(ht) }, hpSnap, 'capability', /'hotplug'/, { capabilities: ['xive'] });
});

test('a target of another shape is refused', () => {
  const cases: [SpaprMachine, RegExp][] = [
    [new SpaprMachine({ smp: 2, icMode: 'dual' }), /ic-mode is xive in the snapshot, dual in the target/],
    [new SpaprMachine({ smp: 1, maxCpus: 2, icMode: 'xive' }), /smp is 2 in the snapshot, 1 in the target/],
    [new SpaprMachine({ smp: 2, maxCpus: 3, icMode: 'xive' }), /max-cpus is 2 in the snapshot, 3 in the target/],
    [new SpaprMachine({ smp: 2, icMode: 'xive', ramSize: 1 << 29 }), /RAM size is 1073741824 in the snapshot, 536870912 in the target/],
  ];
  for (const [m, re] of cases) {
    const buf = new TraceBuffer();
    m.setTrace(buf);
    assertRefused({ m, buf, before: fingerprint(m) }, SNAP, 'incompatible', re);
  }
  // The target hot-plugged a vCPU the snapshot does not have (vCPUs cannot be unplugged).
  const src = new SpaprMachine({ smp: 1, maxCpus: 3, icMode: 'xics' });
  src.plugCpu(2);
  const m = new SpaprMachine({ smp: 1, maxCpus: 3, icMode: 'xics' });
  m.plugCpu(1);
  const buf = new TraceBuffer();
  m.setTrace(buf);
  assertRefused({ m, buf, before: fingerprint(m) }, captureSnapshot(src), 'incompatible', /vCPU list is \[0, 2\] in the snapshot, \[0, 1\] in the target/);
  // ...and XICS into XIVE.
  const tx = target();
  assertRefused(tx, SNAP_XICS, 'incompatible', /ic-mode is xics in the snapshot, xive in the target/);
});

test('contents that contradict themselves are refused', () => {
  const t = target();
  const drop = (id: string) => rebuild(SNAP, (_c, s) => s.splice(s.findIndex((x) => x.id === id), 1));
  assertRefused(t, drop('config'), 'corrupt', /section 'config' is missing/);
  assertRefused(t, drop('xive-tctx'), 'corrupt', /ic-mode=xive needs all of the sections/);
  assertRefused(t, drop('guest-ram'), 'corrupt', /capability list \(xive, guest-ram\) does not match its contents \(xive\)/);
  assertRefused(t, rebuild(SNAP, (c) => c.splice(c.indexOf('guest-ram'), 1)), 'corrupt', /does not match its contents/);
  assertRefused(t, rebuild(SNAP, (_c, s) => s.push(s[0]!)), 'corrupt', /section 'config' twice/);
  assertRefused(t, rebuild(SNAP, (c) => c.push('xive')), 'corrupt', /capability 'xive' twice/);
  const grow = rebuild(SNAP, (_c, s) => {
    const i = s.findIndex((x) => x.id === 'spapr-xive');
    const p = new Uint8Array(s[i]!.payload.length + 8);
    p.set(s[i]!.payload);
    s[i] = { ...s[i]!, payload: p };
  });
  assertRefused(t, grow, 'corrupt', /section 'spapr-xive' has 8 unexpected byte\(s\)/);
  const shrink = rebuild(SNAP, (_c, s) => {
    const i = s.findIndex((x) => x.id === 'xive-tctx');
    s[i] = { ...s[i]!, payload: s[i]!.payload.subarray(0, 70) };
  });
  assertRefused(t, shrink, 'corrupt', /'xive-tctx'/);
  // Thread contexts in another order than the vCPUs.
  const swapped = rebuild(SNAP, (_c, s) => {
    const i = s.findIndex((x) => x.id === 'xive-tctx');
    const p = s[i]!.payload.slice();
    new DataView(p.buffer).setUint32(4, 1, true);
    new DataView(p.buffer).setUint32(4 + 69, 0, true);
    s[i] = { ...s[i]!, payload: p };
  });
  assertRefused(t, swapped, 'corrupt', /thread contexts are not those of the plugged vCPUs/);
});

test('any byte changed under a valid checksum gives a clean refusal or a consistent load, never a crash', () => {
  const tx = target(XICS);
  const small = captureSnapshot(new SpaprMachine({ smp: 2, maxCpus: 3, icMode: 'dual' }));
  fc.assert(
    fc.property(fc.integer({ min: 16, max: small.length - 5 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const b = small.slice();
      b[at]! ^= mask;
      fixCrc(b);
      try {
        const info = inspectSnapshot(b);
        const m = restoreSnapshot(b);
        assert.deepEqual(m.vcpus, info.config.vcpus);
      } catch (e) {
        assert.ok(e instanceof SnapshotError, `not a SnapshotError: ${String(e)}`);
        assert.ok(!/[\r\n]/.test(e.message));
      }
      try {
        restoreInto(tx.m, b);
        assert.fail('a dual-mode snapshot cannot fit an xics target');
      } catch (e) {
        assert.ok(e instanceof SnapshotError, `not a SnapshotError: ${String(e)}`);
      }
      assert.deepEqual(fingerprint(tx.m), tx.before);
    }),
    { numRuns: 200, seed: 3 },
  );
});

test('capture refuses includeMemory on a memory it cannot enumerate', () => {
  const sparse = new SparseGuestMemory(1 << 20);
  const custom: GuestMemory = { isRam: (a, l) => sparse.isRam(a, l), read32: (a) => sparse.read32(a), write32: (a, v) => sparse.write32(a, v) };
  const m = new SpaprMachine({ smp: 1, icMode: 'xive', memory: custom });
  assert.throws(() => captureSnapshot(m, { includeMemory: true }), (e: unknown) => e instanceof SnapshotError && e.code === 'unsupported' && /^snapshot capture/.test(e.message));
  // Without RAM it works, and says it does not know the RAM size.
  assert.equal(inspectSnapshot(captureSnapshot(m)).config.ramSize, 0);
});
