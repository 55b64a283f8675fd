/**
 * Acceptance for every pseries configuration captured on QEMU 7.2 (test/fixtures/qemu-configs,
 * listed in the fixtures manifest with the machine options they were taken with): machine types
 * 2.7 … 7.2, POWER8/POWER9/POWER10 CPUs and compatibility modes, VSMT, many vCPUs, CPU unplug,
 * machine resets and several PHBs. Each replays with its options and no divergence, ends with
 * QEMU's `info pic`, and `xive dt` with the same options gives QEMU's tree (ours ⊆ QEMU's, byte
 * for byte, in QEMU's order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayTrace } from '../../src/replay/replay.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { decodeDtb } from '../../src/spapr/fdt.ts';
import { ALL_CAPTURES, byCapture, captureDtb, captureText } from '../support/captures.ts';
import { assertSubtree, xiveDt } from '../support/dt.ts';

const CONFIGS = ALL_CAPTURES.filter((c) => c.dir === 'qemu-configs');

/** What particular captures must show besides the checks every one gets. */
const EXPECT = byCapture<{ note: RegExp }>({
  'p72-xive-reset': { note: /^machine reset before line \d+/ },
  'p72-dual-reset': { note: /^machine reset before line \d+/ },
  'p72-xive-unplug': { note: /^vCPU \d+ unplugged at line \d+/ },
  'p72-xics-unplug': { note: /^vCPU \d+ unplugged at line \d+/ },
});

test('the manifest lists the configuration captures', () => {
  assert.ok(CONFIGS.length >= 20, `${CONFIGS.length} captures`);
});

for (const c of CONFIGS) {
  test(`replay ${c.name} (${c.args.join(' ')}): no divergence and QEMU's info pic`, () => {
    const r = replayTrace(captureText(c, 'trace'), { spec: c.spec });
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence, null, 2));
    assert.equal(r.status, 'ok', r.reason);
    // A capture paused before the guest ran has no CAS.
    if (!c.name.endsWith('-prelaunch') && c.config.icMode === 'dual') {
      assert.ok(r.notes.some((n) => n.endsWith(`the guest chose ${c.guest.toUpperCase()}`)), r.notes.join('; '));
    }
    const e = EXPECT.get(c.name);
    if (e !== undefined) assert.ok(r.notes.some((n) => e.note.test(n)), r.notes.join('; '));
    const qemu = captureText(c, 'pic');
    // XICS lines print host pointers, which differ from run to run.
    assert.equal(maskPicPointers(r.pic), maskPicPointers(qemu));
  });

  if (c.dtb) {
    test(`xive dt ${c.args.join(' ')}: QEMU's tree of ${c.name}`, () => {
      const ours = decodeDtb(xiveDt(c.args));
      const compared = assertSubtree(ours, decodeDtb(captureDtb(c)));
      assert.ok(compared > 10);
    });
  }
}
