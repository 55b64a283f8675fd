/**
 * The XICS source controller rules (docs/xics.md §2.2, §3.2, §3.5, §3.9-§3.12): reset/claim/free,
 * MSI and LSI input, masked-pending, write_xive, reject, EOI and the ascending resend walk, each
 * with the exact trace lines QEMU 7.2 prints.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ics,
  XICS_FLAGS_IRQ_LSI,
  XICS_FLAGS_IRQ_MSI,
  XICS_IRQ_BASE,
  XICS_NR_IRQS,
  XICS_STATUS_ASSERTED,
  XICS_STATUS_MASKED_PENDING,
  XICS_STATUS_REJECTED,
  XICS_STATUS_SENT,
} from '../../src/xics/ics.ts';
import { SimpleXicsFabric } from '../../src/xics/icp.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { rig, src, take } from './helpers.ts';
import { guestErrors } from '../support/trace.ts';

describe('ICS state, claim, free, reset', () => {
  test('defaults: offset 0x1000, 0x1000 sources, all masked on server 0', () => {
    const ics = new Ics(new SimpleXicsFabric());
    assert.equal(ics.offset, XICS_IRQ_BASE);
    assert.equal(ics.nrIrqs, XICS_NR_IRQS);
    assert.equal(ics.offset, 0x1000);
    assert.equal(ics.nrIrqs, 0x1000);
    assert.ok(ics.priority.every((p) => p === 0xff));
    assert.ok(ics.savedPriority.every((p) => p === 0xff));
    assert.ok(ics.server.every((s) => s === 0));
    assert.ok(ics.status.every((s) => s === 0));
    assert.ok(ics.flags.every((s) => s === 0));
    assert.equal(ics.validIrq(0xfff), false);
    assert.equal(ics.validIrq(0x1000), true);
    assert.equal(ics.validIrq(0x1fff), true);
    assert.equal(ics.validIrq(0x2000), false);
    assert.equal(ics.validIrq(2), false);
  });

  test('bad geometry is host misuse', () => {
    const f = new SimpleXicsFabric();
    assert.throws(() => new Ics(f, 0), XiveUsageError);
    assert.throws(() => new Ics(f, 0x1000, 0), XiveUsageError);
    assert.throws(() => new Ics(f, 0xfff000, 0x2000), XiveUsageError);
    assert.throws(() => new Ics(f, 1.5), XiveUsageError);
  });

  test('claim sets the kind once; a second claim fails (IRQ is not free)', () => {
    const { ics } = rig({ defaults: false });
    assert.equal(ics.claim(0x1300, false), true);
    assert.equal(ics.flags[0x300], XICS_FLAGS_IRQ_MSI);
    assert.equal(ics.claim(0x1300, true), false);
    assert.equal(ics.flags[0x300], XICS_FLAGS_IRQ_MSI);
    assert.equal(ics.claim(0x1200, true), true);
    assert.equal(ics.flags[0x200], XICS_FLAGS_IRQ_LSI);
    assert.equal(ics.isLsi(0x200), true);
    assert.equal(ics.isClaimed(0x201), false);
    assert.throws(() => ics.claim(0x2000, false), XiveUsageError);
    assert.throws(() => ics.claim(2, false), XiveUsageError);
  });

  test('claim keeps server and priorities; free zeroes the entry (priority 0); reset restores 0xff and keeps flags', () => {
    const r = rig({ defaults: false, trace: false });
    const { ics } = r;
    ics.claim(0x1300, false);
    ics.writeXive(0x300, 1, 5, 6);
    ics.free(0x1300);
    assert.deepEqual([ics.server[0x300], ics.priority[0x300], ics.savedPriority[0x300], ics.status[0x300], ics.flags[0x300]], [0, 0, 0, 0, 0]);
    ics.writeXive(0x300, 1, 5, 6);
    ics.claim(0x1300, true);
    assert.deepEqual([ics.server[0x300], ics.priority[0x300], ics.savedPriority[0x300]], [1, 5, 6]);
    ics.setIrq(0x300, true);
    assert.notEqual(ics.status[0x300], 0);
    ics.reset();
    assert.deepEqual([ics.server[0x300], ics.priority[0x300], ics.savedPriority[0x300], ics.status[0x300], ics.flags[0x300]], [0, 0xff, 0xff, 0, XICS_FLAGS_IRQ_LSI]);
  });

  test('host misuse of source numbers and priorities throws', () => {
    const { ics } = rig();
    assert.throws(() => ics.setIrq(-1, true), XiveUsageError);
    assert.throws(() => ics.setIrq(0x1000, true), XiveUsageError);
    assert.throws(() => ics.writeXive(0x1000, 0, 5, 5), XiveUsageError);
    assert.throws(() => ics.writeXive(0, 0, 0x100, 5), XiveUsageError);
    assert.throws(() => ics.writeXive(0, 0, 5, -1), XiveUsageError);
    assert.throws(() => ics.writeXive(0, -1, 5, 5), XiveUsageError);
    assert.throws(() => ics.reject(0xfff), XiveUsageError);
    assert.throws(() => ics.eoi(0x2000), XiveUsageError);
  });
});

describe('MSI input', () => {
  test('unmasked MSI pulse: set_irq_msi, delivery, raise, then the pulse tail', () => {
    const r = rig({ open: true });
    r.ics.writeXive(src(0x1000), 0, 5, 5);
    take(r);
    r.ics.setIrq(src(0x1000), true);
    r.ics.setIrq(src(0x1000), false);
    assert.deepEqual(take(r), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001000 new pending priority=0x5',
      'xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]',
    ]);
    assert.equal(r.icps[0]!.xirr, 0xff001000);
    assert.equal(r.ics.status[0], 0);
  });

  test('masked MSI latches MASKED_PENDING; unmasking by write_xive delivers it', () => {
    const r = rig({ open: true });
    r.ics.setIrq(src(0x1001), true);
    assert.deepEqual(take(r), ['xics_ics_set_irq_msi set_irq_msi: srcno 1 [irq 0x1001]', 'xics_masked_pending set_irq_msi: masked pending']);
    assert.equal(r.ics.status[1], XICS_STATUS_MASKED_PENDING);
    // Still masked: stays pending, nothing delivered.
    r.ics.writeXive(1, 1, 0xff, 4);
    assert.deepEqual(take(r), ['xics_ics_write_xive ics_write_xive: irq 0x1001 [src 1] server 0x1 prio 0xff']);
    assert.equal(r.ics.status[1], XICS_STATUS_MASKED_PENDING);
    r.ics.writeXive(1, 1, 4, 4);
    assert.deepEqual(take(r), [
      'xics_ics_write_xive ics_write_xive: irq 0x1001 [src 1] server 0x1 prio 0x4',
      'xics_icp_irq cpu 1 trying to deliver irq 0x1001 priority 0x4',
      'xics_icp_raise raising IRQ new XIRR=0xff001001 new pending priority=0x4',
    ]);
    assert.equal(r.ics.status[1], 0);
    assert.equal(r.icps[1]!.xisr, 0x1001);
  });

  test('level 0 on a masked MSI does not latch anything', () => {
    const r = rig();
    r.ics.setIrq(src(0x1000), false);
    assert.deepEqual(take(r), ['xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]']);
    assert.equal(r.ics.status[0], 0);
  });

  test('an unclaimed source takes the MSI path; rejecting it changes nothing', () => {
    const r = rig();
    const s = src(0x1500);
    r.ics.setIrq(s, true);
    assert.deepEqual(take(r), ['xics_ics_set_irq_msi set_irq_msi: srcno 1280 [irq 0x1500]', 'xics_masked_pending set_irq_msi: masked pending']);
    r.ics.writeXive(s, 0, 5, 5);
    // CPU 0 still has CPPR 0 (reset): the delivery is refused and the unclaimed source forgets it.
    assert.deepEqual(take(r), [
      'xics_ics_write_xive ics_write_xive: irq 0x1500 [src 1280] server 0x0 prio 0x5',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1500 priority 0x5',
      'xics_ics_reject reject irq 0x1500 [src 1280]',
    ]);
    assert.equal(r.ics.status[s], 0);
  });

  test('a rejected MSI is not retried by write_xive, only by a resend', () => {
    const r = rig();
    r.ics.writeXive(0, 0, 5, 5);
    r.ics.setIrq(0, true); // CPPR 0: rejected
    assert.equal(r.ics.status[0], XICS_STATUS_REJECTED);
    take(r);
    r.ics.writeXive(0, 1, 5, 5);
    assert.deepEqual(take(r), ['xics_ics_write_xive ics_write_xive: irq 0x1000 [src 0] server 0x1 prio 0x5']);
    assert.equal(r.ics.status[0], XICS_STATUS_REJECTED);
    r.icps[1]!.setCppr(0xff);
    assert.deepEqual(take(r), [
      'xics_icp_irq cpu 1 trying to deliver irq 0x1000 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001000 new pending priority=0x5',
    ]);
    assert.equal(r.ics.status[0], 0);
  });

  test('a rejected MSI masked before the resend is dropped, not made MASKED_PENDING', () => {
    const r = rig();
    r.ics.writeXive(0, 0, 5, 5);
    r.ics.setIrq(0, true);
    r.ics.writeXive(0, 0, 0xff, 5);
    take(r);
    r.icps[0]!.setCppr(0xff);
    assert.deepEqual(take(r), []);
    assert.equal(r.ics.status[0], 0);
    r.ics.writeXive(0, 0, 5, 5);
    assert.deepEqual(take(r), ['xics_ics_write_xive ics_write_xive: irq 0x1000 [src 0] server 0x0 prio 0x5']);
    assert.equal(r.icps[0]!.xisr, 0);
  });
});

describe('LSI input', () => {
  test('asserted while masked: kept ASSERTED, presented when unmasked, SENT until EOI', () => {
    const r = rig({ open: true });
    const s = src(0x1201);
    r.ics.setIrq(s, true);
    assert.deepEqual(take(r), ['xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]']);
    assert.equal(r.ics.status[s], XICS_STATUS_ASSERTED);
    r.ics.writeXive(s, 0, 5, 5);
    assert.deepEqual(take(r), [
      'xics_ics_write_xive ics_write_xive: irq 0x1201 [src 513] server 0x0 prio 0x5',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1201 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001201 new pending priority=0x5',
    ]);
    assert.equal(r.ics.status[s], XICS_STATUS_ASSERTED | XICS_STATUS_SENT);
    // A second assertion while SENT presents nothing more.
    r.ics.setIrq(s, true);
    assert.deepEqual(take(r), ['xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]']);
    // Deasserting does not withdraw it from the ICP.
    r.ics.setIrq(s, false);
    assert.equal(r.ics.status[s], XICS_STATUS_SENT);
    assert.equal(r.icps[0]!.xisr, 0x1201);
    take(r);
    r.ics.eoi(0x1201);
    assert.deepEqual(take(r), ['xics_ics_eoi ics_eoi: irq 0x1201']);
    assert.equal(r.ics.status[s], 0);
  });

  test('reject of an LSI clears SENT; of an MSI sets REJECTED', () => {
    const r = rig();
    const l = src(0x1200);
    r.ics.status[l] = XICS_STATUS_ASSERTED | XICS_STATUS_SENT;
    r.ics.reject(0x1200);
    assert.equal(r.ics.status[l], XICS_STATUS_ASSERTED);
    r.ics.reject(0x1100);
    assert.equal(r.ics.status[src(0x1100)], XICS_STATUS_REJECTED);
    assert.deepEqual(take(r), ['xics_ics_reject reject irq 0x1200 [src 512]', 'xics_ics_reject reject irq 0x1100 [src 256]']);
  });

  test('EOI of an MSI only traces', () => {
    const r = rig();
    r.ics.status[0] = XICS_STATUS_REJECTED;
    r.ics.eoi(0x1000);
    assert.equal(r.ics.status[0], XICS_STATUS_REJECTED);
    assert.deepEqual(take(r), ['xics_ics_eoi ics_eoi: irq 0x1000']);
  });

  test('an asserted LSI refused by the ICP is re-presented by a later resend', () => {
    const r = rig();
    const s = src(0x1203);
    r.ics.writeXive(s, 1, 6, 6);
    r.ics.setIrq(s, true); // CPU 1 still has CPPR 0: refused, SENT cleared again
    assert.equal(r.ics.status[s], XICS_STATUS_ASSERTED);
    take(r);
    r.icps[1]!.setCppr(7);
    assert.deepEqual(take(r), [
      'xics_icp_irq cpu 1 trying to deliver irq 0x1203 priority 0x6',
      'xics_icp_raise raising IRQ new XIRR=0x7001203 new pending priority=0x6',
    ]);
  });
});

describe('resend walk', () => {
  test('ascending order: a lower source delivered first can be displaced by a higher one, and stays rejected', () => {
    const r = rig({ defaults: false });
    const cpu0 = r.icps[0]!;
    r.ics.claim(0x1002, false);
    r.ics.claim(0x1005, false);
    r.ics.writeXive(5, 0, 4, 4);
    r.ics.writeXive(2, 0, 6, 6);
    r.ics.setIrq(5, true); // CPPR 0: both rejected
    r.ics.setIrq(2, true);
    take(r);
    cpu0.setCppr(0xff);
    assert.deepEqual(take(r), [
      'xics_icp_irq cpu 0 trying to deliver irq 0x1002 priority 0x6',
      'xics_icp_raise raising IRQ new XIRR=0xff001002 new pending priority=0x6',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1005 priority 0x4',
      'xics_ics_reject reject irq 0x1002 [src 2]',
      'xics_icp_raise raising IRQ new XIRR=0xff001005 new pending priority=0x4',
    ]);
    assert.equal(r.ics.status[2], XICS_STATUS_REJECTED);
    assert.equal(r.ics.status[5], 0);
    // Accept and EOI 0x1005: the EOI's resend brings 0x1002 back.
    assert.equal(cpu0.accept(), 0xff001005);
    take(r);
    cpu0.eoi(0xff001005);
    assert.deepEqual(take(r), [
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001005 new XIRR 0xff000000',
      'xics_ics_eoi ics_eoi: irq 0x1005',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1002 priority 0x6',
      'xics_icp_raise raising IRQ new XIRR=0xff001002 new pending priority=0x6',
    ]);
  });

  test('resend triggered on CPU 1 delivers to CPU 0 and retries the displaced source in the same walk', () => {
    const r = rig();
    const [cpu0, cpu1] = r.icps as [(typeof r.icps)[0], (typeof r.icps)[0]];
    cpu0.setCppr(0xff);
    r.ics.writeXive(src(0x1100), 0, 5, 5);
    r.ics.setIrq(src(0x1100), true); // presented on CPU 0, PP 5
    r.ics.writeXive(1, 1, 3, 3);
    r.ics.setIrq(1, true); // CPU 1 CPPR 0: 0x1001 rejected
    r.ics.writeXive(1, 0, 3, 3); // retargeted, not retried
    take(r);
    assert.equal(cpu0.xirr, 0xff001100);
    cpu1.setCppr(0xff); // XISR 0 on CPU 1: resend of the whole ICS
    assert.deepEqual(take(r), [
      'xics_icp_irq cpu 0 trying to deliver irq 0x1001 priority 0x3',
      'xics_ics_reject reject irq 0x1100 [src 256]',
      'xics_icp_raise raising IRQ new XIRR=0xff001001 new pending priority=0x3',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1100 priority 0x5',
      'xics_ics_reject reject irq 0x1100 [src 256]',
    ]);
    assert.equal(r.ics.status[src(0x1100)], XICS_STATUS_REJECTED);
    assert.equal(r.ics.status[1], 0);
    assert.equal(cpu1.xirr, 0xff000000);
  });

  test('a source whose server has no ICP: reported, counted as rejected', () => {
    const r = rig();
    r.ics.writeXive(0, 7, 5, 5);
    take(r);
    r.ics.setIrq(0, true);
    const seen = guestErrors(r.buf);
    assert.deepEqual(take(r).filter((l) => !seen.includes(l)), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]',
      'xics_icp_irq cpu 7 trying to deliver irq 0x1000 priority 0x5',
      'xics_ics_reject reject irq 0x1000 [src 0]',
    ]);
    assert.equal(seen.length, 1);
    assert.match(seen[0]!, /server 7/);
    assert.equal(r.ics.status[0], XICS_STATUS_REJECTED);
  });

  test('no trace event is built when no sink is attached', () => {
    const r = rig({ trace: false, open: true });
    r.ics.writeXive(0, 0, 5, 5);
    r.ics.setIrq(0, true);
    r.ics.setIrq(0, false);
    assert.equal(r.buf.events.length, 0);
    assert.equal(r.icps[0]!.xisr, 0x1000);
  });
});
