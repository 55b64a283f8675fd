/**
 * Comparing `xive dt` with QEMU's device-tree dumps: the blob `xive dt` prints for some options,
 * and "ours is a subtree of QEMU's" — every node and property we print exists in QEMU's tree,
 * byte for byte and in QEMU's order; and dtc, which must read our blobs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * Ours ⊆ QEMU's: paths, bytes, relative order of properties and of children; the bytes of the
 * `path:name` properties in `skip` are not compared. Returns the number of properties compared.
 */
export function assertSubtree(ours: DeviceTree, qemu: DeviceTree, skip: ReadonlySet<string> = new Set()): number {
  let compared = 0;
  for (const [path, n] of ours.nodes()) {
    const q = qemu.node(path);
    assert.ok(q, `QEMU's tree has no node ${path}`);
    let last = -1;
    for (const p of n.properties) {
      const qi = q.properties.findIndex((x) => x.name === p.name);
      assert.ok(qi >= 0, `QEMU's ${path} has no property ${p.name}`);
      if (!skip.has(`${path}:${p.name}`)) assert.equal(hexOf(p.value), hexOf(q.properties[qi]!.value), `bytes of ${path}:${p.name}`);
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


/** Is Debian's dtc on PATH (package device-tree-compiler)? */
export const HAVE_DTC = spawnSync('dtc', ['--version']).status === 0;

/** Decompiles a blob with dtc, as the QEMU captures' READMEs do. */
export function runDtc(blob: Uint8Array): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'xive-dt-'));
  try {
    const file = join(dir, 'tree.dtb');
    writeFileSync(file, blob);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-W', 'no-interrupt_provider', file], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
