/**
 * XIVE thread interrupt context (TCTX) of one vCPU: the 64-byte register file of 4 rings
 * (QW0 USER, QW1 OS, QW2 POOL, QW3 PHYS), each with NSR (notification source), CPPR (current
 * processor priority), IPB (interrupt pending buffer), LSMFB, ACK#, INC, AGE, PIPR (pending
 * interrupt priority) and WORD2 (CAM line / valid bit). Implements the ring operations of the
 * presenter: IPB update, notify (raise the CPU line), accept (ACK) and CPPR changes.
 */
import * as R from './regs.ts';
import { setField } from '../base/bits.ts';
import * as L from '../ports/lines.ts';
import type { CpuLines } from '../ports/lines.ts';
import { Tracer } from '../trace/events.ts';
import { lockWord, unlockWord } from './atomics.ts';
import type { StateCodec } from '../base/state.ts';

// Module-private copies of the register offsets, bits and helpers the ring operations use on
// every interrupt: the engine folds a module's own constants into the code, while an imported
// binding is loaded from its module cell and checked on every use (measured on the interrupt
// cycle).
const TM_QW1_OS = R.TM_QW1_OS;
const TM_QW3_HV_PHYS = R.TM_QW3_HV_PHYS;
const TM_NSR = R.TM_NSR;
const TM_CPPR = R.TM_CPPR;
const TM_IPB = R.TM_IPB;
const TM_PIPR = R.TM_PIPR;
const TM_QW1_NSR_EO = R.TM_QW1_NSR_EO;
const TM_QW3_NSR_HE = R.TM_QW3_NSR_HE;
/** The HE field set to PHYS, ORed into the PHYS ring's NSR on notification. */
const TM_QW3_NSR_HE_PHYS_BITS = setField(R.TM_QW3_NSR_HE, 0, R.TM_QW3_NSR_HE_PHYS);
const XIVE_PRIORITY_MAX = R.XIVE_PRIORITY_MAX;
const LINE_INT = L.LINE_INT;
const LINE_HINT = L.LINE_HINT;
const ipbToPipr = R.ipbToPipr;
const prioToIpb = R.prioToIpb;

/** Saved state of one thread context: the 64 register bytes and the INT/HINT output levels. */
export interface TctxState {
  /** Output levels: bit 0 INT, bit 1 HINT. */
  lines: number;
  regs: Uint8Array;
}

/** Layout: the output levels (u8), the 64 register bytes. */
export const TCTX_STATE: StateCodec<TctxState> = {
  version: 1,
  encode(s, w) {
    w.u8(s.lines);
    w.bytes(s.regs);
  },
  decoders: {
    1: (r) => {
      const lines = r.u8('lines');
      if (lines > 3) throw r.invalid(`line levels 0x${lines.toString(16)}`);
      return { lines, regs: r.bytes(R.TCTX_BYTES, 'registers').slice() };
    },
  },
};

/**
 * The thread interrupt context of one vCPU (CPU index `cpuIndex`, processor id `pir`), driving its
 * outputs `out`.
 */
export class ThreadContext {
  /** The 64-byte architected register file (a view into the machine's TCTX buffer). */
  readonly regs: Uint8Array;
  /** Levels of the INT (bit 0) and HINT (bit 1) outputs. */
  lines = 0;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();
  /**
   * Lock words in shared memory when other threads present to this context concurrently (word
   * `lockIndex` is this context's): IPB updates, ACKs and CPPR changes then run under the lock.
   * Null when one thread drives the context.
   */
  locks: Int32Array | null = null;
  lockIndex = 0;

  /**
   * The buffer the ring operations index, and where the register file starts in it: `regs`
   * itself at 0 unless the owner of a buffer holding every context's registers hands it over
   * (useRegisterFile). Going through the one buffer all contexts share, rather than through a
   * view of each context's own, saves a dependent load (and with thousands of vCPUs a cache
   * miss) on every operation.
   */
  private file: Uint8Array;
  private at = 0;

  constructor(
    readonly cpuIndex: number,
    readonly pir: number,
    readonly out: CpuLines | null,
    regs?: Uint8Array,
  ) {
    this.regs = regs ?? new Uint8Array(R.TCTX_BYTES);
    this.file = this.regs;
  }

  /**
   * @internal Declares that the register file is bytes at .. at + 63 of `file` (the view given to the
   * constructor must be exactly those bytes): the ring operations then index `file` directly.
   */
  useRegisterFile(file: Uint8Array, at: number): void {
    if (file.buffer !== this.regs.buffer || file.byteOffset + at !== this.regs.byteOffset || at + R.TCTX_BYTES > file.length) {
      throw new RangeError('the register file must be the 64 bytes of the context at the given offset');
    }
    this.file = file;
    this.at = at;
  }

  /** CPU reset: all 0, then the OS ring's LSMFB/ACK#/AGE/PIPR and PHYS PIPR at 0xFF. */
  reset(): void {
    this.regs.fill(0);
    const os = TM_QW1_OS;
    this.regs[os + R.TM_LSMFB] = 0xff;
    this.regs[os + R.TM_ACK_CNT] = 0xff;
    this.regs[os + R.TM_AGE] = 0xff;
    this.regs[os + TM_PIPR] = 0xff;
    this.regs[TM_QW3_HV_PHYS + TM_PIPR] = 0xff;
    this.setLineLevel(LINE_INT, false);
    this.setLineLevel(LINE_HINT, false);
  }

  /**
   * WORD2 (valid bit and CAM line) of the ring at offset `ring` (TM_QW0_USER .. TM_QW3_HV_PHYS).
   */
  word2(ring: number): number {
    const o = ring + R.TM_WORD2;
    return ((this.regs[o]! << 24) | (this.regs[o + 1]! << 16) | (this.regs[o + 2]! << 8) | this.regs[o + 3]!) >>> 0;
  }

  /** Writes WORD2 of the ring at offset `ring`. */
  setWord2(ring: number, v: number): void {
    const o = ring + R.TM_WORD2;
    this.regs[o] = v >>> 24;
    this.regs[o + 1] = v >>> 16;
    this.regs[o + 2] = v >>> 8;
    this.regs[o + 3] = v;
  }

  /** The HW CAM line of the PHYS ring (block 0). */
  hwCam(): number {
    return R.camLine(0, 0x80 | (this.pir & 0x7f));
  }

  private lineOf(ring: number): number {
    return ring === TM_QW1_OS ? LINE_INT : LINE_HINT;
  }

  private setLineLevel(line: number, level: boolean): void {
    const bit = 1 << line;
    this.lines = level ? this.lines | bit : this.lines & ~bit;
    if (this.out !== null) this.out.setLine(this.cpuIndex, line, level);
  }

  private emitRing(name: 'xive_tctx_notify' | 'xive_tctx_accept' | 'xive_tctx_set_cppr', ring: number, cppr: number): void {
    const r = this.regs;
    this.tracer.sink!.emit({ name, target: this.cpuIndex, ring, ipb: r[ring + TM_IPB]!, pipr: r[ring + TM_PIPR]!, cppr, nsr: r[ring + TM_NSR]! });
  }

  /** Raise the exception if the most favoured pending priority beats the CPPR. */
  notify(ring: number): void {
    const r = this.file;
    const q = this.at + ring;
    if (r[q + TM_PIPR]! < r[q + TM_CPPR]!) {
      if (ring === TM_QW1_OS) {
        r[q + TM_NSR]! |= TM_QW1_NSR_EO;
      } else if (ring === TM_QW3_HV_PHYS) {
        // ORed in, as QEMU does: an HE value already there (a raw store can put one) is kept.
        r[q + TM_NSR]! |= TM_QW3_NSR_HE_PHYS_BITS;
      } else {
        this.unsupportedNotify(ring);
        return;
      }
      if (this.tracer.sink !== null) this.emitRing('xive_tctx_notify', ring, r[q + TM_CPPR]!);
      this.setLineLevel(this.lineOf(ring), true);
    }
  }

  private unsupportedNotify(ring: number): void {
    // QEMU 7.2 aborts here (USER/POOL notification is not implemented); keep the IPB only.
    this.tracer.guestError(`XIVE: notification on ring 0x${ring.toString(16)} of CPU ${this.cpuIndex} is not supported`);
  }

  /** ORs pending priorities `ipb` into the ring's IPB, recomputes PIPR and notifies. */
  ipbUpdate(ring: number, ipb: number): void {
    if (this.locks !== null) this.ipbUpdateLocked(ring, ipb);
    else this.ipbUpdateUnlocked(ring, ipb);
  }

  private ipbUpdateLocked(ring: number, ipb: number): void {
    lockWord(this.locks!, this.lockIndex);
    try {
      this.ipbUpdateUnlocked(ring, ipb);
    } finally {
      unlockWord(this.locks!, this.lockIndex);
    }
  }

  private ipbUpdateUnlocked(ring: number, ipb: number): void {
    const r = this.file;
    const q = this.at + ring;
    r[q + TM_IPB]! |= ipb;
    r[q + TM_PIPR] = ipbToPipr(r[q + TM_IPB]!);
    this.notify(ring);
  }

  /** CPPR special operation: values above 7 mean "accept nothing masked" (0xFF). */
  setCppr(ring: number, cppr: number): void {
    if (this.locks !== null) this.setCpprLocked(ring, cppr);
    else this.setCpprUnlocked(ring, cppr);
  }

  private setCpprLocked(ring: number, cppr: number): void {
    lockWord(this.locks!, this.lockIndex);
    try {
      this.setCpprUnlocked(ring, cppr);
    } finally {
      unlockWord(this.locks!, this.lockIndex);
    }
  }

  private setCpprUnlocked(ring: number, cppr: number): void {
    if (this.tracer.sink !== null) this.emitRing('xive_tctx_set_cppr', ring, cppr & 0xff);
    this.file[this.at + ring + TM_CPPR] = cppr > XIVE_PRIORITY_MAX ? 0xff : cppr;
    this.notify(ring);
  }

  /** ACK: take the pending interrupt; returns (old NSR << 8) | new CPPR. */
  accept(ring: number): number {
    return this.locks !== null ? this.acceptLocked(ring) : this.acceptUnlocked(ring);
  }

  private acceptLocked(ring: number): number {
    lockWord(this.locks!, this.lockIndex);
    try {
      return this.acceptUnlocked(ring);
    } finally {
      unlockWord(this.locks!, this.lockIndex);
    }
  }

  private acceptUnlocked(ring: number): number {
    const r = this.file;
    const q = this.at + ring;
    const nsr = r[q + TM_NSR]!;
    const mask = ring === TM_QW3_HV_PHYS ? TM_QW3_NSR_HE : TM_QW1_NSR_EO;
    this.setLineLevel(this.lineOf(ring), false);
    if ((nsr & mask) !== 0) {
      const cppr = r[q + TM_PIPR]!;
      r[q + TM_CPPR] = cppr;
      r[q + TM_IPB]! &= ~prioToIpb(cppr);
      r[q + TM_PIPR] = ipbToPipr(r[q + TM_IPB]!);
      r[q + TM_NSR] = nsr & ~mask;
      if (this.tracer.sink !== null) this.emitRing('xive_tctx_accept', ring, cppr);
    }
    return ((nsr << 8) | r[q + TM_CPPR]!) & 0xffff;
  }

  /** Lower the output of a ring (context pulled). */
  lowerLine(ring: number): void {
    this.setLineLevel(this.lineOf(ring), false);
  }
  // ---- Saved state ------------------------------------------------------------------------------
  /** A copy of the register file and the output levels. */
  saveState(): TctxState {
    return { lines: this.lines & 3, regs: this.regs.slice() };
  }

  /**
   * Replaces registers and output levels with `s`, without driving the outputs: whoever loads a
   * whole machine sets the vCPU inputs once everything is loaded.
   */
  loadState(s: TctxState): void {
    this.regs.set(s.regs);
    this.lines = s.lines;
  }

}
