/**
 * A JSON view of a pseries machine's interrupt state, for the live web page (`xive serve`) or
 * any other viewer: the vCPUs with their thread-context rings (XIVE) or ICP registers (XICS),
 * every claimed source with its PQ / LSI / asserted / masked state and its route
 * (EAS -> END -> vCPU/priority, EISN), each configured END's event queue (address, size, write
 * index, generation, the last entries read from guest memory, a coarse picture of the whole
 * ring) and the counters kept by the reference guest and by a trace-fed counter sink
 * (LiveCounters).
 *
 * Platform-neutral on purpose (no node: imports): the same view can be built in a browser that
 * runs the model itself. Everything is plain numbers, strings and booleans, so it survives
 * JSON.stringify unchanged and a viewer can compare what it shows with what was sent.
 *
 * Acronyms: EAS = event assignment structure (LISN -> END + EISN), END = event notification
 * descriptor (queue + target), EISN = the number the guest finds in its queue, LISN = logical
 * interrupt source number, PQ = the source's pending/queued bits, NSR/CPPR/IPB/PIPR = thread
 * context registers (notification source, current priority, pending buffer, pending priority),
 * ICP/ICS = XICS presentation/source controllers, XIRR/XISR/PP/MFRR = ICP registers.
 */
import * as R from '../xive/regs.ts';
import type { SpaprMachine } from '../spapr/machine.ts';
import { SPAPR_XIVE_NVT_BASE } from '../spapr/spapr-xive.ts';
import { SPAPR_XIRQ_BASE } from '../spapr/irq-map.ts';
import { LINE_HINT, LINE_INT } from '../ports/lines.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import type { XiveGuest } from '../guest/xive-driver.ts';
import {
  XICS_STATUS_ASSERTED,
  XICS_STATUS_MASKED_PENDING,
  XICS_STATUS_PRESENTED,
  XICS_STATUS_QUEUED,
  XICS_STATUS_REJECTED,
  XICS_STATUS_SENT,
} from '../xics/ics.ts';

/**
 * Activity counts fed by the machine's trace events (it passes every event on to `next`).
 * Only what the events say exactly is counted: XICS device events carry no level, so there a
 * source counts its presentation attempts instead of its triggers.
 */
export class LiveCounters implements TraceSink {
  /** XIVE: device level rises and trigger-page stores, by LISN. */
  readonly triggers = new Map<number, number>();
  /** XICS: presentation attempts (first delivery or resend), by irq. */
  readonly attempts = new Map<number, number>();
  /** Presentations to a vCPU (XIVE presenter matches; XICS deliveries and IPIs), by vCPU. */
  readonly presented = new Map<number, number>();
  /** XIVE accepts that took an interrupt, by vCPU. */
  readonly accepted = new Map<number, number>();

  constructor(readonly next: TraceSink | null = null) {}

  emit(ev: TraceEvent): void {
    switch (ev.name) {
      case 'spapr_xive_set_irq':
        if (ev.val !== 0) bump(this.triggers, ev.lisn);
        break;
      case 'xive_source_esb_write':
        // Offsets below 64K of a source's two 64K pages are its trigger page.
        if (Number(ev.addr & 0x1ffffn) < 0x10000) bump(this.triggers, ev.srcno);
        break;
      case 'xive_presenter_notify':
        bump(this.presented, ev.nvtIdx - SPAPR_XIVE_NVT_BASE);
        break;
      case 'xive_tctx_accept':
        bump(this.accepted, ev.target);
        break;
      case 'xics_icp_irq':
        bump(this.attempts, ev.nr);
        bump(this.presented, ev.server);
        break;
      case 'xics_icp_check_ipi':
        bump(this.presented, ev.server);
        break;
      default:
        break;
    }
    this.next?.emit(ev);
  }
}

function bump(m: Map<number, number>, k: number): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

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

export interface IcpView {
  xirr: number;
  cppr: number;
  xisr: number;
  /** Priority of the XISR source (PP). */
  pp: number;
  mfrr: number;
}

export interface CpuView {
  vcpu: number;
  cpuIndex: number;
  /** The INT input (OS external interrupt). */
  intLine: boolean;
  /** The HINT input (hypervisor rings); null on XICS, which has none. */
  hintLine: boolean | null;
  /** USER, OS, POOL, PHYS (XIVE); null on XICS. */
  rings: RingView[] | null;
  /** XICS only. */
  icp: IcpView | null;
  counters: {
    /** Presentations to this vCPU (trace-fed). */
    presented: number;
    /** Accepts that took an interrupt (trace-fed; XICS accepts name no vCPU, hence null). */
    accepted: number | null;
    /** Reference guest: events consumed from its queues, ACK loads; null without the guest. */
    delivered: number | null;
    acks: number | null;
  };
}

export interface RouteView {
  endBlock: number;
  endIndex: number;
  /** The END exists and is valid (otherwise the event is lost with a guest error). */
  endValid: boolean;
  /** vCPU of the END's NVT (sPAPR: NVT index - 0x400); null when the END is not valid. */
  vcpu: number | null;
  priority: number | null;
}

export interface XicsSourceView {
  server: number;
  priority: number;
  savedPriority: number;
  /** Names of the status bits that are set: asserted, sent, rejected, masked-pending, … */
  status: string[];
}

export interface SourceView {
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
  counters: {
    /** XIVE: triggers that reached the source, device level rises and trigger-page stores; null on XICS. */
    triggers: number | null;
    /** XICS: presentation attempts, first deliveries and resends; null on XIVE. */
    attempts: number | null;
    /** Reference guest: events it sent, merged into an earlier one, consumed; null if unknown to it. */
    raised: number | null;
    coalesced: number | null;
    delivered: number | null;
  };
}

export interface QueueEntryView {
  /** Slot number in the queue. */
  slot: number;
  /** The raw 32-bit word (generation bit 31 | EISN). */
  value: number;
  gen: number;
  data: number;
}

export interface QueueView {
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
  /** The reference guest's read position; null without the guest. */
  consumer: { index: number; toggle: number } | null;
}

export interface MachineView {
  controller: 'xive' | 'xics';
  icMode: string;
  smp: number;
  maxCpus: number;
  /** Set when the guest did something the VM stops for. */
  halted: string | null;
  cpus: CpuView[];
  sources: SourceView[];
  queues: QueueView[];
  /** Reference guest totals since boot; null without the guest. */
  guest: { raised: number; delivered: number; coalesced: number; represented: number; lost: number } | null;
}

export interface StateOptions {
  /** The reference guest running on the machine, for its counters and read positions. */
  guest?: XiveGuest | null;
  /** Trace-fed counters plugged into the machine's trace chain. */
  counters?: LiveCounters | null;
  /** Queue entries to list per END (default 8). */
  windowSize?: number;
  /** Arcs of the ring picture (default 64). */
  ringSlots?: number;
}

const RING_NAMES = ['USER', 'OS', 'POOL', 'PHYS'] as const;

function pqText(pq: number): string {
  return `${pq & R.PQ_P ? 'P' : '-'}${pq & R.PQ_Q ? 'Q' : '-'}`;
}

function count(m: Map<number, number> | undefined, k: number): number {
  return m?.get(k) ?? 0;
}

/** Builds the view. Reads only: the machine, its guest RAM and the guest are left as they were. */
export function machineView(machine: SpaprMachine, opts: StateOptions = {}): MachineView {
  const guest = opts.guest ?? null;
  const counters = opts.counters ?? null;
  const controller = machine.activeController();
  const view: MachineView = {
    controller,
    icMode: machine.icMode,
    smp: machine.smp,
    maxCpus: machine.maxCpus,
    halted: machine.halted,
    cpus: [],
    sources: [],
    queues: [],
    guest: null,
  };
  const gstats = guest?.stats() ?? null;
  if (gstats !== null) {
    view.guest = { raised: gstats.raised, delivered: gstats.delivered, coalesced: gstats.coalesced, represented: gstats.represented, lost: gstats.lost };
  }
  if (controller === 'xive') xiveView(machine, view, opts, gstats);
  else xicsView(machine, view);
  // Presentation counts are per vCPU for both controllers; XIVE accepts name their vCPU too.
  for (const c of view.cpus) {
    c.counters.presented = count(counters?.presented, c.vcpu);
    if (controller === 'xive') c.counters.accepted = count(counters?.accepted, c.cpuIndex);
  }
  for (const s of view.sources) {
    if (controller === 'xive') s.counters.triggers = count(counters?.triggers, s.lisn);
    else s.counters.attempts = count(counters?.attempts, s.lisn);
  }
  return view;
}

function xiveView(machine: SpaprMachine, view: MachineView, opts: StateOptions, gstats: ReturnType<XiveGuest['stats']> | null): void {
  const x = machine.xive!;
  const r = x.router;
  const src = x.source;
  const mem = machine.memory;
  const guest = opts.guest ?? null;
  const online = new Set(guest?.onlineCpus() ?? []);

  for (const t of x.cpus) {
    const rings: RingView[] = [];
    for (let i = 0; i < 4; i++) {
      const o = i * R.TM_RING_SIZE;
      const b = t.regs;
      rings.push({
        name: RING_NAMES[i]!,
        nsr: b[o + R.TM_NSR]!,
        cppr: b[o + R.TM_CPPR]!,
        ipb: b[o + R.TM_IPB]!,
        lsmfb: b[o + R.TM_LSMFB]!,
        ack: b[o + R.TM_ACK_CNT]!,
        inc: b[o + R.TM_INC]!,
        age: b[o + R.TM_AGE]!,
        pipr: b[o + R.TM_PIPR]!,
        w2: t.word2(o),
      });
    }
    const gc = gstats?.perCpu[t.pir];
    view.cpus.push({
      vcpu: t.pir,
      cpuIndex: t.cpuIndex,
      intLine: machine.lineLevel(t.pir, LINE_INT),
      hintLine: machine.lineLevel(t.pir, LINE_HINT),
      rings,
      icp: null,
      counters: { presented: 0, accepted: 0, delivered: gc?.delivered ?? null, acks: gc?.acks ?? null },
    });
  }

  for (let lisn = 0; lisn < x.nrIrqs; lisn++) {
    if (!r.easValid(lisn)) continue;
    const lsi = src.isLsi(lisn);
    const masked = r.easMasked(lisn);
    let route: RouteView | null = null;
    if (!masked) {
      const endIndex = r.easEndIndex(lisn);
      const endValid = r.easEndBlock(lisn) === r.blockId && endIndex < r.nrEnds && r.endValid(endIndex);
      route = {
        endBlock: r.easEndBlock(lisn),
        endIndex,
        endValid,
        vcpu: endValid ? ((r.endNvtIndex(endIndex) - SPAPR_XIVE_NVT_BASE) | 0) : null,
        priority: endValid ? r.endPriority(endIndex) : null,
      };
    }
    const gs = guest !== null && guest.hasSource(lisn) ? guest.source(lisn) : null;
    view.sources.push({
      lisn,
      kind: lisn < SPAPR_XIRQ_BASE ? 'ipi' : lsi ? 'lsi' : 'msi',
      pq: pqText(src.getPq(lisn)),
      asserted: src.isAsserted(lisn),
      masked,
      eisn: r.easData(lisn),
      route,
      xics: null,
      counters: { triggers: 0, attempts: null, raised: gs?.raised ?? null, coalesced: gs?.coalesced ?? null, delivered: gs?.delivered ?? null },
    });
  }

  const windowSize = opts.windowSize ?? 8;
  const nSlots = opts.ringSlots ?? 64;
  for (let e = 0; e < r.nrEnds; e++) {
    if (!r.endValid(e)) continue;
    const w0 = r.endWord(e, 0);
    const w1 = r.endWord(e, 1);
    const addr = r.endQueueAddr(e);
    const entries = r.endQueueEntries(e);
    const index = r.endQueueIndex(e);
    const window: QueueEntryView[] = [];
    for (let i = Math.min(windowSize, entries); i >= 1; i--) {
      const slot = (index - i) & (entries - 1);
      const v = mem.read32(addr + 4 * slot);
      if (v < 0) continue; // not RAM: nothing to show (the router refuses to write there too)
      window.push({ slot, value: v >>> 0, gen: v >>> 31, data: v & 0x7fff_ffff });
    }
    const slots: number[] = [];
    const arcs = Math.min(nSlots, entries);
    for (let k = 0; k < arcs; k++) {
      const v = mem.read32(addr + 4 * Math.floor((k * entries) / arcs));
      slots.push(v <= 0 ? -1 : v >>> 31);
    }
    const vcpu = (r.endNvtIndex(e) - SPAPR_XIVE_NVT_BASE) | 0;
    const priority = r.endPriority(e);
    let consumer: QueueView['consumer'] = null;
    // The guest keeps one queue per vCPU, at its own priority.
    if (guest !== null && online.has(vcpu) && priority === guest.priority) {
      const c = guest.consumer(vcpu);
      if (c.qpage === addr) consumer = { index: c.index, toggle: c.toggle };
    }
    view.queues.push({
      end: e,
      vcpu,
      priority,
      addr,
      entries,
      index,
      generation: r.endGeneration(e),
      enqueue: (w0 & R.END_W0_ENQUEUE) !== 0,
      alwaysNotify: (w0 & R.END_W0_UCOND_NOTIFY) !== 0,
      esn: pqText((w1 >>> R.END_W1_ESN_SHIFT) & 3),
      ese: pqText((w1 >>> R.END_W1_ESE_SHIFT) & 3),
      window,
      slots,
      consumer,
    });
  }
}

const XICS_STATUS_NAMES: [number, string][] = [
  [XICS_STATUS_ASSERTED, 'asserted'],
  [XICS_STATUS_SENT, 'sent'],
  [XICS_STATUS_REJECTED, 'rejected'],
  [XICS_STATUS_MASKED_PENDING, 'masked-pending'],
  [XICS_STATUS_PRESENTED, 'presented'],
  [XICS_STATUS_QUEUED, 'queued'],
];

function xicsView(machine: SpaprMachine, view: MachineView): void {
  const xics = machine.xics!;
  for (const icp of xics.icps) {
    view.cpus.push({
      vcpu: icp.server,
      cpuIndex: icp.cpuIndex,
      intLine: icp.outputLevel,
      hintLine: null,
      rings: null,
      icp: { xirr: icp.xirr, cppr: icp.cppr, xisr: icp.xisr, pp: icp.pendingPriority, mfrr: icp.mfrr },
      counters: { presented: 0, accepted: null, delivered: null, acks: null },
    });
  }
  const ics = xics.ics;
  for (let srcno = 0; srcno < ics.nrIrqs; srcno++) {
    if (!ics.isClaimed(srcno)) continue;
    const st = ics.status[srcno]!;
    view.sources.push({
      lisn: ics.offset + srcno,
      kind: ics.isLsi(srcno) ? 'lsi' : 'msi',
      pq: null,
      asserted: (st & XICS_STATUS_ASSERTED) !== 0,
      masked: ics.priority[srcno] === 0xff,
      eisn: null,
      route: null,
      xics: {
        server: ics.server[srcno]!,
        priority: ics.priority[srcno]!,
        savedPriority: ics.savedPriority[srcno]!,
        status: XICS_STATUS_NAMES.filter(([bit]) => (st & bit) !== 0).map(([, n]) => n),
      },
      counters: { triggers: null, attempts: 0, raised: null, coalesced: null, delivered: null },
    });
  }
}
