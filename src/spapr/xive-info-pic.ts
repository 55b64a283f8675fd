/**
 * The sPAPR XIVE controller's part of `info pic`, byte-identical to QEMU 7.2's pseries output
 * for the same state: the thread context (TIMA rings) of every vCPU, then the LISN table with
 * each routed source's EAS, its END target and the window of its event queue (EQ).
 */
import * as R from '../xive/regs.ts';
import type { XiveRouter } from '../xive/router.ts';
import type { XiveSource } from '../xive/source.ts';
import { spaprNvtVcpu } from './xive-layout.ts';
import type { GuestMemory } from '../ports/memory.ts';
import type { ThreadContext } from '../xive/tctx.ts';

/**
 * The parts of the sPAPR XIVE controller (SpaprXive, spapr-xive.ts) that `info pic` prints; named
 * here so that the controller and this module do not depend on each other.
 */
export interface XivePicSource {
  readonly nrIrqs: number;
  readonly router: XiveRouter;
  readonly source: XiveSource;
  /** Thread contexts in CPU order. */
  readonly cpus: readonly ThreadContext[];
}

const RING_NAMES = ['USER', 'OS', 'POOL', 'PHYS'];

function h(v: number, width: number): string {
  return (v >>> 0).toString(16).padStart(width, '0');
}

/** "%Nd" */
function d(v: number, width: number): string {
  return String(v).padStart(width, ' ');
}

export function tctxPicLines(t: ThreadContext): string[] {
  const cpu = `CPU[${h(t.cpuIndex, 4)}]:`;
  const out = [`${cpu}   QW   NSR CPPR IPB LSMFB ACK# INC AGE PIPR  W2`];
  for (let i = 0; i < 4; i++) {
    const ring = i * R.TM_RING_SIZE;
    const r = t.regs;
    const b = (off: number) => h(r[ring + off]!, 2);
    out.push(
      `${cpu} ${RING_NAMES[i]!.padStart(4, ' ')}    ${b(R.TM_NSR)}   ${b(R.TM_CPPR)}  ${b(R.TM_IPB)}    ${b(R.TM_LSMFB)}   ${b(R.TM_ACK_CNT)}  ${b(R.TM_INC)}  ${b(R.TM_AGE)}   ${b(R.TM_PIPR)}  ${h(t.word2(ring), 8)}`,
    );
  }
  return out;
}

/** The queue window: the 5 entries before the write index and the next slot (marked ^). */
export function endQueueWindow(x: XivePicSource, memory: GuestMemory, endIdx: number, width = 6): string {
  const r = x.router;
  const base = r.endQueueAddr(endIdx);
  const entries = r.endQueueEntries(endIdx);
  let qindex = (r.endQueueIndex(endIdx) - (width - 1)) & (entries - 1);
  let s = ' [ ';
  for (let i = 0; i < width; i++) {
    const v = memory.read32(base + qindex * 4);
    if (v < 0) return s; // QEMU stops the window at a failed read
    s += `${i === width - 1 ? '^' : ''}${h(v, 8)} `;
    qindex = (qindex + 1) & (entries - 1);
  }
  return s + ']';
}

export function lisnPicLines(x: XivePicSource, memory: GuestMemory): string[] {
  const out = ['  LISN         PQ    EISN     CPU/PRIO EQ'];
  const r = x.router;
  const src = x.source;
  for (let i = 0; i < x.nrIrqs; i++) {
    if (!r.easValid(i)) continue;
    const pq = src.getPq(i);
    const masked = r.easMasked(i);
    let line =
      `  ${h(i, 8)} ${src.isLsi(i) ? 'LSI' : 'MSI'} ${pq & R.PQ_P ? 'P' : '-'}${pq & R.PQ_Q ? 'Q' : '-'}${src.isAsserted(i) ? 'A' : ' '}` +
      ` ${masked ? 'M' : ' '} ${h(r.easData(i), 8)} `;
    if (!masked) {
      const e = r.easEndIndex(i);
      if (e < r.nrEnds && r.endValid(e)) {
        const target = spaprNvtVcpu(r.endNvtIndex(e));
        const qindex = r.endQueueIndex(e);
        line +=
          `${d(target, 3)}/${r.endPriority(e)} ${(' ' + qindex).padStart(6, ' ')}/${d(r.endQueueEntries(e), 5)}` +
          ` @${r.endQueueAddr(e).toString(16)} ^${r.endGeneration(e)}` +
          endQueueWindow(x, memory, e);
      }
    }
    out.push(line);
  }
  return out;
}

/** Every line of the XIVE part: thread contexts in CPU order, then the LISN table. */
export function xivePicLines(x: XivePicSource, memory: GuestMemory): string[] {
  const lines: string[] = [];
  for (const t of x.cpus) lines.push(...tctxPicLines(t));
  lines.push(...lisnPicLines(x, memory));
  return lines;
}
