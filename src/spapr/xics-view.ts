/**
 * The state view (intc-view.ts) of the sPAPR XICS controller: each vCPU's ICP registers and every
 * claimed ICS source with its server, priorities and status bits. XICS has no event queues.
 */
import {
  XICS_STATUS_ASSERTED,
  XICS_STATUS_MASKED_PENDING,
  XICS_STATUS_PRESENTED,
  XICS_STATUS_QUEUED,
  XICS_STATUS_REJECTED,
  XICS_STATUS_SENT,
} from '../xics/ics.ts';
import type { Ics } from '../xics/ics.ts';
import type { Icp } from '../xics/icp.ts';
import type { IntcView } from './intc-view.ts';

const XICS_STATUS_NAMES: [number, string][] = [
  [XICS_STATUS_ASSERTED, 'asserted'],
  [XICS_STATUS_SENT, 'sent'],
  [XICS_STATUS_REJECTED, 'rejected'],
  [XICS_STATUS_MASKED_PENDING, 'masked-pending'],
  [XICS_STATUS_PRESENTED, 'presented'],
  [XICS_STATUS_QUEUED, 'queued'],
];

export function xicsView(xics: { readonly ics: Ics; readonly icps: readonly Icp[] }): IntcView {
  const view: IntcView = { cpus: [], sources: [], queues: [] };
  for (const icp of xics.icps) {
    view.cpus.push({
      vcpu: icp.server,
      cpuIndex: icp.cpuIndex,
      intLine: icp.outputLevel,
      hintLine: null,
      rings: null,
      icp: { xirr: icp.xirr, cppr: icp.cppr, xisr: icp.xisr, pp: icp.pendingPriority, mfrr: icp.mfrr },
    });
  }
  const ics = xics.ics;
  for (let srcno = 0; srcno < ics.nrIrqs; srcno++) {
    if (!ics.isClaimed(srcno)) continue;
    const st = ics.status[srcno]!;
    view.sources.push({
      lisn: ics.offset + srcno,
      kind: ics.isLsi(srcno) ? 'lsi' : 'msi',
      pq: null,
      asserted: (st & XICS_STATUS_ASSERTED) !== 0,
      masked: ics.priority[srcno] === 0xff,
      eisn: null,
      route: null,
      xics: {
        server: ics.server[srcno]!,
        priority: ics.priority[srcno]!,
        savedPriority: ics.savedPriority[srcno]!,
        status: XICS_STATUS_NAMES.filter(([bit]) => (st & bit) !== 0).map(([, n]) => n),
      },
    });
  }
  return view;
}
