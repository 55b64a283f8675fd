/**
 * Device tree (DT) tests: the flattened-device-tree (FDT) encoder/decoder and DTS printer, and
 * the interrupt-controller parts of the pseries tree checked against the device tree blobs
 * (DTB) QEMU 7.2 dumped at machine reset, for every capture of the fixtures manifest that kept
 * one. Every node and property we produce for that machine must exist in QEMU's tree with the
 * same bytes and in the same relative order; every interrupt-related property QEMU has in those
 * nodes must be ours too. When `dtc` is installed it must accept our blobs, and our DTS text
 * must equal its output.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeviceTree,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FdtError,
  decodeDtb,
  encodeDtb,
  propBytes,
  propEmpty,
  propString,
  propStrings,
  propU32,
  propU64,
  readString,
  readStrings,
  readU32Cells,
  readU64Cells,
  type FdtNode,
} from '../../src/spapr/fdt.ts';
import { toDts } from '../../src/spapr/dts.ts';
import {
  PHANDLE_INTC,
  XICS_NODE_PATH,
  XIVE_NODE_NAME,
  XIVE_NODE_PATH,
  architectureVec5,
  cpuNodeName,
  cpuNodePath,
  interruptControllerTree,
} from '../../src/spapr/device-tree.ts';
import type { IcMode } from '../../src/spapr/cas.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { resolveMachine, specOfConfig } from '../../src/spapr/machine-config.ts';
import { cpuModel } from '../../src/spapr/cpu-models.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { CAPTURES, byCapture, capture, captureDtb, type Capture } from '../support/captures.ts';
import { assertSubtree, HAVE_DTC, runDtc } from '../support/dt.ts';

/** The captures whose machine's device tree QEMU dumped. */
const DTB_CAPTURES = CAPTURES.filter((c) => c.dtb);

/**
 * The interrupt-controller tree of a machine without devices (only the controllers, CPUs, CAS
 * vector and the controllers' RTAS calls).
 */
function icTree(o: { icMode: IcMode; smp: number; maxCpus?: number }): DeviceTree {
  return interruptControllerTree(new SpaprMachine({ ...o, devices: 'none', ramSize: 1 << 20 }));
}

/** VIO consoles of each dump (the dumps of test/fixtures/qemu were taken without -serial). */
const VTYS = byCapture({ 'xive-smp2': 0, 'xics-smp2': 0 });

/** Entries of each dump's memory reservation block, where known. */
const MEM_RESERVE = byCapture({
  'xive-smp2': 1,
  'xics-smp2': 1,
  'xive-smp4-lsi': 2,
  'xive-smp8': 2,
  'xive-hotplug': 2,
  'dual-xive': 2,
  'dual-xics': 2,
  'xics-smp2-rng': 2,
});

function qemuTree(c: Capture): DeviceTree {
  return decodeDtb(captureDtb(c));
}

function hexOf(v: Uint8Array | undefined): string {
  return v === undefined ? '(missing)' : Buffer.from(v).toString('hex');
}

function nodeAt(tree: DeviceTree, path: string): FdtNode {
  const n = tree.node(path);
  assert.ok(n, `node ${path} missing`);
  return n;
}

function prop(tree: DeviceTree, path: string, name: string): Uint8Array {
  const v = nodeAt(tree, path).getProp(name);
  assert.ok(v, `${path} has no ${name}`);
  return v;
}

/**
 * Properties of QEMU's tree that belong to the interrupt controllers. Left out on purpose:
 * `/rtas/ibm,query-interrupt-source-number` (an RTAS call of the PCI MSI support, not of the
 * controller) and `/rtas/ibm,hypertas-functions` (the whole hcall-set list, of which
 * "hcall-interrupt" is one entry).
 */
function isInterruptProperty(path: string, name: string): boolean {
  if (path === '/' && (name === '#address-cells' || name === '#size-cells')) return true;
  if (path.startsWith('/interrupt-controller')) return true;
  if (name === 'ibm,query-interrupt-source-number') return false;
  return /interrupt|xive|int-|arch(itecture)?-vec-5/.test(name);
}

function assertCoversQemuInterruptProps(ours: DeviceTree, qemu: DeviceTree): void {
  for (const [path, n] of ours.nodes()) {
    const q = qemu.node(path)!;
    for (const p of q.properties) {
      if (isInterruptProperty(path, p.name)) assert.ok(n.hasProp(p.name), `ours lacks QEMU's ${path}:${p.name}`);
    }
  }
  const qemuIntc = qemu.root.children.filter((c) => c.name.startsWith('interrupt-controller')).map((c) => c.name);
  const ourIntc = ours.root.children.filter((c) => c.name.startsWith('interrupt-controller')).map((c) => c.name);
  assert.deepEqual(ourIntc, qemuIntc);
  const qemuCpus = qemu.node('/cpus')!.children.map((c) => c.name);
  assert.deepEqual(
    ours.node('/cpus')!.children.map((c) => c.name),
    qemuCpus,
  );
}

/** Structural equality of two trees, with a path in the failure message. */
function assertSameTree(a: DeviceTree, b: DeviceTree): void {
  assert.equal(a.bootCpuidPhys, b.bootCpuidPhys);
  assert.deepEqual(a.memReserve, b.memReserve);
  const flat = (t: DeviceTree): string[] => {
    const out: string[] = [];
    for (const [path, n] of t.nodes()) {
      out.push(`node ${path}`);
      for (const p of n.properties) out.push(`${path}:${p.name}=${hexOf(p.value)}`);
    }
    return out;
  };
  assert.deepEqual(flat(a), flat(b));
}

const NO_DTC = 'dtc (Debian package device-tree-compiler) is not on PATH; skipping the dtc cross-check';

const u32 = (v: Uint8Array): number[] => readU32Cells(v);

// ---------------------------------------------------------------------------------------------

describe('FDT encoder and decoder', () => {
  test('header, blocks and tokens of an encoded blob', () => {
    const t = new DeviceTree();
    t.bootCpuidPhys = 3;
    t.memReserve.push({ address: 0x400000n, size: 0x1000n });
    t.root.setProp('#address-cells', propU32(2));
    t.root.addChild('a@1').setProp('linux,phandle', propU32(1)).setProp('phandle', propU32(1));
    const blob = encodeDtb(t);
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const h = (i: number): number => dv.getUint32(i * 4);
    assert.equal(h(0), FDT_MAGIC);
    assert.equal(h(1), blob.length, 'totalsize');
    assert.equal(h(4), 40, 'memory reservation block right after the header');
    assert.equal(h(5), 17);
    assert.equal(h(6), 16);
    assert.equal(h(7), 3, 'boot_cpuid_phys');
    // one entry + the terminating zero entry
    assert.equal(dv.getBigUint64(40), 0x400000n);
    assert.equal(dv.getBigUint64(48), 0x1000n);
    assert.equal(dv.getBigUint64(56), 0n);
    assert.equal(dv.getBigUint64(64), 0n);
    assert.equal(h(2), 72, 'structure block after the reservation block');
    assert.equal(h(3), h(2) + h(9), 'strings block after the structure block');
    assert.equal(h(3) + h(8), blob.length, 'strings block ends the blob');
    assert.equal(dv.getUint32(h(2)), FDT_BEGIN_NODE);
    assert.equal(dv.getUint32(h(3) - 8), FDT_END_NODE);
    assert.equal(dv.getUint32(h(3) - 4), FDT_END);
    // "phandle" is stored once, as the tail of "linux,phandle"
    const strings = Buffer.from(blob.subarray(h(3), h(3) + h(8))).toString('latin1');
    assert.equal(strings, '#address-cells\0linux,phandle\0');
    assertSameTree(decodeDtb(blob), t);
  });

  test('names used several times are stored once', () => {
    const t = new DeviceTree();
    for (let i = 0; i < 5; i++) t.root.addChild(`n@${i}`).setProp('reg', propU32(i)).setProp('status', propString('okay'));
    const blob = encodeDtb(t);
    const dv = new DataView(blob.buffer, blob.byteOffset);
    assert.equal(dv.getUint32(32), 'reg\0status\0'.length);
    assertSameTree(decodeDtb(blob), t);
  });

  test('QEMU fixtures decode and re-encode to the same tree', () => {
    for (const c of DTB_CAPTURES) {
      const q = qemuTree(c);
      const reserved = MEM_RESERVE.get(c.name);
      if (reserved !== undefined) assert.equal(q.memReserve.length, reserved, c.name);
      assert.equal(q.bootCpuidPhys, 0);
      assertSameTree(decodeDtb(encodeDtb(q)), q);
    }
  });

  test('value helpers and readers', () => {
    assert.equal(hexOf(propU32(0, 0xf8, 0xffffffff)), '00000000000000f8ffffffff');
    assert.equal(hexOf(propU64(0x60302031b0000n, 0x10000)), '00060302031b00000000000000010000');
    assert.equal(hexOf(propString('ab')), '616200');
    assert.equal(hexOf(propStrings('a', 'bc')), '6100626300');
    assert.equal(propEmpty().length, 0);
    assert.equal(hexOf(propBytes(23, 0x40)), '1740');
    assert.deepEqual(readU32Cells(propU32(1, 2)), [1, 2]);
    assert.deepEqual(readU64Cells(propU64(5n)), [5n]);
    assert.equal(readString(propString('power-ivpe')), 'power-ivpe');
    assert.deepEqual(readStrings(propStrings('x', '', 'y')), ['x', '', 'y']);
    assert.throws(() => propU32(-1), FdtError);
    assert.throws(() => propU32(2 ** 32), FdtError);
    assert.throws(() => propU64(-1n), FdtError);
    assert.throws(() => readU32Cells(new Uint8Array(3)), FdtError);
    assert.throws(() => readString(new Uint8Array([0x61])), FdtError);
  });

  test('prependProp and prependChild add in front; replacing keeps the position', () => {
    const t = new DeviceTree();
    t.root.prependProp('a', propU32(1)).prependProp('b', propU32(2)).prependProp('a', propU32(3));
    assert.deepEqual(
      t.root.properties.map((p) => `${p.name}=${u32(p.value)[0]}`),
      ['b=2', 'a=3'],
    );
    t.root.addChild('x');
    t.root.prependChild('y');
    assert.deepEqual(
      t.root.children.map((c) => c.name),
      ['y', 'x'],
    );
    assert.throws(() => t.root.addChild('x'), FdtError);
    assert.throws(() => t.root.addChild('p/q'), FdtError);
    assert.throws(() => t.root.setProp('', propEmpty()), FdtError);
    assert.equal(t.ensureNode('/x/z').name, 'z');
    assert.equal(t.node('/x/z'), t.node('/x')!.getChild('z'));
    assert.equal(t.node('/nope'), undefined);
    assert.ok(t.root.removeProp('a'));
    assert.ok(!t.root.hasProp('a'));
  });

  test('malformed blobs are rejected with FdtError', () => {
    const good = encodeDtb(icTree({ icMode: 'xive', smp: 2 }));
    const bad = (mutate: (b: Uint8Array, dv: DataView) => void): Uint8Array => {
      const b = good.slice();
      mutate(b, new DataView(b.buffer));
      return b;
    };
    assert.throws(() => decodeDtb(good.subarray(0, 20)), FdtError);
    assert.throws(() => decodeDtb(bad((_, dv) => dv.setUint32(0, 0xdeadbeef))), /bad magic/);
    assert.throws(() => decodeDtb(bad((_, dv) => dv.setUint32(4, good.length + 4))), FdtError);
    assert.throws(() => decodeDtb(bad((_, dv) => dv.setUint32(20, 15))), /version/);
    assert.throws(() => decodeDtb(bad((_, dv) => dv.setUint32(dv.getUint32(8), 7))), FdtError);
    // drop the FDT_END token
    assert.throws(() => decodeDtb(bad((_, dv) => dv.setUint32(36, dv.getUint32(36) - 4))), FdtError);
  });

  test('toDts prints the value kinds the way dtc guesses them', () => {
    const t = new DeviceTree();
    t.root.setProp('#size-cells', propU32(2));
    const n = t.root.addChild('n@1');
    n.setProp('s', propString('power-ivpe'));
    n.setProp('list', propStrings('a', 'b'));
    n.setProp('list2', propStrings('ab', 'c'));
    n.setProp('cells', propU32(0x60302, 0x31b0000, 0));
    n.setProp('bytes', propBytes(0, 0));
    n.setProp('flag', propEmpty());
    t.root.addChild('m');
    assert.equal(
      toDts(t),
      '/dts-v1/;\n\n/ {\n\t#size-cells = <0x02>;\n\n\tn@1 {\n\t\ts = "power-ivpe";\n\t\tlist = "a\\0b";\n' +
        '\t\tlist2 = "ab\\0c";\n\t\tcells = <0x60302 0x31b0000 0x00>;\n\t\tbytes = [00 00];\n\t\tflag;\n\t};\n\n\tm {\n\t};\n};\n',
    );
  });

  test('toDts type guesses on edge cases match dtc', (t) => {
    const cases: [number[], string][] = [
      [[0x00, 0x61, 0x00], '[00 61 00]'],
      [[0x61, 0x00, 0x00], '[61 00 00]'],
      [[0x00, 0x61, 0x62, 0x00], '"\\0ab"'],
      [[0x61, 0x62, 0x00, 0x00], '"ab\\0"'],
      [[0x61, 0x00, 0x00, 0x62, 0x63, 0x00], '"a\\0\\0bc"'],
      [[0x00, 0x00, 0x00, 0x00], '<0x00>'],
      [[0x61, 0x0a, 0x00], '"a\\n"'],
      [[0x61, 0x22, 0x5c, 0x00], '"a\\"\\\\"'],
      [[0x61, 0x7f, 0x00], '[61 7f 00]'],
      [[0x00], '[00]'],
      [[0x61, 0x62, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00], '<0x61626300 0x00>'],
    ];
    const tree = new DeviceTree();
    cases.forEach(([bytes], i) => tree.root.setProp(`p${i}`, propBytes(...bytes)));
    const expected = `/dts-v1/;\n\n/ {\n${cases.map(([, text], i) => `\tp${i} = ${text};\n`).join('')}};\n`;
    assert.equal(toDts(tree), expected);
    if (!HAVE_DTC) return t.skip(NO_DTC);
    const r = runDtc(encodeDtb(tree));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
  });

  test('toDts of the QEMU fixtures equals dtc output', (t) => {
    if (!HAVE_DTC) return t.skip(NO_DTC);
    for (const c of DTB_CAPTURES) {
      const blob = captureDtb(c);
      const r = runDtc(blob);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(toDts(decodeDtb(blob)), r.stdout, c.name);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('interrupt-controller tree against QEMU 7.2 dumps', () => {
  for (const c of DTB_CAPTURES) {
    const { icMode, smp, maxCpus } = c.machine;
    describe(`${c.name}: ic-mode=${icMode}, smp ${smp}, max-cpus ${maxCpus}`, () => {
      const qemu = qemuTree(c);
      const ours = interruptControllerTree(new SpaprMachine({ ...c.machine, vtys: VTYS.get(c.name) ?? 1, ramSize: 1 << 20 }));

      test('every node and property of ours is in QEMU tree, byte-identical and in QEMU order', () => {
        assert.ok(assertSubtree(ours, qemu) >= 10);
      });

      test("QEMU's interrupt properties in those nodes are all reproduced", () => {
        assertCoversQemuInterruptProps(ours, qemu);
      });

      test('the encoded blob decodes back to the same tree', () => {
        const blob = encodeDtb(ours);
        assertSameTree(decodeDtb(blob), ours);
        assertSubtree(decodeDtb(blob), qemu);
      });

      test('dtc reads the blob and prints what toDts prints', (t) => {
        if (!HAVE_DTC) return t.skip(NO_DTC);
        const r = runDtc(encodeDtb(ours));
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /ERROR/);
        assert.equal(toDts(ours), r.stdout);
      });
    });
  }

  test('the XIVE node and root values spelled out', () => {
    const t = icTree({ icMode: 'xive', smp: 2 });
    assert.equal(XIVE_NODE_NAME, 'interrupt-controller@60302031b0000');
    const n = nodeAt(t, XIVE_NODE_PATH);
    assert.deepEqual(
      n.properties.map((p) => p.name),
      ['phandle', 'linux,phandle', '#interrupt-cells', 'interrupt-controller', 'ibm,xive-lisn-ranges', 'ibm,xive-eq-sizes', 'compatible', 'reg', 'device_type'],
    );
    assert.deepEqual(readU64Cells(prop(t, XIVE_NODE_PATH, 'reg')), [0x60302031b0000n, 0x10000n, 0x60302031a0000n, 0x10000n]);
    assert.deepEqual(u32(prop(t, XIVE_NODE_PATH, 'phandle')), [PHANDLE_INTC]);
    assert.deepEqual(u32(prop(t, '/', 'ibm,plat-res-int-priorities')), [0x07, 0xf8]);
    assert.equal(hexOf(prop(t, '/chosen', 'ibm,arch-vec-5-platform-support')), '174018c019001a40');
    assert.equal(t.node('/rtas'), undefined, 'no XICS object, so no XICS RTAS tokens');
  });

  test('ic-mode=dual: the XICS tree of the xics dump, except platform-support byte 23 = 0x80', () => {
    const qemu = qemuTree(capture('xics-smp2'));
    const ours = icTree({ icMode: 'dual', smp: 2 });
    assertSubtree(ours, qemu, new Set(['/chosen:ibm,arch-vec-5-platform-support']));
    assertCoversQemuInterruptProps(ours, qemu);
    assert.equal(hexOf(prop(ours, '/chosen', 'ibm,arch-vec-5-platform-support')), '178018c019001a40');
    assert.ok(!ours.root.hasProp('ibm,plat-res-int-priorities'), 'XIVE is not active at reset');
    assert.ok(ours.node(XICS_NODE_PATH));
  });
});

describe('interrupt-controller tree for other sizes (spec rules)', () => {
  const modes: IcMode[] = ['xive', 'xics', 'dual'];

  test('smp 4, maxCpus 8: server ranges follow maxCpus, CPU nodes follow smp', () => {
    for (const icMode of modes) {
      const t = icTree({ icMode, smp: 4, maxCpus: 8 });
      assert.deepEqual(
        nodeAt(t, '/cpus').children.map((c) => c.name),
        [0, 1, 2, 3].map((id) => cpuNodeName(id)),
      );
      for (let id = 0; id < 4; id++) {
        assert.deepEqual(u32(prop(t, cpuNodePath(id), 'ibm,ppc-interrupt-server#s')), [id]);
        assert.deepEqual(u32(prop(t, cpuNodePath(id), 'ibm,ppc-interrupt-gserver#s')), [id, 0]);
      }
      assert.equal(t.node(cpuNodePath(4)), undefined);
      if (icMode === 'xive') {
        assert.deepEqual(u32(prop(t, XIVE_NODE_PATH, 'ibm,xive-lisn-ranges')), [0, 8]);
        assert.equal(t.node(XICS_NODE_PATH), undefined);
      } else {
        assert.deepEqual(u32(prop(t, XICS_NODE_PATH, 'ibm,interrupt-server-ranges')), [0, 8]);
        assert.equal(t.node(XIVE_NODE_PATH), undefined);
        assert.deepEqual(u32(prop(t, '/rtas', 'ibm,set-xive')), [0x200a]);
      }
      assert.equal(hexOf(prop(t, '/chosen', 'ibm,architecture-vec-5')), '0000');
      assertSameTree(decodeDtb(encodeDtb(t)), t);
    }
  });

  test('maxCpus defaults to smp; unit addresses are hex', () => {
    const t = icTree({ icMode: 'xive', smp: 12 });
    assert.deepEqual(u32(prop(t, XIVE_NODE_PATH, 'ibm,xive-lisn-ranges')), [0, 12]);
    assert.deepEqual(u32(prop(t, '/cpus/PowerPC,POWER9@a', 'ibm,ppc-interrupt-server#s')), [10]);
  });

  test('bad options are refused', () => {
    assert.throws(() => icTree({ icMode: 'xive', smp: 0 }), XiveUsageError);
    assert.throws(() => icTree({ icMode: 'xive', smp: 4, maxCpus: 2 }), XiveUsageError);
    assert.throws(() => icTree({ icMode: 'xive', smp: 1, maxCpus: 4097 }), XiveUsageError);
    assert.throws(() => icTree({ icMode: 'legacy' as IcMode, smp: 1 }), XiveUsageError);
  });

  test('ibm,architecture-vec-5 encoding of a negotiated vector', () => {
    assert.equal(hexOf(architectureVec5()), '0000');
    const ov5 = new Uint8Array(256);
    ov5[23] = 0x40;
    const v = architectureVec5(ov5);
    assert.equal(v.length, 24);
    assert.equal(v[0], 22);
    assert.equal(v[23], 0x40);
    ov5.fill(0);
    ov5[1] = 0x80;
    assert.equal(hexOf(architectureVec5(ov5)), '0080');
  });
});

describe('interrupt tree rules QEMU cannot dump here (KVM) and inputs other than a machine', () => {
  const cells = (t: DeviceTree, path: string, name: string): number[] => u32(prop(t, path, name));

  test('KVM with SMT: one node per core, named after its first thread, listing every thread', () => {
    const t = interruptControllerTree(resolveMachine({ accel: 'kvm', cpu: 'POWER9', smp: { cpus: 8, threads: 4 } }));
    assert.deepEqual(
      nodeAt(t, '/cpus').children.map((c) => c.name),
      ['PowerPC,POWER9@0', 'PowerPC,POWER9@4'],
    );
    assert.deepEqual(cells(t, '/cpus/PowerPC,POWER9@4', 'ibm,ppc-interrupt-server#s'), [4, 5, 6, 7]);
    assert.deepEqual(cells(t, '/cpus/PowerPC,POWER9@4', 'ibm,ppc-interrupt-gserver#s'), [4, 0, 5, 0, 6, 0, 7, 0]);
    assert.deepEqual(cells(t, '/cpus/PowerPC,POWER9@4', 'reg'), [4]);
    // Under KVM the MMU byte is what a POWER9 host kernel offers: radix and hash.
    assert.equal(hexOf(prop(t, '/chosen', 'ibm,arch-vec-5-platform-support')), '178018801900' + '1a40');
  });

  test('KVM with SMT and a compatibility mode: the thread list is capped (power6: 2, power7: 4)', () => {
    const p6 = interruptControllerTree(resolveMachine({ accel: 'kvm', cpu: 'POWER9', maxCpuCompat: 'power6', smp: { cpus: 4, threads: 4 } }));
    assert.deepEqual(cells(p6, '/cpus/PowerPC,POWER9@0', 'ibm,ppc-interrupt-server#s'), [0, 1]);
    assert.equal(hexOf(prop(p6, '/chosen', 'ibm,arch-vec-5-platform-support')), '170018001900' + '1a40', 'XICS and hash only');
    const p7 = interruptControllerTree(resolveMachine({ accel: 'kvm', cpu: 'POWER9', maxCpuCompat: 'power7', vsmt: 8, smp: { cpus: 16, threads: 8 } }));
    assert.deepEqual(cells(p7, '/cpus/PowerPC,POWER9@8', 'ibm,ppc-interrupt-server#s'), [8, 9, 10, 11]);
  });

  test('node names use the family: POWER7+ and POWER8E / POWER8NVL share their family name', () => {
    for (const [cpu, family] of [
      ['power7+_v2.1', 'POWER7'],
      ['POWER8E', 'POWER8'],
      ['power8nvl', 'POWER8'],
      ['power10_v1.0', 'POWER10'],
    ] as const) {
      const t = interruptControllerTree(resolveMachine({ type: 'pseries-4.0', cpu, smp: { cpus: 2 } }));
      assert.deepEqual(
        nodeAt(t, '/cpus').children.map((c) => c.name),
        [`PowerPC,${family}@0`, `PowerPC,${family}@8`],
        cpu,
      );
      assert.equal(cpuNodeName(8, cpuModel(cpu)), `PowerPC,${family}@8`);
    }
  });

  test('a configuration and the machine built for it give the same tree', () => {
    const cfg = resolveMachine({ type: 'pseries-3.0', smp: { cpus: 3 }, phbs: [{ index: 2, id: 'b' }] });
    assert.deepEqual(specOfConfig(cfg).phbs, [{ index: 2, id: 'b' }]);
    const a = encodeDtb(interruptControllerTree(cfg));
    const b = encodeDtb(interruptControllerTree(new SpaprMachine({ spec: specOfConfig(cfg), ramSize: 1 << 20 })));
    assert.equal(hexOf(a), hexOf(b));
    assert.deepEqual(new SpaprMachine({ spec: specOfConfig(cfg), ramSize: 1 << 20 }).config, cfg);
    // The console count is a machine option.
    assert.ok(interruptControllerTree(cfg, { vtys: 0 }).node('/vdevice/nvram@71000000'));
  });

  test('after CAS picks XIVE on a dual machine: the XIVE node and the negotiated vector', () => {
    const m = new SpaprMachine({ icMode: 'dual', smp: 2, ramSize: 1 << 20 });
    assert.ok(interruptControllerTree(m).node(XICS_NODE_PATH));
    assert.ok(m.cas(0x40).ok);
    const t = interruptControllerTree(m);
    assert.ok(t.node(XIVE_NODE_PATH));
    assert.equal(t.node(XICS_NODE_PATH), undefined);
    assert.equal(prop(t, '/chosen', 'ibm,architecture-vec-5').length, 24);
    assert.deepEqual(cells(t, '/', 'ibm,plat-res-int-priorities'), [7, 0xf8]);
    // The XICS RTAS calls stay registered.
    assert.deepEqual(cells(t, '/rtas', 'ibm,set-xive'), [0x200a]);
  });

  test('PHB MSI pool: 0xD00 numbers from 0x1300, the whole ICS on legacy machines', () => {
    assert.deepEqual(cells(interruptControllerTree(resolveMachine({})), '/pci@800000020000000', 'ibm,pe-total-#msi'), [0xd00]);
    assert.deepEqual(cells(interruptControllerTree(resolveMachine({ type: 'pseries-2.12' })), '/pci@800000020000000', 'ibm,pe-total-#msi'), [0x400]);
  });
});
