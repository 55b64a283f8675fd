/**
 * What the reference model expects one fuzz step to do besides its answer: the events the
 * sources let through, the EQ entries written, the presenter matches, the XICS trace events and
 * the guest-error reasons of the drops, and which table entries it touched (those are compared
 * with the model after the step; everything is compared periodically).
 */
import type { TraceEvent } from '../trace/events.ts';

export interface Enqueue {
  end: number;
  addr: number;
  word: number;
}

export class Effects {
  /** LISNs forwarded to the router, in order. */
  readonly forwards: number[] = [];
  /** Guest-error messages the model must report in this step (drops with a reason). */
  readonly guestErrors: string[] = [];
  /** Every xics_* trace event, in order. */
  readonly xicsEvents: TraceEvent[] = [];
  /** xive_presenter_notify (NVT index, ring) in order. */
  readonly presents: { nvtIdx: number; ring: number }[] = [];
  readonly enqueues: Enqueue[] = [];
  readonly touchedSrc = new Set<number>();
  readonly touchedEas = new Set<number>();
  readonly touchedEnd = new Set<number>();
  readonly touchedIcs = new Set<number>();
  /** vCPUs whose thread context or ICP the step may have changed. */
  readonly touchedCpu = new Set<number>();
  /** The step may have changed any entry (reset, mode switch, restore): compare everything. */
  full = false;

  clear(): void {
    this.forwards.length = 0;
    this.guestErrors.length = 0;
    this.xicsEvents.length = 0;
    this.presents.length = 0;
    this.enqueues.length = 0;
    this.touchedSrc.clear();
    this.touchedEas.clear();
    this.touchedEnd.clear();
    this.touchedIcs.clear();
    this.touchedCpu.clear();
    this.full = false;
  }
}
