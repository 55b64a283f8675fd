/**
 * The interrupt-controller parts of the pseries device tree as QEMU 7.2 builds it at machine
 * reset (before CAS), for a TCG machine with `-cpu POWER9` (one thread per core):
 *
 * - `/` : `#address-cells` / `#size-cells` (2 and 2, which the XIVE node's `reg` relies on) and,
 *   when XIVE is active, `ibm,plat-res-int-priorities`;
 * - `/chosen` : `ibm,arch-vec-5-platform-support` (option vector 5, OV5, byte 23 advertises the
 *   interrupt modes) and `ibm,architecture-vec-5` (the negotiated OV5, empty at reset);
 * - `/rtas` : the tokens of the four XICS RTAS calls (only when a XICS object exists);
 * - `/cpus/PowerPC,POWER9@N` : the interrupt server numbers of each present vCPU;
 * - the node of the controller that is active at reset: XIVE (eXternal Interrupt Virtualization
 *   Engine, `interrupt-controller@60302031b0000`) for ic-mode xive, XICS (the legacy eXternal
 *   Interrupt Controller Specification model, `interrupt-controller`) for xics and dual.
 *
 * Everything else QEMU puts in the tree (memory, PHBs, VIO, drc properties, ...) is left out.
 * Values follow docs/spapr-xive.md §4 and docs/xics.md §8; node names, property order and bytes match the
 * `dumpdtb` captures in test/fixtures/qemu. The phandle of the controller node is PHANDLE_INTC,
 * the value every interrupt-map in the full tree refers to.
 */
import { DeviceTree, propBytes, propString, propU32 } from './fdt.ts';
import { OV5_INT_CTRL_BYTE, platformSupportByte, type IcMode } from './cas.ts';
import { SpaprMachine } from './machine.ts';

/** Phandle of the interrupt-controller node (XICS or XIVE), in `phandle` and `linux,phandle`. */
export const PHANDLE_INTC = 0x1111;

export { XIVE_NODE_NAME, XIVE_NODE_PATH } from './xive-layout.ts';
export { XICS_NODE_PATH } from './spapr-xics.ts';

/**
 * OV5 bytes 24 and 26 sit in the same platform-support property: under TCG the MMU supports
 * both hash and radix (0xC0) and radix with GTSE (0x40); byte 25 is always 0.
 */
export const OV5_MMU_BYTE = 24;
export const OV5_MMU_HASH_AND_RADIX = 0xc0;
export const OV5_HASH_GTSE_BYTE = 25;
export const OV5_RADIX_GTSE_BYTE = 26;
export const OV5_RADIX_GTSE = 0x40;

export interface InterruptControllerTreeOptions {
  icMode: IcMode;
  /** vCPUs present at reset (vCPU ids 0 .. smp-1). */
  smp: number;
  /** Possible vCPUs; sets the number of interrupt servers. Default = smp. */
  maxCpus?: number;
}

/** `nr_servers`: ceil(maxCpus × vsmt / threads) with vsmt = threads = 1 under TCG. */
export function nrServers(maxCpus: number): number {
  return maxCpus;
}

/** Node name of a vCPU: the unit address is the vCPU id in hex, like every unit address. */
export function cpuNodeName(vcpuId: number): string {
  return `PowerPC,POWER9@${vcpuId.toString(16)}`;
}

export function cpuNodePath(vcpuId: number): string {
  return `/cpus/${cpuNodeName(vcpuId)}`;
}

/** `/chosen/ibm,arch-vec-5-platform-support`: (OV5 byte index, value) pairs. */
export function platformSupport(icMode: IcMode): Uint8Array {
  return propBytes(
    OV5_INT_CTRL_BYTE,
    platformSupportByte(icMode),
    OV5_MMU_BYTE,
    OV5_MMU_HASH_AND_RADIX,
    OV5_HASH_GTSE_BYTE,
    0x00,
    OV5_RADIX_GTSE_BYTE,
    OV5_RADIX_GTSE,
  );
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
 * The interrupt-controller parts of the tree QEMU 7.2 builds at machine reset.
 *
 * QEMU adds properties with libfdt, which puts each new property first in its node, so the
 * blob lists them in reverse creation order. Properties are added here in QEMU's creation order
 * through prependProp so that the blob order comes out the same; nodes are created directly in
 * the order the blob shows them.
 */
export function interruptControllerTree(opts: InterruptControllerTreeOptions): DeviceTree {
  return machineDeviceTree(new SpaprMachine({ icMode: opts.icMode, smp: opts.smp, maxCpus: opts.maxCpus, devices: 'none', ramSize: 1 << 20 }));
}

/** The interrupt-controller parts of the tree of `m` as it is now (QEMU builds it at reset). */
export function machineDeviceTree(m: SpaprMachine): DeviceTree {
  const servers = nrServers(m.maxCpus);
  const tree = new DeviceTree();
  const root = tree.root;
  root.prependProp('#address-cells', propU32(2));
  root.prependProp('#size-cells', propU32(2));

  const chosen = root.addChild('chosen');
  chosen.prependProp('ibm,arch-vec-5-platform-support', platformSupport(m.icMode));
  chosen.prependProp('ibm,architecture-vec-5', architectureVec5(m.ov5Cas));

  // RTAS calls are registered when their controller is realized, so a dual machine advertises
  // the XICS ones even while XIVE could later take over.
  const tokens = Object.entries(m.rtasTokens());
  if (tokens.length > 0) {
    const rtas = root.addChild('rtas');
    for (const [name, token] of tokens) rtas.prependProp(name, propU32(token));
  }

  // The cell sizes of /cpus and each CPU's identity (reg, device_type) make the extract a valid
  // tree on its own: without them dtc cannot check the unit addresses.
  const cpus = root.addChild('cpus');
  cpus.prependProp('#address-cells', propU32(1));
  cpus.prependProp('#size-cells', propU32(0));
  for (const id of m.vcpus) {
    const cpu = cpus.addChild(cpuNodeName(id));
    cpu.prependProp('reg', propU32(id));
    cpu.prependProp('device_type', propString('cpu'));
    // One entry per thread of the core; a TCG core has a single thread whose server is its id.
    cpu.prependProp('ibm,ppc-interrupt-server#s', propU32(id));
    // Global interrupt queue 0 for every thread (no distribution queue on QEMU).
    cpu.prependProp('ibm,ppc-interrupt-gserver#s', propU32(id, 0));
  }

  m.intc.dt(tree, servers, PHANDLE_INTC);
  return tree;
}
