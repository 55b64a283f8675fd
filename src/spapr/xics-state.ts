/**
 * The saved state of sPAPR XICS as sections (QEMU's names for its parts): the ICS and one ICP per
 * vCPU, each with its block's codec, and what must hold between them.
 */
import { ICS_STATE } from '../xics/ics.ts';
import { ICP_STATE, type IcpState } from '../xics/icp.ts';
import { perCpuCodec, type PerCpu } from '../base/state.ts';
import type { IntcStateSpec } from './intc.ts';

/** The saved state of sPAPR XICS, as QEMU names its parts: 'ics' and one 'icp' per vCPU. */
export const SPAPR_XICS_STATE: IntcStateSpec = {
  sections: [
    { id: 'ics', codec: ICS_STATE },
    { id: 'icp', codec: perCpuCodec(ICP_STATE, 10) },
  ],
  inconsistency(states, shape) {
    const icp = states.get('icp') as PerCpu<IcpState>[];
    const ids = icp.map((c) => c.vcpu);
    if (ids.length !== shape.vcpus.length || ids.some((v, i) => v !== shape.vcpus[i])) return 'the ICPs are not those of the plugged vCPUs, in plug order';
    return null;
  },
};
