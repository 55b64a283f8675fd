/**
 * The sPAPR PCI host bridges (PHB, "spapr-pci-host-bridge") as far as interrupts go: where each
 * one is addressed (its BUID, bus unit identifier, which also names its device-tree node), its
 * four INTx LSIs (level-sensitive interrupts, one per pin) and the interrupt-map that routes
 * every slot's pins to them, the PCI functions plugged below it (only their MSI and MSI-X
 * capabilities), and the MSI blocks the guest obtained for them through ibm,change-msi, kept per
 * configuration address as the guest gave it.
 *
 * Facts used (docs/configurations.md, "PHBs and MSIs"): BUID = 0x800000020000000 + index, so
 * the node is `pci@800000020000000` for index 0 whatever the window placement; the index limit is
 * 30 (255 with the placement of pseries-2.7 and older); pin P of slot S is wired to LSI
 * (S + P) mod 4 of the bridge (the standard PCI swizzle); `ibm,pe-total-#msi` advertises the
 * size of the MSI number pool.
 */
import { XiveUsageError } from '../base/errors.ts';
import { propU32, propU64, type DeviceTree } from './fdt.ts';
import type { MsiKind } from './irq-map.ts';

export const SPAPR_PHB_BUID_BASE = 0x800000020000000n;
/** Highest PHB index of the default placement (1 TiB 64-bit windows between 32 and 64 TiB). */
export const SPAPR_PHB_MAX_INDEX = 30;
/** Highest PHB index of the placement of pseries-2.7 and older. */
export const SPAPR_PHB_MAX_INDEX_LEGACY = 255;
/** Guest address the MSI messages are written to (the device's MSI address). */
export const SPAPR_PCI_MSI_WINDOW = 0x40000000000n;

export const PCI_NUM_PINS = 4;
export const PCI_SLOT_MAX = 32;

/** BUID of PHB `index`. */
export function phbBuid(index: number): bigint {
  return SPAPR_PHB_BUID_BASE + BigInt(index);
}

/** Device-tree node name of PHB `index` (unit address = BUID in hex). */
export function phbNodeName(index: number): string {
  return `pci@${phbBuid(index).toString(16)}`;
}

/** The LSI (0..3 of the bridge) that pin `pin` (0 = INTA) of slot `slot` drives. */
export function pciSwizzle(slot: number, pin: number): number {
  return (slot + pin) % PCI_NUM_PINS;
}

/** A configuration address as RTAS calls carry it: bus, device/function, register. */
export function pciConfigAddress(bus: number, devfn: number, reg = 0): number {
  return ((bus & 0xff) << 16) | ((devfn & 0xff) << 8) | (reg & 0xff);
}

/** A PCI function below a PHB, described by what ibm,change-msi looks at. */
export interface PciFunctionSpec {
  /** Bus number (0 = the PHB's root bus). */
  bus?: number;
  /** Device/function number: slot << 3 | function. */
  devfn: number;
  /** QEMU's device name, as the spapr_pci_msi_setup trace event prints it. */
  name?: string;
  /**
   * MSI capability: the number of vectors it has enabled (a power of two, 1 after reset until
   * the guest enables more in configuration space), or null/absent when it has no MSI.
   */
  msi?: number | null;
  /** MSI-X capability: its table size, or null/absent when it has no MSI-X. */
  msix?: number | null;
}

export interface PciFunction {
  readonly bus: number;
  readonly devfn: number;
  readonly name: string;
  readonly msi: number | null;
  readonly msix: number | null;
}

/** MSI numbers handed to one configuration address. */
export interface MsiBlock {
  readonly firstIrq: number;
  readonly num: number;
  readonly kind: MsiKind;
}

export class SpaprPhb {
  readonly buid: bigint;
  readonly nodeName: string;
  /** LSI of each INTx pin of the bridge (index 0..3). */
  readonly lsis: readonly number[];
  private readonly functions = new Map<number, PciFunction>();
  /** MSI blocks by configuration address (the full 32-bit value the guest passed). */
  readonly msis = new Map<number, MsiBlock>();

  constructor(
    readonly index: number,
    readonly id: string | null,
    lsis: readonly number[],
  ) {
    if (lsis.length !== PCI_NUM_PINS) throw new XiveUsageError(`a PHB has ${PCI_NUM_PINS} LSIs, got ${lsis.length}`);
    this.buid = phbBuid(index);
    this.nodeName = phbNodeName(index);
    this.lsis = lsis.slice();
  }

  /** Plugs a PCI function below the bridge. */
  plug(spec: PciFunctionSpec): PciFunction {
    const bus = spec.bus ?? 0;
    const u8 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xff;
    if (!u8(bus) || !u8(spec.devfn)) throw new XiveUsageError(`PCI bus ${bus} / devfn ${spec.devfn} out of 0..255`);
    const count = (v: number | null | undefined, what: string): number | null => {
      if (v === undefined || v === null) return null;
      if (!Number.isInteger(v) || v < 0 || v > 2048) throw new XiveUsageError(`${what} vector count must be an integer in 0..2048, got ${v}`);
      return v;
    };
    const key = (bus << 8) | spec.devfn;
    if (this.functions.has(key)) throw new XiveUsageError(`${this.nodeName} already has a function at bus ${bus} devfn 0x${spec.devfn.toString(16)}`);
    const f: PciFunction = { bus, devfn: spec.devfn, name: spec.name ?? 'pci-device', msi: count(spec.msi, 'MSI'), msix: count(spec.msix, 'MSI-X') };
    this.functions.set(key, f);
    return f;
  }

  /** The function a configuration address names (its bus and devfn bytes), if plugged. */
  functionAt(configAddr: number): PciFunction | null {
    return this.functions.get((((configAddr >>> 16) & 0xff) << 8) | ((configAddr >>> 8) & 0xff)) ?? null;
  }

  /**
   * The IRQ a function signals for `vector` once its MSIs were set up through the
   * configuration address `configAddr`, or -1. MSI-X vectors each got their own message
   * (first + vector); an MSI capability has one message whose low bits the device replaces by
   * the vector number, so a block that does not start on a multiple of the enabled count (QEMU
   * allocates MSI blocks unaligned, see irq-map.ts) signals numbers outside it.
   */
  msiIrq(configAddr: number, vector: number): number {
    const b = this.msis.get(configAddr);
    const f = this.functionAt(configAddr);
    if (b === undefined || f === null || !Number.isInteger(vector) || vector < 0) return -1;
    if (b.kind === 'msix') return vector < b.num ? b.firstIrq + vector : -1;
    const enabled = f.msi ?? 0;
    if (vector >= enabled) return -1;
    return enabled > 1 ? (b.firstIrq & ~(enabled - 1)) + vector : b.firstIrq;
  }

  /**
   * `interrupt-map`: for each of the 32 slots and 4 pins, the child unit address (slot in the
   * device field of the PCI address), the pin (1 = INTA), the controller's phandle and the LSI
   * with its level-sensitive flag.
   */
  interruptMap(phandle: number): Uint8Array {
    const cells: number[] = [];
    for (let slot = 0; slot < PCI_SLOT_MAX; slot++) {
      for (let pin = 0; pin < PCI_NUM_PINS; pin++) cells.push(slot << 11, 0, 0, pin + 1, phandle, this.lsis[pciSwizzle(slot, pin)]!, 1);
    }
    return propU32(...cells);
  }

  /**
   * The bridge's node with its interrupt properties, plus the cell sizes and `reg` that make
   * the map readable on its own. `nrMsis` is the size of the machine's MSI number pool.
   * Properties are added in QEMU's creation order (see device-tree.ts).
   */
  dt(tree: DeviceTree, phandle: number, nrMsis: number): void {
    const n = tree.root.prependChild(this.nodeName);
    n.prependProp('#interrupt-cells', propU32(1));
    n.prependProp('reg', propU64(this.buid, 0n));
    n.prependProp('ibm,pe-total-#msi', propU32(nrMsis));
    // Child unit addresses are 3 cells (phys.hi, phys.mid, phys.lo) and the mask keeps the
    // device number and the pin.
    n.prependProp('interrupt-map-mask', propU32(0xf800, 0, 0, 0xffffffff));
    n.prependProp('interrupt-map', this.interruptMap(phandle));
    n.prependProp('#address-cells', propU32(3));
    n.prependProp('#size-cells', propU32(2));
  }
}
