/**
 * Every capture replays with --snapshot-every K for several K — the run moves to a brand-new
 * machine decoded from an encoded snapshot every K actions — and ends exactly as without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { replayTrace } from '../../src/replay/replay.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import type { IcMode } from '../../src/spapr/cas.ts';

const CAPTURES: [string, number, number, IcMode][] = [
  ['qemu/xive-smp1', 1, 1, 'xive'],
  ['qemu/xive-smp2', 2, 2, 'xive'],
  ['qemu/xive-smp3-rng', 3, 3, 'xive'],
  ['qemu/xics-smp2', 2, 2, 'xics'],
  ['qemu-extra/xive-hotplug', 2, 4, 'xive'],
  ['qemu-extra/xics-smp2-rng', 2, 2, 'xics'],
  ['qemu-extra/dual-xics', 2, 2, 'dual'],
];

for (const [name, smp, maxCpus, icMode] of CAPTURES) {
  test(`${name}: snapshot + restore every K actions ends exactly as without`, () => {
    const text = readFileSync(new URL(`../fixtures/${name}.trace`, import.meta.url), 'utf8');
    const plain = replayTrace(text, { smp, maxCpus, icMode });
    assert.equal(plain.status, 'ok');
    for (const k of [3, 97, 1000]) {
      if (k === 3 && plain.replayed > 3000) continue; // keeps the suite fast; small logs take K = 3
      const r = replayTrace(text, { smp, maxCpus, icMode, snapshotEvery: k });
      assert.equal(r.status, 'ok', `K=${k}: ${JSON.stringify(r.divergence)}`);
      assert.equal(r.migrations, Math.floor((plain.replayed - 1) / k), `K=${k}`);
      assert.equal(r.eventsChecked, plain.eventsChecked);
      assert.equal(maskPicPointers(r.pic), maskPicPointers(plain.pic), `K=${k}`);
      assert.equal(maskPicPointers(r.pic), maskPicPointers(readFileSync(new URL(`../fixtures/${name}.pic`, import.meta.url), 'utf8')));
    }
  });
}
