/**
 * QEMU 7.2 migration streams of real guests (the pruned fixtures): each loads, with no other
 * input, into a machine of the configuration QEMU ran, whose `info pic` is the text QEMU printed
 * right after the migration; converted to a snapshot of the model it restores to the same state;
 * pruning is stable; two streams compare field by field. With XIVE_QEMU_STREAMS naming the folder
 * of the unpruned streams, those are checked too (skipped otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSource,
  diffQemuStreams,
  pruneQemuStream,
  qemuStreamJson,
  qemuStreamToSnapshot,
  readQemuStream,
  restoreQemuStream,
  type ByteSource,
  type QemuStream,
} from '../../src/migration/qemu-stream.ts';
import { captureSnapshot, restoreSnapshot } from '../../src/migration/snapshot.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { readQemuStreamFile, withStreamFile } from '../../src/cli/snapshot-files.ts';
import { fingerprint } from '../support/state.ts';
import { fullStreamPath, STREAMS, streamBytes, streamPic } from './qemu-streams.ts';

const loaded = new Map<string, QemuStream>();
function stream(name: string): QemuStream {
  let s = loaded.get(name);
  if (s === undefined) {
    s = readQemuStream(bytesSource(streamBytes(name)));
    loaded.set(name, s);
  }
  return s;
}

function prunedBytes(src: ByteSource): Uint8Array {
  const parts: Uint8Array[] = [];
  pruneQemuStream(src, { write: (b) => parts.push(b.slice()) });
  return new Uint8Array(Buffer.concat(parts));
}

for (const f of STREAMS) {
  test(`${f.name}: the stream alone gives QEMU's machine and its info pic`, () => {
    const m = restoreQemuStream(stream(f.name));
    assert.equal(m.config.type.name, f.expect.type);
    assert.equal(m.icMode, f.expect.icMode);
    assert.equal(m.activeController(), f.expect.active);
    assert.deepEqual(
      m.vcpus.map((i) => m.vcpuId(i)),
      f.expect.vcpus,
    );
    assert.equal(maskPicPointers(m.infoPic()), maskPicPointers(streamPic(f.name)));
  });

  test(`${f.name}: converted to a snapshot, it restores to the same state`, () => {
    const s = stream(f.name);
    const direct = restoreQemuStream(s);
    const snap = qemuStreamToSnapshot(s);
    const restored = restoreSnapshot(snap);
    assert.deepEqual(fingerprint(restored), fingerprint(direct));
    assert.equal(maskPicPointers(restored.infoPic()), maskPicPointers(streamPic(f.name)));
    // The snapshot holds the state exactly: capturing the restored machine gives it back.
    assert.deepEqual(captureSnapshot(restored, { includeMemory: true }), captureSnapshot(direct, { includeMemory: true }));
  });

  test(`${f.name}: pruning a pruned stream changes nothing, and the event queues are kept`, () => {
    const b = streamBytes(f.name);
    assert.deepEqual(prunedBytes(bytesSource(b)), b);
    const s = stream(f.name);
    // Only a guest on XIVE has event queues in its RAM.
    if (f.expect.active === 'xive') assert.ok(s.pages.size > 0, 'XIVE queues read from the pruned RAM');
    else assert.equal(s.pages.size, 0);
  });

  test(`${f.name}: sections and state as data`, () => {
    const j = qemuStreamJson(stream(f.name)) as { machineType: string; sections: { name: string; version: number }[]; state: Record<string, Record<string, unknown>> };
    assert.equal(j.machineType, f.expect.type);
    const names = new Set(j.sections.map((x) => x.name));
    for (const n of ['ram', 'spapr', 'cpu', 'spapr_pci']) assert.ok(names.has(n), n);
    if (f.expect.icMode !== 'xics') assert.ok(names.has('spapr-xive') && names.has('xive-tctx'));
    if (f.expect.icMode !== 'xive') assert.ok(names.has('ics') && names.has('icp/server'));
    assert.equal(j.state.machine!.active, f.expect.active);
    assert.deepEqual(JSON.parse(JSON.stringify(j)), j, 'plain JSON data');
  });
}

test('diff: a stream against itself has no differences', () => {
  assert.deepEqual(diffQemuStreams(stream('xive-smp2'), stream('xive-smp2')), []);
});

test('diff: the MSIs of a virtio-rng device show as allocation, PHB and source differences', () => {
  const d = diffQemuStreams(stream('xive-smp2'), stream('xive-smp2-rng'));
  const at = (row: string, field: string) => d.find((x) => x.row === row && x.field === field);
  assert.deepEqual(at('msi', 'allocated'), { row: 'msi', field: 'allocated', a: '', b: '0x1300-0x1301' });
  assert.equal(at('LISN 0x1300', 'valid')?.b, true);
  assert.equal(at('LISN 0x1300', 'valid')?.a, null);
  assert.ok(at('PHB 0', 'msis') !== undefined);
});

test('diff: the same dual machine with the guest on XIVE and on XICS differs in the active controller', () => {
  const d = diffQemuStreams(stream('dual-xive-smp2'), stream('dual-xics-smp2'));
  assert.deepEqual(
    d.find((x) => x.row === 'machine' && x.field === 'active'),
    { row: 'machine', field: 'active', a: 'xive', b: 'xics' },
  );
  assert.ok(d.some((x) => x.row.startsWith('ov5')));
});

for (const f of STREAMS) {
  const path = fullStreamPath(f.name);
  test(`${f.name}: the unpruned stream gives the same info pic, and prunes to the fixture`, { skip: path === null ? 'XIVE_QEMU_STREAMS does not hold it' : false }, () => {
    const s = readQemuStreamFile(path!);
    assert.equal(maskPicPointers(restoreQemuStream(s).infoPic()), maskPicPointers(streamPic(f.name)));
    assert.deepEqual(withStreamFile(path!, prunedBytes), streamBytes(f.name));
  });
}
