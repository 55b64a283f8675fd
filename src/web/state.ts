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
import type { SpaprMachine } from '../spapr/machine.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';
import type { CpuStateView, QueueStateView, SourceStateView } from '../spapr/intc-view.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import type { XiveGuest } from '../guest/ops-xive.ts';

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
        bump(this.presented, spaprNvtVcpu(ev.nvtIdx));
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

export interface CpuView extends CpuStateView {
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

export interface SourceView extends SourceStateView {
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

export interface QueueView extends QueueStateView {
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

function count(m: Map<number, number> | undefined, k: number): number {
  return m?.get(k) ?? 0;
}

/** Builds the view. Reads only: the machine, its guest RAM and the guest are left as they were. */
export function machineView(machine: SpaprMachine, opts: StateOptions = {}): MachineView {
  const guest = opts.guest ?? null;
  const counters = opts.counters ?? null;
  const intc = machine.intc;
  const base = intc.view({ windowSize: opts.windowSize, ringSlots: opts.ringSlots });
  const gstats = guest?.stats() ?? null;
  const online = new Set(guest?.onlineCpus() ?? []);
  return {
    controller: intc.name,
    icMode: machine.icMode,
    smp: machine.smp,
    maxCpus: machine.maxCpus,
    halted: machine.halted,
    guest: gstats === null ? null : { raised: gstats.raised, delivered: gstats.delivered, coalesced: gstats.coalesced, represented: gstats.represented, lost: gstats.lost },
    cpus: base.cpus.map((c) => {
      // Accepts and the guest's queue counters exist where there are thread-context rings (XIVE
      // accept events name their vCPU; XICS accepts do not).
      const gc = c.rings !== null ? gstats?.perCpu[c.vcpu] : undefined;
      return {
        ...c,
        counters: {
          presented: count(counters?.presented, c.vcpu),
          accepted: c.rings !== null ? count(counters?.accepted, c.cpuIndex) : null,
          delivered: gc?.delivered ?? null,
          acks: gc?.acks ?? null,
        },
      };
    }),
    sources: base.sources.map((s) => {
      // Triggers are counted at the ESB (PQ), presentation attempts at the ICS.
      const gs = s.pq !== null && guest !== null && guest.hasSource(s.lisn) ? guest.source(s.lisn) : null;
      return {
        ...s,
        counters: {
          triggers: s.pq !== null ? count(counters?.triggers, s.lisn) : null,
          attempts: s.xics !== null ? count(counters?.attempts, s.lisn) : null,
          raised: gs?.raised ?? null,
          coalesced: gs?.coalesced ?? null,
          delivered: gs?.delivered ?? null,
        },
      };
    }),
    queues: base.queues.map((q) => {
      let consumer: QueueView['consumer'] = null;
      // The guest keeps one queue per vCPU, at its own priority.
      if (guest !== null && online.has(q.vcpu) && q.priority === guest.priority) {
        const c = guest.consumer(q.vcpu);
        if (c.qpage === q.addr) consumer = { index: c.index, toggle: c.toggle };
      }
      return { ...q, consumer };
    }),
  };
}
