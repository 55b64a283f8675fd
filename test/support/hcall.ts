/**
 * Hypercall registers for the tests: R4..R9 are always six 64-bit values; the slots a call does
 * not read hold sentinels, so an hcall that writes outputs it should not (or any output on an
 * error) shows up as a changed sentinel.
 */
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import type { HcallResult } from '../../src/spapr/hcall.ts';

export const M64 = 0xffff_ffff_ffff_ffffn;

/** Register fillers put in the slots an hcall does not read (R4..R9). */
export const SENTINELS: readonly bigint[] = [
  0x1111_2222_3333_4444n,
  0x5555_6666_7777_8888n,
  0x9999_aaaa_bbbb_ccccn,
  0xdddd_eeee_ffff_0001n,
  0x0123_4567_89ab_cdefn,
  0xfedc_ba98_7654_3210n,
];

/** The 6 registers R4..R9 built from `args` (as unsigned 64-bit values), the rest sentinels. */
export function regsOf(args: readonly bigint[]): bigint[] {
  const regs = SENTINELS.slice();
  for (let i = 0; i < args.length; i++) regs[i] = BigInt.asUintN(64, args[i]!);
  return regs;
}

/** Runs an hcall on a machine with every register set (sentinels beyond `args`). */
export function hcall(m: SpaprMachine, opcode: number, args: readonly bigint[], vcpu = 0, problemState = false): HcallResult {
  return m.hcall(vcpu, opcode, regsOf(args), problemState);
}
