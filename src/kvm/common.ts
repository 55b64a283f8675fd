/**
 * Shared parts of the KVM-style device-control API: the KvmDevice interface and the base class
 * that implements the generic device-fd rules (closed fd, attribute dispatch, mmap reference
 * counting, release), little-endian access to the uAPI data buffers, argument checks for host
 * misuse, the fault thrown by device mappings, and the link between a device and its VM.
 *
 * A device is a view of one interrupt controller of the machine (XICS: machine.xics, XIVE:
 * machine.xive). Its attributes read and write the model's own tables; the device keeps only
 * what the kernel keeps and the model has no place for (connections, NR_SERVERS, the VP block,
 * which source blocks were allocated).
 *
 * Acronyms: see uapi.ts.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { XiveUsageError } from '../base/errors.ts';
import { EBADF, EINVAL, ENODEV } from './uapi.ts';

export const EMPTY = new Uint8Array(0);

/** A device mapping touched outside what the kernel would map: the signal the process would get. */
export class KvmFault extends Error {
  override readonly name = 'KvmFault';
  constructor(
    readonly signal: 'SIGBUS' | 'SIGSEGV',
    message: string,
  ) {
    super(`${signal}: ${message}`);
  }
}

/** The ESB pages of the XIVE device (mmap at KVM_XIVE_ESB_PAGE_OFFSET): 8-byte accesses only. */
export interface KvmEsbMapping {
  readonly kind: 'esb';
  readonly bytes: number;
  /** 8-byte load at byte `offset` of the mapping. */
  load(offset: number): bigint;
  /** 8-byte store at byte `offset` of the mapping. */
  store(offset: number, value: bigint): void;
  /** munmap: later accesses fault. */
  unmap(): void;
}

/** The TIMA pages of the XIVE device (mmap at KVM_XIVE_TIMA_PAGE_OFFSET), as seen from `vcpu`. */
export interface KvmTimaMapping {
  readonly kind: 'tima';
  readonly bytes: number;
  /** Load of `size` bytes at byte `offset` of the mapping, by vCPU `vcpu`. */
  load(vcpu: number, offset: number, size: 1 | 2 | 4 | 8): bigint;
  /** Store of `size` bytes at byte `offset` of the mapping, by vCPU `vcpu`. */
  store(vcpu: number, offset: number, size: 1 | 2 | 4 | 8, value: bigint): void;
  /** munmap: later accesses fault. */
  unmap(): void;
}

/** A mapping of the XIVE device: its ESB pages or its TIMA pages. */
export type KvmMapping = KvmEsbMapping | KvmTimaMapping;

/**
 * A KVM device fd. Every method returns 0 or a negative errno, as the ioctl would; a JS-level
 * misuse (wrong argument types) throws XiveUsageError instead.
 */
export interface KvmDevice {
  /** KVM_DEV_TYPE_* */
  readonly type: number;
  /** Name of the anonymous inode ("kvm-xics", "kvm-xive-native"). */
  readonly name: string;
  /** The fd was closed (every call then answers -EBADF). */
  readonly closed: boolean;
  /** KVM_SET_DEVICE_ATTR. `data` stands for the user buffer at `addr`; none = a NULL pointer. */
  setAttr(group: number, attr: bigint, data?: Uint8Array): number;
  /** KVM_GET_DEVICE_ATTR: the result is written into `data`. */
  getAttr(group: number, attr: bigint, data?: Uint8Array): number;
  /** KVM_HAS_DEVICE_ATTR (addr is ignored). */
  hasAttr(group: number, attr: bigint): number;
  /** mmap of `npages` host pages at page offset `pgoff`; a mapping or a negative errno. */
  mmap(pgoff: number, npages: number): KvmMapping | number;
  /** close(fd): 0, or -EBADF when already closed. The device is torn down once no mapping holds it. */
  close(): number;
}

/** What a device needs from its VM. */
export interface DeviceHost {
  readonly machine: SpaprMachine;
  /** vCPU ids connected to `dev`, in vCPU creation order (the kernel's kvm_for_each_vcpu order). */
  connectedVcpus(dev: KvmDeviceBase): number[];
  /** The vCPU connected to `dev` whose server number is `server`, or -1. */
  vcpuOfServer(dev: KvmDeviceBase, server: number): number;
  /** The last reference to `dev` is gone: disconnect its vCPUs, allow a new device. */
  released(dev: KvmDeviceBase): void;
}

/** What the XICS and XIVE devices share: the file reference counting and the VM they belong to. */
export abstract class KvmDeviceBase implements KvmDevice {
  abstract readonly type: number;
  abstract readonly name: string;
  private fdOpen = true;
  private refs = 1;

  constructor(protected readonly host: DeviceHost) {}

  /** The machine of the VM. */
  get machine(): SpaprMachine {
    return this.host.machine;
  }

  get closed(): boolean {
    return !this.fdOpen;
  }

  /** Still holds state (fd open or a mapping alive). */
  get alive(): boolean {
    return this.refs > 0;
  }

  setAttr(group: number, attr: bigint, data: Uint8Array = EMPTY): number {
    checkU32(group, 'attribute group');
    checkU64(attr, 'attribute');
    checkBuffer(data);
    if (!this.fdOpen) return -EBADF;
    return quiet(this.machine, () => this.doSetAttr(group, attr, data));
  }

  getAttr(group: number, attr: bigint, data: Uint8Array = EMPTY): number {
    checkU32(group, 'attribute group');
    checkU64(attr, 'attribute');
    checkBuffer(data);
    if (!this.fdOpen) return -EBADF;
    return quiet(this.machine, () => this.doGetAttr(group, attr, data));
  }

  hasAttr(group: number, attr: bigint): number {
    checkU32(group, 'attribute group');
    checkU64(attr, 'attribute');
    if (!this.fdOpen) return -EBADF;
    return this.doHasAttr(group, attr);
  }

  mmap(pgoff: number, npages: number): KvmMapping | number {
    if (!Number.isSafeInteger(pgoff) || pgoff < 0) throw new XiveUsageError(`mmap page offset must be a non-negative integer, got ${String(pgoff)}`);
    if (!Number.isSafeInteger(npages)) throw new XiveUsageError(`mmap length in pages must be an integer, got ${String(npages)}`);
    if (!this.fdOpen) return -EBADF;
    // mmap(2) refuses an empty mapping before the device sees it.
    if (npages <= 0) return -EINVAL;
    const m = this.doMmap(pgoff, npages);
    if (typeof m !== 'number') this.refs++;
    return m;
  }

  close(): number {
    if (!this.fdOpen) return -EBADF;
    this.fdOpen = false;
    this.drop();
    return 0;
  }

  /** A mapping went away (munmap): it held a reference to the device file. */
  protected unmapped(): void {
    this.drop();
  }

  private drop(): void {
    this.refs--;
    if (this.refs === 0) this.host.released(this);
  }

  protected abstract doSetAttr(group: number, attr: bigint, data: Uint8Array): number;
  protected abstract doGetAttr(group: number, attr: bigint, data: Uint8Array): number;
  protected abstract doHasAttr(group: number, attr: bigint): number;
  /** Devices without an mmap hook answer ENODEV, as the generic device fd does. */
  protected doMmap(_pgoff: number, _npages: number): KvmMapping | number {
    return -ENODEV;
  }
}

// ---- Buffers: native-endian fields, laid out little-endian (ppc64le host) -------------------------------

function view(d: Uint8Array): DataView {
  return new DataView(d.buffer, d.byteOffset, d.byteLength);
}

/** Reads a u32 of a buffer of this API (little-endian, as on a ppc64le host). */
export function readU32(d: Uint8Array, off: number): number {
  return view(d).getUint32(off, true);
}

/** Reads a u64 of a buffer of this API (little-endian, as on a ppc64le host). */
export function readU64(d: Uint8Array, off: number): bigint {
  return view(d).getBigUint64(off, true);
}

/** Writes a u32 into a buffer of this API (little-endian, as on a ppc64le host). */
export function writeU32(d: Uint8Array, off: number, v: number): void {
  view(d).setUint32(off, v >>> 0, true);
}

/** Writes a u64 into a buffer of this API (little-endian, as on a ppc64le host). */
export function writeU64(d: Uint8Array, off: number, v: bigint): void {
  view(d).setBigUint64(off, BigInt.asUintN(64, v), true);
}

/** A fresh buffer holding one little-endian u64 (what a VMM passes for a 64-bit attribute). */
export function u64Buffer(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, v);
  return b;
}

/** A fresh buffer holding one little-endian u32. */
export function u32Buffer(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeU32(b, 0, v);
  return b;
}

// ---- Host misuse -------------------------------------------------------------------------------------

export function checkU32(v: unknown, what: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new XiveUsageError(`${what} must be an integer in 0..0xffffffff, got ${String(v)}`);
  }
}

export function checkU64(v: unknown, what: string): asserts v is bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
    throw new XiveUsageError(`${what} must be a bigint in 0..2^64-1, got ${typeof v === 'bigint' ? v.toString() : typeof v}`);
  }
}

export function checkBuffer(v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new XiveUsageError(`data must be a Uint8Array (the user buffer), got ${v === null ? 'null' : typeof v}`);
}

/**
 * Runs `fn` with the machine's trace muted: state transfers through the API are host actions
 * with no QEMU trace event of their own (QEMU does them in the kernel, where nothing is traced).
 */
export function quiet<T>(m: SpaprMachine, fn: () => T): T {
  const sink = m.trace;
  if (sink === null) return fn();
  m.setTrace(null);
  try {
    return fn();
  } finally {
    m.setTrace(sink);
  }
}
