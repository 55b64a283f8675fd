/**
 * XICS interrupt presentation controller (ICP) of one vCPU, as QEMU 7.2's pseries emulates it:
 * the XIRR (external interrupt request register: CPPR, the current processor priority, in bits
 * 31..24 and XISR, the presented source, in bits 23..0), the pending priority (PP) of the XISR
 * source, the MFRR (most favoured request register, which requests an IPI, XISR 2) and the
 * external-interrupt output towards the CPU. It arbitrates ICS (interrupt source controller)
 * deliveries against the CPPR, and implements accept, EOI, CPPR and MFRR writes with their
 * reject/resend rules.
 *
 * Priorities compare as unsigned bytes: smaller is more favoured, 0xFF is least favoured.
 */
import type { StateCodec } from '../base/state.ts';
import { LINE_INT, type CpuLines } from '../ports/lines.ts';
import { Tracer } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';
import { XICS_IPI, type Ics, type XicsFabric } from './ics.ts';
import { fieldShift, ppcBitMask32 } from '../base/bits.ts';

// XIRR fields, in IBM bit numbers: CPPR in bits 0-7 (the top byte), XISR in bits 8-31. Every
// method here is on the delivery path, so fields are read with the mask and its shift constant
// rather than getField, which would work the shift out on each call (see xive/regs.ts); and
// through these module-private names, which the engine reads faster than exported ones.
const CPPR = ppcBitMask32(0, 7);
const CPPR_SHIFT = fieldShift(CPPR);
const XISR = ppcBitMask32(8, 31);
/** The XIRR fields, for other modules. */
export const XIRR_CPPR = CPPR;
export const XIRR_XISR = XISR;

/** Saved state of an ICP: what QEMU migrates of it. */
export interface IcpState {
  xirr: number;
  pendingPriority: number;
  mfrr: number;
}

/** Layout: XIRR (u32), pending priority (u8), MFRR (u8). */
export const ICP_STATE: StateCodec<IcpState> = {
  version: 1,
  encode(s, w) {
    w.u32(s.xirr);
    w.u8(s.pendingPriority);
    w.u8(s.mfrr);
  },
  decoders: {
    1: (r) => ({ xirr: r.u32('xirr'), pendingPriority: r.u8('pending priority'), mfrr: r.u8('mfrr') }),
  },
};

/**
 * The XICS ICP (interrupt presentation controller) of one vCPU: XIRR (CPPR and XISR), MFRR and the
 * pending priority.
 */
export class Icp {
  private xirrReg = 0;
  private pp = 0xff;
  private mfrrReg = 0xff;
  /** ICS that supplied the current XISR, so a later displacement can be rejected back to it. */
  private ownerIcs: Ics | null = null;
  private level = false;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();

  /**
   * @param cpuIndex QEMU cpu_index of the vCPU (printed by traces and `info pic`)
   * @param server its PAPR server number (vCPU id) that sources and H_IPI target
   * @param out the CPU's external-interrupt input (line LINE_INT), or null
   */
  constructor(
    readonly cpuIndex: number,
    readonly server: number,
    readonly fabric: XicsFabric,
    readonly out: CpuLines | null = null,
  ) {}

  /** The XIRR register: CPPR in the high byte, XISR in the low 24 bits. */
  get xirr(): number {
    return this.xirrReg;
  }
  /** The current processor priority (0xFF accepts every priority). */
  get cppr(): number {
    return (this.xirrReg & CPPR) >>> CPPR_SHIFT;
  }
  /** The pending source (0: none, 2: the IPI). */
  get xisr(): number {
    return this.xirrReg & XISR;
  }
  /** Priority of the pending XISR (0xFF: none). */
  get pendingPriority(): number {
    return this.pp;
  }
  /** The MFRR: the priority of the pending IPI (0xFF: none). */
  get mfrr(): number {
    return this.mfrrReg;
  }
  /** The ICS the XISR came from; null for none, an IPI, or after an accept. */
  get owner(): Ics | null {
    return this.ownerIcs;
  }
  /** Level of the external-interrupt output (high exactly while XISR is not 0). */
  get outputLevel(): boolean {
    return this.level;
  }

  /**
   * ICP reset (with the CPU reset, which lowers the output): CPPR 0, so nothing is presented
   * until the guest opens it with H_CPPR. The owner is left alone, as QEMU does; it is
   * unreachable while XISR is 0.
   */
  reset(): void {
    this.xirrReg = 0;
    this.pp = 0xff;
    this.mfrrReg = 0xff;
    this.setOutput(false);
  }

  /**
   * Loads migrated state (XIRR, PP, MFRR). The machine then runs `resend()` on every ICP, as
   * QEMU's post-load does. QEMU does not migrate the owner either, so a pending source displaced
   * after a migration would never be rejected back to its ICS and would be lost; the owner is
   * re-derived here from the XISR (the ICS whose range holds it), so that a run continues after
   * a restore exactly as it would have without it.
   */
  setState(xirr: number, pendingPriority: number, mfrr: number): void {
    if (!isU32(xirr) || !isU8(pendingPriority) || !isU8(mfrr)) {
      throw new XiveUsageError(`ICP state must be a 32-bit XIRR and 8-bit PP/MFRR, got ${xirr} / ${pendingPriority} / ${mfrr}`);
    }
    this.xirrReg = xirr;
    this.pp = pendingPriority;
    this.mfrrReg = mfrr;
    this.ownerIcs = this.fabric.icsForIrq(xirr & XISR);
    this.setOutput((xirr & XISR) !== 0);
  }

  /** A copy of the migrated registers (the owner is derived, not saved). */
  saveState(): IcpState {
    return { xirr: this.xirrReg >>> 0, pendingPriority: this.pp, mfrr: this.mfrrReg };
  }

  /** Replaces the registers with `s` (see setState). */
  loadState(s: IcpState): void {
    this.setState(s.xirr, s.pendingPriority, s.mfrr);
  }

  /**
   * Presentation attempt of `irq` at `priority` from `ics` (the ICS has already traced it).
   * Ties with the pending interrupt lose; a winner displaces the pending source back to its ICS.
   */
  present(ics: Ics, irq: number, priority: number): void {
    const xisr = this.xirrReg & XISR;
    if (priority >= (this.xirrReg & CPPR) >>> CPPR_SHIFT || (xisr !== 0 && this.pp <= priority)) {
      ics.reject(irq);
      return;
    }
    // A displaced IPI has no owner: MFRR still requests it, a later resend brings it back.
    if (xisr !== 0 && this.ownerIcs !== null) {
      this.ownerIcs.reject(xisr);
      this.ownerIcs = null;
    }
    this.xirrReg = ((this.xirrReg & CPPR) | (irq & XISR)) >>> 0;
    this.ownerIcs = ics;
    this.pp = priority;
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_icp_raise', xirr: this.xirrReg, pendingPriority: this.pp });
    this.setOutput(true);
  }

  /** Presents the IPI unless the pending interrupt is at least as favoured as MFRR. */
  checkIpi(): void {
    const xisr = this.xirrReg & XISR;
    if (xisr !== 0 && this.pp <= this.mfrrReg) return;
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_icp_check_ipi', server: this.cpuIndex, mfrr: this.mfrrReg });
    if (xisr !== 0 && this.ownerIcs !== null) this.ownerIcs.reject(xisr);
    this.xirrReg = ((this.xirrReg & CPPR) | XICS_IPI) >>> 0;
    this.pp = this.mfrrReg;
    this.ownerIcs = null;
    this.setOutput(true);
  }

  /** IPI check, then a resend of every ICS source (to any server, not only this one). */
  resend(): void {
    if (this.mfrrReg < (this.xirrReg & CPPR) >>> CPPR_SHIFT) this.checkIpi();
    this.fabric.resendSources();
  }

  /** H_CPPR. Raising the priority may push the pending source back; lowering it (or an equal write) resends. */
  setCppr(cppr: number): void {
    checkU8(cppr, 'CPPR');
    const old = (this.xirrReg & CPPR) >>> CPPR_SHIFT;
    this.xirrReg = ((this.xirrReg & XISR) | (cppr << CPPR_SHIFT)) >>> 0;
    if (cppr < old) {
      const xisr = this.xirrReg & XISR;
      if (xisr !== 0 && cppr <= this.pp) {
        this.xirrReg = (this.xirrReg & CPPR) >>> 0;
        this.pp = 0xff;
        this.setOutput(false);
        // A pending IPI is dropped without any reject: MFRR still holds the request.
        if (this.ownerIcs !== null) {
          this.ownerIcs.reject(xisr);
          this.ownerIcs = null;
        }
      }
    } else if ((this.xirrReg & XISR) === 0) {
      this.resend();
    }
  }

  /** H_IPI on this ICP. A less favoured MFRR neither withdraws a latched IPI nor triggers a resend. */
  setMfrr(mfrr: number): void {
    checkU8(mfrr, 'MFRR');
    this.mfrrReg = mfrr;
    if (mfrr < (this.xirrReg & CPPR) >>> CPPR_SHIFT) this.checkIpi();
  }

  /**
   * H_XIRR: returns the XIRR and takes the interrupt (CPPR := PP). With nothing pending this
   * still sets CPPR to 0xFF and traces, as QEMU does.
   */
  accept(): number {
    const ret = this.xirrReg;
    this.setOutput(false);
    this.xirrReg = (this.pp << CPPR_SHIFT) >>> 0;
    this.pp = 0xff;
    this.ownerIcs = null;
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_icp_accept', oldXirr: ret, newXirr: this.xirrReg });
    return ret;
  }

  /**
   * H_EOI with the guest's XIRR value: CPPR from its top byte (not checked against PP), EOI of
   * its source in the owning ICS (IPIs and unknown numbers are ignored), then a resend if
   * nothing is presented.
   */
  eoi(xirr: number): void {
    if (!isU32(xirr)) throw new XiveUsageError(`EOI value must be a 32-bit unsigned integer, got ${xirr}`);
    this.xirrReg = ((this.xirrReg & XISR) | (xirr & CPPR)) >>> 0;
    if (this.tracer.sink !== null) this.tracer.sink.emit({ name: 'xics_icp_eoi', server: this.cpuIndex, xirr, newXirr: this.xirrReg });
    const irq = xirr & XISR;
    const ics = this.fabric.icsForIrq(irq);
    if (ics !== null) ics.eoi(irq);
    if ((this.xirrReg & XISR) === 0) this.resend();
  }

  private setOutput(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    if (this.out !== null) this.out.setLine(this.cpuIndex, LINE_INT, level);
  }
}

function isU8(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

function checkU8(v: number, what: string): void {
  if (!isU8(v)) throw new XiveUsageError(`${what} must be an integer in 0..0xff, got ${v}`);
}

/**
 * A ready-made fabric for one machine: one ICS (or none) and the ICPs indexed by server number.
 * A machine that needs more (several ICSes, a guard on the active controller) implements
 * XicsFabric itself.
 */
export class SimpleXicsFabric implements XicsFabric {
  ics: Ics | null = null;
  private readonly byServer: (Icp | undefined)[] = [];

  /** Adds the ICP of a server (one per server number). */
  addIcp(icp: Icp): void {
    const s = icp.server;
    if (!Number.isInteger(s) || s < 0 || s > 0x7fff_ffff) throw new XiveUsageError(`server number ${s} must be an integer in 0..0x7fffffff`);
    if (this.byServer[s] !== undefined) throw new XiveUsageError(`server ${s} already has an ICP; remove it first`);
    if (icp.fabric !== this) throw new XiveUsageError(`the ICP of server ${s} was built for another fabric`);
    this.byServer[s] = icp;
  }

  /** Removes the ICP of a server (CPU unplug). */
  removeIcp(server: number): void {
    this.byServer[server] = undefined;
  }

  icpByServer(server: number): Icp | null {
    if (server < 0 || server >= this.byServer.length) return null;
    return this.byServer[server] ?? null;
  }

  icsForIrq(irq: number): Ics | null {
    const ics = this.ics;
    return ics !== null && ics.validIrq(irq) ? ics : null;
  }

  resendSources(): void {
    if (this.ics !== null) this.ics.resend();
  }
}
