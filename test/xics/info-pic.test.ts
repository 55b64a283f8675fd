/**
 * `info pic` in XICS form (docs/xics.md §7): ICP lines with `((nil))` or the pointer token, the ICS
 * header padded to width 4, claimed sources only with their raw status byte, the irqchip line,
 * and pointer masking for comparisons with captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XICS_PIC_POINTER, icpPicLine, icsPicLines, maskPicPointers, xicsInfoPic, xicsPicLines } from '../../src/xics/info-pic.ts';
import { Ics } from '../../src/xics/ics.ts';
import { SimpleXicsFabric } from '../../src/xics/icp.ts';
import { rig, src } from './helpers.ts';
import { captureText } from '../support/captures.ts';

const PIC = captureText('xics-smp2', 'pic');

test('the token is shaped like a glibc %p of a heap address', () => {
  assert.match(XICS_PIC_POINTER, /^0x[0-9a-f]{12}$/);
});

test('machine after reset, default devices, Linux request_irq on 0x1000/0x1001/0x1100: the captured text', () => {
  const r = rig({ open: true, trace: false });
  for (const irq of [0x1000, 0x1001, 0x1100]) r.ics.writeXive(src(irq), 0, 5, 5);
  const text = xicsInfoPic(r.icps, r.ics);
  assert.equal(text, maskPicPointers(PIC));
  assert.equal(text.split('\n')[2], `ICS 1000..1fff ${XICS_PIC_POINTER}`);
  assert.ok(text.endsWith('irqchip: emulated\n'));
  assert.ok(xicsInfoPic(r.icps, r.ics, 'in-kernel').endsWith('irqchip: in-kernel\n'));
});

test('an ICP with an owner ICS prints the pointer token; PP and MFRR as two hex digits', () => {
  const r = rig({ open: true, trace: false });
  r.ics.writeXive(src(0x1100), 1, 5, 5);
  r.ics.setIrq(src(0x1100), true);
  r.icps[0]!.setMfrr(4);
  assert.equal(icpPicLine(r.icps[1]!), `CPU 1 XIRR=ff001100 (${XICS_PIC_POINTER}) PP=05 MFRR=ff`);
  assert.equal(icpPicLine(r.icps[0]!), 'CPU 0 XIRR=ff000002 ((nil)) PP=04 MFRR=04');
  const fresh = rig({ trace: false });
  assert.equal(icpPicLine(fresh.icps[0]!), 'CPU 0 XIRR=00000000 ((nil)) PP=ff MFRR=ff');
});

test('source lines: claimed only, ascending, LSI/MSI, current priority, raw status', () => {
  const r = rig({ open: true, trace: false });
  r.ics.setIrq(src(0x1201), true); // LSI asserted while masked: status 01
  r.ics.setIrq(src(0x1101), true); // MSI masked pending: 08
  r.ics.setIrq(src(0x1700), true); // unclaimed: not printed
  r.ics.claim(0x1fff, false);
  assert.deepEqual(icsPicLines(r.ics), [
    `ICS 1000..1fff ${XICS_PIC_POINTER}`,
    '  1000 MSI ff 00',
    '  1001 MSI ff 00',
    '  1100 MSI ff 00',
    '  1101 MSI ff 08',
    '  1200 LSI ff 00',
    '  1201 LSI ff 01',
    '  1202 LSI ff 00',
    '  1203 LSI ff 00',
    '  1fff MSI ff 00',
  ]);
  r.ics.free(0x1fff);
  assert.equal(icsPicLines(r.ics).length, 9);
});

test('%4x pads with spaces; wider numbers are not cut', () => {
  const f = new SimpleXicsFabric();
  const small = new Ics(f, 0x10, 0x10);
  small.claim(0x12, true);
  assert.deepEqual(icsPicLines(small), [`ICS   10..  1f ${XICS_PIC_POINTER}`, '    12 LSI ff 00']);
  const legacy = new Ics(f, 0x1000, 0x400);
  assert.equal(icsPicLines(legacy)[0], `ICS 1000..13ff ${XICS_PIC_POINTER}`);
  const wide = new Ics(f, 0x10000, 2);
  wide.claim(0x10001, false);
  assert.deepEqual(icsPicLines(wide), [`ICS 10000..10001 ${XICS_PIC_POINTER}`, '  10001 MSI ff 00']);
});

test('vCPUs without an ICP are skipped', () => {
  const r = rig({ trace: false });
  const lines = xicsPicLines([r.icps[1]!, null], r.ics);
  assert.equal(lines[0], 'CPU 1 XIRR=00000000 ((nil)) PP=ff MFRR=ff');
  assert.match(lines[1]!, /^ICS /);
});

test('maskPicPointers rewrites ICS and owner pointers only', () => {
  const captured = ['CPU 0 XIRR=ff001000 (0x55d26872af40) PP=05 MFRR=ff', 'CPU 1 XIRR=ff000000 ((nil)) PP=ff MFRR=ff', 'ICS 1000..1fff 0x55d26872af40', '  1000 MSI 05 00', 'irqchip: emulated', ''].join('\n');
  assert.equal(
    maskPicPointers(captured),
    [`CPU 0 XIRR=ff001000 (${XICS_PIC_POINTER}) PP=05 MFRR=ff`, 'CPU 1 XIRR=ff000000 ((nil)) PP=ff MFRR=ff', `ICS 1000..1fff ${XICS_PIC_POINTER}`, '  1000 MSI 05 00', 'irqchip: emulated', ''].join('\n'),
  );
  assert.equal(maskPicPointers(maskPicPointers(captured)), maskPicPointers(captured));
});
