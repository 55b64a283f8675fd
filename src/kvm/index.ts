/**
 * The KVM-style device-control API (Kernel-based Virtual Machine), as the package subpath
 * `xive/kvm`: a VM with capabilities, XICS and XIVE devices with the Linux uAPI attribute
 * groups and data layouts, ONE_REG state words, and the kernel's errno codes.
 *
 * @module xive/kvm
 */
export {
  KvmVm,
  KvmFault,
  KvmXicsDevice,
  KvmXiveDevice,
  xicsSourceWord,
  u64Buffer,
  u32Buffer,
  readU32,
  readU64,
  writeU32,
  writeU64,
  type KvmDevice,
  type KvmMapping,
  type KvmEsbMapping,
  type KvmTimaMapping,
  type VcpuCapArgs,
} from './device.ts';
export type { DeviceHost, KvmDeviceBase } from './common.ts';
/** The Linux KVM uAPI numbers and layouts the device-control API takes (groups, attributes, errnos). */
export * as uapi from './uapi.ts';
