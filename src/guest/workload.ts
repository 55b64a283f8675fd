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
import type { GuestStats, XiveGuest } from './xive-driver.ts';
// The schedule itself is shared with the XICS guest (xics-workload.ts); this module keeps the
// XIVE-typed entry points and the generator both use.
import { drainGuest, runGuestWorkload } from './xics-workload.ts';

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

/**
 * Runs the workload on a guest (booted here if needed). Pending interrupts are drained before
 * the run and after it. LSI lines are dropped by their handler, before the EOI, as a device
 * serviced by its driver does.
 */
export function runWorkload(machine: SpaprMachine, guest: XiveGuest, opts: WorkloadOptions): WorkloadStats {
  return runGuestWorkload(machine, guest, opts) as unknown as WorkloadStats;
}

/** Lets every vCPU take its interrupts until no input is raised anywhere. */
export function drain(guest: XiveGuest, cpus: readonly number[] = guest.onlineCpus()): void {
  drainGuest(guest, cpus);
}
