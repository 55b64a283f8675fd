/**
 * A JSON view of a pseries machine's interrupt state, for the live web page (`xive serve`) or
 * any other viewer: the vCPUs with their thread-context rings (XIVE) or ICP registers (XICS),
 * every claimed source with its PQ / LSI / asserted / masked state and its route
 * (EAS -> END -> vCPU/priority, EISN), each configured END's event queue (address, size, write
 * index, generation, the last entries read from guest memory, a coarse picture of the whole
 * ring) and the counters kept by the reference guest (either driver; the queue read positions
 * where it runs on XIVE) and by a trace-fed counter sink (LiveCounters).
 *
 * vCPUs are shown by vCPU id (server number), the number routes and queues name them by, with
 * their CPU index alongside; the guest keeps its per-vCPU counters by CPU index.
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
import type { ReferenceGuest } from '../guest/guest.ts';
import { XiveGuest } from '../guest/ops-xive.ts';

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
  /**
   * Presentations to a vCPU, as the events name it: XIVE presenter matches and XICS source
   * deliveries by vCPU id (the NVT, the ICS server), XICS IPIs by CPU index (the ICP's CPU).
   */
  readonly presented = new Map<number, number>();
  readonly presentedIpis = new Map<number, number>();
  /** XIVE accepts that took an interrupt, by CPU index (the thread context's). */
  readonly accepted = new Map<number, number>();

  constructor(readonly next: TraceSink | null = null) {}

  /** The counts so far, as a new counter that goes on from them on its own (no `next`). */
  copy(): LiveCounters {
    const c = new LiveCounters();
    const pairs: [Map<number, number>, Map<number, number>][] = [
      [this.triggers, c.triggers],
      [this.attempts, c.attempts],
      [this.presented, c.presented],
      [this.presentedIpis, c.presentedIpis],
      [this.accepted, c.accepted],
    ];
    for (const [from, to] of pairs) for (const [k, v] of from) to.set(k, v);
    return c;
  }

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
        // This event's "server" is the CPU index, as QEMU traces it.
        bump(this.presentedIpis, ev.server);
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
    /** Presentations to this vCPU (trace-fed), IPIs included. */
    presented: number;
    /** Accepts that took an interrupt (trace-fed; XICS accepts name no vCPU, hence null). */
    accepted: number | null;
    /**
     * Reference guest: interrupts it took on this vCPU (XIVE: event queue entries consumed; XICS:
     * H_XIRR answers naming a source), and its interrupt entries (XIVE: ACK loads; XICS: H_XIRR
     * calls), spurious ones included; null without the guest.
     */
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

/** The machine's configuration, as QEMU names it. */
export interface ConfigView {
  /** 'pseries-7.2', … */
  machineType: string;
  /** QEMU's CPU type name ('power9_v2.0') and its family ('POWER9'). */
  cpu: string;
  cpuFamily: string;
  /** Spacing of vCPU ids between cores, and threads per core. */
  vsmt: number;
  threads: number;
  accel: string;
  /** The interrupt controllers run in the host kernel (KVM). */
  inKernelIrqchip: boolean;
}

export interface MachineView {
  controller: 'xive' | 'xics';
  icMode: string;
  smp: number;
  maxCpus: number;
  config: ConfigView;
  /** The model the reference guest negotiated at CAS ('XIVE', 'XICS'); null without the guest. */
  guestModel: string | null;
  /** Set when the guest did something the VM stops for. */
  halted: string | null;
  cpus: CpuView[];
  sources: SourceView[];
  queues: QueueView[];
  /** Reference guest totals since boot; null without the guest. */
  guest: { raised: number; delivered: number; coalesced: number; represented: number; lost: number } | null;
}

export interface StateOptions {
  /** The reference guest running on the machine (either driver), for its counters and queue read positions. */
  guest?: ReferenceGuest | null;
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

/** A guest vCPU's interrupt entries: XIVE ACK loads or XICS H_XIRR calls, whichever it counts. */
function entries(c: object): number | null {
  if ('acks' in c && typeof c.acks === 'number') return c.acks;
  if ('accepts' in c && typeof c.accepts === 'number') return c.accepts;
  return null;
}

/** Builds the view. Reads only: the machine, its guest RAM and the guest are left as they were. */
export function machineView(machine: SpaprMachine, opts: StateOptions = {}): MachineView {
  const guest = opts.guest ?? null;
  const counters = opts.counters ?? null;
  const intc = machine.intc;
  const base = intc.view({ windowSize: opts.windowSize, ringSlots: opts.ringSlots });
  const gstats = guest?.stats() ?? null;
  // Only the XIVE driver reads event queues.
  const xiveGuest = guest instanceof XiveGuest ? guest : null;
  const online = new Set(xiveGuest?.onlineCpus() ?? []);
  const cfg = machine.config;
  return {
    controller: intc.name,
    icMode: machine.icMode,
    smp: machine.smp,
    maxCpus: machine.maxCpus,
    config: {
      machineType: cfg.type.name,
      cpu: cfg.cpu.type,
      cpuFamily: cfg.cpu.family,
      vsmt: cfg.vsmt,
      threads: cfg.smp.threads,
      accel: cfg.accel,
      inKernelIrqchip: cfg.inKernelIrqchip,
    },
    guestModel: guest?.labels.model ?? null,
    halted: machine.halted,
    guest: gstats === null ? null : { raised: gstats.raised, delivered: gstats.delivered, coalesced: gstats.coalesced, represented: gstats.represented, lost: gstats.lost },
    cpus: base.cpus.map((c) => {
      // The guest counts by CPU index. Accepts are counted where there are thread-context rings
      // (XIVE accept events name their CPU; XICS accepts do not).
      const gc = gstats?.perCpu[c.cpuIndex];
      return {
        ...c,
        counters: {
          presented: count(counters?.presented, c.vcpu) + count(counters?.presentedIpis, c.cpuIndex),
          accepted: c.rings !== null ? count(counters?.accepted, c.cpuIndex) : null,
          delivered: gc?.delivered ?? null,
          acks: gc === undefined ? null : entries(gc),
        },
      };
    }),
    sources: base.sources.map((s) => {
      // Triggers are counted at the ESB (PQ), presentation attempts at the ICS. The guest files
      // its sources by the numbers the controller shows (XIVE IPIs by vCPU id).
      const gs = guest !== null && guest.hasSource(s.lisn) ? guest.source(s.lisn) : null;
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
      // The guest keeps one queue per vCPU (the queue names its vCPU id), at its own priority.
      const cpu = machine.cpuOfVcpuId(q.vcpu);
      if (xiveGuest !== null && online.has(cpu) && q.priority === xiveGuest.priority) {
        const c = xiveGuest.consumer(cpu);
        if (c.qpage === q.addr) consumer = { index: c.index, toggle: c.toggle };
      }
      return { ...q, consumer };
    }),
  };
}
