/**
 * A plain-data view of an interrupt controller's state, in the architecture's names: every vCPU
 * with its presenter registers (XIVE thread-context rings or the XICS ICP), every claimed source
 * with its state and route, and each configured XIVE event queue. Each backend builds it from its
 * own blocks (xive-view.ts, xics-view.ts); viewers (the web page, a state diff) read only this.
 *
 * Everything is numbers, strings, booleans and null, so a view survives JSON.stringify unchanged
 * and can be built wherever the model runs (Node or a browser). The parts a backend does not have
 * are null (no rings on XICS, no ICP on XIVE, ...).
 *
 * Acronyms: EAS = event assignment structure (LISN -> END + EISN), END = event notification
 * descriptor (queue + target), EISN = the number the guest finds in its queue, LISN = logical
 * interrupt source number, PQ = the source's pending/queued bits, NSR/CPPR/IPB/PIPR = thread
 * context registers (notification source, current priority, pending buffer, pending priority),
 * ICP/ICS = XICS presentation/source controllers, XIRR/XISR/PP/MFRR = ICP registers.
 */

/** One 16-byte ring of a XIVE thread context, byte by byte as `info pic` prints it. */
export interface RingView {
  name: 'USER' | 'OS' | 'POOL' | 'PHYS';
  nsr: number;
  cppr: number;
  ipb: number;
  lsmfb: number;
  ack: number;
  inc: number;
  age: number;
  pipr: number;
  /** WORD2: the CAM line with its valid bit. */
  w2: number;
}

/** The registers of a XICS ICP. */
export interface IcpView {
  xirr: number;
  cppr: number;
  xisr: number;
  /** Priority of the XISR source (PP). */
  pp: number;
  mfrr: number;
}

/** One vCPU as its controller sees it: its inputs and its presenter registers. */
export interface CpuStateView {
  vcpu: number;
  cpuIndex: number;
  /** The INT input (OS external interrupt). */
  intLine: boolean;
  /** The HINT input (hypervisor rings); null when the controller drives no such input. */
  hintLine: boolean | null;
  /** USER, OS, POOL, PHYS (XIVE); null on XICS. */
  rings: RingView[] | null;
  /** XICS only. */
  icp: IcpView | null;
}

/** Where the EAS of a XIVE source sends its events: the END and the vCPU and priority behind it. */
export interface RouteView {
  endBlock: number;
  endIndex: number;
  /** The END exists and is valid (otherwise the event is lost with a guest error). */
  endValid: boolean;
  /** vCPU of the END's NVT; null when the END is not valid. */
  vcpu: number | null;
  priority: number | null;
}

/** The ICS state of a XICS source. */
export interface XicsSourceView {
  server: number;
  priority: number;
  savedPriority: number;
  /** Names of the status bits that are set: asserted, sent, rejected, masked-pending, … */
  status: string[];
}

/** A claimed source: its kind, state and route. */
export interface SourceStateView {
  /** LISN (XIVE) or global irq number (XICS). */
  lisn: number;
  kind: 'ipi' | 'msi' | 'lsi';
  /** 'PQ' with '-' for a clear bit, as `info pic` prints it; null on XICS (no ESB). */
  pq: string | null;
  asserted: boolean;
  /** EAS masked bit (XIVE) or priority 0xFF (XICS). */
  masked: boolean;
  /** EAS data (XIVE); null on XICS. */
  eisn: number | null;
  /** Where an event goes; null when masked (XIVE) or on XICS. */
  route: RouteView | null;
  xics: XicsSourceView | null;
}

/** One entry of a XIVE event queue. */
export interface QueueEntryView {
  /** Slot number in the queue. */
  slot: number;
  /** The raw 32-bit word (generation bit 31 | EISN). */
  value: number;
  gen: number;
  data: number;
}

/**
 * A configured XIVE event queue (one END): where it is, its write position, and its last entries.
 */
export interface QueueStateView {
  end: number;
  vcpu: number;
  priority: number;
  addr: number;
  entries: number;
  /** Write index: the slot the next event goes to. */
  index: number;
  /** Generation (the toggle): the bit written with events of the current lap. */
  generation: number;
  enqueue: boolean;
  alwaysNotify: boolean;
  /** ESn / ESe coalescing bits, 'PQ' style. */
  esn: string;
  ese: string;
  /** The last written entries, oldest first, ending just before the write index. */
  window: QueueEntryView[];
  /**
   * The whole ring in `slots.length` equal arcs: each arc's first word's generation bit (0/1),
   * or -1 when that word is 0 (never written since the queue page was cleared).
   */
  slots: number[];
}

/** The state of a controller as plain data (see {@link SpaprIntc.view}). */
export interface IntcView {
  cpus: CpuStateView[];
  sources: SourceStateView[];
  /** Configured event queues (XIVE); empty on XICS. */
  queues: QueueStateView[];
}

/** How much of the event queues a view shows. */
export interface IntcViewOptions {
  /** Queue entries to list per END (default 8). */
  windowSize?: number;
  /** Arcs of the ring picture (default 64). */
  ringSlots?: number;
}

/** PQ bits as `info pic` prints them: P or -, then Q or -. */
export function pqText(pq: number): string {
  return `${pq & 2 ? 'P' : '-'}${pq & 1 ? 'Q' : '-'}`;
}
