/**
 * XICS replay of device interrupts, on the event sequences QEMU 7.2 printed for a virtio-rng
 * device (MSI, then an LSI rejected on a priority tie and resent after the EOI), as recorded in
 * docs/xics.md §6.4. The levels of set_irq events are not printed: the replay infers
 * them from what follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayTrace } from '../../src/replay/replay.ts';

const CAS = ['spapr_cas_pvr current=0x0, explicit_match=1, new=0xf000005', 'spapr_cas_continue Copy changes to the guest: 14595 bytes'];

const MSI_THEN_LSI = [
  ...CAS,
  // request_irq of 0x1301 (MSI) and 0x1201 (INTx): set-xive, int-on, set-xive
  ...['0x1301 [src 769]', '0x1201 [src 513]'].flatMap((s) => Array(3).fill(`xics_ics_write_xive ics_write_xive: irq ${s} server 0x0 prio 0x5`)),
  'spapr_pci_msi_write @0x0<=0x1301 IRQ 4865',
  'xics_ics_set_irq_msi set_irq_msi: srcno 769 [irq 0x1301]',
  'xics_icp_irq cpu 0 trying to deliver irq 0x1301 priority 0x5',
  'xics_icp_raise raising IRQ new XIRR=0xff001301 new pending priority=0x5',
  'xics_ics_set_irq_msi set_irq_msi: srcno 769 [irq 0x1301]',
  'spapr_pci_lsi_set pci@800000020000000 PIN1 IRQ 4609',
  'xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]',
  'xics_icp_irq cpu 0 trying to deliver irq 0x1201 priority 0x5',
  'xics_ics_reject reject irq 0x1201 [src 513]',
  'xics_icp_accept icp_accept: XIRR 0xff001301->0x5000000',
  'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001301 new XIRR 0xff000000',
  'xics_ics_eoi ics_eoi: irq 0x1301',
  'xics_icp_irq cpu 0 trying to deliver irq 0x1201 priority 0x5',
  'xics_icp_raise raising IRQ new XIRR=0xff001201 new pending priority=0x5',
  'xics_icp_accept icp_accept: XIRR 0xff001201->0x5000000',
  'spapr_pci_lsi_set pci@800000020000000 PIN1 IRQ 4609',
  'xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]',
  'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001201 new XIRR 0xff000000',
  'xics_ics_eoi ics_eoi: irq 0x1201',
];

test('MSI delivery, LSI rejected on a tie and resent after the EOI', () => {
  const r = replayTrace(MSI_THEN_LSI.join('\n') + '\n', { smp: 2, icMode: 'xics' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
  assert.ok(r.notes.some((n) => n.startsWith('IRQ 0x1301 claimed as MSI')), r.notes.join('; '));
  const pic = r.pic.split('\n');
  assert.ok(pic.includes('  1301 MSI 05 00'), r.pic);
  assert.ok(pic.includes('  1201 LSI 05 00'), r.pic); // deasserted, not sent
  assert.ok(pic.includes('CPU 0 XIRR=ff000000 ((nil)) PP=ff MFRR=ff'), r.pic);
  assert.equal(r.skipped.get('spapr_pci_lsi_set'), 2);
});

test('a missing reject line is a divergence', () => {
  const lines = MSI_THEN_LSI.filter((l) => !l.startsWith('xics_ics_reject'));
  const r = replayTrace(lines.join('\n') + '\n', { smp: 2, icMode: 'xics' });
  assert.equal(r.status, 'diverged');
  assert.match(r.divergence!.model, /reject irq 0x1201/);
});

test('an MSI fired while masked latches masked-pending and is delivered when unmasked', () => {
  const lines = [
    ...CAS,
    'xics_ics_write_xive ics_write_xive: irq 0x1300 [src 768] server 0x1 prio 0xff',
    'xics_ics_set_irq_msi set_irq_msi: srcno 768 [irq 0x1300]',
    'xics_masked_pending set_irq_msi: masked pending',
    'xics_ics_set_irq_msi set_irq_msi: srcno 768 [irq 0x1300]',
    'xics_ics_write_xive ics_write_xive: irq 0x1300 [src 768] server 0x1 prio 0x5',
    'xics_icp_irq cpu 1 trying to deliver irq 0x1300 priority 0x5',
    'xics_icp_raise raising IRQ new XIRR=0xff001300 new pending priority=0x5',
  ];
  const r = replayTrace(lines.join('\n') + '\n', { smp: 2, icMode: 'xics' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
  assert.ok(r.pic.split('\n').includes('CPU 1 XIRR=ff001300 ((nil)) PP=05 MFRR=ff') || /CPU 1 XIRR=ff001300 \(0x[0-9a-f]+\) PP=05 MFRR=ff/.test(r.pic), r.pic);
});
