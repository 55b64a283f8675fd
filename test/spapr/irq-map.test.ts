/**
 * The pseries IRQ number space (docs/spapr-xive.md §1.2), the MSI number allocator over 0x1300-0x1FFF,
 * and the CAS interrupt-mode negotiation rules (§4.2, §4.3) as pure functions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MsiAllocator,
  SPAPR_IRQ_EPOW,
  SPAPR_IRQ_HOTPLUG,
  SPAPR_IRQ_MSI,
  SPAPR_IRQ_PCI_LSI,
  SPAPR_IRQ_VIO,
  SPAPR_MAX_CPUS,
  SPAPR_NR_XIRQS,
  SPAPR_XIRQ_BASE,
  SPAPR_XIVE_NR_IRQS,
  pciLsiIrq,
  vioIrq,
} from '../../src/spapr/irq-map.ts';
import { negotiateIcMode, platformSupportByte, OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT, OV5_XIVE_EITHER } from '../../src/spapr/cas.ts';

test('LISN space: IPIs below 0x1000, fixed device numbers, 0x2000 XIVE sources, 4096 CPUs', () => {
  assert.equal(SPAPR_XIRQ_BASE, 0x1000);
  assert.equal(SPAPR_NR_XIRQS, 0x1000);
  assert.equal(SPAPR_XIVE_NR_IRQS, 0x2000);
  assert.equal(SPAPR_MAX_CPUS, 4096);
  assert.equal(SPAPR_IRQ_EPOW, 0x1000);
  assert.equal(SPAPR_IRQ_HOTPLUG, 0x1001);
  assert.equal(SPAPR_IRQ_VIO, 0x1100);
  assert.equal(SPAPR_IRQ_PCI_LSI, 0x1200);
  assert.equal(SPAPR_IRQ_MSI, 0x1300);
  assert.equal(vioIrq(0), 0x1100);
  assert.equal(vioIrq(1), 0x1101);
  assert.deepEqual([0, 1, 2, 3].map((pin) => pciLsiIrq(0, pin)), [0x1200, 0x1201, 0x1202, 0x1203]);
  assert.equal(pciLsiIrq(1, 0), 0x1204);
  assert.equal(pciLsiIrq(31, 3), 0x127f, 'last PHB LSI');
});

test('MSI allocator: first fit from 0x1300, 0xD00 numbers, power-of-two alignment on request', () => {
  const a = new MsiAllocator();
  assert.equal(a.size, 0xd00);
  assert.equal(a.isEmpty(), true);
  assert.equal(a.alloc(1, false), 0x1300);
  assert.equal(a.alloc(3, true), 0x1304, 'aligned to 4');
  assert.equal(a.alloc(2, false), 0x1301);
  assert.equal(a.alloc(1, false), 0x1303);
  assert.equal(a.alloc(0, false), -1);
  assert.equal(a.alloc(0xd00, false), -1);
  assert.equal(a.isEmpty(), false);
  a.free(0x1300, 8);
  assert.equal(a.isEmpty(), true);
  assert.equal(a.alloc(0xd00, false), 0x1300);
  assert.equal(a.alloc(1, false), -1, 'exhausted');
  a.free(0x1fff, 1);
  assert.equal(a.alloc(1, true), 0x1fff, 'the last number is usable');
  a.reset();
  assert.equal(a.isEmpty(), true);
});

test('CAS: byte 23 values and the outcomes on an XIVE-only machine', () => {
  assert.equal(OV5_INT_CTRL_BYTE, 23);
  assert.equal(platformSupportByte('xive'), 0x40);
  assert.equal(platformSupportByte('dual'), 0x80);
  assert.equal(platformSupportByte('xics'), 0x00);
  assert.deepEqual(negotiateIcMode(false, true, OV5_XIVE_EXPLOIT), { ok: true, xive: true });
  assert.deepEqual(negotiateIcMode(true, true, OV5_XIVE_EXPLOIT), { ok: true, xive: true });
  assert.deepEqual(negotiateIcMode(true, true, 0), { ok: true, xive: false });
  assert.deepEqual(negotiateIcMode(true, true, OV5_XIVE_EITHER), { ok: false, fatal: 'guest requested an invalid interrupt mode' });
  assert.deepEqual(negotiateIcMode(true, false, OV5_XIVE_EXPLOIT), {
    ok: false,
    fatal: 'Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property',
  });
  assert.deepEqual(negotiateIcMode(false, true, 0), {
    ok: false,
    fatal: "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual",
  });
});
