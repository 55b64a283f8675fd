/**
 * `xive dt` against the device trees QEMU 7.2 dumps at machine reset, one per machine
 * configuration of test/fixtures/qemu-dt (README there: the exact QEMU commands). For each:
 * every node and property `xive dt` prints exists in QEMU's tree, byte for byte and in QEMU's
 * order; every interrupt property of the nodes it covers, and every CPU, event-source, VIO,
 * PHB and controller node, is printed; dtc reads the blob back and prints what toDts prints.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeDtb, readU32Cells, type DeviceTree } from '../../src/spapr/fdt.ts';
import { toDts } from '../../src/spapr/dts.ts';
import { FIXTURES_DIR } from '../support/captures.ts';
import { assertSubtree, HAVE_DTC, runDtc, xiveDt } from '../support/dt.ts';

/** Name, QEMU options (besides `-nodefaults -nographic -serial null`) as in the README. */
export const QEMU_DT_CONFIGS: readonly (readonly [string, string])[] = [
  ['p72-p9-xive', '-M pseries-7.2,ic-mode=xive -cpu POWER9 -smp 2'],
  ['p72-p9-dual-3phb', '-M pseries-7.2 -cpu POWER9 -smp 4,maxcpus=8 -device spapr-pci-host-bridge,index=1 -device spapr-pci-host-bridge,index=2'],
  ['p72-p10-xics', '-M pseries-7.2,ic-mode=xics -cpu POWER10 -smp 2'],
  ['p72-p10-xive-maxcpus', '-M pseries-7.2,ic-mode=xive -cpu POWER10 -smp 2,maxcpus=6'],
  ['p72-p8-dual', '-M pseries-7.2 -cpu POWER8 -smp 2'],
  ['p72-p9-compat-p8', '-M pseries-7.2,max-cpu-compat=power8 -cpu POWER9 -smp 2'],
  ['p72-p9-vsmt8', '-M pseries-7.2,ic-mode=xive,vsmt=8 -cpu POWER9 -smp 2,maxcpus=4'],
  ['p42-p9-dual-phb5', '-M pseries-4.2 -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=5'],
  ['p41-p9-dual', '-M pseries-4.1 -cpu POWER9 -smp 2,maxcpus=3'],
  ['p40-p9-xics', '-M pseries-4.0 -cpu POWER9 -smp 2'],
  ['p31-p8-2phb', '-M pseries-3.1 -smp 2 -device spapr-pci-host-bridge,index=1'],
  ['p30-p8-2phb', '-M pseries-3.0 -smp 2 -device spapr-pci-host-bridge,index=1'],
  ['p212-p9-2phb', '-M pseries-2.12 -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=3'],
  ['p27-p7', '-M pseries-2.7 -smp 2'],
  ['p21-p7', '-M pseries-2.1 -smp 2'],
];

/** The same machine in `xive dt`'s options (QEMU's syntax, long option names). */
function dtArgs(qemu: string): string[] {
  const long: Record<string, string> = { '-M': '--machine', '-cpu': '--cpu', '-smp': '--smp', '-device': '--device' };
  return qemu.split(' ').map((w) => long[w] ?? w);
}

/** Properties that carry interrupt information (or the cells needed to read it). */
function isInterruptProperty(path: string, name: string): boolean {
  if ((path === '/' || path === '/cpus' || path === '/vdevice') && (name === '#address-cells' || name === '#size-cells')) return true;
  if (path.startsWith('/interrupt-controller')) return true;
  return /interrupt|xive|int-|arch(itecture)?-vec-5|msi/.test(name);
}

/** Nodes whose whole subtree (children included) carries interrupts. */
const COVERED_ROOT_CHILDREN = /^(chosen|rtas|event-sources|cpus|vdevice|pci@|interrupt-controller)/;

function assertCoversQemu(ours: DeviceTree, qemu: DeviceTree): void {
  assert.deepEqual(
    ours.root.children.map((c) => c.name),
    qemu.root.children.map((c) => c.name).filter((n) => COVERED_ROOT_CHILDREN.test(n)),
    'root children',
  );
  for (const [path, q] of qemu.nodes()) {
    const top = path.split('/')[1] ?? '';
    if (path !== '/' && !COVERED_ROOT_CHILDREN.test(top)) continue;
    // Below a PHB only the bridge itself is described (no PCI function is plugged here).
    if (/^\/pci@[^/]+\//.test(path)) continue;
    const n = ours.node(path);
    assert.ok(n, `ours lacks QEMU's node ${path}`);
    for (const p of q.properties) if (isInterruptProperty(path, p.name)) assert.ok(n.hasProp(p.name), `ours lacks QEMU's ${path}:${p.name}`);
  }
}

describe('xive dt against QEMU 7.2 dumpdtb, machine by machine', () => {
  for (const [name, qemuOpts] of QEMU_DT_CONFIGS) {
    describe(`${name}: ${qemuOpts}`, () => {
      const qemu = decodeDtb(readFileSync(`${FIXTURES_DIR}qemu-dt/${name}.dtb`));
      const blob = xiveDt(dtArgs(qemuOpts));
      const ours = decodeDtb(blob);

      test('every node and property printed is QEMU’s, byte for byte and in QEMU’s order', () => {
        assert.ok(assertSubtree(ours, qemu) >= 20);
      });

      test('every interrupt node and property of QEMU’s tree is printed', () => {
        assertCoversQemu(ours, qemu);
      });

      // QEMU's own trees draw only dtc's interrupt_provider warning (no #address-cells in the
      // controller nodes), which is turned off; anything else dtc says fails the test.
      test('dtc reads the blob without warnings and prints what toDts prints', (t) => {
        if (!HAVE_DTC) return t.skip('dtc is not on PATH');
        const r = runDtc(blob);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.equal(toDts(ours), r.stdout);
      });
    });
  }

  test('legacy allocation numbers the default devices in creation order (pseries-3.0, two PHBs)', () => {
    const t = decodeDtb(xiveDt(dtArgs('-M pseries-3.0 -smp 2 -device spapr-pci-host-bridge,index=1')));
    const cells = (path: string, prop: string): number[] => readU32Cells(t.node(path)!.getProp(prop)!);
    assert.deepEqual(cells('/event-sources/epow-events', 'interrupts'), [0x1000, 0]);
    assert.deepEqual(cells('/event-sources/hot-plug-events', 'interrupts'), [0x1001, 0]);
    assert.deepEqual(cells('/vdevice/vty@71000000', 'interrupts'), [0x1002, 0]);
    assert.deepEqual(cells('/vdevice/nvram@71000001', 'interrupts'), [0x1003, 0]);
    // Slot 0's pins A..D are the bridge's LSIs 0..3.
    const lsis = (phb: string): number[] => [0, 1, 2, 3].map((pin) => cells(`/${phb}`, 'interrupt-map')[pin * 7 + 5]!);
    assert.deepEqual(lsis('pci@800000020000000'), [0x1004, 0x1005, 0x1006, 0x1007]);
    assert.deepEqual(lsis('pci@800000020000001'), [0x1008, 0x1009, 0x100a, 0x100b]);
    assert.deepEqual(cells('/pci@800000020000001', 'ibm,pe-total-#msi'), [0x400]);
  });
});
