/**
 * The pseries IRQ number space (shared by the XICS and XIVE backends) and the MSI allocator.
 * 0x0000-0x0FFF: one IPI per possible vCPU (XIVE only); 0x1000-0x1FFF: device interrupts
 * (EPOW, hotplug, VIO, PCI LSIs, PCI MSIs).
 */

export const SPAPR_IRQ_IPI = 0x0;
export const SPAPR_IRQ_NR_IPIS = 0x1000;
export const SPAPR_XIRQ_BASE = 0x1000;
export const SPAPR_NR_XIRQS = 0x1000;
export const SPAPR_IRQ_EPOW = 0x1000;
export const SPAPR_IRQ_HOTPLUG = 0x1001;
export const SPAPR_IRQ_VIO = 0x1100;
export const SPAPR_IRQ_PCI_LSI = 0x1200;
export const SPAPR_IRQ_MSI = 0x1300;
/** Total LISNs of the XIVE backend: IPIs + device range. */
export const SPAPR_XIVE_NR_IRQS = SPAPR_NR_XIRQS + SPAPR_IRQ_NR_IPIS;
/** Most vCPUs a pseries machine can have (one IPI each). */
export const SPAPR_MAX_CPUS = 4096;

export const PCI_LSI_PER_PHB = 4;
export const SPAPR_MAX_PHBS = 32;

/** VIO device `n`'s interrupt (n from 0). */
export function vioIrq(n: number): number {
  return SPAPR_IRQ_VIO + n;
}

/** INTx `pin` (0..3 = INTA..INTD) of PHB `index`. */
export function pciLsiIrq(phbIndex: number, pin: number): number {
  return SPAPR_IRQ_PCI_LSI + phbIndex * PCI_LSI_PER_PHB + pin;
}

/**
 * MSI allocator over 0x1300 .. the end of the device range (0x1FFF by default) (the machine's "irq_map" bitmap): `count` contiguous
 * numbers, aligned to `count` rounded up to a power of two when `align` is set.
 */
export class MsiAllocator {
  readonly bitmap: Uint8Array;

  /** @param size numbers from SPAPR_IRQ_MSI on (QEMU's spapr_irq_nr_msis) */
  constructor(readonly size = SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS - SPAPR_IRQ_MSI) {
    this.bitmap = new Uint8Array(size);
  }

  alloc(count: number, align: boolean): number {
    if (!Number.isInteger(count) || count <= 0) return -1;
    let step = 1;
    if (align) while (step < count) step <<= 1;
    for (let start = 0; start + count <= this.size; start += step) {
      let free = true;
      for (let i = 0; i < count; i++) if (this.bitmap[start + i]) { free = false; break; }
      if (free) {
        this.bitmap.fill(1, start, start + count);
        return SPAPR_IRQ_MSI + start;
      }
    }
    return -1;
  }

  free(irq: number, count: number): void {
    const start = irq - SPAPR_IRQ_MSI;
    if (start < 0 || start + count > this.size) return;
    this.bitmap.fill(0, start, start + count);
  }

  reset(): void {
    this.bitmap.fill(0);
  }

  isEmpty(): boolean {
    return this.bitmap.every((b) => b === 0);
  }
}
