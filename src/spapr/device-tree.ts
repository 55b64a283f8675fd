/**
 * The interrupt parts of the pseries device tree as QEMU 7.2 builds it at machine reset (before
 * CAS, Client Architecture Support negotiation), for any machine it builds:
 *
 * - `/` : `#address-cells` / `#size-cells` (2 and 2, which `reg` values rely on) and, when XIVE
 *   is active, `ibm,plat-res-int-priorities`;
 * - `/chosen` : `ibm,arch-vec-5-platform-support` (option vector 5, OV5, byte 23 advertises the
 *   interrupt modes, byte 24 the MMU modes) and `ibm,architecture-vec-5` (the negotiated OV5);
 * - `/rtas` : `ibm,change-msix-capable` and the tokens of the interrupt RTAS calls (the XICS
 *   ones when a XICS object exists, the PCI MSI ones when there are PHBs);
 * - `/event-sources`, `/vdevice` : the default devices and their interrupts (devices.ts);
 * - `/pci@…` : each PHB's interrupt-map and MSI count (phb.ts);
 * - `/cpus/PowerPC,POWERn@id` : one node per core (its first thread) with the interrupt server
 *   numbers of its threads;
 * - the node of the controller active at reset: XIVE (eXternal Interrupt Virtualization Engine,
 *   `interrupt-controller@60302031b0000`) when the machine has no XICS, XICS (the legacy
 *   eXternal Interrupt Controller Specification model, `interrupt-controller`) otherwise.
 *
 * Left out: nodes and properties with no interrupt information (memory, DRC lists, most CPU and
 * PHB properties, ...). Node names, property bytes and order are QEMU's (docs/configurations.md,
 * "Device tree"; docs/spapr-xive.md §4; docs/xics.md §8), checked against `dumpdtb` output in
 * test/fixtures/qemu-dt. The phandle of the controller node is PHANDLE_INTC, the value every
 * interrupt-map refers to.
 *
 * QEMU adds nodes and properties with libfdt, which puts each new one FIRST among its siblings,
 * so a blob lists them in reverse creation order. This builder creates them in QEMU's order
 * with prependChild / prependProp, so the blob order comes out the same.
 */
import { DeviceTree, propBytes, propEmpty, propString, propU32 } from './fdt.ts';
import { OV5_INT_CTRL_BYTE, OV5_XIVE_LEGACY, platformSupportByte } from './cas.ts';
import { SpaprMachine, type MachineOptions } from './machine.ts';
import { runsAt, XIVE_COMPAT, cpuModel, type CompatMode, type CpuModel } from './cpu-models.ts';
import { specOfConfig, type MachineConfig } from './machine-config.ts';
import { DEFAULT_MACHINE_TYPE, machineType } from './machine-types.ts';
import { SPAPR_XIRQ_BASE, SPAPR_IRQ_MSI } from './irq-map.ts';

/** Phandle of the interrupt-controller node (XICS or XIVE), in `phandle` and `linux,phandle`. */
export const PHANDLE_INTC = 0x1111;

export { XIVE_NODE_NAME, XIVE_NODE_PATH } from './xive-layout.ts';
export { XICS_NODE_PATH } from './spapr-xics.ts';

/**
 * OV5 bytes 24 to 26 sit in the same platform-support property: byte 24 the MMU modes (TCG
 * runs both hash and radix, 0xC0; a CPU held below ISA 3.00 only hash, 0x00), byte 25 the hash
 * options (none), byte 26 the radix options (GTSE, 0x40).
 */
export const OV5_MMU_BYTE = 24;
export const OV5_MMU_HASH_AND_RADIX = 0xc0;
/** Byte 24 under KVM when the host kernel offers both radix and hash (POWER9 and later hosts). */
export const OV5_MMU_BOTH_KVM = 0x80;
export const OV5_MMU_HASH = 0x00;
export const OV5_HASH_GTSE_BYTE = 25;
export const OV5_RADIX_GTSE_BYTE = 26;
export const OV5_RADIX_GTSE = 0x40;

/** Compatibility modes that cap the threads a guest core may see (PAPR's "max vthreads"). */
const COMPAT_MAX_VTHREADS: Readonly<Record<CompatMode, number>> = { power6: 2, power7: 4, 'power7+': 4, power8: 8, power9: 8, power10: 8 };

/** The CPU family in the node name: variants share their family's name (POWER8E → POWER8). */
const NODE_FAMILY: Readonly<Record<string, string>> = { 'POWER7+': 'POWER7', POWER8E: 'POWER8', POWER8NVL: 'POWER8' };

const DEFAULT_CPU = cpuModel(machineType(DEFAULT_MACHINE_TYPE)!.defaultCpu)!;

/** Node name of a CPU core: `PowerPC,<family>@<vCPU id of its first thread, in hex>`. */
export function cpuNodeName(vcpuId: number, cpu: CpuModel = DEFAULT_CPU): string {
  return `PowerPC,${NODE_FAMILY[cpu.family] ?? cpu.family}@${vcpuId.toString(16)}`;
}

export function cpuNodePath(vcpuId: number, cpu: CpuModel = DEFAULT_CPU): string {
  return `/cpus/${cpuNodeName(vcpuId, cpu)}`;
}

/**
 * `/chosen/ibm,arch-vec-5-platform-support`: (OV5 byte index, value) pairs. A CPU that cannot
 * run at ISA 3.00 within max-cpu-compat is offered XICS and hash only.
 */
export function platformSupport(cfg: Pick<MachineConfig, 'icMode' | 'cpu' | 'maxCpuCompat' | 'accel'>): Uint8Array {
  const isa300 = runsAt(cfg.cpu, XIVE_COMPAT, cfg.maxCpuCompat);
  const mmu = !isa300 ? OV5_MMU_HASH : cfg.accel === 'kvm' ? OV5_MMU_BOTH_KVM : OV5_MMU_HASH_AND_RADIX;
  return propBytes(OV5_INT_CTRL_BYTE, isa300 ? platformSupportByte(cfg.icMode) : OV5_XIVE_LEGACY, OV5_MMU_BYTE, mmu, OV5_HASH_GTSE_BYTE, 0x00, OV5_RADIX_GTSE_BYTE, OV5_RADIX_GTSE);
}

/**
 * `/chosen/ibm,architecture-vec-5` for a negotiated OV5 (byte n at index n, n ≥ 1): a length
 * byte N−1 then bytes 1..N, N being the last non-zero byte but at least 1. Reset empties the
 * negotiated vector, so the tree built at reset always carries `[00 00]`.
 */
export function architectureVec5(ov5Cas: Uint8Array = new Uint8Array(0)): Uint8Array {
  let n = 1;
  for (let i = ov5Cas.length - 1; i > 1; i--) {
    if (ov5Cas[i] !== 0) {
      n = i;
      break;
    }
  }
  const out = new Uint8Array(n + 1);
  out[0] = n - 1;
  for (let i = 1; i <= n; i++) out[i] = ov5Cas[i] ?? 0;
  return out;
}


/**
 * The interrupt parts of the tree QEMU 7.2 builds at reset for a machine, or for a
 * configuration (a machine is built for it with its default devices and `extra` options).
 */
export function interruptControllerTree(source: SpaprMachine | MachineConfig, extra: Omit<MachineOptions, 'spec'> = {}): DeviceTree {
  const m = source instanceof SpaprMachine ? source : new SpaprMachine({ ramSize: 1 << 20, ...extra, spec: specOfConfig(source) });
  return machineDeviceTree(m);
}

/** Size of the MSI pool a PHB advertises: the ICS on legacy machines, 0x1300.. otherwise. */
export function nrMsis(m: SpaprMachine): number {
  return m.config.legacyIrqAllocation ? m.nrXirqs : SPAPR_XIRQ_BASE + m.nrXirqs - SPAPR_IRQ_MSI;
}

/**
 * The interrupt parts of the tree of `m` as it is now: the controller the guest uses and the
 * negotiated vector (QEMU builds it at reset, when XICS is active whenever the machine has one
 * and the vector is empty).
 */
export function machineDeviceTree(m: SpaprMachine): DeviceTree {
  const cfg = m.config;
  const tree = new DeviceTree();
  const root = tree.root;
  root.prependProp('#address-cells', propU32(2));
  root.prependProp('#size-cells', propU32(2));

  m.intc.dt(tree, cfg.nrServers, PHANDLE_INTC);
  m.devices.vdeviceDt(tree);
  for (let i = m.devices.phbs.length - 1; i >= 0; i--) m.devices.phbs[i]!.dt(tree, PHANDLE_INTC, nrMsis(m));
  cpusDt(tree, m);
  m.devices.eventSourcesDt(tree);

  // RTAS calls are registered when their owner is realized, so a dual machine advertises the
  // XICS ones even while XIVE could later take over.
  // A machine without devices or XICS has no interrupt RTAS call: the node is left out.
  const tokens = Object.entries(m.rtasTokens()).sort((x, y) => x[1] - y[1]);
  if (tokens.length > 0) {
    const rtas = root.prependChild('rtas');
    if (m.devices.phbs.length > 0) rtas.prependProp('ibm,change-msix-capable', propEmpty());
    for (const [name, token] of tokens) rtas.prependProp(name, propU32(token));
  }

  const chosen = root.prependChild('chosen');
  chosen.prependProp('ibm,arch-vec-5-platform-support', platformSupport(cfg));
  chosen.prependProp('ibm,architecture-vec-5', architectureVec5(m.ov5Cas));
  return tree;
}

/**
 * `/cpus`: one node per core, named after the vCPU id of its first thread, in plug order. The
 * server lists name every thread the guest may see: the threads per core, capped by the
 * compatibility mode's limit when max-cpu-compat is set.
 */
function cpusDt(tree: DeviceTree, m: SpaprMachine): void {
  const cfg = m.config;
  const cpus = tree.root.prependChild('cpus');
  // The cell sizes and each CPU's reg / device_type make the extract a valid tree on its own:
  // without them dtc cannot check the unit addresses.
  cpus.prependProp('#address-cells', propU32(1));
  cpus.prependProp('#size-cells', propU32(0));
  const threads = cfg.maxCpuCompat === null ? cfg.smp.threads : Math.min(cfg.smp.threads, COMPAT_MAX_VTHREADS[cfg.maxCpuCompat]);
  for (let i = m.vcpus.length - 1; i >= 0; i--) {
    const id = m.vcpuId(m.vcpus[i]!);
    if (id % cfg.vsmt !== 0) continue;
    const cpu = cpus.prependChild(cpuNodeName(id, cfg.cpu));
    cpu.prependProp('reg', propU32(id));
    cpu.prependProp('device_type', propString('cpu'));
    const servers: number[] = [];
    const gservers: number[] = [];
    for (let t = 0; t < threads; t++) {
      servers.push(id + t);
      // Global interrupt queue 0 for every thread (no distribution queue on QEMU).
      gservers.push(id + t, 0);
    }
    cpu.prependProp('ibm,ppc-interrupt-server#s', propU32(...servers));
    cpu.prependProp('ibm,ppc-interrupt-gserver#s', propU32(...gservers));
  }
}
