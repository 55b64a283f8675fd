/**
 * The saved state of the sPAPR XIVE controller as sections (QEMU's names for its parts): each
 * block's codec, and what must hold between them for a machine of a given shape.
 */
import * as R from '../xive/regs.ts';
import { XIVE_ROUTER_STATE, type XiveRouterState } from '../xive/router.ts';
import { XIVE_SOURCE_STATE, type XiveSourceState } from '../xive/source.ts';
import { TCTX_STATE, type TctxState } from '../xive/tctx.ts';
import { perCpuCodec, type PerCpu } from '../base/state.ts';
import type { IntcStateSpec } from './intc.ts';

/**
 * The saved state of the sPAPR XIVE controller, as QEMU names its parts: 'spapr-xive' (the EAS
 * and END tables of the router), 'xive-source' (PQ bytes, LSI map), 'xive-tctx' (one thread
 * context per vCPU). sPAPR keeps no NVT table: an NVT exists when its vCPU does.
 */
export const SPAPR_XIVE_STATE: IntcStateSpec = {
  sections: [
    { id: 'spapr-xive', codec: XIVE_ROUTER_STATE },
    { id: 'xive-source', codec: XIVE_SOURCE_STATE },
    { id: 'xive-tctx', codec: perCpuCodec(TCTX_STATE, 5 + R.TCTX_BYTES) },
  ],
  inconsistency(states, shape) {
    const router = states.get('spapr-xive') as XiveRouterState;
    const source = states.get('xive-source') as XiveSourceState;
    const tctx = states.get('xive-tctx') as PerCpu<TctxState>[];
    const servers = Math.ceil((shape.maxCpus * shape.vsmt) / shape.threads);
    const ends = servers * (R.XIVE_PRIORITY_MAX + 1);
    if (router.nrEnds !== ends) return `${router.nrEnds} ENDs for ${servers} servers (expected ${ends})`;
    if (source.nrIrqs !== router.nrIrqs) return `the XIVE source has ${source.nrIrqs} interrupts, the router ${router.nrIrqs}`;
    // No sPAPR hcall (nor the KVM device's queue configuration) sets up END escalation.
    const table = new DataView(router.ends.buffer, router.ends.byteOffset, router.ends.byteLength);
    for (let e = 0; e < router.nrEnds; e++) {
      if ((table.getUint32(e * R.END_BYTES, false) & R.END_W0_ESCALATE_CTL) !== 0) {
        return `END 0x${e.toString(16)} has escalation control set, which no sPAPR guest can set up`;
      }
    }
    if (!sameIds(tctx.map((t) => t.vcpu), shape.vcpus)) return 'the thread contexts are not those of the plugged vCPUs, in plug order';
    return null;
  },
};

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
