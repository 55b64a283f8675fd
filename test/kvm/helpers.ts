/**
 * Fixtures of the KVM-style device API tests: machines with a VM and a connected device, buffer
 * builders for the attribute and ONE_REG words, errno assertions (a failing call must also change
 * no model byte), and random guest/device activity on a XICS machine.
 */
import assert from 'node:assert/strict';
import { SpaprMachine, type MachineOptions } from '../../src/spapr/machine.ts';
import { KvmVm, type KvmDevice } from '../../src/kvm/device.ts';
import * as U from '../../src/kvm/uapi.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import fc from 'fast-check';
import * as H from '../../src/spapr/hcall.ts';
import { modelState } from '../support/state.ts';

export { U };

export function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

export function getU64(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

/** struct kvm_ppc_xive_eq as 64 bytes. */
export function eqBuf(eq: { flags?: number; qshift: number; qaddr: bigint; qtoggle?: number; qindex?: number }): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  v.setUint32(0, eq.flags ?? U.KVM_XIVE_EQ_ALWAYS_NOTIFY, true);
  v.setUint32(4, eq.qshift, true);
  v.setBigUint64(8, eq.qaddr, true);
  v.setUint32(16, eq.qtoggle ?? 1, true);
  v.setUint32(20, eq.qindex ?? 0, true);
  return b;
}

export function readEq(b: Uint8Array): { flags: number; qshift: number; qaddr: bigint; qtoggle: number; qindex: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { flags: v.getUint32(0, true), qshift: v.getUint32(4, true), qaddr: v.getBigUint64(8, true), qtoggle: v.getUint32(16, true), qindex: v.getUint32(20, true) };
}

/** EQ identifier. */
export function eqId(server: number, priority: number): bigint {
  return (BigInt(server) << 3n) | BigInt(priority);
}

/** SOURCE_CONFIG word. */
export function srcCfg(server: number, priority: number, eisn: number, masked = false): bigint {
  return BigInt(priority) | (BigInt(server) << 3n) | (masked ? 1n << 32n : 0n) | (BigInt(eisn) << 33n);
}

/** XICS source word. */
export function xicsWord(server: number, priority: number, flags: bigint = 0n): bigint {
  return BigInt(server) | (BigInt(priority) << 32n) | flags;
}

/** ICP_STATE word. */
export function icpWord(cppr: number, xisr: number, mfrr: number, ppri: number): bigint {
  return (BigInt(cppr) << 56n) | (BigInt(xisr) << 32n) | (BigInt(mfrr) << 24n) | (BigInt(ppri) << 16n);
}

export function errno(rc: number | object): string {
  return typeof rc === 'number' ? U.errnoName(rc) : 'a device';
}

/** Asserts an API result equals `want` (0 or a negative errno), with readable names. */
export function expectRc(rc: number | object, want: number, what = ''): void {
  assert.equal(errno(rc), U.errnoName(want), what);
}

export function device(rc: KvmDevice | number): KvmDevice {
  assert.ok(typeof rc !== 'number', `expected a device, got ${errno(rc)}`);
  return rc;
}

export interface Rig {
  m: SpaprMachine;
  vm: KvmVm;
  dev: KvmDevice;
}

/** A machine, its VM, the device of `kind` created and every vCPU connected (as QEMU does). */
export function rig(kind: 'xics' | 'xive', opts: Partial<MachineOptions> = {}): Rig {
  const m = new SpaprMachine({ smp: 2, icMode: kind, ...opts });
  const vm = new KvmVm(m);
  const dev = device(vm.createDevice(kind));
  for (const v of m.vcpus) expectRc(vm.connectVcpu(v, dev), 0, `connect vCPU ${v}`);
  return { m, vm, dev };
}

/** Asserts `fn` returns `want` (a negative errno) and leaves the model untouched. */
export function expectFails(m: SpaprMachine, want: number, fn: () => number, what = ''): void {
  const before = modelState(m);
  expectRc(fn(), want, what);
  assert.equal(modelState(m), before, `${what}: a failing call changed the model`);
}

/** Copies every written page of a sparse guest RAM into another. */
export function copyRam(from: SparseGuestMemory, to: SparseGuestMemory): void {
  for (const page of from.touchedPages()) {
    const base = page * 0x1_0000;
    for (let off = 0; off < 0x1_0000; off += 4) {
      const v = from.read32(base + off);
      if (v !== 0) to.write32(base + off, v);
    }
  }
}

// ---- Random guest/device activity on a XICS machine ------------------------------------------------

export const XICS_OP_IRQS = [0x1000, 0x1001, 0x1200, 0x1201, 0x1300] as const;

export type XicsOp =
  | { k: 'line'; irq: number; up: boolean }
  | { k: 'xive'; irq: number; server: number; prio: number }
  | { k: 'off'; irq: number; on: boolean }
  | { k: 'cppr'; cpu: number; cppr: number }
  | { k: 'ipi'; cpu: number; server: number; mfrr: number }
  | { k: 'xirr'; cpu: number }
  | { k: 'eoi'; cpu: number; irq: number };

/** Device levels, RTAS routing and masking, and the XICS hcalls of two vCPUs. */
export function xicsOps(maxLength = 60): fc.Arbitrary<XicsOp[]> {
  const irq = fc.constantFrom(...XICS_OP_IRQS);
  const cpu = fc.integer({ min: 0, max: 1 });
  const op: fc.Arbitrary<XicsOp> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('line' as const), irq, up: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('xive' as const), irq, server: cpu, prio: fc.constantFrom(3, 5, 6, 7, 0xff) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('off' as const), irq, on: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('cppr' as const), cpu, cppr: fc.constantFrom(0, 4, 6, 0xff) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('ipi' as const), cpu, server: cpu, mfrr: fc.constantFrom(2, 5, 0xff) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('xirr' as const), cpu }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('eoi' as const), cpu, irq: fc.constantFrom(...XICS_OP_IRQS, 2) }) },
  );
  // Linux's start: every presenter opened, every source routed; the random part follows.
  const prelude: XicsOp[] = [
    { k: 'cppr', cpu: 0, cppr: 0xff },
    { k: 'cppr', cpu: 1, cppr: 0xff },
    ...XICS_OP_IRQS.map((irq, i): XicsOp => ({ k: 'xive', irq, server: i % 2, prio: 5 })),
  ];
  return fc.array(op, { maxLength }).map((ops) => [...prelude, ...ops]);
}

/** Runs `ops` on machine `m` (device levels through `vm` when given, else through the machine). */
export function runXicsOps(m: SpaprMachine, ops: readonly XicsOp[], vm: KvmVm | null = null): void {
  for (const o of ops) {
    switch (o.k) {
      case 'line':
        if (vm !== null) vm.irqLine(o.irq, o.up ? U.KVM_INTERRUPT_SET_LEVEL : U.KVM_INTERRUPT_UNSET);
        else m.setIrq(o.irq, o.up);
        break;
      case 'xive':
        m.rtas(0, 'ibm,set-xive', [o.irq, o.server, o.prio], 1);
        break;
      case 'off':
        m.rtas(0, o.on ? 'ibm,int-on' : 'ibm,int-off', [o.irq], 1);
        break;
      case 'cppr':
        m.hcall(o.cpu, H.H_CPPR, [BigInt(o.cppr)]);
        break;
      case 'ipi':
        m.hcall(o.cpu, H.H_IPI, [BigInt(o.server), BigInt(o.mfrr)]);
        break;
      case 'xirr':
        m.hcall(o.cpu, H.H_XIRR, []);
        break;
      case 'eoi':
        m.hcall(o.cpu, H.H_EOI, [0xff00_0000n | BigInt(o.irq)]);
        break;
    }
  }
}
