/**
 * Seeded interrupt workload for the reference guest driver (xive-driver.ts): a reproducible mix
 * of IPIs between random vCPUs, device MSIs (message signalled, edge) and device LSIs (level
 * sensitive) interleaved with the vCPUs taking their interrupts, then drained, with the
 * driver's accounting of what was sent, merged and delivered over the run.
 *
 * The generator is mulberry32 (32-bit state, no dependency), so a seed fixes the whole run:
 * the same seed on the same machine shape gives identical statistics and identical controller
 * state. LISN = logical interrupt source number, EISN = the number the guest finds in its queue.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { SPAPR_IRQ_MSI, pciLsiIrq } from '../spapr/irq-map.ts';
import { XiveGuestError, type CpuCounters, type GuestStats, type SourceCounters, type XiveGuest } from './xive-driver.ts';

export interface WorkloadOptions {
  /** Events to send (IPIs + MSIs + LSI assertions). */
  events: number;
  seed: number;
  /** A count (LISNs from 0x1300 up) or explicit LISNs; default 4. Claimed if still free. */
  msiSources?: number | readonly number[];
  /** A count (PHB 0 INTA.. = 0x1200 up) or explicit LISNs; default 2. Claimed as LSIs if free. */
  lsiSources?: number | readonly number[];
  /** Probability that a step is "a vCPU takes its interrupts" rather than an event; default 0.35. */
  handleProbability?: number;
}

export interface WorkloadStats extends Omit<GuestStats, 'perEisn'> {
  events: number;
  /** Scheduler steps in which a vCPU ran its handler (before the final drain). */
  handleSteps: number;
}

/** mulberry32: tiny, fast, good enough to shuffle a test schedule. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b_79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// Relative weights of the event kinds (renormalised over the kinds that have sources).
const WEIGHT_IPI = 5;
const WEIGHT_MSI = 3;
const WEIGHT_LSI = 2;
/** Drain passes over all vCPUs before declaring that the lines never settle. */
const MAX_DRAIN_PASSES = 1000;

function lisnList(spec: number | readonly number[] | undefined, dflt: number, first: (i: number) => number): number[] {
  const s = spec ?? dflt;
  if (typeof s === 'number') {
    if (!Number.isInteger(s) || s < 0) throw new XiveGuestError(`source count must be a non-negative integer, got ${s}`);
    return Array.from({ length: s }, (_, i) => first(i));
  }
  return [...s];
}

/** Claims (if free) and configures the sources, spreading them over the vCPUs. */
function prepareSources(machine: SpaprMachine, guest: XiveGuest, lisns: readonly number[], lsi: boolean): void {
  const cpus = guest.onlineCpus();
  for (let i = 0; i < lisns.length; i++) {
    const lisn = lisns[i]!;
    if (!guest.hasSource(lisn)) {
      // false means already claimed (e.g. the default PHB LSIs): configuration tells the kind.
      machine.claimIrq(lisn, lsi);
      guest.configureSource(lisn, cpus[i % cpus.length]!);
    }
    const kind = guest.source(lisn).kind;
    if (kind !== (lsi ? 'lsi' : 'msi')) throw new XiveGuestError(`LISN 0x${lisn.toString(16)} is ${kind}, asked for ${lsi ? 'an LSI' : 'an MSI'}`);
  }
}

function diffCpu(a: CpuCounters, b: CpuCounters | undefined): CpuCounters {
  return {
    raised: a.raised - (b?.raised ?? 0),
    coalesced: a.coalesced - (b?.coalesced ?? 0),
    delivered: a.delivered - (b?.delivered ?? 0),
    acks: a.acks - (b?.acks ?? 0),
    spurious: a.spurious - (b?.spurious ?? 0),
    replays: a.replays - (b?.replays ?? 0),
  };
}

function diffSource(a: SourceCounters, b: SourceCounters | undefined): SourceCounters {
  return {
    lisn: a.lisn,
    kind: a.kind,
    cpu: a.cpu,
    eisn: a.eisn,
    raised: a.raised - (b?.raised ?? 0),
    coalesced: a.coalesced - (b?.coalesced ?? 0),
    delivered: a.delivered - (b?.delivered ?? 0),
    represented: a.represented - (b?.represented ?? 0),
  };
}

/**
 * Runs the workload on a guest (booted here if needed). Pending interrupts are drained before
 * the run and after it. LSI lines are dropped by their handler, before the EOI, as a device
 * serviced by its driver does.
 */
export function runWorkload(machine: SpaprMachine, guest: XiveGuest, opts: WorkloadOptions): WorkloadStats {
  const { events, seed } = opts;
  if (!Number.isInteger(events) || events < 0) throw new XiveGuestError(`events must be a non-negative integer, got ${events}`);
  const pHandle = opts.handleProbability ?? 0.35;
  if (!(pHandle >= 0 && pHandle < 1)) throw new XiveGuestError(`handleProbability must be in [0, 1), got ${pHandle}`);
  if (guest.onlineCpus().length === 0) guest.boot();

  const msis = lisnList(opts.msiSources, 4, (i) => SPAPR_IRQ_MSI + i);
  const lsis = lisnList(opts.lsiSources, 2, (i) => pciLsiIrq(0, i));
  prepareSources(machine, guest, msis, false);
  prepareSources(machine, guest, lsis, true);

  const cpus = guest.onlineCpus().slice();
  const lsiSet = new Set(lsis);
  const prevHook = guest.onEvent;
  guest.onEvent = (cpu, src) => {
    prevHook?.(cpu, src);
    if (lsiSet.has(src.lisn)) guest.deviceLsi(src.lisn, false);
  };

  const wIpi = WEIGHT_IPI;
  const wMsi = msis.length > 0 ? WEIGHT_MSI : 0;
  const wLsi = lsis.length > 0 ? WEIGHT_LSI : 0;
  const wTotal = wIpi + wMsi + wLsi;
  const rand = mulberry32(seed);
  const pick = (n: number): number => Math.floor(rand() * n);

  let sent = 0;
  let handleSteps = 0;
  let before: GuestStats | null = null;
  try {
    // Earlier traffic is settled first so the run's counters cover only its own events.
    drain(guest, cpus);
    before = guest.stats();
    while (sent < events) {
      if (rand() < pHandle) {
        guest.handleInterrupts(cpus[pick(cpus.length)]!);
        handleSteps++;
        continue;
      }
      const k = rand() * wTotal;
      if (k < wIpi) guest.sendIpi(cpus[pick(cpus.length)]!, cpus[pick(cpus.length)]!);
      else if (k < wIpi + wMsi) guest.deviceMsi(msis[pick(msis.length)]!);
      else guest.deviceLsi(lsis[pick(lsis.length)]!, true);
      sent++;
    }
    drain(guest, cpus);
  } finally {
    guest.onEvent = prevHook;
  }

  return summarize(events, handleSteps, before, guest.stats());
}

/** Lets every vCPU take its interrupts until no input is raised anywhere. */
export function drain(guest: XiveGuest, cpus: readonly number[] = guest.onlineCpus()): void {
  for (let pass = 0; pass < MAX_DRAIN_PASSES; pass++) {
    for (const c of cpus) guest.handleInterrupts(c);
    if (cpus.every((c) => !guest.lineRaised(c))) return;
  }
  throw new XiveGuestError(`interrupt lines still raised after ${MAX_DRAIN_PASSES} drain passes`);
}

function summarize(events: number, handleSteps: number, before: GuestStats, after: GuestStats): WorkloadStats {
  const perCpu = after.perCpu.map((c, i) => diffCpu(c, before.perCpu[i]));
  const perSource = new Map<number, SourceCounters>();
  for (const [lisn, s] of after.perSource) perSource.set(lisn, diffSource(s, before.perSource.get(lisn)));
  const raised = after.raised - before.raised;
  const delivered = after.delivered - before.delivered;
  const coalesced = after.coalesced - before.coalesced;
  const represented = after.represented - before.represented;
  return { events, handleSteps, raised, delivered, coalesced, represented, lost: raised + represented - delivered - coalesced, perCpu, perSource };
}
