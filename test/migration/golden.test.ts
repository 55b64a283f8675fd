/**
 * Golden snapshots (test/fixtures/snapshots): files written by format version 1 must load in
 * this build and give the `info pic` and line levels stored with them. While this build still
 * writes version 1, capturing the restored machine again must give the golden's exact bytes, so
 * a layout change made without a version bump fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { captureSnapshot, inspectSnapshot, restoreInto, restoreSnapshot, SNAPSHOT_FORMAT_VERSION } from '../../src/migration/snapshot.ts';
import { SECTION_IDS, sectionVersion } from '../../src/migration/sections.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { GOLDENS_V1 } from './goldens.ts';
import { GOLDEN_DIR } from './helpers.ts';
import { portLevels } from '../support/state.ts';

const WRITES_V1 = SNAPSHOT_FORMAT_VERSION === 1 && SECTION_IDS.every((id) => sectionVersion(id) === 1);

for (const g of GOLDENS_V1) {
  test(`golden ${g.name} loads and shows its stored info pic (${g.description})`, () => {
    const bytes = new Uint8Array(readFileSync(new URL(`${g.name}.snap`, GOLDEN_DIR)));
    const pic = readFileSync(new URL(`${g.name}.pic`, GOLDEN_DIR), 'utf8');
    const info = inspectSnapshot(bytes);
    assert.equal(info.formatVersion, 1);
    assert.ok(info.sections.every((s) => s.version === 1));
    assert.equal(info.sections.some((s) => s.id === 'guest-ram'), g.includeMemory);

    const m = restoreSnapshot(bytes);
    assert.equal(infoPic(m), pic);
    assert.equal(portLevels(m), g.lines);

    // Into a machine built by hand with the same shape.
    const c = info.config;
    const t = new SpaprMachine({ smp: c.smp, maxCpus: c.maxCpus, icMode: c.icMode, ramSize: c.ramSize || undefined });
    restoreInto(t, bytes);
    assert.equal(infoPic(t), pic);
    assert.equal(portLevels(t), g.lines);
    assert.equal(t.activeController(), info.activeController);

    if (WRITES_V1) assert.deepEqual(captureSnapshot(m, { includeMemory: g.includeMemory }), bytes);
  });
}

test('the golden header pins the container layout', () => {
  const b = new Uint8Array(readFileSync(new URL('v1-xive-smp2.snap', GOLDEN_DIR)));
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x49, 0x43, 0x53, 0x4e, 0x41, 0x50]);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.equal(v.getUint16(8, true), 1);
  assert.equal(v.getUint16(10, true), 0);
  assert.equal(v.getUint32(12, true), b.length);
  const info = inspectSnapshot(b);
  assert.deepEqual(info.capabilities, ['xive', 'guest-ram']);
  assert.deepEqual(
    info.sections.map((s) => s.id),
    ['config', 'spapr', 'spapr-xive', 'xive-source', 'xive-tctx', 'guest-ram'],
  );
  // A version 1 config section stands for the pseries-7.2 defaults of what later versions record.
  assert.deepEqual(info.config, {
    smp: 2,
    maxCpus: 2,
    icMode: 'xive',
    ramSize: 1 << 30,
    vcpus: [0, 1],
    machineType: 'pseries-7.2',
    cpu: 'power9_v2.0',
    sockets: 1,
    cores: 2,
    threads: 1,
    vsmt: 1,
    maxCpuCompat: '',
    accel: 'tcg',
    kernelIrqchip: '',
    capHtm: false,
    nrXirqs: 0x1000,
    phbs: [],
  });
});
