/**
 * PCI host bridges and the default devices' interrupts (fixed numbering from pseries-3.1 on,
 * first-free numbering in creation order before), and the PCI MSI RTAS calls ibm,change-msi and
 * ibm,query-interrupt-source-number: QEMU 7.2's checks and their order, return words,
 * allocation (the unaligned MSI / even MSI-X bitmap search, the legacy ICS search), freeing,
 * reset, and the aborts QEMU hits.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine, type MachineOptions } from '../../src/spapr/machine.ts';
import type { MachineSpec } from '../../src/spapr/machine-config.ts';
import { MachineConfigError } from '../../src/spapr/machine-config.ts';
import { MsiAllocator, SPAPR_IRQ_MSI, legacyFindFree } from '../../src/spapr/irq-map.ts';
import { pciConfigAddress, pciSwizzle, phbBuid, phbNodeName, type SpaprPhb } from '../../src/spapr/phb.ts';
import { MSI_RTAS_TOKENS, RTAS_CHANGE_FN, RTAS_CHANGE_MSIX_FN, RTAS_CHANGE_MSI_FN, RTAS_TYPE_MSI, RTAS_TYPE_MSIX } from '../../src/spapr/rtas-msi.ts';
import { TraceBuffer, type TraceEvent } from '../../src/trace/events.ts';

const PARAM = -3;
const HW = -1;

function machine(spec: MachineSpec = {}, opts: Omit<MachineOptions, 'spec'> = {}): SpaprMachine {
  return new SpaprMachine({ ramSize: 1 << 20, ...opts, spec });
}

/** BUID words of PHB `index` as RTAS arguments 1 and 2. */
function buidArgs(index: number): [number, number] {
  const b = phbBuid(index);
  return [Number(b >> 32n), Number(b & 0xffff_ffffn)];
}

/** ibm,change-msi arguments: config address, BUID, function, count, sequence number. */
function changeArgs(cfg: number, func: number, req: number, seq = 0, phb = 0): number[] {
  return [cfg, ...buidArgs(phb), func, req, seq];
}

function queryArgs(cfg: number, vector: number, phb = 0): number[] {
  return [cfg, ...buidArgs(phb), vector];
}

const CFG0 = pciConfigAddress(0, 0 << 3);
const CFG1 = pciConfigAddress(0, 1 << 3);

function claimedRange(m: SpaprMachine, from: number, n: number): boolean[] {
  return Array.from({ length: n }, (_, i) => m.isClaimed(from + i));
}

describe('PHBs and the default devices', () => {
  test('pseries-7.2: fixed numbers, each PHB with LSIs 0x1200 + 4 * index + pin, claimed as LSIs in both backends', () => {
    const m = machine({ phbs: [{ index: 1 }, { index: 5, id: 'phb5' }] });
    assert.deepEqual(
      m.devices.phbs.map((p) => [p.index, p.id, p.nodeName, p.lsis]),
      [
        [0, null, 'pci@800000020000000', [0x1200, 0x1201, 0x1202, 0x1203]],
        [1, null, 'pci@800000020000001', [0x1204, 0x1205, 0x1206, 0x1207]],
        [5, 'phb5', 'pci@800000020000005', [0x1214, 0x1215, 0x1216, 0x1217]],
      ],
    );
    assert.deepEqual(m.devices.eventSources, [
      { name: 'epow-events', irq: 0x1000 },
      { name: 'hot-plug-events', irq: 0x1001 },
    ]);
    assert.deepEqual(m.devices.vio, [
      { kind: 'vty', reg: 0x71000000, irq: 0x1100 },
      { kind: 'nvram', reg: 0x71000001, irq: 0x1101 },
    ]);
    for (const b of m.intcs) {
      for (const p of m.devices.phbs) for (const irq of p.lsis) assert.ok(b.isClaimed(irq) && b.isLsi(irq), `${b.name} 0x${irq.toString(16)}`);
      for (const irq of [0x1000, 0x1001, 0x1100, 0x1101]) assert.ok(b.isClaimed(irq) && !b.isLsi(irq));
    }
    assert.equal(m.devices.phb(5)?.id, 'phb5');
    assert.equal(m.devices.phb(2), null);
  });

  test('the consoles follow -serial: none, or up to four before the NVRAM', () => {
    assert.deepEqual(machine({}, { vtys: 0 }).devices.vio, [{ kind: 'nvram', reg: 0x71000000, irq: 0x1100 }]);
    assert.deepEqual(
      machine({}, { vtys: 3 }).devices.vio.map((d) => [d.kind, d.irq]),
      [
        ['vty', 0x1100],
        ['vty', 0x1101],
        ['vty', 0x1102],
        ['nvram', 0x1103],
      ],
    );
    assert.throws(() => machine({}, { vtys: 5 }), MachineConfigError);
  });

  test('pseries-3.0 and older: first free number in creation order (events, consoles, NVRAM, PHBs)', () => {
    const m30 = machine({ type: 'pseries-3.0', smp: { cpus: 2 }, phbs: [{ index: 1 }] });
    assert.deepEqual(m30.devices.eventSources.map((e) => e.irq), [0x1000, 0x1001]);
    assert.deepEqual(m30.devices.vio.map((d) => d.irq), [0x1002, 0x1003]);
    assert.deepEqual(m30.devices.phbs.map((p) => p.lsis), [
      [0x1004, 0x1005, 0x1006, 0x1007],
      [0x1008, 0x1009, 0x100a, 0x100b],
    ]);
    // pseries-2.7: no separate hotplug source.
    const m27 = machine({ type: 'pseries-2.7', smp: { cpus: 2 } });
    assert.deepEqual(m27.devices.eventSources, [{ name: 'epow-events', irq: 0x1000 }]);
    assert.deepEqual(m27.devices.vio.map((d) => d.irq), [0x1001, 0x1002]);
    assert.deepEqual(m27.devices.phbs[0]!.lsis, [0x1003, 0x1004, 0x1005, 0x1006]);
    assert.equal(m27.isClaimed(0x1007), false);
  });

  test('PHB index limits: 30, or 255 with the placement of pseries-2.7 and older', () => {
    assert.throws(() => machine({ phbs: [{ index: 31 }] }), { name: 'MachineConfigError', message: '-device spapr-pci-host-bridge,index=31: "index" for PAPR PHB is too large (max 30)' });
    assert.equal(machine({ phbs: [{ index: 30 }] }).devices.phb(30)!.lsis[3], 0x1200 + 30 * 4 + 3);
    assert.equal(machine({ type: 'pseries-2.7', phbs: [{ index: 255 }] }).devices.phb(255)!.nodeName, 'pci@8000000200000ff');
    assert.throws(() => machine({ type: 'pseries-2.7', phbs: [{ index: 256 }] }), { message: '-device spapr-pci-host-bridge,index=256: "index" for PAPR PHB is too large (max 255)' });
    assert.equal(phbNodeName(0), 'pci@800000020000000');
  });

  test('the interrupt-map routes pin P of slot S to LSI (S + P) mod 4', () => {
    const phb = machine({ phbs: [{ index: 2 }] }).devices.phb(2)!;
    const cells: number[] = [];
    const v = phb.interruptMap(0x1111);
    for (let o = 0; o < v.length; o += 4) cells.push(new DataView(v.buffer, v.byteOffset).getUint32(o));
    assert.equal(cells.length, 32 * 4 * 7);
    for (let slot = 0; slot < 32; slot++) {
      for (let pin = 0; pin < 4; pin++) {
        const e = cells.slice((slot * 4 + pin) * 7, (slot * 4 + pin + 1) * 7);
        assert.deepEqual(e, [slot << 11, 0, 0, pin + 1, 0x1111, 0x1208 + pciSwizzle(slot, pin), 1]);
      }
    }
  });

  test("devices 'none': no devices, no PCI MSI calls", () => {
    const m = machine({}, { devices: 'none' });
    assert.equal(m.devices.phbs.length, 0);
    assert.equal(m.isClaimed(0x1000), false);
    assert.equal(Object.hasOwn(m.rtasTokens(), 'ibm,change-msi'), false);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 1), 3), [PARAM]);
  });
});

describe('MSI allocation rules', () => {
  test('allocFor: MSI blocks unaligned, MSI-X blocks on an even number, first fit', () => {
    const a = new MsiAllocator();
    assert.equal(a.allocFor(1, 'msix'), 0x1300);
    assert.equal(a.allocFor(4, 'msi'), 0x1301, 'an MSI block is not aligned to its size');
    assert.equal(a.allocFor(1, 'msix'), 0x1306, 'MSI-X starts on an even number');
    assert.equal(a.allocFor(1, 'msi'), 0x1305);
    assert.equal(a.allocFor(0, 'msi'), -1);
    a.free(0x1301, 4);
    assert.equal(a.allocFor(2, 'msix'), 0x1302, 'a freed even block is found again');
    assert.equal(a.allocFor(0xd00, 'msix'), -1);
    const full = new MsiAllocator();
    assert.equal(full.allocFor(0xcff, 'msi'), 0x1300);
    assert.equal(full.allocFor(1, 'msix'), -1, 'the last number is odd: MSI-X cannot start there');
    assert.equal(full.allocFor(1, 'msi'), 0x1fff);
  });

  test('legacyFindFree: first free run, aligned to its size when asked', () => {
    const used = new Set([0, 1, 2, 5]);
    const free = (s: number): boolean => !used.has(s);
    assert.equal(legacyFindFree(16, 1, false, free), 3);
    assert.equal(legacyFindFree(16, 2, false, free), 3);
    assert.equal(legacyFindFree(16, 2, true, free), 6);
    assert.equal(legacyFindFree(16, 4, true, free), 8);
    assert.equal(legacyFindFree(16, 9, false, free), 6);
    assert.equal(legacyFindFree(16, 11, false, free), -1);
  });
});

describe('ibm,change-msi and ibm,query-interrupt-source-number', () => {
  function withDevices(spec: MachineSpec = {}): { m: SpaprMachine; phb: SpaprPhb; buf: TraceBuffer } {
    const buf = new TraceBuffer();
    const m = machine(spec, { trace: buf });
    const phb = m.devices.phbs[0]!;
    phb.plug({ devfn: 0 << 3, name: 'virtio-rng-pci', msix: 2 });
    phb.plug({ devfn: 1 << 3, name: 'e1000e', msi: 4, msix: 5 });
    phb.plug({ devfn: 2 << 3, name: 'legacy-only' });
    phb.plug({ devfn: 3 << 3, name: 'no-vectors', msix: 0 });
    buf.clear();
    return { m, phb, buf };
  }

  test('tokens are advertised and calls can be made by token', () => {
    const { m } = withDevices();
    assert.equal(m.rtasTokens()['ibm,change-msi'], 0x2019);
    assert.equal(m.rtasTokens()['ibm,query-interrupt-source-number'], 0x2018);
    assert.deepEqual(m.rtas(0, MSI_RTAS_TOKENS['ibm,change-msi'], changeArgs(CFG0, RTAS_CHANGE_FN, 2), 3), [0, 2, 1]);
    assert.deepEqual(m.rtas(0, 0x2018, queryArgs(CFG0, 1), 3), [0, 0x1301, 1]);
  });

  test('MSI-X block for a function: claimed in every backend, numbers and trace as QEMU', () => {
    const { m, phb, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 2, 7), 4), [0, 2, 8, RTAS_TYPE_MSIX]);
    assert.deepEqual(phb.msis.get(CFG0), { firstIrq: 0x1300, num: 2, kind: 'msix' });
    for (const b of m.intcs) assert.deepEqual([b.isClaimed(0x1300), b.isLsi(0x1300), b.isClaimed(0x1301)], [true, false, true]);
    const pci = buf.events.filter((e) => e.name.startsWith('spapr_pci'));
    assert.deepEqual(pci, [
      { name: 'spapr_pci_msi_setup', devName: 'virtio-rng-pci', vector: 0, addr: 0x40000000000n },
      { name: 'spapr_pci_msi_setup', devName: 'virtio-rng-pci', vector: 1, addr: 0x40000000000n },
      { name: 'spapr_pci_rtas_ibm_change_msi', cfg: CFG0, func: RTAS_CHANGE_FN, req: 2, first: 0x1300 },
    ] satisfies TraceEvent[]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 0), 3), [0, 0x1300, 1]);
    assert.deepEqual(phb.msiIrq(CFG0, 1), 0x1301);
  });

  test('return words: nret is not checked, the type word only when nret > 3, the sequence wraps', () => {
    const { m } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_MSIX_FN, 1, 0xffff_ffff), 0), [0, 1, 0]);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 1, 1), 7), [0, 1, 2, RTAS_TYPE_MSI]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG1, 0), 0), [0, 0x1301, 1]);
  });

  test('function codes: change picks MSI before MSI-X; MSI / MSI-X need the capability; others are refused', () => {
    const { m, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_FN, 1), 4), [0, 1, 1, RTAS_TYPE_MSI]);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_MSI_FN, 1), 4), [PARAM], 'no MSI capability');
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSIX_FN, 1), 4), [0, 1, 1, RTAS_TYPE_MSIX]);
    const cfg2 = pciConfigAddress(0, 2 << 3);
    for (const f of [RTAS_CHANGE_FN, RTAS_CHANGE_MSI_FN, RTAS_CHANGE_MSIX_FN]) assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(cfg2, f, 1), 3), [PARAM]);
    buf.clear();
    for (const f of [0, 2, 5, 0xffff_ffff]) assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, f, 1), 3), [PARAM]);
    assert.deepEqual(
      buf.events.map((e) => (e.name === 'guest_error' ? e.message : e.name)),
      ['rtas_ibm_change_msi(0) is not implemented', 'rtas_ibm_change_msi(2) is not implemented', 'rtas_ibm_change_msi(5) is not implemented', 'rtas_ibm_change_msi(4294967295) is not implemented'],
    );
  });

  test('parameter errors: unknown BUID, no function at the address (bus and devfn bytes), missing words read as 0', () => {
    const { m, buf } = withDevices({ phbs: [{ index: 1 }] });
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 1, 0, 1), 3), [PARAM], 'PHB 1 has no function');
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', [CFG0, 0, 0x2000_0000, RTAS_CHANGE_FN, 1, 0], 3), [PARAM], 'BUID high word missing');
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(pciConfigAddress(1, 0), RTAS_CHANGE_FN, 1), 3), [PARAM], 'bus 1');
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(pciConfigAddress(0, 7 << 3), 0), 3), [PARAM]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', [CFG0], 3), [PARAM], 'BUID 0');
    // The register byte does not select the function, but the block is kept under the whole address.
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0 | 0x40, RTAS_CHANGE_FN, 1), 3), [0, 1, 1]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 0), 3), [HW]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0 | 0x40, 0), 3), [0, 0x1300, 1]);
    // Three words: function and count read as 0, an unknown function.
    buf.clear();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', [CFG0, ...buidArgs(0)], 3), [PARAM]);
    assert.deepEqual(buf.events, [{ name: 'guest_error', message: 'rtas_ibm_change_msi(0) is not implemented' }]);
  });

  test('releasing: a count of 0 frees the block (bitmap and claims); without a block it is a hardware error', () => {
    const { m, phb, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 0), 3), [HW]);
    assert.deepEqual(buf.events, [{ name: 'spapr_pci_msi', msg: 'Releasing wrong config', ca: CFG0 }]);
    m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 1), 3);
    buf.clear();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 0), 3), [0, 0]);
    assert.equal(phb.msis.size, 0);
    assert.ok(m.msi.isEmpty());
    assert.equal(m.isClaimed(0x1300), false);
    assert.deepEqual(
      buf.events.filter((e) => e.name.startsWith('spapr_pci')),
      [
        { name: 'spapr_pci_msi_setup', devName: 'e1000e', vector: 0, addr: 0n },
        { name: 'spapr_pci_msi', msg: 'Released MSIs', ca: CFG1 },
      ],
    );
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG1, 0), 3), [HW]);
  });

  test('asking for more than the function has: the count it can have, nothing allocated', () => {
    const { m, phb, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 3, 41), 4), [0, 2, 42, RTAS_TYPE_MSIX]);
    assert.equal(phb.msis.size, 0);
    assert.ok(m.msi.isEmpty());
    assert.deepEqual(buf.events, [
      { name: 'spapr_pci_msi_retry', configAddr: CFG0, reqNum: 3, maxIrqs: 2 },
      { name: 'spapr_pci_rtas_ibm_change_msi', cfg: CFG0, func: RTAS_CHANGE_FN, req: 2, first: 0 },
    ]);
  });

  test('a capability with no vectors is a hardware error', () => {
    const { m, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(pciConfigAddress(0, 3 << 3), RTAS_CHANGE_FN, 1), 3), [HW]);
    assert.deepEqual(buf.events, [{ name: 'guest_error', message: 'Requested interrupt type 2 is not enabled for device 1800' }]);
  });

  test('changing a block: the new one is taken before the old one is freed', () => {
    const { m, phb } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSIX_FN, 2), 3), [0, 2, 1]);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSIX_FN, 4), 3), [0, 4, 1]);
    assert.deepEqual(phb.msis.get(CFG1), { firstIrq: 0x1302, num: 4, kind: 'msix' });
    assert.deepEqual(claimedRange(m, 0x1300, 7), [false, false, true, true, true, true, false]);
    assert.deepEqual([...m.msi.bitmap.subarray(0, 7)], [0, 0, 1, 1, 1, 1, 0]);
  });

  test('an unaligned MSI block (QEMU drops the alignment) makes the device signal numbers outside it', () => {
    const { m, phb } = withDevices();
    m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_MSIX_FN, 1), 3);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 4), 4), [0, 4, 1, RTAS_TYPE_MSI]);
    assert.deepEqual(phb.msis.get(CFG1), { firstIrq: 0x1301, num: 4, kind: 'msi' });
    assert.deepEqual([0, 1, 2, 3].map((v) => m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG1, v), 3)[1]), [0x1301, 0x1302, 0x1303, 0x1304]);
    assert.deepEqual([0, 1, 2, 3].map((v) => phb.msiIrq(CFG1, v)), [0x1300, 0x1301, 0x1302, 0x1303]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG1, 4), 3), [HW]);
  });

  test('a number already claimed elsewhere: hardware error, everything taken is given back', () => {
    const { m, phb, buf } = withDevices();
    assert.ok(m.claimIrq(0x1301, false));
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 2), 3), [HW]);
    assert.equal(phb.msis.size, 0);
    assert.ok(m.msi.isEmpty());
    assert.deepEqual(claimedRange(m, 0x1300, 2), [false, true]);
    assert.deepEqual(
      buf.events.filter((e) => e.name === 'guest_error'),
      [{ name: 'guest_error', message: "Can't allocate MSIs for device 0: IRQ 4865 is not free" }],
    );
  });

  test('no room left: QEMU misses the failure and aborts, the machine halts', () => {
    const { m, phb } = withDevices();
    assert.equal(m.msi.alloc(0xcff, false), SPAPR_IRQ_MSI);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 2), 3), []);
    assert.match(m.halted ?? '', /QEMU aborts/);
    assert.equal(phb.msis.size, 0);
  });

  test('machine reset frees every block', () => {
    const { m, phb } = withDevices({ icMode: 'dual' });
    m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 2), 3);
    m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 4), 3);
    assert.equal(phb.msis.size, 2);
    m.reset();
    assert.equal(phb.msis.size, 0);
    assert.ok(m.msi.isEmpty());
    for (const b of m.intcs) assert.deepEqual(claimedRange(m, 0x1300, 6).map((_, i) => b.isClaimed(0x1300 + i)), [false, false, false, false, false, false]);
    assert.ok(m.isClaimed(0x1200), 'the LSIs stay claimed');
  });

  test('pseries-3.0: MSIs come from the ICS first-free search (MSI aligned to its size), no bitmap', () => {
    const { m, phb } = withDevices({ type: 'pseries-3.0', smp: { cpus: 1 } });
    // 0x1000..0x1007 are the event sources, VIO devices and PHB 0's LSIs.
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_MSIX_FN, 1), 3), [0, 1, 1]);
    assert.deepEqual(phb.msis.get(CFG0)?.firstIrq, 0x1008);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSI_FN, 4), 3), [0, 4, 1]);
    assert.deepEqual(phb.msis.get(CFG1)?.firstIrq, 0x100c, 'aligned to 4');
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(CFG1, RTAS_CHANGE_MSIX_FN, 3), 3), [0, 3, 1]);
    assert.deepEqual(phb.msis.get(CFG1)?.firstIrq, 0x1009, 'MSI-X: any start; the old block is freed after');
    assert.deepEqual(claimedRange(m, 0x1008, 8), [true, true, true, true, false, false, false, false]);
    assert.ok(m.msi.isEmpty(), 'the bitmap is not used');
    m.reset();
    assert.deepEqual(claimedRange(m, 0x1008, 4), [false, false, false, false]);
  });

  test('pseries-3.0: no free block is a hardware error; an MSI count QEMU cannot align aborts', () => {
    const { m, phb, buf } = withDevices({ type: 'pseries-3.0' });
    const big = pciConfigAddress(0, 4 << 3);
    phb.plug({ devfn: 4 << 3, msix: 2048, msi: 32 });
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(big, RTAS_CHANGE_MSIX_FN, 0x3f9), 3), [HW]);
    assert.deepEqual(buf.events.at(-1), { name: 'guest_error', message: "Can't allocate MSIs for device 2000: can't find a free 1017-IRQ block" });
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(big, RTAS_CHANGE_MSIX_FN, 0x3f8), 3), [0, 0x3f8, 1]);
    assert.equal(m.halted, null);
    assert.deepEqual(m.rtas(0, 'ibm,change-msi', changeArgs(big, RTAS_CHANGE_MSI_FN, 3), 3), []);
    assert.match(m.halted ?? '', /QEMU aborts/);
  });

  test('query: no block or a vector past its end is a hardware error', () => {
    const { m, buf } = withDevices();
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 0), 3), [HW]);
    assert.deepEqual(buf.events, [{ name: 'spapr_pci_msi', msg: 'Failed to return vector', ca: CFG0 }]);
    m.rtas(0, 'ibm,change-msi', changeArgs(CFG0, RTAS_CHANGE_FN, 2), 3);
    buf.clear();
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 1), 3), [0, 0x1301, 1]);
    assert.deepEqual(buf.events, [{ name: 'spapr_pci_rtas_ibm_query_interrupt_source_number', ioa: 1, intr: 0x1301 }]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 2), 3), [HW]);
    assert.deepEqual(m.rtas(0, 'ibm,query-interrupt-source-number', queryArgs(CFG0, 0xffff_ffff), 3), [HW]);
  });

  test('plugging: one function per bus/devfn, sane counts', () => {
    const { phb } = withDevices();
    assert.throws(() => phb.plug({ devfn: 0 }), /already has a function/);
    assert.throws(() => phb.plug({ devfn: 256 }), /out of 0..255/);
    assert.throws(() => phb.plug({ devfn: 9, msi: -1 }), /MSI vector count/);
    assert.equal(phb.functionAt(pciConfigAddress(0, 8, 0x44))?.name, 'e1000e');
  });
});
