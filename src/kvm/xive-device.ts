/**
 * The XIVE native device of the KVM-style API (KVM_DEV_TYPE_XIVE, "kvm-xive-native"): the
 * machine's sPAPR XIVE reached with the groups, attribute numbers and word layouts of Linux's
 * book3s_xive_native.c — CTRL (RESET, EQ_SYNC, NR_SERVERS), SOURCE, SOURCE_CONFIG, EQ_CONFIG,
 * SOURCE_SYNC — plus the VP_STATE ONE_REG word and the ESB/TIMA mappings of the device fd.
 *
 * Mapping onto the model (sPAPR layout: END index = server * 8 + priority, NVT 0x400 + vCPU):
 * - a source is "valid" when its EAS is valid (claimed); SOURCE makes it valid and masked with
 *   PQ = 01, sets the LSI flag (never clears it) and the asserted level (never clears it either);
 * - SOURCE_CONFIG writes the EAS: target END and EISN, or the masked bit. A masked config keeps
 *   the target and EISN in the EAS (QEMU's own table does; the kernel drops them, which no
 *   attribute can observe). Unmasked, the target is picked as the kernel does: the requested
 *   server's queue of that priority if configured, else the first connected vCPU (creation
 *   order) with that queue configured; a queue counts as "with room" when configured (the
 *   model's sources can never fill a 64 KiB queue's kernel budget);
 * - EQ_CONFIG writes / reads the END of (server, priority) the way H_INT_SET_QUEUE_CONFIG builds
 *   it, restoring (toggle, index) when they differ from a fresh queue's (1, 0);
 * - CTRL RESET tears down the queues of every connected vCPU and masks every valid unmasked
 *   source (EISN 0, server 0, PQ 01); EQ_SYNC and SOURCE_SYNC have nothing in flight to flush.
 * Source blocks are the kernel's 1024-source blocks; those of the model's 0x2000 sources exist
 * once a source in them was valid; blocks beyond cannot be allocated (ENOMEM).
 *
 * EAS = event assignment (LISN → END + EISN), END = event queue descriptor, NVT = notification
 * target, PQ = the ESB's pending/queued bits; the rest as in uapi.ts.
 */
import * as U from './uapi.ts';
import * as R from '../xive/regs.ts';
import { KvmDeviceBase, KvmFault, readU32, readU64, writeU32, writeU64, quiet, type DeviceHost, type KvmMapping } from './common.ts';
import { SPAPR_XIVE_BLOCK_ID, spaprEndIndex, spaprNvtIndex, type SpaprXive } from '../spapr/spapr-xive.ts';
import { getField, getField64n, setField } from '../base/bits.ts';
import { LINE_INT } from '../ports/lines.ts';
import { XiveUsageError } from '../base/errors.ts';

/** Highest END priority a guest may use: 7 is the kernel's escalation queue. */
const XIVE_PRIO_GUEST_MAX = 6;
const BLOCK_SHIFT = 10;
const PAGE = 1 << U.KVM_XIVE_PAGE_SHIFT;
const EQ_QSHIFT = 16;

/** Priority validity as the kernel checks it: unchanged by its guest → host priority mapping. */
function validGuestPriority(p: number): boolean {
  return p <= XIVE_PRIO_GUEST_MAX;
}

/**
 * The XIVE native device (KVM_DEV_TYPE_XIVE) over the machine's XIVE controller: sources, source
 * configuration, event queues, ESB and TIMA mappings, VP state.
 */
export class KvmXiveDevice extends KvmDeviceBase {
  readonly type = U.KVM_DEV_TYPE_XIVE;
  readonly name = 'kvm-xive-native';
  /** KVM_DEV_XIVE_NR_SERVERS (default KVM_MAX_VCPUS). */
  nrServers = U.KVM_MAX_VCPUS;
  /** The VP block is allocated at the first vCPU connection; NR_SERVERS is frozen from then on. */
  vpBlockAllocated = false;
  private readonly blocks = new Set<number>();
  private readonly scratch = new Uint32Array(2);

  constructor(host: DeviceHost) {
    super(host);
    // The VMM pushes every valid source right after creating the device (QEMU does), which
    // allocates their blocks.
    const x = this.xive;
    for (let i = 0; i < x.nrIrqs; i++) if (x.router.easValid(i)) this.blocks.add(i >>> BLOCK_SHIFT);
  }

  /** The machine's XIVE controller. */
  get xive(): SpaprXive {
    return this.machine.xive!;
  }

  // ---- Attributes ----------------------------------------------------------------------------------

  protected doHasAttr(group: number, attr: bigint): number {
    switch (group) {
      case U.KVM_DEV_XIVE_GRP_CTRL:
        return attr === BigInt(U.KVM_DEV_XIVE_RESET) || attr === BigInt(U.KVM_DEV_XIVE_EQ_SYNC) || attr === BigInt(U.KVM_DEV_XIVE_NR_SERVERS) ? 0 : -U.ENXIO;
      case U.KVM_DEV_XIVE_GRP_SOURCE:
      case U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG:
      case U.KVM_DEV_XIVE_GRP_SOURCE_SYNC:
        return attr < BigInt(U.KVMPPC_XIVE_NR_IRQS) ? 0 : -U.ENXIO;
      case U.KVM_DEV_XIVE_GRP_EQ_CONFIG:
        return 0;
    }
    return -U.ENXIO;
  }

  protected doGetAttr(group: number, attr: bigint, data: Uint8Array): number {
    return group === U.KVM_DEV_XIVE_GRP_EQ_CONFIG ? this.getQueueConfig(attr, data) : -U.ENXIO;
  }

  protected doSetAttr(group: number, attr: bigint, data: Uint8Array): number {
    switch (group) {
      case U.KVM_DEV_XIVE_GRP_CTRL:
        if (attr === BigInt(U.KVM_DEV_XIVE_RESET)) return this.reset();
        if (attr === BigInt(U.KVM_DEV_XIVE_EQ_SYNC)) return 0; // model notifications are never in flight
        if (attr === BigInt(U.KVM_DEV_XIVE_NR_SERVERS)) return this.setNrServers(data);
        return -U.ENXIO;
      case U.KVM_DEV_XIVE_GRP_SOURCE:
        return this.setSource(attr, data);
      case U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG:
        return this.setSourceConfig(attr, data);
      case U.KVM_DEV_XIVE_GRP_EQ_CONFIG:
        return this.setQueueConfig(attr, data);
      case U.KVM_DEV_XIVE_GRP_SOURCE_SYNC:
        return this.syncSource(attr);
    }
    return -U.ENXIO;
  }

  /** Does the kernel's source block of `lisn` exist? */
  private blockExists(lisn: number): boolean {
    const x = this.xive;
    if (lisn >= x.nrIrqs) return false;
    const b = lisn >>> BLOCK_SHIFT;
    if (this.blocks.has(b)) return true;
    const end = Math.min(x.nrIrqs, (b + 1) << BLOCK_SHIFT);
    for (let i = b << BLOCK_SHIFT; i < end; i++) {
      if (x.router.easValid(i)) {
        this.blocks.add(b);
        return true;
      }
    }
    return false;
  }

  /** ENOENT (no block) / EINVAL (not valid) / 0, the lookup shared by SOURCE_CONFIG and SOURCE_SYNC. */
  private findValid(attr: bigint): number {
    if (attr >= BigInt(this.xive.nrIrqs) || !this.blockExists(Number(attr))) return -U.ENOENT;
    return this.xive.router.easValid(Number(attr)) ? 0 : -U.EINVAL;
  }

  private setNrServers(data: Uint8Array): number {
    if (data.length < 4) return -U.EFAULT;
    const n = readU32(data, 0);
    if (n === 0 || n > U.KVM_MAX_VCPU_IDS) return -U.EINVAL;
    if (this.vpBlockAllocated) return -U.EBUSY;
    // Larger vCPU ids are packed below KVM_MAX_VCPUS: no more servers are needed.
    this.nrServers = Math.min(n, U.KVM_MAX_VCPUS);
    return 0;
  }

  private reset(): number {
    const x = this.xive;
    const r = x.router;
    for (const vcpu of this.host.connectedVcpus(this)) {
      // Priorities 0..6; 7 is the escalation queue (single-escalation mode), never a guest EQ.
      for (let p = 0; p <= XIVE_PRIO_GUEST_MAX; p++) r.resetEnd(spaprEndIndex(vcpu, p));
    }
    for (let i = 0; i < x.nrIrqs; i++) {
      if (!r.easValid(i) || r.easMasked(i)) continue;
      r.setEas(i, R.EAS_HI_VALID, R.EAS_LO_MASKED);
      x.source.setPq(i, R.PQ_OFF);
    }
    return 0;
  }

  private setSource(attr: bigint, data: Uint8Array): number {
    if (attr >= BigInt(U.KVMPPC_XIVE_NR_IRQS)) return -U.E2BIG;
    const x = this.xive;
    const lisn = Number(attr);
    // A block beyond the model's sources would have to be allocated: it cannot be.
    if (lisn >= x.nrIrqs) return -U.ENOMEM;
    if (data.length < 8) return -U.EFAULT;
    const val = readU64(data, 0);
    this.blocks.add(lisn >>> BLOCK_SHIFT);
    if ((val & U.KVM_XIVE_LEVEL_SENSITIVE) !== 0n) {
      x.source.setLsi(lisn, true);
      if ((val & U.KVM_XIVE_LEVEL_ASSERTED) !== 0n) x.source.status[lisn]! |= R.SRC_STATUS_ASSERTED;
    }
    x.source.setPq(lisn, R.PQ_OFF);
    const r = x.router;
    r.setEas(lisn, r.easHi(lisn) | R.EAS_HI_VALID, r.easLo(lisn) | R.EAS_LO_MASKED);
    return 0;
  }

  private setSourceConfig(attr: bigint, data: Uint8Array): number {
    const found = this.findValid(attr);
    if (found !== 0) return found;
    if (data.length < 8) return -U.EFAULT;
    const cfg = readU64(data, 0);
    const priority = Number(getField64n(U.KVM_XIVE_SOURCE_PRIORITY_MASK, cfg));
    const server = Number(getField64n(U.KVM_XIVE_SOURCE_SERVER_MASK, cfg));
    const masked = (cfg & U.KVM_XIVE_SOURCE_MASKED_MASK) !== 0n;
    const eisn = Number(getField64n(U.KVM_XIVE_SOURCE_EISN_MASK, cfg));
    if (!validGuestPriority(priority)) return -U.EINVAL;
    const x = this.xive;
    const r = x.router;
    const lisn = Number(attr);
    // The kernel compares (server, priority, EISN) with the active routing only, so a request
    // equal to it changes nothing, masked bit included.
    if (!r.easMasked(lisn) && r.easEndIndex(lisn) === spaprEndIndex(server, priority) && r.easData(lisn) === eisn) return 0;
    if (masked) {
      const endIdx = server < x.nrServers ? spaprEndIndex(server, priority) : 0;
      r.setEas(lisn, easRoute(endIdx), setField(R.EAS_LO_END_DATA, R.EAS_LO_MASKED, eisn));
      return 0;
    }
    const target = this.selectTarget(server, priority);
    if (target < 0) return target;
    r.setEas(lisn, easRoute(spaprEndIndex(target, priority)), setField(R.EAS_LO_END_DATA, 0, eisn));
    return 0;
  }

  /** The vCPU (= server) whose queue of `priority` takes the source; -EINVAL / -EBUSY. */
  private selectTarget(server: number, priority: number): number {
    const vcpu = this.host.vcpuOfServer(this, server);
    if (vcpu < 0) return -U.EINVAL;
    if (this.queueConfigured(vcpu, priority)) return vcpu;
    for (const v of this.host.connectedVcpus(this)) if (this.queueConfigured(v, priority)) return v;
    return -U.EBUSY;
  }

  private queueConfigured(vcpu: number, priority: number): boolean {
    const w0 = this.xive.router.endWord(spaprEndIndex(vcpu, priority), 0);
    return (w0 & R.END_W0_VALID) !== 0 && (w0 & R.END_W0_ENQUEUE) !== 0;
  }

  private syncSource(attr: bigint): number {
    return this.findValid(attr);
  }

  /** The vCPU and priority an EQ identifier names: {vcpu, priority} or a negative errno. */
  private eqOf(attr: bigint): { vcpu: number; priority: number } | number {
    const priority = Number(getField64n(U.KVM_XIVE_EQ_PRIORITY_MASK, attr));
    const server = Number(getField64n(U.KVM_XIVE_EQ_SERVER_MASK, attr));
    const vcpu = this.host.vcpuOfServer(this, server);
    if (vcpu < 0) return -U.ENOENT;
    if (!validGuestPriority(priority)) return -U.EINVAL;
    return { vcpu, priority };
  }

  private setQueueConfig(attr: bigint, data: Uint8Array): number {
    if (data.length < U.KVM_PPC_XIVE_EQ_SIZE) return -U.EFAULT;
    const flags = readU32(data, 0);
    const qshift = readU32(data, 4);
    const qaddr = readU64(data, 8);
    const qtoggle = readU32(data, 16);
    const qindex = readU32(data, 20);
    const eq = this.eqOf(attr);
    if (typeof eq === 'number') return eq;
    const r = this.xive.router;
    const endIdx = spaprEndIndex(eq.vcpu, eq.priority);
    if (qshift === 0) {
      r.resetEnd(endIdx);
      return 0;
    }
    if (flags !== U.KVM_XIVE_EQ_ALWAYS_NOTIFY) return -U.EINVAL;
    // 64 KiB queues only (what the host advertises in ibm,xive-eq-sizes).
    if (qshift !== EQ_QSHIFT) return -U.EINVAL;
    if ((qaddr & ((1n << BigInt(qshift)) - 1n)) !== 0n) return -U.EINVAL;
    if (qaddr > BigInt(Number.MAX_SAFE_INTEGER) || !this.machine.memory.isRam(Number(qaddr), 1 << qshift)) return -U.EINVAL;
    const w = Array.from({ length: R.END_WORDS }, (_, i) => r.endWord(endIdx, i));
    w[0] = setField(R.END_W0_QSIZE, w[0]! | R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY, qshift - 12);
    // (1, 0) is a fresh queue; anything else is a migrated queue state to restore.
    w[1] = qtoggle !== 1 || qindex !== 0 ? setField(R.END_W1_PAGE_OFF, qtoggle !== 0 ? R.END_W1_GENERATION : 0, qindex) : R.END_W1_GENERATION;
    w[2] = setField(R.END_W2_OP_DESC_HI, 0, Number(qaddr >> 32n));
    w[3] = Number(qaddr & 0xffff_ffffn);
    w[6] = setField(R.END_W6_NVT_INDEX, setField(R.END_W6_NVT_BLOCK, 0, SPAPR_XIVE_BLOCK_ID), spaprNvtIndex(eq.vcpu));
    w[7] = setField(R.END_W7_F0_PRIORITY, 0, eq.priority);
    for (let i = 0; i < R.END_WORDS; i++) r.setEndWord(endIdx, i, w[i]!);
    return 0;
  }

  private getQueueConfig(attr: bigint, data: Uint8Array): number {
    const eq = this.eqOf(attr);
    if (typeof eq === 'number') return eq;
    const r = this.xive.router;
    const endIdx = spaprEndIndex(eq.vcpu, eq.priority);
    const w0 = r.endWord(endIdx, 0);
    // A queue that is not configured answers 0 and leaves the buffer untouched.
    if ((w0 & R.END_W0_VALID) === 0 || (w0 & R.END_W0_ENQUEUE) === 0) return 0;
    if (data.length < U.KVM_PPC_XIVE_EQ_SIZE) return -U.EFAULT;
    data.fill(0, 0, U.KVM_PPC_XIVE_EQ_SIZE);
    writeU32(data, 0, (w0 & R.END_W0_UCOND_NOTIFY) !== 0 ? U.KVM_XIVE_EQ_ALWAYS_NOTIFY : 0);
    writeU32(data, 4, getField(R.END_W0_QSIZE, w0) + 12);
    writeU64(data, 8, (BigInt(getField(R.END_W2_OP_DESC_HI, r.endWord(endIdx, 2))) << 32n) | BigInt(r.endWord(endIdx, 3)));
    writeU32(data, 16, r.endGeneration(endIdx));
    writeU32(data, 20, r.endQueueIndex(endIdx));
    return 0;
  }

  // ---- vCPU connection (KVM_CAP_PPC_IRQ_XIVE), after the generic checks ----------------------------

  /** @internal Called by KvmVm when a vCPU connects. */
  connectCheck(vcpu: number, server: number): number {
    // vCPU ids below KVM_MAX_VCPUS pack to themselves; nr_servers never exceeds that.
    if (server >= this.nrServers) return -U.EINVAL;
    this.vpBlockAllocated = true;
    if (this.host.vcpuOfServer(this, server) >= 0) return -U.EEXIST;
    // The model's NVT of a vCPU is fixed by its id, as QEMU's pseries connects it.
    if (server !== vcpu) return -U.EINVAL;
    return 0;
  }

  // ---- Mappings ------------------------------------------------------------------------------------

  protected override doMmap(pgoff: number, npages: number): KvmMapping | number {
    if (pgoff === U.KVM_XIVE_TIMA_PAGE_OFFSET) return npages > 4 ? -U.EINVAL : this.timaMapping(npages);
    if (pgoff === U.KVM_XIVE_ESB_PAGE_OFFSET) return npages > U.KVMPPC_XIVE_NR_IRQS * 2 ? -U.EINVAL : this.esbMapping(npages);
    return -U.EINVAL;
  }

  private esbMapping(npages: number): KvmMapping {
    const bytes = npages * PAGE;
    let live = true;
    const at = (offset: number): number => {
      if (!live) throw new KvmFault('SIGSEGV', 'the ESB mapping was unmapped');
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + 8 > bytes) throw new KvmFault('SIGSEGV', `offset ${String(offset)} is outside the ${bytes}-byte ESB mapping`);
      if (offset % 8 !== 0) throw new KvmFault('SIGBUS', `unaligned 8-byte ESB access at 0x${offset.toString(16)}`);
      // Two pages per source: even = trigger, odd = EOI/management.
      const lisn = Math.floor(offset / (2 * PAGE));
      if (lisn >= this.xive.nrIrqs || !this.xive.router.easValid(lisn)) throw new KvmFault('SIGBUS', `ESB page of source 0x${lisn.toString(16)}, which is not valid`);
      return offset;
    };
    return {
      kind: 'esb',
      bytes,
      load: (offset) => {
        const off = at(offset);
        const out = this.scratch;
        quiet(this.machine, () => this.xive.esbRead(off, 8, out));
        return (BigInt(out[1]!) << 32n) | BigInt(out[0]!);
      },
      store: (offset, value) => {
        if (typeof value !== 'bigint') throw new XiveUsageError(`ESB store value must be a bigint, got ${typeof value}`);
        const off = at(offset);
        const v = BigInt.asUintN(64, value);
        quiet(this.machine, () => this.xive.esbWrite(off, 8, Number(v & 0xffff_ffffn), Number(v >> 32n)));
      },
      unmap: () => {
        if (!live) return;
        live = false;
        this.unmapped();
      },
    };
  }

  private timaMapping(npages: number): KvmMapping {
    const bytes = npages * PAGE;
    let live = true;
    const ctx = (vcpu: number, offset: number, size: number) => {
      if (!live) throw new KvmFault('SIGSEGV', 'the TIMA mapping was unmapped');
      if (!(size === 1 || size === 2 || size === 4 || size === 8)) throw new XiveUsageError(`TIMA access size must be 1, 2, 4 or 8, got ${String(size)}`);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > bytes) throw new KvmFault('SIGSEGV', `offset ${String(offset)} is outside the ${bytes}-byte TIMA mapping`);
      if (offset % size !== 0) throw new KvmFault('SIGBUS', `unaligned TIMA access at 0x${offset.toString(16)}`);
      // Only the OS page maps the thread's context; HW and HV fault, USER is not implemented.
      if (Math.floor(offset / PAGE) !== R.TM_PAGE_OS) throw new KvmFault('SIGBUS', `TIMA page ${Math.floor(offset / PAGE)} is not mapped for a guest`);
      if (!this.host.connectedVcpus(this).includes(vcpu)) throw new KvmFault('SIGBUS', `vCPU ${String(vcpu)} has no XIVE context on this device`);
      return this.xive.tctxOfCpu(vcpu)!;
    };
    return {
      kind: 'tima',
      bytes,
      load: (vcpu, offset, size) => {
        const t = ctx(vcpu, offset, size);
        const out = this.scratch;
        quiet(this.machine, () => this.xive.timaRead(t, offset, size, out));
        return size === 8 ? (BigInt(out[1]!) << 32n) | BigInt(out[0]!) : BigInt(out[0]!);
      },
      store: (vcpu, offset, size, value) => {
        if (typeof value !== 'bigint') throw new XiveUsageError(`TIMA store value must be a bigint, got ${typeof value}`);
        const t = ctx(vcpu, offset, size);
        const v = BigInt.asUintN(size * 8, value);
        quiet(this.machine, () => this.xive.timaWrite(t, offset, size, Number(v & 0xffff_ffffn), Number(v >> 32n)));
      },
      unmap: () => {
        if (!live) return;
        live = false;
        this.unmapped();
      },
    };
  }
}

/** EAS high word of a valid source routed to END `endIdx` of the sPAPR block. */
function easRoute(endIdx: number): number {
  return setField(R.EAS_HI_END_INDEX, setField(R.EAS_HI_END_BLOCK, R.EAS_HI_VALID, SPAPR_XIVE_BLOCK_ID), endIdx);
}

// ---- KVM_REG_PPC_VP_STATE ---------------------------------------------------------------------------

/** The 16-byte VP_STATE value of vCPU `vcpu`: its OS ring words 0-1 as in memory, then 8 zeros. */
export function vpStateBytes(x: SpaprXive, vcpu: number): Uint8Array {
  const out = new Uint8Array(16);
  // sPAPR keeps no NVT, so no IPB was backed up outside the context to merge in.
  out.set(x.tctxOfCpu(vcpu)!.regs.subarray(R.TM_QW1_OS, R.TM_QW1_OS + 8), 0);
  return out;
}

/** Loads VP_STATE word 0 into the OS ring (word 1 ignored); the output follows the NSR's EO bit. */
export function loadVpState(x: SpaprXive, vcpu: number, bytes: Uint8Array): void {
  const t = x.tctxOfCpu(vcpu)!;
  t.regs.set(bytes.subarray(0, 8), R.TM_QW1_OS);
  const level = (t.regs[R.TM_QW1_OS + R.TM_NSR]! & R.TM_QW1_NSR_EO) !== 0;
  const bit = 1 << LINE_INT;
  if (((t.lines & bit) !== 0) === level) return;
  t.lines = level ? t.lines | bit : t.lines & ~bit;
  t.out?.setLine(t.cpuIndex, LINE_INT, level);
}
