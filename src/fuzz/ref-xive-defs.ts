/**
 * The reference XIVE's fixed facts and its state: the guest-physical address map of the ESB
 * (Event State Buffer) pages, END (Event Notification Descriptor) pages and TIMA (Thread
 * Interrupt Management Area), the EAS (Event Assignment Structure) and END bits it tests, the
 * source PQ trigger table, the priority / IPB (Interrupt Pending Buffer) conversions, and the
 * shape of the tables and bookkeeping that the source, router, TIMA and hcall parts work on
 * (docs/xive.md §1-§4, docs/spapr-xive.md §1).
 */
import type { Effects } from './effects.ts';
import type { Ledger } from './ledger.ts';

export const VC_BASE = 0x0006_0100_0000_0000;
export const TM_BASE = 0x0006_0302_0318_0000;
export const NR_IRQS = 0x2000;
export const ESB_STRIDE = 0x20000;
export const ESB_PAGE = 0x10000;
export const ESB_REGION = NR_IRQS * ESB_STRIDE;
export const END_BASE = VC_BASE + ESB_REGION;
export const TIMA_SIZE = 4 * 0x10000;
export const NVT_BASE = 0x400;

// EAS / END bits (docs/xive.md §2), as numeric masks of the big-endian words.
export const EAS_VALID = 0x8000_0000;
export const EAS_MASKED = 0x8000_0000;
export const END_VALID = 0x8000_0000;
export const END_ENQUEUE = 0x4000_0000;
export const END_UCOND = 0x2000_0000;
export const END_GEN = 0x0040_0000;
export const END_INDEX = 0x003f_ffff;
export const END_RESET_W1 = 0x5000_0000;

/**
 * PQ after a trigger, indexed by the old PQ (docs/xive.md §1.2); the END's ESn bits follow the same
 * machine.
 */
export const TRIGGER = [2, 1, 3, 3];

export function prioToIpb(p: number): number {
  return p > 7 ? 0 : 0x80 >>> p;
}

export function ipbToPipr(ipb: number): number {
  if (ipb === 0) return 0xff;
  let p = 0;
  while ((ipb & (0x80 >>> p)) === 0) p++;
  return p;
}

export function hx(v: number): string {
  return (v >>> 0).toString(16);
}

/** An entry an END wrote into its event queue (EQ), and whether the guest may still read it. */
export interface EqEntry {
  end: number;
  word: number;
  alive: boolean;
}

/** A guest's consumer of one event queue: next index to read and its toggle (starts at 0). */
export interface Consumer {
  index: number;
  toggle: number;
}

/**
 * Everything the reference XIVE holds. The tables mirror the model's and are compared with it;
 * the EQ bookkeeping (consumers, slots, live) and the ledger exist for the accounting only.
 */
export interface XiveState {
  readonly ramSize: number;
  readonly nrEnds: number;
  /** Per source: PQ in bits 0-1, LSI asserted in bit 2. */
  readonly status: Uint8Array;
  readonly lsi: Uint8Array;
  readonly easHi: Uint32Array;
  readonly easLo: Uint32Array;
  /** Eight words per END. */
  readonly end: Uint32Array;
  /** Per vCPU: the 64 bytes of the four rings of its thread context. */
  readonly tctx: Map<number, Uint8Array>;
  /** Per vCPU: the interrupt lines it raises (bit 0 INT, bit 1 HINT). */
  readonly lines: Map<number, number>;
  /** vCPU ids in CPU (plug) order: the presenter scans them in this order. */
  readonly cpuOrder: number[];
  /** Per END: entries written since it was last configured (generation consistency). */
  readonly writes: number[];
  /**
   * Per vCPU, bit per ring: PIPR is not (yet) derived from IPB — a raw store wrote the IPB since
   * the last update, or the ring was never updated since reset (POOL resets with PIPR 0).
   */
  readonly ipbRaw: Map<number, number>;
  /** Per END: the guest's consumer of its queue. */
  readonly consumers: Consumer[];
  /** Guest RAM address -> the entry written there last. */
  readonly slots: Map<number, EqEntry>;
  /** Per END: its entries the guest has not read yet. */
  readonly live: Set<EqEntry>[];
  /** What the current step did, for the comparison with the model. */
  readonly fx: Effects;
  readonly led: Ledger;
}
