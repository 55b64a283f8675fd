/**
 * The XICS hypercalls and RTAS calls (docs/xics.md §4, §5): opcodes and tokens, the emulated-XICS
 * guard and its precedence, argument truncation, every error code, register outputs written only
 * on success, and the success values; an error changes no state and traces nothing (except the
 * accept that H_XIRR/H_XIRR_X perform before the guard).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  H_CPPR,
  H_EOI,
  H_IPI,
  H_IPOLL,
  H_XIRR,
  H_XIRR_X,
  RTAS_OUT_HW_ERROR,
  RTAS_OUT_PARAM_ERROR,
  RTAS_OUT_SUCCESS,
  XICS_HCALLS,
  XICS_RTAS_TOKENS,
  isXicsHcall,
  isXicsRtas,
  xicsHcall,
  xicsRtas,
} from '../../src/spapr/xics-hcalls.ts';
import { H_FUNCTION, H_HARDWARE, H_PARAMETER, H_SUCCESS } from '../../src/spapr/hcall.ts';
import { XICS_STATUS_MASKED_PENDING } from '../../src/xics/ics.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { hcall, rig, snapshot, src, take, type Rig } from './helpers.ts';
import { M64, SENTINELS, regsOf } from '../support/hcall.ts';

function expectHcallError(r: Rig, cpu: number, op: number, args: readonly bigint[], code: number): void {
  const before = snapshot(r);
  const res = hcall(r, cpu, op, args);
  assert.equal(res.ret, code);
  assert.deepEqual(res.regs, regsOf(args), 'registers changed');
  assert.equal(snapshot(r), before, 'state changed');
  assert.deepEqual(take(r), [], 'traced');
}

function expectRtasError(r: Rig, name: string, args: readonly number[], nret: number, status: number): void {
  const before = snapshot(r);
  assert.deepEqual(xicsRtas(r.ctx, name, args, nret), [status], `${name}(${args.join(', ')}) nret ${nret}`);
  assert.equal(snapshot(r), before, 'state changed');
  assert.deepEqual(take(r), [], 'traced');
}

describe('opcodes and tokens', () => {
  test('PAPR hcall numbers and QEMU 7.2 RTAS tokens', () => {
    assert.deepEqual([H_EOI, H_CPPR, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X], [0x64, 0x68, 0x6c, 0x70, 0x74, 0x2fc]);
    assert.deepEqual(XICS_RTAS_TOKENS, { 'ibm,set-xive': 0x200a, 'ibm,get-xive': 0x200b, 'ibm,int-off': 0x200c, 'ibm,int-on': 0x200d });
    assert.deepEqual([...XICS_HCALLS].sort(), [0x64, 0x68, 0x6c, 0x70, 0x74, 0x2fc].sort());
    assert.equal(isXicsHcall(0x74), true);
    assert.equal(isXicsHcall(0x3a8), false);
    assert.equal(isXicsRtas('ibm,int-on'), true);
    assert.equal(isXicsRtas('ibm,change-msi'), false);
    assert.deepEqual([RTAS_OUT_SUCCESS, RTAS_OUT_HW_ERROR, RTAS_OUT_PARAM_ERROR], [0, -1, -3]);
  });

  test('a non-XICS opcode answers H_FUNCTION and touches nothing', () => {
    const r = rig({ open: true });
    for (const op of [0x14, 0x18, 0x1c, 0x20, 0x24, 0x3a8, 0]) expectHcallError(r, 0, op, [0xffn, 4n], H_FUNCTION);
  });

  test('a calling vCPU without an ICP is host misuse', () => {
    const r = rig();
    assert.throws(() => xicsHcall(r.ctx, 9, H_CPPR, regsOf([0xffn])), XiveUsageError);
    assert.throws(() => xicsRtas(r.ctx, 'ibm,set-irq', [], 1), XiveUsageError);
    assert.throws(() => xicsRtas(r.ctx, 'ibm,get-xive', [0x1_0000_1000], 3), XiveUsageError);
    assert.throws(() => xicsRtas(r.ctx, 'ibm,get-xive', [-1], 3), XiveUsageError);
    assert.throws(() => xicsRtas(r.ctx, 'ibm,get-xive', [0x1000], -1), XiveUsageError);
  });
});

describe('emulated-XICS guard', () => {
  const cases: [number, string, bigint[]][] = [
    [H_CPPR, 'h_cppr', [0xffn]],
    [H_EOI, 'h_eoi', [0xff000002n]],
    [H_IPI, 'h_ipi', [1n, 4n]],
    [H_IPOLL, 'h_ipoll', [1n]],
  ];
  for (const [op, func, args] of cases) {
    test(`${func}: H_HARDWARE, error report, nothing changed`, () => {
      const r = rig({ open: true });
      r.ctx.active = false;
      expectHcallError(r, 0, op, args, H_HARDWARE);
      assert.deepEqual(r.ctx.reports, [`pseries: ${func} must only be called for emulated XICS`]);
    });
  }

  test('the guard takes precedence over H_PARAMETER for H_IPI and H_IPOLL', () => {
    const r = rig();
    r.ctx.active = false;
    expectHcallError(r, 0, H_IPI, [77n, 4n], H_HARDWARE);
    expectHcallError(r, 0, H_IPOLL, [77n], H_HARDWARE);
  });

  for (const [op, func] of [
    [H_XIRR, 'h_xirr'],
    [H_XIRR_X, 'h_xirr_x'],
  ] as const) {
    test(`${func}: H_HARDWARE after the accept already happened; registers untouched`, () => {
      const r = rig({ open: true });
      r.icps[1]!.setMfrr(4);
      take(r);
      r.ctx.active = false;
      const res = hcall(r, 1, op);
      assert.equal(res.ret, H_HARDWARE);
      assert.deepEqual(res.regs, SENTINELS);
      assert.deepEqual(take(r), ['xics_icp_accept icp_accept: XIRR 0xff000002->0x4000000']);
      assert.equal(r.icps[1]!.xirr, 0x04000000);
      assert.deepEqual(r.ctx.reports, [`pseries: ${func} must only be called for emulated XICS`]);
    });
  }
});

describe('hcalls', () => {
  test('H_CPPR uses the low 8 bits of R4 and writes no register', () => {
    const r = rig();
    const res = hcall(r, 1, H_CPPR, [0xabcd_0105n]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, regsOf([0xabcd_0105n]));
    assert.equal(r.icps[1]!.cppr, 5);
    assert.equal(r.icps[0]!.cppr, 0);
    assert.deepEqual(take(r), []);
  });

  test('H_EOI uses the low 32 bits of R4', () => {
    const r = rig({ open: true });
    const res = hcall(r, 0, H_EOI, [0xdead_beef_0500_1000n]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, regsOf([0xdead_beef_0500_1000n]));
    assert.deepEqual(take(r), ['xics_icp_eoi icp_eoi: server 0 given XIRR 0x5001000 new XIRR 0x5000000', 'xics_ics_eoi ics_eoi: irq 0x1000']);
  });

  test('H_IPI targets any vCPU by id, MFRR from the low 8 bits of R5', () => {
    const r = rig({ open: true });
    const res = hcall(r, 0, H_IPI, [1n, 0x1234n]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, regsOf([1n, 0x1234n]));
    assert.equal(r.icps[1]!.mfrr, 0x34);
    assert.deepEqual(take(r), ['xics_icp_check_ipi CPU 1 can take IPI mfrr=0x34']);
    // The server is read as a C int: the high half of R4 is ignored.
    assert.equal(hcall(r, 1, H_IPI, [0x1_0000_0000n, 5n]).ret, H_SUCCESS);
    assert.equal(r.icps[0]!.mfrr, 5);
  });

  test('H_IPI to an unknown server: H_PARAMETER', () => {
    const r = rig({ open: true });
    for (const s of [2n, 0xffff_ffffn, 0x8000_0000n, 0x7fff_ffffn, M64]) expectHcallError(r, 0, H_IPI, [s, 4n], H_PARAMETER);
  });

  test('H_IPOLL returns XIRR in R4 and MFRR in R5 of any server, without side effect', () => {
    const r = rig({ open: true });
    r.icps[1]!.setMfrr(4);
    take(r);
    const before = snapshot(r);
    const res = hcall(r, 0, H_IPOLL, [1n]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, [0xff000002n, 4n, ...SENTINELS.slice(2)]);
    assert.equal(snapshot(r), before);
    assert.deepEqual(take(r), []);
    assert.deepEqual(hcall(r, 1, H_IPOLL, [0n]).regs.slice(0, 2), [0xff000000n, 0xffn]);
    expectHcallError(r, 0, H_IPOLL, [5n], H_PARAMETER);
  });

  test('H_XIRR returns the XIRR (zero-extended) in R4 only', () => {
    const r = rig({ open: true });
    r.ics.writeXive(src(0x1100), 1, 5, 5);
    r.ics.setIrq(src(0x1100), true);
    take(r);
    const res = hcall(r, 1, H_XIRR, [0xffn]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, [0xff001100n, ...SENTINELS.slice(1)]);
    assert.deepEqual(take(r), ['xics_icp_accept icp_accept: XIRR 0xff001100->0x5000000']);
    // Nothing pending: the returned XIRR carries the CPPR, and CPPR becomes 0xff.
    assert.equal(hcall(r, 1, H_XIRR).regs[0], 0x05000000n);
    assert.equal(r.icps[1]!.cppr, 0xff);
  });

  test('H_XIRR_X returns the XIRR in R4 and the host tick counter in R5', () => {
    const r = rig({ open: true });
    r.icps[0]!.setMfrr(4);
    const res = hcall(r, 0, H_XIRR_X, [7n, 8n]);
    assert.equal(res.ret, H_SUCCESS);
    assert.deepEqual(res.regs, [0xff000002n, 0x1234_5678_9abc_def0n, ...SENTINELS.slice(2)]);
  });
});

describe('RTAS', () => {
  const shapes: [string, number, number][] = [
    ['ibm,set-xive', 3, 1],
    ['ibm,get-xive', 1, 3],
    ['ibm,int-off', 1, 1],
    ['ibm,int-on', 1, 1],
  ];

  test('validation order: guard (-1), nargs/nret (-3), ICS present (-1), irq range (-3)', () => {
    const r = rig();
    const rtasFunc: Record<string, string> = { 'ibm,set-xive': 'rtas_set_xive', 'ibm,get-xive': 'rtas_get_xive', 'ibm,int-off': 'rtas_int_off', 'ibm,int-on': 'rtas_int_on' };
    for (const [name, nargs, nret] of shapes) {
      const good = [0x1000, 0, 5].slice(0, nargs);
      r.ctx.active = false;
      r.ctx.reports.length = 0;
      expectRtasError(r, name, [1, 2, 3, 4].slice(0, nargs + 1), nret + 1, RTAS_OUT_HW_ERROR);
      assert.deepEqual(r.ctx.reports, [`pseries: ${rtasFunc[name]} must only be called for emulated XICS`]);
      r.ctx.active = true;
      expectRtasError(r, name, [...good, 0], nret, RTAS_OUT_PARAM_ERROR);
      expectRtasError(r, name, good.slice(0, nargs - 1), nret, RTAS_OUT_PARAM_ERROR);
      expectRtasError(r, name, good, nret + 1, RTAS_OUT_PARAM_ERROR);
      expectRtasError(r, name, good, nret - 1, RTAS_OUT_PARAM_ERROR);
      expectRtasError(r, name, good, 0, RTAS_OUT_PARAM_ERROR);
      const ics = r.ctx.ics;
      r.ctx.ics = null;
      expectRtasError(r, name, good, nret, RTAS_OUT_HW_ERROR);
      expectRtasError(r, name, [...good, 0], nret, RTAS_OUT_PARAM_ERROR);
      r.ctx.ics = ics;
      for (const irq of [0, 2, 0xfff, 0x2000, 0xffff_ffff]) {
        expectRtasError(r, name, [irq, 0, 5].slice(0, nargs), nret, RTAS_OUT_PARAM_ERROR);
      }
    }
  });

  test('ibm,set-xive: unknown server or priority above 0xff is a parameter error', () => {
    const r = rig();
    expectRtasError(r, 'ibm,set-xive', [0x1000, 2, 5], 1, RTAS_OUT_PARAM_ERROR);
    expectRtasError(r, 'ibm,set-xive', [0x1000, 0x8000_0000, 5], 1, RTAS_OUT_PARAM_ERROR);
    expectRtasError(r, 'ibm,set-xive', [0x1000, 0xffff_ffff, 5], 1, RTAS_OUT_PARAM_ERROR);
    expectRtasError(r, 'ibm,set-xive', [0x1000, 1, 0x100], 1, RTAS_OUT_PARAM_ERROR);
    expectRtasError(r, 'ibm,set-xive', [0x1000, 1, 0xffff_ffff], 1, RTAS_OUT_PARAM_ERROR);
  });

  test('ibm,set-xive sets server, priority and saved priority, and traces write_xive', () => {
    const r = rig();
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,set-xive', [0x1100, 1, 5], 1), [0]);
    assert.deepEqual([r.ics.server[0x100], r.ics.priority[0x100], r.ics.savedPriority[0x100]], [1, 5, 5]);
    assert.deepEqual(take(r), ['xics_ics_write_xive ics_write_xive: irq 0x1100 [src 256] server 0x1 prio 0x5']);
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,set-xive', [0x1100, 0, 0xff], 1), [0]);
    assert.deepEqual([r.ics.server[0x100], r.ics.priority[0x100], r.ics.savedPriority[0x100]], [0, 0xff, 0xff]);
  });

  test('any source of the range is accepted, claimed or not', () => {
    const r = rig();
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,set-xive', [0x1fff, 1, 3], 1), [0]);
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,get-xive', [0x1fff], 3), [0, 1, 3]);
  });

  test('ibm,get-xive returns server and CURRENT priority, untraced', () => {
    const r = rig();
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,get-xive', [0x1000], 3), [0, 0, 0xff]);
    xicsRtas(r.ctx, 'ibm,set-xive', [0x1000, 1, 5], 1);
    xicsRtas(r.ctx, 'ibm,int-off', [0x1000], 1);
    take(r);
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,get-xive', [0x1000], 3), [0, 1, 0xff]);
    assert.deepEqual(take(r), []);
  });

  test('ibm,int-off saves the current priority; twice loses it; int-on restores the saved one', () => {
    const r = rig();
    xicsRtas(r.ctx, 'ibm,set-xive', [0x1001, 1, 5], 1);
    take(r);
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,int-off', [0x1001], 1), [0]);
    assert.deepEqual([r.ics.server[1], r.ics.priority[1], r.ics.savedPriority[1]], [1, 0xff, 5]);
    assert.deepEqual(xicsRtas(r.ctx, 'ibm,int-on', [0x1001], 1), [0]);
    assert.deepEqual([r.ics.server[1], r.ics.priority[1], r.ics.savedPriority[1]], [1, 5, 5]);
    assert.deepEqual(take(r), [
      'xics_ics_write_xive ics_write_xive: irq 0x1001 [src 1] server 0x1 prio 0xff',
      'xics_ics_write_xive ics_write_xive: irq 0x1001 [src 1] server 0x1 prio 0x5',
    ]);
    xicsRtas(r.ctx, 'ibm,int-off', [0x1001], 1);
    xicsRtas(r.ctx, 'ibm,int-off', [0x1001], 1);
    assert.equal(r.ics.savedPriority[1], 0xff);
    xicsRtas(r.ctx, 'ibm,int-on', [0x1001], 1);
    assert.equal(r.ics.priority[1], 0xff);
  });

  test('ibm,int-on of an MSI that fired while masked delivers it', () => {
    const r = rig({ open: true });
    xicsRtas(r.ctx, 'ibm,set-xive', [0x1000, 0, 5], 1);
    xicsRtas(r.ctx, 'ibm,int-off', [0x1000], 1);
    r.ics.setIrq(0, true);
    assert.equal(r.ics.status[0], XICS_STATUS_MASKED_PENDING);
    take(r);
    xicsRtas(r.ctx, 'ibm,int-on', [0x1000], 1);
    assert.deepEqual(take(r), [
      'xics_ics_write_xive ics_write_xive: irq 0x1000 [src 0] server 0x0 prio 0x5',
      'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x5',
      'xics_icp_raise raising IRQ new XIRR=0xff001000 new pending priority=0x5',
    ]);
  });

  test('Linux request_irq sequence gives the three write_xive lines of the corpus', () => {
    const r = rig();
    xicsRtas(r.ctx, 'ibm,get-xive', [0x1100], 3);
    xicsRtas(r.ctx, 'ibm,set-xive', [0x1100, 0, 5], 1);
    xicsRtas(r.ctx, 'ibm,int-on', [0x1100], 1);
    const [, server, prio] = xicsRtas(r.ctx, 'ibm,get-xive', [0x1100], 3);
    xicsRtas(r.ctx, 'ibm,set-xive', [0x1100, server!, prio!], 1);
    assert.deepEqual(take(r), Array(3).fill('xics_ics_write_xive ics_write_xive: irq 0x1100 [src 256] server 0x0 prio 0x5'));
  });
});
