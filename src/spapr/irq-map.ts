/**
 * The pseries IRQ number space (shared by the XICS and XIVE backends) and the two ways device
 * numbers are handed out.
 *
 * 0x0000-0x0FFF: one IPI per possible vCPU (XIVE only); 0x1000-0x1FFF: device interrupts
 * (EPOW, hotplug, VIO, PCI LSIs, PCI MSIs). From pseries-3.1 on, each kind of device has fixed
 * numbers (EPOW 0x1000, hotplug 0x1001, VIO 0x1100 + n, PHB LSIs 0x1200 + 4 * index + pin) and
 * MSIs come from a bitmap over 0x1300 .. the end of the range (MsiAllocator). pseries-3.0 and
 * older number everything, MSIs included, by a first-free search over the ICS (interrupt source
 * controller) in device creation order (legacyFindFree).
 */

/** First IPI number (one IPI per possible vCPU, XIVE only). */
export const SPAPR_IRQ_IPI = 0x0;
/** Number of IPI numbers (0x0000-0x0FFF). */
export const SPAPR_IRQ_NR_IPIS = 0x1000;
/** First device interrupt number (the XICS source 0). */
export const SPAPR_XIRQ_BASE = 0x1000;
/** Size of the device interrupt range of QEMU's machines (0x1000-0x1FFF). */
export const SPAPR_NR_XIRQS = 0x1000;
/** Interrupt of the EPOW (environmental and power warning) RTAS event source. */
export const SPAPR_IRQ_EPOW = 0x1000;
/** Interrupt of the hotplug RTAS event source. */
export const SPAPR_IRQ_HOTPLUG = 0x1001;
/** First VIO device interrupt (VIO device n gets 0x1100 + n). */
export const SPAPR_IRQ_VIO = 0x1100;
/** First PCI LSI (PHB index i, pin p gets 0x1200 + 4 * i + p). */
export const SPAPR_IRQ_PCI_LSI = 0x1200;
/** First MSI number (from pseries-3.1 on, MSIs come from a bitmap from here). */
export const SPAPR_IRQ_MSI = 0x1300;
/** Total LISNs of the XIVE backend: IPIs + device range. */
export const SPAPR_XIVE_NR_IRQS = SPAPR_NR_XIRQS + SPAPR_IRQ_NR_IPIS;
/** Most vCPUs a pseries machine can have (one IPI each). */
export const SPAPR_MAX_CPUS = 4096;

/** LSIs of one PHB (INTA..INTD). */
export const PCI_LSI_PER_PHB = 4;
/** Most PHBs the fixed numbering has room for. */
export const SPAPR_MAX_PHBS = 32;

/** VIO device `n`'s interrupt (n from 0). */
export function vioIrq(n: number): number {
  return SPAPR_IRQ_VIO + n;
}

/** INTx `pin` (0..3 = INTA..INTD) of PHB `index`. */
export function pciLsiIrq(phbIndex: number, pin: number): number {
  return SPAPR_IRQ_PCI_LSI + phbIndex * PCI_LSI_PER_PHB + pin;
}

/** What an MSI block request is for: the two PCI message-signalled interrupt capabilities. */
export type MsiKind = 'msi' | 'msix';

/**
 * MSI allocator over 0x1300 .. the end of the device range (0x1FFF by default), the machine's
 * "irq_map" bitmap. `alloc` hands out `count` contiguous numbers, aligned to `count` rounded up
 * to a power of two when `align` is set; `allocFor` is the request ibm,change-msi makes, with
 * the alignment QEMU 7.2 ends up using (see there).
 */
export class MsiAllocator {
  readonly bitmap: Uint8Array;

  /** @param size numbers from SPAPR_IRQ_MSI on (QEMU's spapr_irq_nr_msis) */
  constructor(readonly size = SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS - SPAPR_IRQ_MSI) {
    this.bitmap = new Uint8Array(size);
  }

  /**
   * First fit of `count` contiguous numbers (aligned to `count` rounded up to a power of two when
   * `align`); the first number, or -1 when none fits.
   */
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

  /**
   * The block ibm,change-msi asks for on a pseries-3.1 or later machine. QEMU 7.2 turns its
   * "align" flag (set for MSI, clear for MSI-X) into an alignment mask by subtracting one from a
   * boolean: an MSI block ends up with no alignment at all and an MSI-X block starts on an even
   * number. The search is a first fit from 0x1300 with that start alignment. Returns the first
   * number, or -1 when no block fits (QEMU does not notice that case, see rtas-msi.ts).
   */
  allocFor(count: number, kind: MsiKind): number {
    if (!Number.isInteger(count) || count <= 0) return -1;
    const mask = kind === 'msix' ? 1 : 0;
    let from = 0;
    for (;;) {
      let start = from;
      while (start < this.size && this.bitmap[start]) start++;
      start = (start + mask) & ~mask;
      const end = start + count;
      if (end > this.size) return -1;
      let used = -1;
      for (let i = start; i < end; i++) {
        if (this.bitmap[i]) {
          used = i;
          break;
        }
      }
      if (used < 0) {
        this.bitmap.fill(1, start, end);
        return SPAPR_IRQ_MSI + start;
      }
      from = used + 1;
    }
  }

  /** Releases `count` numbers from `irq` on. */
  free(irq: number, count: number): void {
    const start = irq - SPAPR_IRQ_MSI;
    if (start < 0 || start + count > this.size) return;
    this.bitmap.fill(0, start, start + count);
  }

  /** Releases every number. */
  reset(): void {
    this.bitmap.fill(0);
  }

  /** Whether no number is allocated. */
  isEmpty(): boolean {
    return this.bitmap.every((b) => b === 0);
  }
}

/**
 * The first-free search of pseries-3.0 and older: the first block of `count` unclaimed numbers
 * of the ICS (`isFree(srcno)` over 0 .. nrIrqs-1), its start a multiple of `count` when
 * `aligned` (MSI) and anywhere otherwise (MSI-X, and the single numbers of every other device).
 * Returns the source number (add the ICS offset 0x1000 for the IRQ), or -1 when none is free.
 */
export function legacyFindFree(nrIrqs: number, count: number, aligned: boolean, isFree: (srcno: number) => boolean): number {
  const step = aligned ? count : 1;
  for (let first = 0; first < nrIrqs; first += step) {
    if (count > nrIrqs - first) return -1;
    let i = first;
    while (i < first + count && isFree(i)) i++;
    if (i === first + count) return first;
  }
  return -1;
}

/** Block sizes the legacy aligned search accepts (QEMU asserts on any other). */
export const LEGACY_ALIGNED_COUNTS: readonly number[] = [1, 2, 4, 8, 16, 32];
