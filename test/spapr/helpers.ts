/**
 * Fixtures of the sPAPR XIVE hcall tests: the H_INT_* opcodes, hcalls asserted to fail with a
 * code and change nothing (registers and state) or to succeed, and the END/EAS words of a
 * machine read back for comparison with the spec's values.
 */
import assert from 'node:assert/strict';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import * as H from '../../src/spapr/hcall.ts';
import { hcall, regsOf } from '../support/hcall.ts';
import { assertSameState, guestState } from '../support/state.ts';

export const ALL_OPCODES: readonly number[] = [
  H.H_INT_GET_SOURCE_INFO,
  H.H_INT_SET_SOURCE_CONFIG,
  H.H_INT_GET_SOURCE_CONFIG,
  H.H_INT_GET_QUEUE_INFO,
  H.H_INT_SET_QUEUE_CONFIG,
  H.H_INT_GET_QUEUE_CONFIG,
  H.H_INT_SET_OS_REPORTING_LINE,
  H.H_INT_GET_OS_REPORTING_LINE,
  H.H_INT_ESB,
  H.H_INT_SYNC,
  H.H_INT_RESET,
];

/**
 * Asserts that the hcall fails with `code`, leaves R4..R9 exactly as given, and changes no
 * model state.
 */
export function expectError(m: SpaprMachine, opcode: number, args: readonly bigint[], code: number, vcpu = 0): void {
  const before = guestState(m);
  const input = regsOf(args);
  const what = `${H.HCALL_NAMES[opcode]}(${args.map((a) => '0x' + a.toString(16)).join(', ')})`;
  const r = m.hcall(vcpu, opcode, input.slice());
  assert.equal(r.ret, code, `${what}: expected ${H.HCALL_STATUS_NAMES[code]}, got ${H.HCALL_STATUS_NAMES[r.ret] ?? r.ret}`);
  assert.deepEqual(r.regs, input, `${what}: registers changed`);
  assertSameState(m, before, what);
}

/** Asserts success and returns R4..R9 afterwards. */
export function expectOk(m: SpaprMachine, opcode: number, args: readonly bigint[], vcpu = 0): bigint[] {
  const r = hcall(m, opcode, args, vcpu);
  const what = `${H.HCALL_NAMES[opcode]}(${args.map((a) => '0x' + a.toString(16)).join(', ')})`;
  assert.equal(r.ret, H.H_SUCCESS, `${what}: expected H_SUCCESS, got ${H.HCALL_STATUS_NAMES[r.ret] ?? r.ret}`);
  return r.regs;
}

/** The 8 END words of END `idx`. */
export function endWords(m: SpaprMachine, idx: number): number[] {
  const r = m.xive!.router;
  return Array.from({ length: 8 }, (_, w) => r.endWord(idx, w));
}

/** EAS of `lisn` as [hi, lo] 32-bit halves of the architected word. */
export function eas(m: SpaprMachine, lisn: number): [number, number] {
  const r = m.xive!.router;
  return [r.easHi(lisn), r.easLo(lisn)];
}
