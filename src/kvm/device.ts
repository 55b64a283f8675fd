/**
 * A device-control API modelled on KVM's (Linux 6.1) over a pseries machine of the model: a VM
 * (KvmVm) on which an embedder — a VMM written in JavaScript, a test harness — checks
 * capabilities, creates the interrupt-controller device ('xics' → KVM_DEV_TYPE_XICS over
 * machine.xics, 'xive' → KVM_DEV_TYPE_XIVE over machine.xive), connects vCPUs to it, reads and
 * writes its attributes and the per-vCPU ONE_REG words, and injects interrupts with the
 * KVM_IRQ_LINE semantics. Attributes act on the machine's real tables, so this is the interface
 * to drive and migrate the model (src/kvm/migrate.ts runs the migration sequences).
 *
 * Calls return 0 or a negative errno, checked in the order the 6.1 kernel checks, and change
 * nothing when they fail; JS-level misuse (wrong types, a vCPU the machine does not have)
 * throws XiveUsageError. Buffers are Uint8Array in the uAPI layout, native-endian fields stored
 * little-endian (ppc64le host); see uapi.ts.
 *
 * The host this VM runs on is the machine: a device type is registered when the machine has
 * that controller, and the two capabilities a real host may lack can be switched off —
 * KVM_CAP_IRQ_XICS (a kernel without in-kernel XICS: type 3 unregistered, connect EINVAL,
 * ICP_STATE unknown, no in-kernel RTAS) and KVM_CAP_PPC_IRQ_XIVE (a host without native XIVE:
 * type 9 unregistered, connect ENXIO, VP_STATE ENXIO). One interrupt-controller device at a time
 * (EEXIST); closing it (and unmapping its mappings) allows a new one, as QEMU's ic-mode=dual
 * switch does.
 *
 * Acronyms: see uapi.ts.
 */
import type { IntcName } from '../spapr/intc.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import { XiveUsageError } from '../base/errors.ts';
import * as U from './uapi.ts';
import { KvmDeviceBase, checkBuffer, checkU32, checkU64, quiet, readU64, writeU64, type DeviceHost, type KvmDevice } from './common.ts';
import { KvmXicsDevice, icpStateWord, setIcpState } from './xics-device.ts';
import { KvmXiveDevice, loadVpState, vpStateBytes } from './xive-device.ts';

export type { KvmDevice, KvmMapping, KvmEsbMapping, KvmTimaMapping } from './common.ts';
export { KvmFault, u64Buffer, u32Buffer, readU32, readU64, writeU32, writeU64 } from './common.ts';
export { KvmXicsDevice, xicsSourceWord } from './xics-device.ts';
export { KvmXiveDevice } from './xive-device.ts';

/** The KVM_ENABLE_CAP arguments of a vCPU connection: args[0] = device fd, args[1] = server. */
export interface VcpuCapArgs {
  flags?: number;
  /** The device fd (null: not an open fd). */
  device?: KvmDevice | null;
  /** Server number; default the vCPU id. */
  server?: number;
}

interface Link {
  device: KvmDeviceBase;
  server: number;
}

/** Capabilities the host can be configured without. */
const SWITCHABLE = new Set([U.KVM_CAP_IRQ_XICS, U.KVM_CAP_PPC_IRQ_XIVE]);

/** The KVM device type of each interrupt controller model. */
const DEVICE_TYPES: Readonly<Record<IntcName, number>> = { xics: U.KVM_DEV_TYPE_XICS, xive: U.KVM_DEV_TYPE_XIVE };

export class KvmVm implements DeviceHost {
  readonly machine: SpaprMachine;
  private readonly off = new Set<number>();
  private ic: KvmXicsDevice | KvmXiveDevice | null = null;
  private readonly links = new Map<number, Link>();
  private readonly rtasTokens: { name: string; token: bigint }[] = [];

  constructor(machine: SpaprMachine) {
    this.machine = machine;
  }

  /** The interrupt-controller device that holds the VM (open, or kept alive by a mapping). */
  get device(): KvmDevice | null {
    return this.ic;
  }

  // ---- Capabilities ---------------------------------------------------------------------------------

  /** KVM_CHECK_EXTENSION: what a Book3S-64 host reports (0 for anything unknown). */
  checkExtension(cap: number): number {
    checkU32(cap, 'capability');
    switch (cap) {
      case U.KVM_CAP_ENABLE_CAP:
      case U.KVM_CAP_ONE_REG:
      case U.KVM_CAP_DEVICE_CTRL:
      case U.KVM_CAP_PPC_RTAS:
        return 1;
      case U.KVM_CAP_IRQ_XICS:
        return this.xicsAvailable() ? 1 : 0;
      case U.KVM_CAP_PPC_IRQ_XIVE:
        return this.xiveAvailable() ? 1 : 0;
    }
    return 0;
  }

  /**
   * Host configuration (not a KVM call): run as a host without `cap`. 0; -EINVAL for a
   * capability that cannot be switched off; -EBUSY while a device or connection relies on it.
   */
  disableCap(cap: number): number {
    checkU32(cap, 'capability');
    if (!SWITCHABLE.has(cap)) return -U.EINVAL;
    const type = cap === U.KVM_CAP_IRQ_XICS ? U.KVM_DEV_TYPE_XICS : U.KVM_DEV_TYPE_XIVE;
    if (this.ic !== null && this.ic.type === type) return -U.EBUSY;
    if (cap === U.KVM_CAP_IRQ_XICS && this.rtasTokens.length > 0) return -U.EBUSY;
    this.off.add(cap);
    return 0;
  }

  /** Host configuration: undo disableCap. 0, or -EINVAL for a capability that is not switchable. */
  enableHostCap(cap: number): number {
    checkU32(cap, 'capability');
    if (!SWITCHABLE.has(cap)) return -U.EINVAL;
    this.off.delete(cap);
    return 0;
  }

  private xicsAvailable(): boolean {
    return this.machine.xics !== null && !this.off.has(U.KVM_CAP_IRQ_XICS);
  }

  private xiveAvailable(): boolean {
    return this.machine.xive !== null && !this.off.has(U.KVM_CAP_PPC_IRQ_XIVE);
  }

  // ---- Devices -----------------------------------------------------------------------------------

  /**
   * KVM_CREATE_DEVICE. A device, 0 in test mode, or -ENODEV (type not registered on this host),
   * -EEXIST (the VM already has an interrupt-controller device).
   */
  createDevice(type: IntcName | number, test = false): KvmDevice | number {
    const t = typeof type === 'string' ? DEVICE_TYPES[type] : type;
    if (typeof t !== 'number') throw new XiveUsageError(`device type must be 'xics', 'xive' or a KVM_DEV_TYPE_* number, got ${String(type)}`);
    checkU32(t, 'device type');
    if (typeof test !== 'boolean') throw new XiveUsageError(`test must be a boolean, got ${typeof test}`);
    const registered = (t === U.KVM_DEV_TYPE_XICS && this.xicsAvailable()) || (t === U.KVM_DEV_TYPE_XIVE && this.xiveAvailable());
    if (!registered) return -U.ENODEV;
    if (test) return 0;
    if (this.ic !== null) return -U.EEXIST;
    this.ic = t === U.KVM_DEV_TYPE_XICS ? new KvmXicsDevice(this) : new KvmXiveDevice(this);
    return this.ic;
  }

  /** DeviceHost: the device's last reference is gone. */
  released(dev: KvmDeviceBase): void {
    for (const [vcpu, link] of [...this.links]) if (link.device === dev) this.links.delete(vcpu);
    if (this.ic === dev) this.ic = null;
  }

  connectedVcpus(dev: KvmDeviceBase): number[] {
    return this.machine.vcpus.filter((v) => this.links.get(v)?.device === dev);
  }

  vcpuOfServer(dev: KvmDeviceBase, server: number): number {
    for (const v of this.machine.vcpus) {
      const l = this.links.get(v);
      if (l !== undefined && l.device === dev && l.server === server) return v;
    }
    return -1;
  }

  /** The device `vcpu` is connected to, or null. */
  connectionOf(vcpu: number): { device: KvmDevice; server: number } | null {
    this.checkVcpu(vcpu);
    const l = this.links.get(vcpu);
    return l === undefined ? null : { device: l.device, server: l.server };
  }

  // ---- vCPU connection (KVM_ENABLE_CAP on the vCPU fd) ------------------------------------------------

  /** KVM_ENABLE_CAP on the vCPU: KVM_CAP_IRQ_XICS or KVM_CAP_PPC_IRQ_XIVE connect it to a device. */
  enableVcpuCap(vcpu: number, cap: number, args: VcpuCapArgs = {}): number {
    this.checkVcpu(vcpu);
    checkU32(cap, 'capability');
    const flags = args.flags ?? 0;
    checkU32(flags, 'flags');
    const server = args.server ?? vcpu;
    checkU32(server, 'server');
    const dev = args.device ?? null;
    if (dev !== null && (typeof dev !== 'object' || typeof (dev as KvmDevice).setAttr !== 'function')) {
      throw new XiveUsageError('device must be a KvmDevice (the fd in args[0]) or null');
    }
    if (flags !== 0) return -U.EINVAL;
    const xics = cap === U.KVM_CAP_IRQ_XICS && !this.off.has(U.KVM_CAP_IRQ_XICS);
    const xive = cap === U.KVM_CAP_PPC_IRQ_XIVE;
    if (!xics && !xive) return -U.EINVAL;
    if (dev === null || dev.closed) return -U.EBADF;
    if (xive && !this.xiveAvailable()) return -U.ENXIO;
    // Not a device of this VM, or of the wrong kind: EPERM.
    const want = xics ? KvmXicsDevice : KvmXiveDevice;
    if (!(dev instanceof want) || dev !== this.ic) return -U.EPERM;
    if (this.links.has(vcpu)) return -U.EBUSY;
    const rc = dev.connectCheck(vcpu, server);
    if (rc !== 0) return rc;
    this.links.set(vcpu, { device: dev, server });
    return 0;
  }

  /** Connects `vcpu` to `device` with the capability of its type (QEMU passes the vCPU id as server). */
  connectVcpu(vcpu: number, device: KvmDevice | null, server = vcpu): number {
    const cap = device !== null && device.type === U.KVM_DEV_TYPE_XIVE ? U.KVM_CAP_PPC_IRQ_XIVE : U.KVM_CAP_IRQ_XICS;
    return this.enableVcpuCap(vcpu, cap, { device, server });
  }

  // ---- ONE_REG -------------------------------------------------------------------------------------

  /** KVM_GET_ONE_REG: ICP_STATE (XICS presenter) or VP_STATE (XIVE thread context) into `buf`. */
  getOneReg(vcpu: number, id: bigint, buf: Uint8Array): number {
    this.checkVcpu(vcpu);
    checkU64(id, 'register id');
    checkBuffer(buf);
    const size = oneRegSize(id);
    if (size > U.KVMPPC_ONE_REG_MAX_BYTES) return -U.EINVAL;
    const link = this.links.get(vcpu);
    let value: Uint8Array;
    if (id === U.KVM_REG_PPC_ICP_STATE && !this.off.has(U.KVM_CAP_IRQ_XICS)) {
      if (link === undefined) return -U.ENXIO;
      // A vCPU on the XIVE device has no ICP: the legacy implementation answers 0.
      const icp = link.device instanceof KvmXicsDevice ? this.machine.xics!.icpOfCpu(vcpu) : null;
      value = new Uint8Array(8);
      writeU64(value, 0, icpStateWord(icp));
    } else if (id === U.KVM_REG_PPC_VP_STATE) {
      if (!(link?.device instanceof KvmXiveDevice) || !this.xiveAvailable()) return -U.ENXIO;
      value = vpStateBytes(this.machine.xive!, vcpu);
    } else {
      return -U.EINVAL;
    }
    if (buf.length < size) return -U.EFAULT;
    buf.set(value.subarray(0, size), 0);
    return 0;
  }

  /** KVM_SET_ONE_REG: ICP_STATE or VP_STATE from `buf`. */
  setOneReg(vcpu: number, id: bigint, buf: Uint8Array): number {
    this.checkVcpu(vcpu);
    checkU64(id, 'register id');
    checkBuffer(buf);
    const size = oneRegSize(id);
    if (size > U.KVMPPC_ONE_REG_MAX_BYTES) return -U.EINVAL;
    // The value is copied in before the register is even looked up.
    if (buf.length < size) return -U.EFAULT;
    const link = this.links.get(vcpu);
    if (id === U.KVM_REG_PPC_ICP_STATE && !this.off.has(U.KVM_CAP_IRQ_XICS)) {
      if (link === undefined) return -U.ENXIO;
      if (!(link.device instanceof KvmXicsDevice)) return -U.ENOENT;
      const xics = this.machine.xics!;
      return quiet(this.machine, () => setIcpState(xics.ics, xics.icpOfCpu(vcpu)!, readU64(buf, 0)));
    }
    if (id === U.KVM_REG_PPC_VP_STATE) {
      if (!(link?.device instanceof KvmXiveDevice) || !this.xiveAvailable()) return -U.ENXIO;
      loadVpState(this.machine.xive!, vcpu, buf);
      return 0;
    }
    return -U.EINVAL;
  }

  // ---- Interrupt injection ---------------------------------------------------------------------------

  /**
   * KVM_IRQ_LINE: `irq` is the global source number, `level` 0/1 or KVM_INTERRUPT_SET / UNSET /
   * SET_LEVEL (UNSET and 0 lower the line, anything else raises it). -ENXIO without an in-kernel
   * interrupt controller; a source that does not exist is ignored (0), as the kernel does.
   */
  irqLine(irq: number, level: number): number {
    checkU32(irq, 'irq');
    checkU32(level, 'level');
    const dev = this.ic;
    if (dev === null) return -U.ENXIO;
    const up = level !== 0 && level !== U.KVM_INTERRUPT_UNSET;
    if (dev instanceof KvmXicsDevice) {
      const ics = this.machine.xics!.ics;
      if (ics.validIrq(irq) && ics.isClaimed(irq - ics.offset)) ics.setIrq(irq - ics.offset, up);
    } else {
      const x = this.machine.xive!;
      if (irq < x.nrIrqs && x.router.easValid(irq)) x.setIrq(irq, up);
    }
    return 0;
  }

  // ---- In-kernel RTAS (KVM_PPC_RTAS_DEFINE_TOKEN) ------------------------------------------------------

  /**
   * Defines (token ≠ 0) or undefines (token 0) the token of an RTAS call handled in-kernel.
   * -EEXIST when the token value is taken, -ENOENT for a name the kernel cannot handle. The
   * model's machine answers RTAS itself either way; the table is kept for the VMM.
   */
  rtasDefineToken(name: string, token: bigint): number {
    if (typeof name !== 'string') throw new XiveUsageError(`RTAS name must be a string, got ${typeof name}`);
    checkU64(token, 'RTAS token');
    const key = rtasName(name);
    if (token === 0n) {
      const i = this.rtasTokens.findIndex((d) => d.name === key);
      if (i >= 0) this.rtasTokens.splice(i, 1);
      return 0;
    }
    if (this.rtasTokens.some((d) => d.token === token)) return -U.EEXIST;
    // The in-kernel handlers are XICS ones: a kernel without XICS has none.
    if (this.off.has(U.KVM_CAP_IRQ_XICS) || !U.KVM_RTAS_IN_KERNEL_NAMES.includes(key)) return -U.ENOENT;
    this.rtasTokens.push({ name: key, token });
    return 0;
  }

  /** The in-kernel RTAS token defined for `name`, or null. */
  rtasToken(name: string): bigint | null {
    const key = rtasName(name);
    return this.rtasTokens.find((d) => d.name === key)?.token ?? null;
  }

  private checkVcpu(vcpu: number): void {
    if (typeof vcpu !== 'number' || !this.machine.hasCpu(vcpu)) {
      throw new XiveUsageError(`no vCPU ${String(vcpu)} in this machine (plugged: ${this.machine.vcpus.join(', ')})`);
    }
  }
}

/** The name as the kernel sees it: a C string in a 120-byte field. */
function rtasName(name: string): string {
  const bytes = new TextEncoder().encode(name).subarray(0, U.KVM_RTAS_NAME_BYTES);
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** Bytes of a ONE_REG register, from the size field of its id. */
export function oneRegSize(id: bigint): number {
  return 2 ** Number((id & U.KVM_REG_SIZE_MASK) >> U.KVM_REG_SIZE_SHIFT);
}
