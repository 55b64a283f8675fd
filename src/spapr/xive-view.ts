/**
 * The state view (intc-view.ts) of the sPAPR XIVE controller: thread-context rings per vCPU,
 * every claimed LISN with its PQ bits and EAS route (EAS -> END -> NVT/vCPU, priority), and each
 * valid END's event queue as the guest sees it in RAM (recent entries and a coarse ring picture).
 */
import * as R from '../xive/regs.ts';
import { LINE_HINT, LINE_INT } from '../ports/lines.ts';
import type { GuestMemory } from '../ports/memory.ts';
import type { XiveSource } from '../xive/source.ts';
import type { XiveRouter } from '../xive/router.ts';
import type { ThreadContext } from '../xive/tctx.ts';
import { spaprNvtVcpu } from './xive-layout.ts';
import { SPAPR_XIRQ_BASE } from './irq-map.ts';
import { pqText, type IntcView, type IntcViewOptions, type QueueEntryView, type RingView, type RouteView } from './intc-view.ts';

const RING_NAMES = ['USER', 'OS', 'POOL', 'PHYS'] as const;

/** The parts of the controller a view reads. */
export interface XiveViewParts {
  readonly nrIrqs: number;
  readonly source: XiveSource;
  readonly router: XiveRouter;
  /** Thread contexts in plug order. */
  readonly cpus: readonly ThreadContext[];
  lineLevel(vcpuId: number, line: number): boolean;
}

export function xiveView(x: XiveViewParts, mem: GuestMemory, opts: IntcViewOptions = {}): IntcView {
  const view: IntcView = { cpus: [], sources: [], queues: [] };
  const r = x.router;
  const src = x.source;

  for (const t of x.cpus) {
    const rings: RingView[] = [];
    const b = t.regs;
    for (let i = 0; i < 4; i++) {
      const o = i * R.TM_RING_SIZE;
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
    view.cpus.push({
      vcpu: t.pir,
      cpuIndex: t.cpuIndex,
      intLine: x.lineLevel(t.pir, LINE_INT),
      hintLine: x.lineLevel(t.pir, LINE_HINT),
      rings,
      icp: null,
    });
  }

  for (let lisn = 0; lisn < x.nrIrqs; lisn++) {
    if (!r.easValid(lisn)) continue;
    const masked = r.easMasked(lisn);
    let route: RouteView | null = null;
    if (!masked) {
      const endIndex = r.easEndIndex(lisn);
      const endValid = r.easEndBlock(lisn) === r.blockId && endIndex < r.nrEnds && r.endValid(endIndex);
      route = {
        endBlock: r.easEndBlock(lisn),
        endIndex,
        endValid,
        vcpu: endValid ? spaprNvtVcpu(r.endNvtIndex(endIndex)) : null,
        priority: endValid ? r.endPriority(endIndex) : null,
      };
    }
    view.sources.push({
      lisn,
      kind: lisn < SPAPR_XIRQ_BASE ? 'ipi' : src.isLsi(lisn) ? 'lsi' : 'msi',
      pq: pqText(src.getPq(lisn)),
      asserted: src.isAsserted(lisn),
      masked,
      eisn: r.easData(lisn),
      route,
      xics: null,
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
    view.queues.push({
      end: e,
      vcpu: spaprNvtVcpu(r.endNvtIndex(e)),
      priority: r.endPriority(e),
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
    });
  }
  return view;
}
