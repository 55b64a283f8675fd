/**
 * ESB (Event State Buffer) PQ state machine: the 2-bit P (pending) / Q (queued) coalescing
 * state every XIVE source and every END notification/escalation point carries.
 * Pure functions on the 2-bit value, shared by sources (source.ts) and ENDs (router.ts).
 */

// Indexed by the old PQ value (00, 01, 10, 11).
const TRIGGER_NEXT = [0b10, 0b01, 0b11, 0b11] as const;
const EOI_NEXT = [0b00, 0b01, 0b00, 0b10] as const;

/** PQ after a trigger (event arrival). */
export function pqTrigger(pq: number): number {
  return TRIGGER_NEXT[pq & 3]!;
}

/** A trigger is forwarded to the router only from the ready state (00 -> 10). */
export function pqTriggerForwards(pq: number): boolean {
  return (pq & 3) === 0b00;
}

/** PQ after an EOI. */
export function pqEoi(pq: number): number {
  return EOI_NEXT[pq & 3]!;
}

/** An EOI re-notifies only when an event was queued meanwhile (11 -> 10). */
export function pqEoiForwards(pq: number): boolean {
  return (pq & 3) === 0b11;
}
