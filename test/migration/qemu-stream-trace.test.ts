/**
 * Two records of the same QEMU run agree on the model: the boot trace QEMU logged up to the
 * migration, replayed on a machine of the configuration inferred from the stream (every recorded
 * value checked on the way), ends in the state the stream holds — sources, EAS and END tables,
 * thread contexts, ICS and ICPs, line levels, info pic. Option vector 5 and the MSI map are the
 * exceptions: a trace shows only the interrupt-controller byte of CAS (compared) and no MSI
 * allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSource, readQemuStream, restoreQemuStream } from '../../src/migration/qemu-stream.ts';
import { machineSpecOf } from '../../src/migration/qemu/model.ts';
import { replayTrace } from '../../src/replay/replay.ts';
import { OV5_INT_CTRL_BYTE } from '../../src/spapr/cas.ts';
import { fingerprint } from '../support/state.ts';
import { STREAMS, streamBytes, streamTrace } from './qemu-streams.ts';

for (const f of STREAMS) {
  test(`${f.name}: the boot trace replayed on the inferred machine reaches the stream's state`, () => {
    const s = readQemuStream(bytesSource(streamBytes(f.name)));
    const r = replayTrace(streamTrace(f.name), { spec: machineSpecOf(s.state), ramSize: s.ramBlock.size });
    assert.equal(r.status, 'ok', r.status === 'ok' ? '' : JSON.stringify(r).slice(0, 500));
    const replayed = r.machine!;
    const loaded = restoreQemuStream(s);
    assert.equal(replayed.ov5Cas[OV5_INT_CTRL_BYTE], loaded.ov5Cas[OV5_INT_CTRL_BYTE]);
    const { ov5: _a, msi: _b, ...a } = fingerprint(replayed, false);
    const { ov5: _c, msi: _d, ...b } = fingerprint(loaded, false);
    assert.deepEqual(a, b);
  });
}
