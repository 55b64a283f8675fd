/**
 * The ESB (Event State Buffer) trigger of the sPAPR XIVE controller in the case nearly every
 * interrupt of a guest is: a source with PQ 00, a valid unmasked EAS (Event Assignment
 * Structure) routing to a valid END (Event Notification Descriptor) that enqueues and notifies
 * unconditionally, a format-0 NVT (Notification Virtual Target) whose vCPU exists and whose
 * presenter match is already worked out. It is the same work as source -> router -> presenter ->
 * thread context, done in one function over the tables, so that the compiler keeps it in one
 * piece: the checked path spreads it over about ten calls it does not inline.
 *
 * Everything is checked before anything changes; any other case (or a trace sink, or tables
 * shared with other threads) answers false and the caller takes the checked path, which then
 * does the whole work. The state reached and the outputs driven are the checked path's
 * (test/spapr/xive-fast-path.test.ts compares both on random states).
 */
import * as R from '../xive/regs.ts';
import type { XiveSource } from '../xive/source.ts';
import type { XiveRouter } from '../xive/router.ts';
import type { XivePresenter } from '../xive/presenter.ts';
import type { ThreadContext } from '../xive/tctx.ts';
import type { GuestMemory } from '../ports/memory.ts';
import { SPAPR_XIVE_NVT_BASE } from './xive-layout.ts';

// Module-private constants (folded by the engine; signed 32-bit masks stay small integers).
const PQ_MASK = R.SRC_STATUS_PQ;
const PQ_RESET = R.PQ_RESET;
const PQ_PENDING = R.PQ_PENDING;
const EAS_HI_VALID = R.EAS_HI_VALID | 0;
const EAS_HI_END_BLOCK = R.EAS_HI_END_BLOCK | 0;
const EAS_HI_END_BLOCK_SHIFT = R.EAS_HI_END_BLOCK_SHIFT;
const EAS_HI_END_INDEX = R.EAS_HI_END_INDEX | 0;
const EAS_LO_MASKED = R.EAS_LO_MASKED | 0;
const EAS_LO_END_DATA = R.EAS_LO_END_DATA | 0;
const END_BYTES = R.END_BYTES;
/** Word 0 bits the fused path needs set (valid, enqueue, unconditional notify) or clear (silent escalation). */
const W0_TESTED = (R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY | R.END_W0_SILENT_ESCALATE) | 0;
const W0_WANTED = (R.END_W0_VALID | R.END_W0_ENQUEUE | R.END_W0_UCOND_NOTIFY) | 0;
const END_W0_QSIZE = R.END_W0_QSIZE | 0;
const END_W0_QSIZE_SHIFT = R.END_W0_QSIZE_SHIFT;
const END_W1_GENERATION = R.END_W1_GENERATION | 0;
const END_W1_PAGE_OFF = R.END_W1_PAGE_OFF | 0;
const END_W2_OP_DESC_HI = R.END_W2_OP_DESC_HI | 0;
const END_W6_FORMAT_BIT = R.END_W6_FORMAT_BIT | 0;
const END_W6_NVT_BLOCK = R.END_W6_NVT_BLOCK | 0;
const END_W6_NVT_BLOCK_SHIFT = R.END_W6_NVT_BLOCK_SHIFT;
const END_W6_NVT_INDEX = R.END_W6_NVT_INDEX | 0;
const END_W7_F0_IGNORE = R.END_W7_F0_IGNORE | 0;
const END_W7_F0_PRIORITY = R.END_W7_F0_PRIORITY | 0;
const END_W7_F0_PRIORITY_SHIFT = R.END_W7_F0_PRIORITY_SHIFT;
const EQ_ENTRY_GENERATION_SHIFT = R.EQ_ENTRY_GENERATION_SHIFT;
const EQ_ENTRY_DATA = R.EQ_ENTRY_DATA | 0;
const NVT_BASE = SPAPR_XIVE_NVT_BASE;
const camLine = R.camLine;
const prioToIpb = R.prioToIpb;

/** What the fused trigger reads from the controller: its blocks and its vCPUs. */
export interface FastPathParts {
  readonly source: XiveSource;
  readonly router: XiveRouter;
  readonly presenter: XivePresenter;
  readonly tctxById: (ThreadContext | undefined)[];
  readonly nrServers: number;
}

/** The fused ESB trigger over the tables of one sPAPR XIVE controller. */
export class XiveFastTrigger {
  private readonly source: XiveSource;
  private readonly router: XiveRouter;
  private readonly status: Uint8Array;
  private readonly eas: DataView;
  private readonly ends: DataView;
  private readonly memory: GuestMemory;
  private readonly signedWrite: boolean;
  private readonly nrEnds: number;
  private readonly blockId: number;
  private readonly presenter: XivePresenter;
  private readonly tctxById: (ThreadContext | undefined)[];
  private readonly nrServers: number;

  constructor(parts: FastPathParts) {
    this.source = parts.source;
    this.router = parts.router;
    this.status = parts.source.status;
    this.eas = parts.router.eas;
    this.ends = parts.router.ends;
    this.memory = parts.router.memory;
    this.signedWrite = parts.router.memory.signedWrite32 === true;
    this.nrEnds = parts.router.nrEnds;
    this.blockId = parts.router.blockId;
    this.presenter = parts.presenter;
    this.tctxById = parts.tctxById;
    this.nrServers = parts.nrServers;
  }

  /**
   * ESB trigger store on source `srcno` (inside the table, its LISN in block 0), for a source
   * block with no flags and no other thread, and no trace sink: true when done, false when
   * nothing was changed and the checked path must handle it.
   */
  trigger(srcno: number): boolean {
    const s = this.status[srcno]!;
    if ((s & PQ_MASK) !== PQ_RESET || this.source.notifier !== this.router || this.blockId !== 0) return false;
    const eas = this.eas;
    const hi = eas.getInt32(srcno * 8, false);
    const lo = eas.getInt32(srcno * 8 + 4, false);
    if ((hi & EAS_HI_VALID) === 0 || (lo & EAS_LO_MASKED) !== 0 || (hi & EAS_HI_END_BLOCK) >>> EAS_HI_END_BLOCK_SHIFT !== 0) return false;
    const endIdx = hi & EAS_HI_END_INDEX;
    if (endIdx >= this.nrEnds) return false;
    const e = this.ends;
    const at = endIdx * END_BYTES;
    const w0 = e.getInt32(at, false);
    const w6 = e.getInt32(at + 24, false);
    const w7 = e.getInt32(at + 28, false);
    const priority = (w7 & END_W7_F0_PRIORITY) >>> END_W7_F0_PRIORITY_SHIFT;
    if ((w0 & W0_TESTED) !== W0_WANTED || (w6 & END_W6_FORMAT_BIT) !== 0 || (w7 & END_W7_F0_IGNORE) !== 0 || priority === 0xff) return false;
    // The NVT exists when its vCPU does (sPAPR keeps no NVT table).
    const nvtIdx = w6 & END_W6_NVT_INDEX;
    const vcpu = (nvtIdx - NVT_BASE) | 0;
    if (vcpu < 0 || vcpu >= this.nrServers || this.tctxById[vcpu] === undefined) return false;
    const t = this.presenter.cachedF0(camLine((w6 & END_W6_NVT_BLOCK) >>> END_W6_NVT_BLOCK_SHIFT, nvtIdx));
    if (t === null || t.locks !== null) return false;
    const ring = this.presenter.cachedRing;
    // The queue entry is written first: a failed write leaves everything as it was.
    const w1 = e.getInt32(at + 4, false);
    const index = w1 & END_W1_PAGE_OFF;
    const gen = (w1 & END_W1_GENERATION) !== 0 ? 1 : 0;
    const addr = (e.getInt32(at + 8, false) & END_W2_OP_DESC_HI) * 0x1_0000_0000 + e.getUint32(at + 12, false) + 4 * index;
    const word = (gen << EQ_ENTRY_GENERATION_SHIFT) | (lo & EAS_LO_END_DATA & EQ_ENTRY_DATA);
    if (!this.memory.write32(addr, this.signedWrite ? word : word >>> 0)) return false;
    this.status[srcno] = s | PQ_PENDING;
    const next = (index + 1) & ((1 << (((w0 & END_W0_QSIZE) >>> END_W0_QSIZE_SHIFT) + 10)) - 1);
    let nw1 = (w1 & ~END_W1_PAGE_OFF) | next;
    if (next === 0) nw1 ^= END_W1_GENERATION;
    e.setInt32(at + 4, nw1, false);
    t.ipbUpdate(ring, prioToIpb(priority));
    return true;
  }
}
