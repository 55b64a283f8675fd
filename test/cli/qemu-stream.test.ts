/**
 * The QEMU migration stream commands: `xive monitor --load-qemu` (and --load, which tells a
 * stream from a snapshot by its first bytes) prints QEMU's own `info pic`, `--save-snapshot`
 * converts to the model's snapshot format, `xive qemu-stream` lists, compares and prunes, and a
 * damaged stream exits 2 with one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { STREAMS, STREAMS_DIR, streamBytes, streamPic } from '../migration/qemu-streams.ts';

const tmp = mkdtempSync(join(tmpdir(), 'xive-qemu-stream-'));

/** The pruned stream as a plain file (the commands read streams in place). */
function file(name: string): string {
  const p = join(tmp, `${name}.stream`);
  writeFileSync(p, streamBytes(name));
  return p;
}

for (const f of STREAMS) {
  test(`monitor --load-qemu ${f.name} -c 'info pic' prints what QEMU printed`, async () => {
    const r = await runCli('monitor', '--load-qemu', file(f.name), '-c', 'info pic');
    assert.equal(r.code, 0, r.err);
    assert.equal(maskPicPointers(r.out), maskPicPointers(streamPic(f.name)));
  });
}

test('monitor --load takes a QEMU stream too, and --save-snapshot converts it', async () => {
  const stream = file('p41-smp4');
  const snap = join(tmp, 'p41.snap');
  const a = await runCli('monitor', '--load', stream, '--save-snapshot', snap, '-c', 'info pic');
  assert.equal(a.code, 0, a.err);
  assert.match(a.err, /^saved \d+ bytes to /);
  const b = await runCli('monitor', '--load', snap, '-c', 'info pic');
  assert.equal(b.code, 0, b.err);
  assert.equal(b.out, a.out);
  assert.equal(maskPicPointers(b.out), maskPicPointers(streamPic('p41-smp4')));
});

test('qemu-stream --save-snapshot writes a snapshot the monitor restores', async () => {
  const snap = join(tmp, 'xics.snap');
  const a = await runCli('qemu-stream', file('xics-smp2'), '--save-snapshot', snap);
  assert.equal(a.code, 0, a.err);
  const b = await runCli('monitor', '--load', snap, '-c', 'info pic');
  assert.equal(maskPicPointers(b.out), maskPicPointers(streamPic('xics-smp2')));
});

test('monitor --load-qemu takes the machine from the stream: machine options are refused', async () => {
  const r = await runCli('monitor', '--load-qemu', file('xive-smp2'), '--smp', '2', '-c', 'info pic');
  assert.equal(r.code, 2);
  assert.match(r.err, /--load-qemu takes the machine from the stream/);
});

test('qemu-stream FILE lists the sections and the interrupt state', async () => {
  const r = await runCli('qemu-stream', file('p41-smp4'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /QEMU migration stream of pseries-4\.1/);
  assert.match(r.out, /^ {2}spapr-xive +0 +1 +1 +\d+$/m);
  assert.match(r.out, /^ {2}icp\/server +3 +1 +1 +\d+$/m);
  assert.match(r.out, /machine: type=pseries-4\.1 cpu=power9_v2\.0 ic-mode=dual active=xive vcpus=0:0 1:8 2:16 3:24 .*vsmt=8 max-cpus=4/);
  assert.match(r.out, /^ {2}CPU 3 OS: nsr=.* w2=80000418$/m);
  assert.match(r.out, /^ {2}END 0x00c6: valid=true enqueue=true .*vcpu=24 priority=6$/m);
});

test('qemu-stream --json gives the sections and the state rows', async () => {
  const r = await runCli('qemu-stream', file('xics-smp2'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { machineType: string; sections: { name: string }[]; state: Record<string, Record<string, unknown>> };
  assert.equal(j.machineType, 'pseries-7.2');
  assert.ok(j.sections.some((s) => s.name === 'ics'));
  assert.equal(j.state['ICS 0x1200']!.kind, 'LSI');
  assert.equal(j.state['CPU 1']!.xirr, 'ff000000');
});

test('qemu-stream diff: exit 0 when equal, 1 with the differing fields', async () => {
  const same = await runCli('qemu-stream', 'diff', file('xive-smp2'), file('xive-smp2'));
  assert.equal(same.code, 0, same.err);
  assert.match(same.out, /the interrupt states are the same/);
  const d = await runCli('qemu-stream', 'diff', file('xive-smp2'), file('xive-smp2-rng'));
  assert.equal(d.code, 1, d.err);
  assert.match(d.out, /^ {2}msi:\n {4}allocated: '' -> 0x1300-0x1301$/m);
  assert.match(d.out, /^ {2}LISN 0x1300:\n {4}pq: \(none\) -> /m);
  const j = await runCli('qemu-stream', 'diff', file('dual-xive-smp2'), file('dual-xics-smp2'), '--json');
  assert.equal(j.code, 1);
  assert.ok((JSON.parse(j.out) as { differences: { row: string; field: string }[] }).differences.some((x) => x.row === 'machine' && x.field === 'active'));
});

test('qemu-stream prune writes the same bytes for a stream already pruned', async () => {
  const out = join(tmp, 'again.stream');
  const r = await runCli('qemu-stream', 'prune', file('xive-smp2'), '-o', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /kept 33 RAM page record\(s\) \(32 event-queue page\(s\)/);
  assert.deepEqual(new Uint8Array(readFileSync(out)), streamBytes('xive-smp2'));
  const self = await runCli('qemu-stream', 'prune', file('xive-smp2'), '-o', file('xive-smp2'));
  assert.equal(self.code, 2);
});

for (const [what, damage, re] of [
  ['cut short', (b: Uint8Array) => b.subarray(0, 1_000_000), /truncated at byte 1000000 \(0xf4240\), section 'spapr_iommu' instance 2147483648 \(its record starts at byte \d+\)/],
  ['not a stream', () => new TextEncoder().encode('QEVM?'), /truncated|rejected/],
  ['a flipped byte in the VM description', (b: Uint8Array) => {
    const c = b.slice();
    c[c.length - 2] ^= 0x20;
    return c;
  }, /VM description/],
] as const) {
  test(`a damaged stream (${what}) exits 2 with one line naming the byte`, async () => {
    const p = join(tmp, 'damaged.stream');
    writeFileSync(p, damage(streamBytes('xive-smp2')));
    for (const argv of [['monitor', '--load-qemu', p, '-c', 'info pic'], ['monitor', '--load', p], ['qemu-stream', p]]) {
      const r = await runCli(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.split('\n').length, 2, r.err);
      assert.match(r.err, /at byte \d+/);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });
}

test('a gzip-compressed stream (or snapshot) is read as it is; a cut one exits 2 with one line', async () => {
  const gz = join(STREAMS_DIR, 'dual-xive-smp2.stream.gz');
  const r = await runCli('monitor', '--load-qemu', gz, '-c', 'info pic');
  assert.equal(r.code, 0, r.err);
  assert.equal(maskPicPointers(r.out), maskPicPointers(streamPic('dual-xive-smp2')));
  const cut = join(tmp, 'cut.stream.gz');
  writeFileSync(cut, readFileSync(gz).subarray(0, 4000));
  for (const args of [['qemu-stream', cut], ['monitor', '--load', cut, '-c', 'info pic']]) {
    const c = await runCli(...args);
    assert.equal(c.code, 2, args.join(' '));
    assert.equal(c.out, '');
    assert.match(c.err, /^xive \S+: cannot read .*cut\.stream\.gz': damaged gzip data \(\w+\)\n$/);
  }
});
