/**
 * The reference XIVE's thread contexts and TIMA (Thread Interrupt Management Area), docs/xive.md
 * §4: the four rings of each vCPU's context (NSR, CPPR, IPB, PIPR and word 2 with the CAM line),
 * the IPB (Interrupt Pending Buffer) update and notification that raise the vCPU's lines, the
 * CAM match of the presenter scan, and TIMA loads and stores — the special operations of §4.6
 * and raw accesses filtered by the per-byte rights of §4.7.
 */
import { NVT_BASE, ipbToPipr, prioToIpb, type XiveState } from './ref-xive-defs.ts';
import type { LoadResult } from './ref-intc.ts';

/** What this part reads and writes of the controller's state. */
type TctxState = Pick<XiveState, 'tctx' | 'lines' | 'ipbRaw' | 'led'>;

// Ring offsets inside a thread context; USER is 0.
const OS = 0x10;
const POOL = 0x20;
const PHYS = 0x30;
const LINE_INT = 1;
const LINE_HINT = 2;

/**
 * Per-byte access rights of the raw TIMA views (docs/xive.md §4.7), one string per (page, ring):
 * 16 digits, 0 none, 1 write, 2 read, 3 both. Pages HW, HV, OS, USER; rings USER, OS, POOL, PHYS.
 */
const RIGHTS_TEXT: readonly (readonly string[])[] = [
  ['3000000033330000', '3333330233330000', '0033000033330000', '3333030230033330'],
  ['3000000033330000', '3333330233330000', '0033000003330000', '3333030230030000'],
  ['3000000033330000', '2322220200000000', '0000000000000000', '0000000000000000'],
  ['3000000000000000', '0000000000000000', '0000000000000000', '0000000000000000'],
];
const RIGHTS: readonly Uint8Array[] = RIGHTS_TEXT.map((rows) => Uint8Array.from(rows.join(''), (c) => Number(c)));

/** Special operations (docs/xive.md §4.6): lowest page allowed is the highest page number accepted. */
const enum Spc {
  None,
  SetOsCppr,
  PushOs,
  SetPhysCppr,
  VtPush,
  VtPoll,
  AckOs,
  SetOsPending,
  PullOs,
  PullPool,
  AckHv,
}

function special(page: number, o: number, size: number, store: boolean): Spc {
  const os = page <= 2;
  const hv = page <= 1;
  if (store) {
    if (o === 0x011 && size === 1 && os) return Spc.SetOsCppr;
    if (o === 0x018 && size === 4 && hv) return Spc.PushOs;
    if (o === 0x031 && size === 1 && hv) return Spc.SetPhysCppr;
    if (o === 0x038 && size === 1 && hv) return Spc.VtPush;
    if (o === 0x812 && size === 1 && os) return Spc.SetOsPending;
    return Spc.None;
  }
  if (o === 0x038 && size === 1 && hv) return Spc.VtPoll;
  if (o === 0x810 && size === 2 && os) return Spc.AckOs;
  if (o === 0x818 && (size === 4 || size === 8) && hv) return Spc.PullOs;
  if (o === 0x828 && (size === 4 || size === 8) && hv) return Spc.PullPool;
  if (o === 0x830 && size === 2 && hv) return Spc.AckHv;
  return Spc.None;
}

// ---- thread contexts (docs/xive.md §4.1-§4.2) ------------------------------------------------------
/** A vCPU's context at creation and machine reset: the OS ring holds the vCPU's own NVT. */
export function resetContext(x: TctxState, v: number): void {
  const r = x.tctx.get(v)!;
  r.fill(0);
  r[OS + 3] = 0xff;
  r[OS + 4] = 0xff;
  r[OS + 6] = 0xff;
  r[OS + 7] = 0xff;
  r[PHYS + 7] = 0xff;
  setWord2(r, OS, (0x8000_0000 | (NVT_BASE + v)) >>> 0);
  x.lines.set(v, 0);
  // Reset leaves the POOL ring's PIPR at 0 with an empty IPB: not derived from it until an update.
  x.ipbRaw.set(v, 1 << (POOL >>> 4));
}

export function word2(r: Uint8Array, ring: number): number {
  return ((r[ring + 8]! << 24) | (r[ring + 9]! << 16) | (r[ring + 10]! << 8) | r[ring + 11]!) >>> 0;
}

function setWord2(r: Uint8Array, ring: number, v: number): void {
  r[ring + 8] = v >>> 24;
  r[ring + 9] = (v >>> 16) & 0xff;
  r[ring + 10] = (v >>> 8) & 0xff;
  r[ring + 11] = v & 0xff;
}

function setLine(x: TctxState, v: number, bit: number, up: boolean): void {
  const l = x.lines.get(v)!;
  x.lines.set(v, up ? l | bit : l & ~bit);
}

function notify(x: TctxState, v: number, ring: number): void {
  const r = x.tctx.get(v)!;
  if (r[ring + 7]! >= r[ring + 1]!) return;
  if (ring === OS) {
    r[ring] = r[ring]! | 0x80;
    setLine(x, v, LINE_INT, true);
  } else if (ring === PHYS) {
    r[ring] = r[ring]! | 0x80;
    setLine(x, v, LINE_HINT, true);
  }
  // POOL/USER: QEMU 7.2 aborts; the model keeps IPB/PIPR and only reports it (documented).
}

/** Adds priorities to a ring's IPB, derives its PIPR and notifies the vCPU. */
export function ipbUpdate(x: TctxState, v: number, ring: number, bits: number): void {
  const r = x.tctx.get(v)!;
  r[ring + 2] = r[ring + 2]! | bits;
  r[ring + 7] = ipbToPipr(r[ring + 2]!);
  x.ipbRaw.set(v, x.ipbRaw.get(v)! & ~(1 << (ring >>> 4)));
  notify(x, v, ring);
}

function setCppr(x: TctxState, v: number, ring: number, cppr: number): void {
  x.tctx.get(v)![ring + 1] = cppr > 7 ? 0xff : cppr;
  notify(x, v, ring);
}

function accept(x: TctxState, v: number, ring: number): number {
  const r = x.tctx.get(v)!;
  setLine(x, v, ring === OS ? LINE_INT : LINE_HINT, false);
  const nsr = r[ring]!;
  const mask = ring === PHYS ? 0xc0 : 0x80;
  if ((nsr & mask) !== 0) {
    const cppr = r[ring + 7]!;
    r[ring + 1] = cppr;
    r[ring + 2] = r[ring + 2]! & ~prioToIpb(cppr);
    r[ring + 7] = ipbToPipr(r[ring + 2]!);
    r[ring] = nsr & ~mask;
    x.ipbRaw.set(v, x.ipbRaw.get(v)! & ~(1 << (ring >>> 4)));
    if (ring === OS) x.led.acks++;
  }
  return ((nsr << 8) | r[ring + 1]!) & 0xffff;
}

/** Ring a thread answers `cam` on (docs/xive.md §4.3, format 0, checked PHYS, POOL, OS), or -1. */
export function matchRing(x: TctxState, v: number, cam: number): number {
  const r = x.tctx.get(v)!;
  if ((r[0x38]! & 0x80) !== 0 && cam === (0x80 | (v & 0x7f))) return PHYS;
  const pool = word2(r, POOL);
  if ((pool & 0x8000_0000) !== 0 && (pool & 0x00ff_ffff) === cam) return POOL;
  const os = word2(r, OS);
  if ((os & 0x8000_0000) !== 0 && (os & 0x00ff_ffff) === cam) return OS;
  return -1;
}

// ---- TIMA (docs/xive.md §4.6-§4.7) -----------------------------------------------------------------
/** Load of `size` (1/2/4/8, aligned) at offset `off` of the TIMA by vCPU `v`. */
export function timaLoad(x: TctxState, v: number, off: number, size: number): LoadResult {
  const r = x.tctx.get(v)!;
  const page = (off >>> 16) & 3;
  const op = special(page, off & 0xfff, size, false);
  switch (op) {
    case Spc.VtPoll:
      return { lo: r[0x38]!, hi: 0 };
    case Spc.AckOs:
      return { lo: accept(x, v, OS), hi: 0 };
    case Spc.AckHv:
      return { lo: accept(x, v, PHYS), hi: 0 };
    case Spc.PullOs: {
      const w2 = word2(r, OS);
      setWord2(r, OS, (w2 & 0x7fff_ffff) >>> 0);
      setLine(x, v, LINE_INT, false);
      return { lo: w2, hi: 0 };
    }
    case Spc.PullPool: {
      const w2 = (word2(r, POOL) & 0x7fff_ffff) >>> 0;
      setWord2(r, POOL, w2);
      return { lo: w2, hi: 0 };
    }
    default:
      break;
  }
  const ones = { lo: size >= 4 ? 0xffff_ffff : (1 << (8 * size)) - 1, hi: size === 8 ? 0xffff_ffff : 0 };
  if ((off & 0x800) !== 0) return ones;
  const reg = off & 0x3f;
  const rights = RIGHTS[page]!;
  let any = false;
  for (let i = 0; i < size; i++) if ((rights[reg + i]! & 2) !== 0) any = true;
  if (size < 4 || !any || (off & 0x30) === 0) return ones;
  const byte = (i: number) => ((rights[reg + i]! & 2) !== 0 ? r[reg + i]! : 0);
  if (size === 8) {
    return {
      hi: ((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) >>> 0,
      lo: ((byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7)) >>> 0,
    };
  }
  return { lo: ((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) >>> 0, hi: 0 };
}

export function timaStore(x: TctxState, v: number, off: number, size: number, lo: number, hi: number): void {
  const r = x.tctx.get(v)!;
  const page = (off >>> 16) & 3;
  const op = special(page, off & 0xfff, size, true);
  switch (op) {
    case Spc.SetOsCppr:
      setCppr(x, v, OS, lo & 0xff);
      return;
    case Spc.SetPhysCppr:
      setCppr(x, v, PHYS, lo & 0xff);
      return;
    case Spc.VtPush:
      r[0x38] = lo & 0xff;
      return;
    case Spc.SetOsPending:
      ipbUpdate(x, v, OS, prioToIpb(lo & 0xff));
      return;
    case Spc.PushOs: {
      const cam = lo >>> 0;
      setWord2(r, OS, cam);
      // The pending priorities saved in the NVT would be restored here; sPAPR keeps none (0).
      if ((cam & 0x8000_0000) !== 0) ipbUpdate(x, v, OS, 0);
      return;
    }
    default:
      break;
  }
  if ((off & 0x800) !== 0) return;
  const reg = off & 0x3f;
  const rights = RIGHTS[page]!;
  let any = false;
  for (let i = 0; i < size; i++) if ((rights[reg + i]! & 1) !== 0) any = true;
  if (size < 4 || !any || (off & 0x30) === 0) return;
  for (let i = 0; i < size; i++) {
    if ((rights[reg + i]! & 1) === 0) continue;
    const shift = 8 * (size - 1 - i);
    const b = size === 8 ? (i < 4 ? hi >>> (shift - 32) : lo >>> shift) : lo >>> shift;
    r[reg + i] = b & 0xff;
    if (((reg + i) & 0xf) === 2) x.ipbRaw.set(v, x.ipbRaw.get(v)! | (1 << ((reg + i) >>> 4)));
  }
}
