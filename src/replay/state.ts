/**
 * The part of the model's state a divergence report shows: the `info pic` lines of the vCPU or
 * the source the event names, as the active controller prints them, or the whole `info pic`
 * when the controller has no such part.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { TraceEvent } from '../trace/events.ts';

export function modelStateFor(m: SpaprMachine, ev: TraceEvent | null): string {
  const intc = m.intc;
  let part: { cpu: number } | { irq: number } | null = null;
  if (ev !== null && 'target' in ev && typeof ev.target === 'number' && intc.hasCpu(ev.target)) part = { cpu: ev.target };
  else {
    const srcno = ev !== null && 'srcno' in ev ? ev.srcno : ev !== null && 'lisn' in ev ? Number(ev.lisn) : -1;
    if (srcno >= 0) part = { irq: srcno };
  }
  const lines = intc.printInfoOf(part);
  return lines === null ? m.infoPic().trimEnd() : lines.join('\n');
}
