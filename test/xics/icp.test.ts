/**
 * The XICS presentation controller rules (docs/xics.md §2.1, §3.1, §3.3-§3.9): delivery against CPPR
 * and the pending priority, displacement, IPIs through MFRR, CPPR writes with their
 * reject/resend rules, accept (including the nothing-pending quirk), EOI, reset and the output
 * line, each with the exact trace lines of QEMU 7.2.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Icp, SimpleXicsFabric } from '../../src/xics/icp.ts';
import { Ics, XICS_STATUS_REJECTED, XICS_STATUS_SENT, XICS_STATUS_ASSERTED } from '../../src/xics/ics.ts';
import { LINE_INT, type CpuLines } from '../../src/ports/lines.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { rig, src, take } from './helpers.ts';

/** Opens CPU `cpu`, routes `irq` (MSI) to it at `prio` and fires it. */
function fire(r: ReturnType<typeof rig>, irq: number, prio: number, cpu = 0): void {
  r.ics.writeXive(src(irq), cpu, prio, prio);
  r.ics.setIrq(src(irq), true);
}

describe('delivery (icp_irq)', () => {
  test('after reset CPPR is 0: every delivery is refused', () => {
    const r = rig();
    fire(r, 0x1000, 0);
    assert.deepEqual(take(r).slice(1), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x0',
      'xics_ics_reject reject irq 0x1000 [src 0]',
    ]);
    assert.equal(r.icps[0]!.xirr, 0);
    assert.equal(r.icps[0]!.outputLevel, false);
  });

  test('priority equal to CPPR is refused; one less is taken', () => {
    const r = rig();
    r.icps[0]!.setCppr(5);
    fire(r, 0x1000, 5);
    assert.equal(r.icps[0]!.xisr, 0);
    fire(r, 0x1001, 4);
    assert.equal(r.icps[0]!.xirr, 0x05001001);
    assert.equal(r.icps[0]!.pendingPriority, 4);
    assert.equal(r.icps[0]!.owner, r.ics);
    assert.equal(r.lines.level(0, LINE_INT), true);
  });

  test('a tie with the pending interrupt loses; a more favoured one displaces it back to its ICS', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    take(r);
    fire(r, 0x1001, 5);
    assert.deepEqual(take(r).slice(1), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 1 [irq 0x1001]',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1001 priority 0x5',
      'xics_ics_reject reject irq 0x1001 [src 1]',
    ]);
    fire(r, 0x1100, 4);
    assert.deepEqual(take(r).slice(1), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 256 [irq 0x1100]',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1100 priority 0x4',
      'xics_ics_reject reject irq 0x1000 [src 0]',
      'xics_icp_raise raising IRQ new XIRR=0xff001100 new pending priority=0x4',
    ]);
    assert.equal(r.ics.status[0], XICS_STATUS_REJECTED);
    assert.equal(r.ics.status[1], XICS_STATUS_REJECTED);
  });

  test('a device interrupt displacing an IPI rejects nothing (the IPI has no owner)', () => {
    const r = rig({ open: true });
    r.icps[0]!.setMfrr(6);
    take(r);
    fire(r, 0x1000, 5);
    assert.deepEqual(take(r).slice(1), [
      'xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001000 new pending priority=0x5',
    ]);
    assert.equal(r.icps[0]!.mfrr, 6);
    // After the device interrupt is handled, the EOI resend presents the IPI again.
    r.icps[0]!.accept();
    take(r);
    r.icps[0]!.eoi(0xff001000);
    assert.deepEqual(take(r), [
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001000 new XIRR 0xff000000',
      'xics_ics_eoi ics_eoi: irq 0x1000',
      'xics_icp_check_ipi CPU 0 can take IPI mfrr=0x6',
    ]);
    assert.equal(r.icps[0]!.xirr, 0xff000002);
  });
});

describe('IPIs (MFRR)', () => {
  test('H_IPI below CPPR presents XISR 2 at PP = MFRR; at or above CPPR nothing happens', () => {
    const r = rig();
    const icp = r.icps[1]!;
    icp.setMfrr(4); // CPPR 0
    assert.deepEqual(take(r), []);
    assert.equal(icp.xirr, 0);
    icp.setCppr(5); // lowering CPPR with XISR 0: resend, and MFRR 4 < 5
    assert.deepEqual(take(r), ['xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4']);
    assert.equal(icp.xirr, 0x05000002);
    assert.equal(icp.pendingPriority, 4);
    assert.equal(icp.owner, null);
    assert.equal(r.lines.level(1, LINE_INT), true);
  });

  test('H_IPI(0xff) never withdraws a latched IPI and never traces', () => {
    const r = rig({ open: true });
    const icp = r.icps[0]!;
    icp.setMfrr(4);
    take(r);
    icp.setMfrr(0xff);
    assert.deepEqual(take(r), []);
    assert.equal(icp.xirr, 0xff000002);
    assert.equal(icp.mfrr, 0xff);
  });

  test('a pending interrupt at least as favoured as MFRR keeps the IPI out, silently', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 4);
    take(r);
    r.icps[0]!.setMfrr(4);
    assert.deepEqual(take(r), []);
    assert.equal(r.icps[0]!.xisr, 0x1000);
    r.icps[0]!.setMfrr(3);
    assert.deepEqual(take(r), ['xics_icp_check_ipi CPU 0 can take IPI mfrr=0x3', 'xics_ics_reject reject irq 0x1000 [src 0]']);
    assert.equal(r.icps[0]!.xirr, 0xff000002);
    assert.equal(r.icps[0]!.pendingPriority, 3);
    assert.equal(r.icps[0]!.owner, null);
  });

  test('check_ipi prints the cpu index, not the server number', () => {
    const f = new SimpleXicsFabric();
    const ics = new Ics(f);
    f.ics = ics;
    const icp = new Icp(3, 24, f, null);
    f.addIcp(icp);
    const ev: unknown[] = [];
    icp.tracer.sink = { emit: (e) => ev.push(e) };
    icp.setCppr(0xff);
    icp.setMfrr(1);
    icp.eoi(0xff000002);
    assert.deepEqual(ev.slice(0, 2), [
      { name: 'xics_icp_check_ipi', server: 3, mfrr: 1 },
      { name: 'xics_icp_eoi', server: 3, xirr: 0xff000002, newXirr: 0xff000002 },
    ]);
    assert.equal(f.icpByServer(24), icp);
    assert.equal(f.icpByServer(3), null);
  });
});

describe('CPPR writes', () => {
  test('raising priority at or above PP pulls the pending source back to its ICS and lowers the line', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    take(r);
    r.icps[0]!.setCppr(5);
    assert.deepEqual(take(r), ['xics_ics_reject reject irq 0x1000 [src 0]']);
    assert.equal(r.icps[0]!.xirr, 0x05000000);
    assert.equal(r.icps[0]!.pendingPriority, 0xff);
    assert.equal(r.icps[0]!.owner, null);
    assert.equal(r.lines.level(0, LINE_INT), false);
  });

  test('raising priority above PP keeps the pending source', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    take(r);
    r.icps[0]!.setCppr(6);
    assert.deepEqual(take(r), []);
    assert.equal(r.icps[0]!.xirr, 0x06001000);
  });

  test('a pending IPI is dropped without reject; MFRR keeps it for the next resend', () => {
    const r = rig({ open: true });
    r.icps[0]!.setMfrr(4);
    take(r);
    r.icps[0]!.setCppr(0);
    assert.deepEqual(take(r), []);
    assert.equal(r.icps[0]!.xirr, 0);
    assert.equal(r.icps[0]!.mfrr, 4);
    r.icps[0]!.setCppr(0xff);
    assert.deepEqual(take(r), ['xics_icp_check_ipi CPU 0 can take IPI mfrr=0x4']);
  });

  test('an equal CPPR write with XISR 0 resends; with XISR set it does nothing', () => {
    const r = rig();
    r.icps[0]!.setCppr(6);
    fire(r, 0x1000, 6); // refused: REJECTED
    take(r);
    r.icps[0]!.setCppr(6);
    assert.deepEqual(take(r), ['xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x6', 'xics_ics_reject reject irq 0x1000 [src 0]']);
    r.icps[0]!.setCppr(7);
    assert.deepEqual(take(r), [
      'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x6',
      'xics_icp_raise raising IRQ new XIRR=0x7001000 new pending priority=0x6',
    ]);
    r.icps[0]!.setCppr(7);
    r.icps[0]!.setCppr(8);
    assert.deepEqual(take(r), []);
  });
});

describe('accept, EOI, reset', () => {
  test('accept returns XIRR, sets CPPR to PP, clears XISR/PP/owner and lowers the line', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    take(r);
    assert.equal(r.icps[0]!.accept(), 0xff001000);
    assert.deepEqual(take(r), ['xics_icp_accept icp_accept: XIRR 0xff001000->0x5000000']);
    assert.deepEqual([r.icps[0]!.xirr, r.icps[0]!.pendingPriority, r.icps[0]!.owner], [0x05000000, 0xff, null]);
    assert.equal(r.lines.level(0, LINE_INT), false);
  });

  test('accept with nothing pending still sets CPPR to 0xff and traces', () => {
    const r = rig();
    r.icps[0]!.setCppr(3);
    assert.equal(r.icps[0]!.accept(), 0x03000000);
    assert.deepEqual(take(r), ['xics_icp_accept icp_accept: XIRR 0x3000000->0xff000000']);
    assert.equal(r.icps[0]!.accept(), 0xff000000);
    assert.deepEqual(take(r), ['xics_icp_accept icp_accept: XIRR 0xff000000->0xff000000']);
    const fresh = rig();
    assert.equal(fresh.icps[1]!.accept(), 0);
    assert.deepEqual(take(fresh), ['xics_icp_accept icp_accept: XIRR 0x0->0xff000000']);
  });

  test('EOI takes CPPR from the argument without checking it against PP, keeps XISR', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    take(r);
    r.icps[0]!.eoi(0x01001000);
    assert.deepEqual(take(r), ['xics_icp_eoi icp_eoi: server 0 given XIRR 0x1001000 new XIRR 0x1001000', 'xics_ics_eoi ics_eoi: irq 0x1000']);
    assert.equal(r.icps[0]!.xirr, 0x01001000);
    assert.equal(r.icps[0]!.pendingPriority, 5);
  });

  test('EOI of the IPI or of an out-of-range number does no ICS work and raises no error', () => {
    const r = rig({ open: true });
    for (const x of [0xff000002, 0xff000fff, 0xff002000, 0xffffffff, 0]) r.icps[0]!.eoi(x);
    assert.deepEqual(take(r), [
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff000002 new XIRR 0xff000000',
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff000fff new XIRR 0xff000000',
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff002000 new XIRR 0xff000000',
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xffffffff new XIRR 0xff000000',
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0x0 new XIRR 0x0',
    ]);
  });

  test('EOI of an asserted LSI re-presents it through the resend', () => {
    const r = rig({ open: true });
    const s = src(0x1202);
    r.ics.writeXive(s, 0, 5, 5);
    r.ics.setIrq(s, true);
    assert.equal(r.icps[0]!.accept(), 0xff001202);
    take(r);
    r.icps[0]!.eoi(0xff001202);
    assert.deepEqual(take(r), [
      'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001202 new XIRR 0xff000000',
      'xics_ics_eoi ics_eoi: irq 0x1202',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1202 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001202 new pending priority=0x5',
    ]);
    assert.equal(r.ics.status[s], XICS_STATUS_ASSERTED | XICS_STATUS_SENT);
  });

  test('EOI while something is presented does not resend', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    r.ics.writeXive(1, 0, 6, 6);
    r.ics.setIrq(1, true); // loses to PP 5: REJECTED
    take(r);
    r.icps[0]!.eoi(0xff000002);
    assert.deepEqual(take(r), ['xics_icp_eoi icp_eoi: server 0 given XIRR 0xff000002 new XIRR 0xff001000']);
    assert.equal(r.ics.status[1], XICS_STATUS_REJECTED);
  });

  test('reset: XIRR 0, PP 0xff, MFRR 0xff, output lowered, nothing traced', () => {
    const r = rig({ open: true });
    fire(r, 0x1000, 5);
    r.icps[0]!.setMfrr(7);
    take(r);
    r.icps[0]!.reset();
    assert.deepEqual([r.icps[0]!.xirr, r.icps[0]!.pendingPriority, r.icps[0]!.mfrr, r.icps[0]!.outputLevel], [0, 0xff, 0xff, false]);
    assert.equal(r.lines.level(0, LINE_INT), false);
    assert.deepEqual(take(r), []);
  });

  test('the output line is driven on changes only', () => {
    const calls: string[] = [];
    const lines: CpuLines = { setLine: (cpu, line, level) => calls.push(`${cpu}/${line}/${level}`) };
    const f = new SimpleXicsFabric();
    const ics = new Ics(f);
    f.ics = ics;
    const icp = new Icp(0, 0, f, lines);
    f.addIcp(icp);
    ics.claim(0x1000, false);
    ics.claim(0x1001, false);
    icp.setCppr(0xff);
    ics.writeXive(0, 0, 5, 5);
    ics.writeXive(1, 0, 4, 4);
    ics.setIrq(0, true);
    ics.setIrq(1, true); // displaces: line already high
    icp.setMfrr(2); // IPI displaces: still high
    icp.accept();
    icp.accept();
    assert.deepEqual(calls, ['0/0/true', '0/0/false']);
  });

  test('loadState restores migrated registers and the line; the owner is re-derived from the XISR', () => {
    const r = rig();
    r.icps[1]!.setState(0x05001000, 4, 0xff);
    assert.deepEqual([r.icps[1]!.xirr, r.icps[1]!.pendingPriority, r.icps[1]!.mfrr], [0x05001000, 4, 0xff]);
    assert.equal(r.icps[1]!.owner, r.fabric.icsForIrq(0x1000));
    r.icps[0]!.setState(0x05000002, 4, 4); // an IPI has no owner
    assert.equal(r.icps[0]!.owner, null);
    assert.equal(r.lines.level(1, LINE_INT), true);
    assert.throws(() => r.icps[1]!.setState(-1, 0, 0), XiveUsageError);
    assert.throws(() => r.icps[1]!.setState(0, 256, 0), XiveUsageError);
  });

  test('host misuse of register values throws', () => {
    const r = rig();
    assert.throws(() => r.icps[0]!.setCppr(0x100), XiveUsageError);
    assert.throws(() => r.icps[0]!.setMfrr(-1), XiveUsageError);
    assert.throws(() => r.icps[0]!.eoi(0x1_0000_0000), XiveUsageError);
    assert.throws(() => r.fabric.addIcp(r.icps[0]!), XiveUsageError);
    assert.throws(() => r.fabric.addIcp(new Icp(5, 5, new SimpleXicsFabric())), XiveUsageError);
  });
});
