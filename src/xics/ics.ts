/**
 * XICS interrupt source controller (ICS) of the PAPR legacy interrupt model, as QEMU 7.2's
 * pseries emulates it: one entry per source number (irq = offset + srcno) holding the target
 * server (vCPU id), the current and saved priority (0xFF = masked), a status byte and the
 * LSI/MSI kind. It turns device input into presentation attempts on the ICPs (interrupt
 * presentation controllers, icp.ts) and takes back what they reject, EOI or ask to be resent.
 *
 * MSI = message-signalled (edge) source, LSI = level-sensitive source, XIRR = external interrupt
 * request register, XISR = its source field, CPPR = current processor priority.
 */
import { Tracer } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';
import type { StateCodec, StateMismatch } from '../base/state.ts';

/** BUID 1 shifted by 12: the first irq number of QEMU's ICS. */
export const XICS_IRQ_BASE = 0x1000;
/** Sources of the pseries ICS (pseries-3.1 and later). */
export const XICS_NR_IRQS = 0x1000;
/** The XISR value of an IPI (not an ICS source). */
export const XICS_IPI = 2;

export const XICS_STATUS_ASSERTED = 0x01;
export const XICS_STATUS_SENT = 0x02;
export const XICS_STATUS_REJECTED = 0x04;
export const XICS_STATUS_MASKED_PENDING = 0x08;
/** Mirrors of KVM's P and Q bits; only ever loaded from an in-kernel state, never set here. */
export const XICS_STATUS_PRESENTED = 0x10;
export const XICS_STATUS_QUEUED = 0x20;

export const XICS_FLAGS_IRQ_LSI = 0x1;
export const XICS_FLAGS_IRQ_MSI = 0x2;
export const XICS_FLAGS_IRQ_MASK = 0x3;

/**
 * What an ICS asks of a presenter (the ICP, icp.ts): a presentation attempt. Named here so that
 * the ICS and the ICP, which also calls the ICS, do not depend on each other's modules.
 */
export interface XicsPresenter {
  /** Tries to present `irq` of `ics` at `priority`; a refusal comes back as a reject to the ICS. */
  present(ics: Ics, irq: number, priority: number): void;
}

/**
 * How the XICS blocks find each other (QEMU's "XICS fabric", the machine): an ICS delivers to
 * the ICP of a server, an ICP sends EOIs to the ICS owning an irq and asks every ICS to resend.
 */
export interface XicsFabric {
  /** ICP of the vCPU whose id (server number) is `server`, or null when there is none. */
  icpByServer(server: number): XicsPresenter | null;
  /** The ICS whose range holds `irq`, or null (IPI, out of range). */
  icsForIrq(irq: number): Ics | null;
  /** RESEND over every ICS (not filtered by server). */
  resendSources(): void;
}

/** Saved state of the ICS: per source, what QEMU migrates (server, priorities, status, flags). */
export interface IcsState {
  offset: number;
  nrIrqs: number;
  server: Uint32Array;
  priority: Uint8Array;
  savedPriority: Uint8Array;
  status: Uint8Array;
  flags: Uint8Array;
}

const ICS_ENTRY_BYTES = 8;

/** Layout: offset, nr_irqs (u32 each), then per source server (u32), priority, saved priority, status, flags (u8). */
export const ICS_STATE: StateCodec<IcsState> = {
  version: 1,
  encode(s, w) {
    w.u32(s.offset);
    w.u32(s.nrIrqs);
    for (let i = 0; i < s.nrIrqs; i++) {
      w.u32(s.server[i]!);
      w.u8(s.priority[i]!);
      w.u8(s.savedPriority[i]!);
      w.u8(s.status[i]!);
      w.u8(s.flags[i]!);
    }
  },
  decoders: {
    1: (r) => {
      const offset = r.u32('offset');
      const nrIrqs = r.u32('nr_irqs');
      if (nrIrqs * ICS_ENTRY_BYTES !== r.remaining) throw r.invalid(`${nrIrqs} sources need ${nrIrqs * ICS_ENTRY_BYTES} bytes, ${r.remaining} present`);
      const s: IcsState = {
        offset,
        nrIrqs,
        server: new Uint32Array(nrIrqs),
        priority: new Uint8Array(nrIrqs),
        savedPriority: new Uint8Array(nrIrqs),
        status: new Uint8Array(nrIrqs),
        flags: new Uint8Array(nrIrqs),
      };
      for (let i = 0; i < nrIrqs; i++) {
        s.server[i] = r.u32('server');
        s.priority[i] = r.u8('priority');
        s.savedPriority[i] = r.u8('saved priority');
        s.status[i] = r.u8('status');
        const f = r.u8('flags');
        if (f > XICS_FLAGS_IRQ_MASK) throw r.invalid(`source ${i} has flags 0x${f.toString(16)}`);
        s.flags[i] = f;
      }
      return s;
    },
  },
};

/**
 * The XICS ICS (interrupt source controller): `nrIrqs` sources from `offset` on (0x1000 on
 * pseries), with their server, priority and status.
 */
export class Ics {
  readonly offset: number;
  readonly nrIrqs: number;
  /** Per srcno: target server (vCPU id). */
  readonly server: Uint32Array;
  /** Per srcno: current priority, 0xFF = masked. */
  readonly priority: Uint8Array;
  /** Per srcno: priority restored by ibm,int-on. */
  readonly savedPriority: Uint8Array;
  /** Per srcno: XICS_STATUS_* bits. */
  readonly status: Uint8Array;
  /** Per srcno: XICS_FLAGS_IRQ_LSI / _MSI, 0 when the source is not claimed. */
  readonly flags: Uint8Array;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();

  constructor(
    readonly fabric: XicsFabric,
    offset: number = XICS_IRQ_BASE,
    nrIrqs: number = XICS_NR_IRQS,
  ) {
    if (!Number.isInteger(offset) || offset <= 0) {
      throw new XiveUsageError(`ICS offset must be a positive integer (QEMU treats offset 0 as "no ICS"), got ${offset}`);
    }
    if (!Number.isInteger(nrIrqs) || nrIrqs <= 0 || offset + nrIrqs > 0x100_0000) {
      throw new XiveUsageError(`ICS nr_irqs must be a positive integer keeping irqs below 0x1000000 (24-bit XISR), got ${nrIrqs}`);
    }
    this.offset = offset;
    this.nrIrqs = nrIrqs;
    this.server = new Uint32Array(nrIrqs);
    this.priority = new Uint8Array(nrIrqs).fill(0xff);
    this.savedPriority = new Uint8Array(nrIrqs).fill(0xff);
    this.status = new Uint8Array(nrIrqs);
    this.flags = new Uint8Array(nrIrqs);
  }

  /** Is `irq` one of this ICS's sources? */
  validIrq(irq: number): boolean {
    return irq >= this.offset && irq < this.offset + this.nrIrqs;
  }

  /** Whether source `srcno` (0-based within the ICS) is claimed as an LSI. */
  isLsi(srcno: number): boolean {
    return (this.flags[srcno]! & XICS_FLAGS_IRQ_LSI) !== 0;
  }

  /** Whether source `srcno` (0-based within the ICS) is claimed. */
  isClaimed(srcno: number): boolean {
    return (this.flags[srcno]! & XICS_FLAGS_IRQ_MASK) !== 0;
  }

  // ---- Machine wiring --------------------------------------------------------------------------

  /**
   * Marks global `irq` as an LSI or MSI. Returns false (QEMU: -EBUSY, "IRQ %d is not free")
   * when it is already claimed. Server and priorities are left as they are.
   */
  claim(irq: number, lsi: boolean): boolean {
    const srcno = this.srcnoOf(irq);
    if (this.isClaimed(srcno)) return false;
    this.flags[srcno]! |= lsi ? XICS_FLAGS_IRQ_LSI : XICS_FLAGS_IRQ_MSI;
    return true;
  }

  /** Releases global `irq`: the entry is zeroed, so its priority reads 0 until the next reset or write. */
  free(irq: number): void {
    const srcno = this.srcnoOf(irq);
    this.server[srcno] = 0;
    this.priority[srcno] = 0;
    this.savedPriority[srcno] = 0;
    this.status[srcno] = 0;
    this.flags[srcno] = 0;
  }

  /** Machine reset: every source to server 0, masked, no status; the claim flags survive. */
  reset(): void {
    this.server.fill(0);
    this.priority.fill(0xff);
    this.savedPriority.fill(0xff);
    this.status.fill(0);
  }

  // ---- Device input ----------------------------------------------------------------------------

  /** Input line of source `srcno` changes (devices pulse MSIs: level 1 then 0). */
  setIrq(srcno: number, level: boolean): void {
    this.checkSrcno(srcno);
    const irq = this.offset + srcno;
    if ((this.flags[srcno]! & XICS_FLAGS_IRQ_LSI) !== 0) {
      if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_ics_set_irq_lsi', srcno, nr: irq });
      if (level) this.status[srcno]! |= XICS_STATUS_ASSERTED;
      else this.status[srcno]! &= ~XICS_STATUS_ASSERTED;
      this.resendLsi(srcno);
      return;
    }
    // Unclaimed sources take the MSI path, as in QEMU.
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_ics_set_irq_msi', srcno, nr: irq });
    if (!level) return;
    if (this.priority[srcno] === 0xff) {
      this.status[srcno]! |= XICS_STATUS_MASKED_PENDING;
      if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_masked_pending' });
    } else {
      this.deliver(srcno);
    }
  }

  // ---- Configuration ---------------------------------------------------------------------------

  /**
   * Sets the routing of `srcno` (RTAS ibm,set-xive / int-on / int-off). An LSI still asserted is
   * presented if it can be; an MSI that fired while masked is delivered once unmasked. A rejected
   * MSI is not retried here: it waits for an ICP resend.
   */
  writeXive(srcno: number, server: number, priority: number, savedPriority: number): void {
    this.checkSrcno(srcno);
    if (!Number.isInteger(priority) || priority < 0 || priority > 0xff || !Number.isInteger(savedPriority) || savedPriority < 0 || savedPriority > 0xff) {
      throw new XiveUsageError(`priorities must be integers in 0..0xff, got ${priority} / ${savedPriority}`);
    }
    if (!Number.isInteger(server) || server < 0 || server > 0xffff_ffff) {
      throw new XiveUsageError(`server must be a 32-bit unsigned integer, got ${server}`);
    }
    this.server[srcno] = server;
    this.priority[srcno] = priority;
    this.savedPriority[srcno] = savedPriority;
    if (this.tracer.sink !== null) {
      this.tracer.sink.emit({ name: 'xics_ics_write_xive', nr: this.offset + srcno, srcno, server: this.server[srcno]!, priority });
    }
    if ((this.flags[srcno]! & XICS_FLAGS_IRQ_LSI) !== 0) {
      this.resendLsi(srcno);
    } else if ((this.status[srcno]! & XICS_STATUS_MASKED_PENDING) !== 0 && priority !== 0xff) {
      this.status[srcno]! &= ~XICS_STATUS_MASKED_PENDING;
      this.deliver(srcno);
    }
  }

  // ---- Called by the ICPs ----------------------------------------------------------------------

  /** An ICP refused or displaced global `irq`: remember it for the next resend. */
  reject(irq: number): void {
    const srcno = this.srcnoOf(irq);
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_ics_reject', nr: irq, srcno });
    const f = this.flags[srcno]!;
    if ((f & XICS_FLAGS_IRQ_MSI) !== 0) this.status[srcno]! |= XICS_STATUS_REJECTED;
    else if ((f & XICS_FLAGS_IRQ_LSI) !== 0) this.status[srcno]! &= ~XICS_STATUS_SENT;
  }

  /** End of interrupt for global `irq`. A still-asserted LSI is re-presented by the ICP's resend, not here. */
  eoi(irq: number): void {
    const srcno = this.srcnoOf(irq);
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_ics_eoi', nr: irq });
    if ((this.flags[srcno]! & XICS_FLAGS_IRQ_LSI) !== 0) this.status[srcno]! &= ~XICS_STATUS_SENT;
  }

  /**
   * Retries every source in ascending order. Deliveries made during the walk can reject sources
   * further up, which the same walk then retries: the order matters for the trace.
   */
  resend(): void {
    const n = this.nrIrqs;
    const flags = this.flags;
    const status = this.status;
    for (let srcno = 0; srcno < n; srcno++) {
      if ((flags[srcno]! & XICS_FLAGS_IRQ_LSI) !== 0) {
        this.resendLsi(srcno);
      } else if ((status[srcno]! & XICS_STATUS_REJECTED) !== 0) {
        status[srcno]! &= ~XICS_STATUS_REJECTED;
        // A source masked since its rejection is dropped, not turned into MASKED_PENDING.
        if (this.priority[srcno] !== 0xff) this.deliver(srcno);
      }
    }
  }

  // ---- Internals -------------------------------------------------------------------------------

  private resendLsi(srcno: number): void {
    const s = this.status[srcno]!;
    if (this.priority[srcno] !== 0xff && (s & XICS_STATUS_ASSERTED) !== 0 && (s & XICS_STATUS_SENT) === 0) {
      this.status[srcno] = s | XICS_STATUS_SENT;
      this.deliver(srcno);
    }
  }

  /** Presentation attempt of `srcno` on its server's ICP, at its current priority. */
  private deliver(srcno: number): void {
    const server = this.server[srcno]!;
    const irq = this.offset + srcno;
    const priority = this.priority[srcno]!;
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_icp_irq', server, nr: irq, priority });
    const icp = this.fabric.icpByServer(server);
    if (icp === null) {
      this.tracer.guestError(`XICS: irq 0x${irq.toString(16)} targets server ${server}, which has no ICP`);
      this.reject(irq);
      return;
    }
    icp.present(this, irq, priority);
  }

  // ---- Saved state ------------------------------------------------------------------------------
  /** A copy of every source's server, priorities, status and kind. */
  saveState(): IcsState {
    return {
      offset: this.offset,
      nrIrqs: this.nrIrqs,
      server: this.server.slice(),
      priority: this.priority.slice(),
      savedPriority: this.savedPriority.slice(),
      status: this.status.slice(),
      flags: this.flags.slice(),
    };
  }

  /** Why `s` cannot be loaded into this ICS, or null. */
  stateMismatch(s: IcsState): StateMismatch | null {
    if (s.nrIrqs !== this.nrIrqs) return { what: 'the ICS nr_irqs', saved: s.nrIrqs, here: this.nrIrqs };
    if (s.offset !== this.offset) return { what: 'the ICS offset', saved: s.offset, here: this.offset };
    return null;
  }

  /** Replaces every source's state with `s` (checked with stateMismatch). */
  loadState(s: IcsState): void {
    this.server.set(s.server);
    this.priority.set(s.priority);
    this.savedPriority.set(s.savedPriority);
    this.status.set(s.status);
    this.flags.set(s.flags);
  }

  private srcnoOf(irq: number): number {
    if (!Number.isInteger(irq) || !this.validIrq(irq)) {
      throw new XiveUsageError(`irq ${irq} is outside this ICS (0x${this.offset.toString(16)}..0x${(this.offset + this.nrIrqs - 1).toString(16)})`);
    }
    return irq - this.offset;
  }

  private checkSrcno(srcno: number): void {
    if (!Number.isInteger(srcno) || srcno < 0 || srcno >= this.nrIrqs) {
      throw new XiveUsageError(`source number ${srcno} is outside 0..0x${(this.nrIrqs - 1).toString(16)}`);
    }
  }
}
