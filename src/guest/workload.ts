/**
 * Seeded interrupt workload for any reference guest (XIVE or XICS driver): a reproducible mix of
 * IPIs between random vCPUs, device MSIs on 0x1300.. and device LSIs on 0x1200.. (PHB 0
 * INTA..), interleaved with vCPUs taking their interrupts, then drained, with the driver's
 * accounting of what was sent, merged and delivered over the run.
 *
 * The generator is mulberry32 (32-bit state, no dependency), so a seed fixes the whole run: the
 * same seed on the same machine shape gives identical statistics and identical controller state,
 * and one seed gives one event sequence whichever interrupt model the guest negotiated.
 *
 * Acronyms: IPI = inter-processor interrupt, MSI = message signalled (edge) interrupt, LSI =
 * level sensitive interrupt, PHB = PCI host bridge, LISN = logical interrupt source number, EISN
 * = the number the guest reads when it takes an interrupt.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { GuestSourceCounters, ReferenceGuest, ReferenceGuestStats } from './driver.ts';
import type { GuestStats } from './ops-xive.ts';

/** A seeded workload of {@link runGuestWorkload}: how many events, over which sources. */
export interface WorkloadOptions {
  /** Events to send (IPIs + MSIs + LSI assertions). */
  events: number;
  /** Seed of the pseudo-random schedule (the same seed gives the same run). */
  seed: number;
  /** A count (LISNs from 0x1300 up) or explicit LISNs; default 4. Claimed if still free. */
  msiSources?: number | readonly number[];
  /** A count (PHB 0 INTA.. = 0x1200 up) or explicit LISNs; default 2. Claimed as LSIs if free. */
  lsiSources?: number | readonly number[];
  /** Probability that a step is "a vCPU takes its interrupts" rather than an event; default 0.35. */
  handleProbability?: number;
}

/** A schedule could not be built or run (bad option, a line that never settles). */
export class GuestWorkloadError extends Error {
  override readonly name = 'GuestWorkloadError';
}

/**
 * The run's share of a guest's counters (the XIVE per-EISN table left out), plus the schedule's
 * own figures. vCPUs are CPU indices throughout (`perCpu` is indexed by them, a source's `cpu` is
 * one); the IPIs in `perSource` are keyed by their number, the receiving vCPU's id.
 */
export type RunStats<S extends ReferenceGuestStats> = Omit<S, 'perEisn'> & {
  events: number;
  /** Scheduler steps in which a vCPU ran its handler (before the final drain). */
  handleSteps: number;
};

/** What a run on the XIVE guest reports. */
export type WorkloadStats = RunStats<GuestStats>;

// Relative weights of the event kinds (renormalised over the kinds that have sources), and
// where the default sources start: changing any of them changes every seed's run.
const WEIGHT_IPI = 5;
const WEIGHT_MSI = 3;
const WEIGHT_LSI = 2;
const MSI_FIRST = 0x1300;
const LSI_FIRST = 0x1200;
/** Drain passes over all vCPUs before declaring that the lines never settle. */
const MAX_DRAIN_PASSES = 1000;
/** Fields that name a source rather than count something: kept, not subtracted. */
const IDENTITY_FIELDS = new Set(['lisn', 'kind', 'cpu', 'eisn']);

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

function lisnList(spec: number | readonly number[] | undefined, dflt: number, first: number): number[] {
  const s = spec ?? dflt;
  if (typeof s === 'number') {
    if (!Number.isInteger(s) || s < 0) throw new GuestWorkloadError(`source count must be a non-negative integer, got ${s}`);
    return Array.from({ length: s }, (_, i) => first + i);
  }
  return [...s];
}

/** Claims (if free) and configures the sources, spreading them over the vCPUs. */
function prepareSources(machine: SpaprMachine, guest: ReferenceGuest, lisns: readonly number[], lsi: boolean): void {
  const cpus = guest.onlineCpus();
  for (let i = 0; i < lisns.length; i++) {
    const lisn = lisns[i]!;
    if (!guest.hasSource(lisn)) {
      // false means already claimed (e.g. the default PHB LSIs): configuration tells the kind.
      machine.claimIrq(lisn, lsi);
      guest.configureSource(lisn, cpus[i % cpus.length]!);
    }
    const kind = guest.source(lisn).kind;
    if (kind !== (lsi ? 'lsi' : 'msi')) throw new GuestWorkloadError(`source 0x${lisn.toString(16)} is ${kind}, asked for ${lsi ? 'an LSI' : 'an MSI'}`);
  }
}

/** Lets every vCPU take its interrupts until no input is raised anywhere. */
export function drainGuest(guest: ReferenceGuest, cpus: readonly number[] = guest.onlineCpus()): void {
  for (let pass = 0; pass < MAX_DRAIN_PASSES; pass++) {
    for (const c of cpus) guest.handleInterrupts(c);
    if (cpus.every((c) => !guest.lineRaised(c))) return;
  }
  throw new GuestWorkloadError(`interrupt lines still raised after ${MAX_DRAIN_PASSES} drain passes`);
}

/**
 * Runs the workload on a guest (booted here if needed). Pending interrupts are drained before
 * the run and after it, so the counters cover the run's own events. LSI lines are dropped by
 * their handler, before the EOI, as a device serviced by its driver does.
 */
export function runGuestWorkload<G extends ReferenceGuest>(machine: SpaprMachine, guest: G, opts: WorkloadOptions): RunStats<ReturnType<G['stats']>> {
  const { events, seed } = opts;
  if (!Number.isInteger(events) || events < 0) throw new GuestWorkloadError(`events must be a non-negative integer, got ${events}`);
  const pHandle = opts.handleProbability ?? 0.35;
  if (!(pHandle >= 0 && pHandle < 1)) throw new GuestWorkloadError(`handleProbability must be in [0, 1), got ${pHandle}`);
  if (guest.onlineCpus().length === 0) guest.boot();

  const msis = lisnList(opts.msiSources, 4, MSI_FIRST);
  const lsis = lisnList(opts.lsiSources, 2, LSI_FIRST);
  prepareSources(machine, guest, msis, false);
  prepareSources(machine, guest, lsis, true);

  const cpus = guest.onlineCpus().slice();
  const lsiSet = new Set(lsis);
  const prevHook = guest.onEvent;
  guest.onEvent = (cpu: number, src: GuestSourceCounters) => {
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
  let before: ReferenceGuestStats;
  try {
    drainGuest(guest, cpus);
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
    drainGuest(guest, cpus);
  } finally {
    guest.onEvent = prevHook;
  }
  return summarize(events, handleSteps, before, guest.stats()) as RunStats<ReturnType<G['stats']>>;
}

// The names the XIVE-only runner had; the same runner.

/** Every numeric field of `a` minus the same field of `b` (identity fields kept). */
function diffCounters<T extends object>(a: T, b: T | undefined): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    const old = b === undefined ? 0 : (b as Record<string, unknown>)[k];
    out[k] = typeof v === 'number' && !IDENTITY_FIELDS.has(k) ? v - (typeof old === 'number' ? old : 0) : v;
  }
  return out as T;
}

/** after − before, field by field. Sources and vCPUs keep their order; per-EISN tables are left out. */
function summarize(events: number, handleSteps: number, before: ReferenceGuestStats, after: ReferenceGuestStats): RunStats<ReferenceGuestStats> {
  const totals: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) {
    if (typeof v !== 'number') continue;
    const old = (before as unknown as Record<string, unknown>)[k];
    totals[k] = v - (typeof old === 'number' ? old : 0);
  }
  const perCpu = after.perCpu.map((c, i) => diffCounters(c, before.perCpu[i]));
  const perSource = new Map<number, GuestSourceCounters>();
  for (const [lisn, s] of after.perSource) perSource.set(lisn, diffCounters(s, before.perSource.get(lisn)));
  return { ...(totals as Omit<ReferenceGuestStats, 'perCpu' | 'perSource'>), events, handleSteps, perCpu, perSource };
}
