/**
 * Migration of the interrupt controller through the KVM-style API, in the sequences QEMU 7.2
 * runs with an in-kernel controller (docs/kvm-device-api.md §8):
 *
 * XICS: save = GET of every existing source word, then ICP_STATE of every connected vCPU;
 * restore = SET of every source, then ICP_STATE of every vCPU (sources first: a fresh
 * presenter, CPPR 0, refuses every offer, so PENDING sources stay pending exactly as saved).
 *
 * XIVE native: stop = read every valid source's PQ on its ESB management page, set PQ 10 on
 * those not off (a trigger while stopped then shows as 11), EQ_SYNC; save = EQ_CONFIG of every
 * configured queue of every connected vCPU, VP_STATE of every vCPU, and the source table;
 * restore = EQ_CONFIG, then SOURCE + SOURCE_CONFIG per source, then VP_STATE; run = set each
 * source's PQ back through the ESB page and re-trigger one that was ready (00) and got a
 * trigger meanwhile. The source table (EAS targeting, LSI flag, asserted level) belongs to the
 * VMM under KVM — the kernel has no GET for it and QEMU migrates its own copy — so `xiveSave`
 * reads it from the machine's tables, where this model keeps QEMU's copy.
 *
 * Guest RAM (event queues) is migrated by the caller. Each function returns the state, or the
 * first negative errno met (the sequence stops there, as QEMU fails the migration).
 *
 * ICS/ICP, EAS, EQ, PQ, ESB, VP: see uapi.ts and xive-device.ts.
 */
import { spaprEndPriority, spaprEndVcpu } from '../spapr/xive-layout.ts';
import * as U from './uapi.ts';
import * as R from '../xive/regs.ts';
import { XiveUsageError } from '../base/errors.ts';
import { readU32, readU64, u64Buffer, type KvmDevice, type KvmEsbMapping } from './common.ts';
import type { KvmVm } from './device.ts';

export interface XicsMigrationState {
  sources: { irq: number; word: bigint }[];
  icps: { vcpu: number; state: bigint }[];
}

export interface XiveSourceState {
  lisn: number;
  lsi: boolean;
  asserted: boolean;
  /** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word built from the EAS, as QEMU builds it. */
  config: bigint;
  /** PQ captured at stop. */
  pq: number;
}

export interface XiveMigrationState {
  sources: XiveSourceState[];
  queues: { server: number; priority: number; eq: Uint8Array }[];
  vps: { vcpu: number; state: Uint8Array }[];
}

const ESB_GET = 0x800;
const ESB_SET_PQ_00 = 0xc00;
const ESB_SET_PQ_10 = 0xe00;
const PAGE = 1 << U.KVM_XIVE_PAGE_SHIFT;

function expectDevice(vm: KvmVm, dev: KvmDevice, type: number): void {
  if (vm.device !== dev || dev.type !== type) throw new XiveUsageError(`expected the VM's ${type === U.KVM_DEV_TYPE_XICS ? 'XICS' : 'XIVE'} device`);
}

// ---- XICS ----------------------------------------------------------------------------------------------

export function saveXics(vm: KvmVm, dev: KvmDevice): XicsMigrationState | number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XICS);
  const ics = vm.machine.xics!.ics;
  const out: XicsMigrationState = { sources: [], icps: [] };
  const buf = new Uint8Array(8);
  // QEMU walks its own ICS range; a source that does not exist answers ENOENT.
  for (let irq = ics.offset; irq < ics.offset + ics.nrIrqs; irq++) {
    const rc = dev.getAttr(U.KVM_DEV_XICS_GRP_SOURCES, BigInt(irq), buf);
    if (rc === -U.ENOENT) continue;
    if (rc !== 0) return rc;
    out.sources.push({ irq, word: readU64(buf, 0) });
  }
  for (const vcpu of vm.machine.vcpus) {
    if (vm.connectionOf(vcpu)?.device !== dev) continue;
    const rc = vm.getOneReg(vcpu, U.KVM_REG_PPC_ICP_STATE, buf);
    if (rc !== 0) return rc;
    out.icps.push({ vcpu, state: readU64(buf, 0) });
  }
  return out;
}

export function restoreXics(vm: KvmVm, dev: KvmDevice, state: XicsMigrationState): number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XICS);
  for (const s of state.sources) {
    const rc = dev.setAttr(U.KVM_DEV_XICS_GRP_SOURCES, BigInt(s.irq), u64Buffer(s.word));
    if (rc !== 0) return rc;
  }
  for (const i of state.icps) {
    const rc = vm.setOneReg(i.vcpu, U.KVM_REG_PPC_ICP_STATE, u64Buffer(i.state));
    if (rc !== 0) return rc;
  }
  return 0;
}

// ---- XIVE ----------------------------------------------------------------------------------------------

function validSources(vm: KvmVm): number[] {
  const x = vm.machine.xive!;
  const out: number[] = [];
  for (let i = 0; i < x.nrIrqs; i++) if (x.router.easValid(i)) out.push(i);
  return out;
}

/** Runs `fn` with the ESB pages of every source mapped, then unmaps them. */
function withEsb<T>(vm: KvmVm, dev: KvmDevice, fn: (esb: KvmEsbMapping) => T): T | number {
  const m = dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 2 * vm.machine.xive!.nrIrqs);
  if (typeof m === 'number') return m;
  if (m.kind !== 'esb') throw new XiveUsageError('ESB mapping expected');
  try {
    return fn(m);
  } finally {
    m.unmap();
  }
}

/** Byte offset of `op` on the management (odd) page of `lisn` in the ESB mapping. */
function mgmt(lisn: number, op: number): number {
  return (2 * lisn + 1) * PAGE + op;
}

/** VM stop: PQ of every valid source (saved), PQ 10 on those not off, then EQ_SYNC. */
export function xiveStop(vm: KvmVm, dev: KvmDevice): Map<number, number> | number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XIVE);
  const saved = new Map<number, number>();
  const rc = withEsb(vm, dev, (esb) => {
    for (const lisn of validSources(vm)) {
      let pq = Number(esb.load(mgmt(lisn, ESB_GET)) & 3n);
      if (pq !== R.PQ_OFF) pq = Number(esb.load(mgmt(lisn, ESB_SET_PQ_10)) & 3n);
      saved.set(lisn, pq);
    }
    return 0;
  });
  if (rc !== 0) return rc;
  const sync = dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_EQ_SYNC));
  return sync !== 0 ? sync : saved;
}

/** Captures the state of a stopped VM; `pq` is what xiveStop returned. */
export function xiveSave(vm: KvmVm, dev: KvmDevice, pq: ReadonlyMap<number, number>): XiveMigrationState | number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XIVE);
  const x = vm.machine.xive!;
  const r = x.router;
  const out: XiveMigrationState = { sources: [], queues: [], vps: [] };
  for (const lisn of validSources(vm)) {
    const endIdx = r.easEndIndex(lisn);
    const config =
      (BigInt(spaprEndPriority(endIdx)) << U.KVM_XIVE_SOURCE_PRIORITY_SHIFT) |
      (BigInt(spaprEndVcpu(endIdx)) << U.KVM_XIVE_SOURCE_SERVER_SHIFT) |
      (r.easMasked(lisn) ? U.KVM_XIVE_SOURCE_MASKED_MASK : 0n) |
      (BigInt(r.easData(lisn)) << U.KVM_XIVE_SOURCE_EISN_SHIFT);
    out.sources.push({ lisn, lsi: x.source.isLsi(lisn), asserted: x.source.isAsserted(lisn), config, pq: pq.get(lisn) ?? x.source.getPq(lisn) });
  }
  for (const vcpu of vm.machine.vcpus) {
    if (vm.connectionOf(vcpu)?.device !== dev) continue;
    const server = vm.connectionOf(vcpu)!.server;
    for (let priority = 0; priority <= 6; priority++) {
      const eq = new Uint8Array(U.KVM_PPC_XIVE_EQ_SIZE);
      const rc = dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqId(server, priority), eq);
      if (rc !== 0) return rc;
      // An unconfigured queue answers 0 without writing: qshift stays 0.
      if (readU32(eq, 4) !== 0) out.queues.push({ server, priority, eq });
    }
    const state = new Uint8Array(16);
    const rc = vm.getOneReg(vcpu, U.KVM_REG_PPC_VP_STATE, state);
    if (rc !== 0) return rc;
    out.vps.push({ vcpu, state });
  }
  return out;
}

/** Destination: queues, then sources, then thread contexts (PQ comes with xiveRun). */
export function xiveRestore(vm: KvmVm, dev: KvmDevice, state: XiveMigrationState): number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XIVE);
  for (const q of state.queues) {
    const rc = dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqId(q.server, q.priority), q.eq);
    if (rc !== 0) return rc;
  }
  for (const s of state.sources) {
    const word = (s.lsi ? U.KVM_XIVE_LEVEL_SENSITIVE : 0n) | (s.lsi && s.asserted ? U.KVM_XIVE_LEVEL_ASSERTED : 0n);
    let rc = dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, BigInt(s.lisn), u64Buffer(word));
    if (rc === 0) rc = dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, BigInt(s.lisn), u64Buffer(s.config));
    if (rc !== 0) return rc;
  }
  for (const v of state.vps) {
    const rc = vm.setOneReg(v.vcpu, U.KVM_REG_PPC_VP_STATE, v.state);
    if (rc !== 0) return rc;
  }
  return 0;
}

/** VM run: PQ of every source set back; a ready source that was triggered meanwhile is re-triggered. */
export function xiveRun(vm: KvmVm, dev: KvmDevice, pq: ReadonlyMap<number, number>): number {
  expectDevice(vm, dev, U.KVM_DEV_TYPE_XIVE);
  const x = vm.machine.xive!;
  return withEsb(vm, dev, (esb) => {
    for (const [lisn, saved] of pq) {
      if (!x.router.easValid(lisn)) continue;
      const old = Number(esb.load(mgmt(lisn, ESB_SET_PQ_00 + (saved & 3) * 0x100)) & 3n);
      if (saved === R.PQ_RESET && old === R.PQ_QUEUED) esb.store(mgmt(lisn, 0), 0n);
    }
    return 0;
  });
}

/** Restores `state` into a stopped destination and runs it (xiveRestore then xiveRun with its PQ). */
export function xiveRestoreAndRun(vm: KvmVm, dev: KvmDevice, state: XiveMigrationState): number {
  const rc = xiveRestore(vm, dev, state);
  if (rc !== 0) return rc;
  return xiveRun(vm, dev, new Map(state.sources.map((s) => [s.lisn, s.pq])));
}

/** The EQ identifier of (server, priority). */
export function eqId(server: number, priority: number): bigint {
  return (BigInt(server) << U.KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(priority & 7);
}
