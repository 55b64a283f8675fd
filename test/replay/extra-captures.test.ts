/**
 * Further QEMU 7.2 captures (test/fixtures/qemu-extra, see its README): 4 vCPUs with a PCI LSI
 * and MSI-X device, 8 vCPUs, CPU hotplug, dual mode with the guest choosing either model, and
 * XICS with PCI MSIs and an LSI. Each replays with no divergence and QEMU's `info pic`; each
 * machine's device tree agrees with QEMU's dump property by property.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { replayTrace } from '../../src/replay/replay.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { interruptControllerTree } from '../../src/spapr/device-tree.ts';
import { decodeDtb } from '../../src/spapr/fdt.ts';
import type { IcMode } from '../../src/spapr/cas.ts';

const DIR = new URL('../fixtures/qemu-extra/', import.meta.url);

const CAPTURES: { name: string; smp: number; maxCpus: number; icMode: IcMode; note?: RegExp }[] = [
  { name: 'xive-smp4-lsi', smp: 4, maxCpus: 4, icMode: 'xive' },
  { name: 'xive-smp8', smp: 8, maxCpus: 8, icMode: 'xive' },
  { name: 'xive-hotplug', smp: 2, maxCpus: 4, icMode: 'xive', note: /^vCPU 2 hot-plugged at line \d+/ },
  { name: 'dual-xive', smp: 2, maxCpus: 2, icMode: 'dual', note: /the guest chose XIVE$/ },
  { name: 'dual-xics', smp: 2, maxCpus: 2, icMode: 'dual', note: /the guest chose XICS$/ },
  { name: 'xics-smp2-rng', smp: 2, maxCpus: 2, icMode: 'xics', note: /^IRQ 0x1301 claimed as MSI/ },
];

for (const c of CAPTURES) {
  test(`replay ${c.name}: no divergence, QEMU's info pic`, () => {
    const r = replayTrace(readFileSync(new URL(`${c.name}.trace`, DIR), 'utf8'), { smp: c.smp, maxCpus: c.maxCpus, icMode: c.icMode });
    assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
    if (c.note) assert.ok(r.notes.some((n) => c.note!.test(n)), r.notes.join('; '));
    assert.equal(maskPicPointers(r.pic), maskPicPointers(readFileSync(new URL(`${c.name}.pic`, DIR), 'utf8')));
  });

  test(`device tree of ${c.name}'s machine: every property equal to QEMU's dump`, () => {
    const qemu = decodeDtb(new Uint8Array(readFileSync(new URL(`${c.name}.dtb`, DIR))));
    const ours = interruptControllerTree({ icMode: c.icMode, smp: c.smp, maxCpus: c.maxCpus });
    let compared = 0;
    for (const [path, node] of ours.nodes()) {
      const q = qemu.node(path);
      assert.ok(q !== undefined, `QEMU has no node ${path}`);
      const order = q.properties.map((p) => p.name);
      let last = -1;
      for (const p of node.properties) {
        const qv = q.getProp(p.name);
        assert.ok(qv !== undefined, `QEMU has no ${path}:${p.name}`);
        assert.deepEqual([...p.value], [...qv], `${path}:${p.name}`);
        const at = order.indexOf(p.name);
        assert.ok(at > last, `${path}:${p.name} is out of QEMU's order`);
        last = at;
        compared++;
      }
    }
    assert.ok(compared >= 10);
  });
}
