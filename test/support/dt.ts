/**
 * Comparing `xive dt` with QEMU's device-tree dumps: the blob `xive dt` prints for some options,
 * and "ours is a subtree of QEMU's" — every node and property we print exists in QEMU's tree,
 * byte for byte and in QEMU's order.
 */
import assert from 'node:assert/strict';
import { dtCommand } from '../../src/cli/dt.ts';
import type { DeviceTree } from '../../src/spapr/fdt.ts';

export function xiveDt(argv: string[]): Uint8Array {
  let blob: Uint8Array | null = null;
  const code = dtCommand([...argv, '--format', 'dtb'], { out: () => assert.fail('text output'), err: () => {}, outBytes: (b) => (blob = b) });
  assert.equal(code, 0);
  assert.ok(blob !== null);
  return blob;
}

const hexOf = (v: Uint8Array): string => Buffer.from(v).toString('hex');

/** Ours ⊆ QEMU's: paths, bytes, relative order of properties and of children. */
export function assertSubtree(ours: DeviceTree, qemu: DeviceTree): number {
  let compared = 0;
  for (const [path, n] of ours.nodes()) {
    const q = qemu.node(path);
    assert.ok(q, `QEMU's tree has no node ${path}`);
    let last = -1;
    for (const p of n.properties) {
      const qi = q.properties.findIndex((x) => x.name === p.name);
      assert.ok(qi >= 0, `QEMU's ${path} has no property ${p.name}`);
      assert.equal(hexOf(p.value), hexOf(q.properties[qi]!.value), `bytes of ${path}:${p.name}`);
      assert.ok(qi > last, `${path}:${p.name} is out of QEMU's property order`);
      last = qi;
      compared++;
    }
    let lastChild = -1;
    for (const c of n.children) {
      const qi = q.children.findIndex((x) => x.name === c.name);
      assert.ok(qi > lastChild, `child ${c.name} of ${path} is missing or out of QEMU's node order`);
      lastChild = qi;
    }
  }
  return compared;
}

