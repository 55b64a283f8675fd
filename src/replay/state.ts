/**
 * The part of the model's state a divergence report shows: the thread context of the vCPU the
 * event names, or the `info pic` row of its source, or (XICS) the whole short `info pic`.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { TraceEvent } from '../trace/events.ts';
import { infoPic, tctxPicLines, lisnPicLines } from '../monitor/info-pic.ts';

export function modelStateFor(m: SpaprMachine, ev: TraceEvent | null): string {
  if (m.activeController() === 'xics' || m.xive === null) return infoPic(m).trimEnd();
  const x = m.xive;
  if (ev !== null && 'target' in ev && typeof ev.target === 'number' && x.tctxById[ev.target] !== undefined) {
    return tctxPicLines(x.tctxById[ev.target]!).join('\n');
  }
  const srcno = ev !== null && 'srcno' in ev ? ev.srcno : ev !== null && 'lisn' in ev ? Number(ev.lisn) : -1;
  if (srcno >= 0) {
    const lines = lisnPicLines(x, m.memory);
    const row = lines.find((l) => l.startsWith(`  ${srcno.toString(16).padStart(8, '0')} `));
    return [lines[0], row ?? `  LISN 0x${srcno.toString(16)} is not claimed`].join('\n');
  }
  return x.cpus.map((t) => tctxPicLines(t).join('\n')).join('\n');
}
