/**
 * Snapshots of machines other than pseries-7.2 with one thread per core: the configuration
 * travels in the snapshot (machine type, CPU, topology, VSMT, PHBs), and a restore gives the same
 * interrupt state, vCPU ids and `info pic`, also after a vCPU was unplugged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { captureSnapshot, inspectSnapshot, restoreSnapshot } from '../../src/migration/snapshot.ts';
import { createGuest, defaultGuestMode } from '../../src/guest/guest.ts';
import { runGuestWorkload } from '../../src/guest/workload.ts';
import type { MachineSpec } from '../../src/spapr/machine-config.ts';

const CONFIGS: [string, MachineSpec][] = [
  ['pseries-4.1 (vsmt 8)', { type: 'pseries-4.1', smp: { cpus: 4 } }],
  ['pseries-2.12, POWER9, legacy XICS', { type: 'pseries-2.12', cpu: 'POWER9', smp: { cpus: 2 } }],
  ['POWER10, dual', { cpu: 'POWER10', smp: { cpus: 2 } }],
  ['KVM, 4 threads per core', { accel: 'kvm', smp: { cpus: 8, threads: 4 }, icMode: 'xive' }],
  ['two more PHBs, XICS', { icMode: 'xics', smp: { cpus: 2 }, phbs: [{ index: 1 }, { index: 2 }] }],
];

for (const [what, spec] of CONFIGS) {
  test(`snapshot of a busy ${what} machine restores to the same state`, () => {
    const m = new SpaprMachine({ spec, devices: 'default' });
    const guest = createGuest(m, defaultGuestMode(m.icMode));
    runGuestWorkload(m, guest, { events: 500, seed: 3 });
    const bytes = captureSnapshot(m, { includeMemory: true });
    const info = inspectSnapshot(bytes);
    assert.equal(info.config.machineType, m.config.type.name);
    assert.equal(info.config.vsmt, m.config.vsmt);
    const r = restoreSnapshot(bytes);
    assert.equal(r.config.type.name, m.config.type.name);
    assert.equal(r.config.cpu.type, m.config.cpu.type);
    assert.deepEqual(r.vcpus.map((c) => r.vcpuId(c)), m.vcpus.map((c) => m.vcpuId(c)));
    assert.equal(r.infoPic(), m.infoPic());
  });
}

test('a machine with an unplugged vCPU restores without it', () => {
  const m = new SpaprMachine({ spec: { icMode: 'xive', smp: { cpus: 3, maxcpus: 4 } } });
  m.plugCpu(3);
  m.unplugCpu(1);
  const r = restoreSnapshot(captureSnapshot(m));
  assert.deepEqual(r.vcpus, [0, 2, 3]);
  assert.equal(r.infoPic(), m.infoPic());
});
