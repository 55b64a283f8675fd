/**
 * Shared helpers for the sPAPR XIVE tests: building a machine (before or after CAS), calling an
 * hcall with sentinel values in every register, and taking a byte snapshot of all the state that
 * `info pic` and a migration stream show (EAS, END, source PQ/asserted bytes, LSI bitmap, thread
 * contexts, negotiated option vector) so error paths can be checked to change nothing.
 */
import assert from 'node:assert/strict';
import { SpaprMachine, type MachineOptions } from '../../src/spapr/machine.ts';
import type { HcallResult } from '../../src/spapr/hcall.ts';
import * as H from '../../src/spapr/hcall.ts';

export const VC_BASE = 0x0006_0100_0000_0000n;
export const END_BASE = 0x0006_0100_4000_0000n;
export const TM_BASE = 0x0006_0302_0318_0000;
export const M64 = 0xffff_ffff_ffff_ffffn;
export const RAM = 1n << 30n;

/** Register fillers put in the slots an hcall does not read (R4..R9 are always 6 values). */
export const SENTINELS: readonly bigint[] = [
  0x1111_2222_3333_4444n,
  0x5555_6666_7777_8888n,
  0x9999_aaaa_bbbb_ccccn,
  0xdddd_eeee_ffff_0001n,
  0x0123_4567_89ab_cdefn,
  0xfedc_ba98_7654_3210n,
];

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

/** A fresh xive-mode machine (2 vCPUs by default), not yet negotiated. */
export function freshMachine(opts: Partial<MachineOptions> = {}): SpaprMachine {
  return new SpaprMachine({ smp: 2, icMode: 'xive', ...opts });
}

/** A machine whose guest negotiated XIVE exploitation at CAS. */
export function negotiatedMachine(opts: Partial<MachineOptions> = {}): SpaprMachine {
  const m = freshMachine(opts);
  const out = m.cas(0x40);
  assert.equal(out.ok, true);
  return m;
}

/** The 6 registers R4..R9 built from `args`, the rest filled with sentinels. */
export function regsOf(args: readonly bigint[]): bigint[] {
  const r = SENTINELS.slice();
  for (let i = 0; i < args.length; i++) r[i] = BigInt.asUintN(64, args[i]!);
  return r;
}

/** Runs an hcall with every register set (sentinels beyond `args`). */
export function hcall(m: SpaprMachine, opcode: number, args: readonly bigint[], vcpu = 0, problemState = false): HcallResult {
  return m.hcall(vcpu, opcode, regsOf(args), problemState);
}

/** Everything an hcall could change, as one byte string per table. */
export interface Snapshot {
  eas: Uint8Array;
  ends: Uint8Array;
  status: Uint8Array;
  lsi: Uint32Array;
  tctx: Uint8Array;
  ov5: Uint8Array;
}

export function snapshot(m: SpaprMachine): Snapshot {
  const x = m.xive!;
  const r = x.router;
  return {
    eas: new Uint8Array(r.eas.buffer.slice(r.eas.byteOffset, r.eas.byteOffset + r.eas.byteLength)),
    ends: new Uint8Array(r.ends.buffer.slice(r.ends.byteOffset, r.ends.byteOffset + r.ends.byteLength)),
    status: x.source.status.slice(),
    lsi: x.source.lsiMap.slice(),
    tctx: x.tctxRegs.slice(),
    ov5: m.ov5Cas.slice(),
  };
}

export function assertSameState(m: SpaprMachine, before: Snapshot, what: string): void {
  const now = snapshot(m);
  for (const k of Object.keys(before) as (keyof Snapshot)[]) {
    assert.ok(Buffer.compare(Buffer.from(now[k].buffer), Buffer.from(before[k].buffer)) === 0, `${what}: ${k} changed`);
  }
}

/**
 * Asserts that the hcall fails with `code`, leaves R4..R9 exactly as given, and changes no
 * model state.
 */
export function expectError(m: SpaprMachine, opcode: number, args: readonly bigint[], code: number, vcpu = 0): void {
  const before = snapshot(m);
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

/** Guest address of the trigger page of `lisn`, as a Number for mmioRead/mmioWrite. */
export function triggerPage(lisn: number): number {
  return Number(VC_BASE) + lisn * 0x20000;
}

/** Guest address of the management page of `lisn`. */
export function mgmtPage(lisn: number): number {
  return triggerPage(lisn) + 0x10000;
}

/** 8-byte ESB store of 0 on the trigger page (an MSI/IPI trigger from the guest). */
export function trigger(m: SpaprMachine, lisn: number): void {
  m.mmioWrite(0, triggerPage(lisn), 8, 0, 0);
}

/** 8-byte ESB load of `op` (0xC00 SET_PQ_00 etc.) on the management page; returns the value. */
export function esbLoad(m: SpaprMachine, lisn: number, op: number): bigint {
  return m.mmioRead64(0, mgmtPage(lisn) + op);
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}
