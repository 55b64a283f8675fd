/**
 * From QEMU's interrupt state (pseries.ts) to the model: the machine options that build the same
 * machine (a MachineSpec: machine type, CPU model, vCPUs and max-cpus, VSMT, ic-mode, PHBs), and
 * the machine's saved state in the model's own terms — the platform's ConfigState and
 * SpaprState, and each block's state object (XiveRouterState, XiveSourceState, TctxState,
 * IcsState, IcpState) — with the guest pages of the event queues. SpaprMachine.loadState (through
 * a snapshot restore) then loads it the way it loads any snapshot.
 *
 * What QEMU does not migrate and the model keeps is derived: a source's LSI bit from the PCI host
 * bridges' LSI tables (no other pseries device claims LSIs), a thread context's output levels
 * from its NSR (the OS ring's EO bit drives INT, the PHYS ring's HE field HINT).
 */
import * as R from '../../xive/regs.ts';
import type { XiveRouterState } from '../../xive/router.ts';
import type { XiveSourceState } from '../../xive/source.ts';
import type { TctxState } from '../../xive/tctx.ts';
import type { IcsState } from '../../xics/ics.ts';
import type { IcpState } from '../../xics/icp.ts';
import type { PerCpu } from '../../base/state.ts';
import { SpaprMachine } from '../../spapr/machine.ts';
import { MachineConfigError, resolveMachine, type MachineSpec } from '../../spapr/machine-config.ts';
import { machineType } from '../../spapr/machine-types.ts';
import { INTC_STATE, type ConfigState, type SpaprState } from '../../spapr/machine-state.ts';
import type { IntcName } from '../../spapr/intc.ts';
import { SparseGuestMemory } from '../../ports/memory.ts';
import { LINE_HINT, LINE_INT } from '../../ports/lines.ts';
import { QemuStreamError } from './errors.ts';
import type { RamBlock, SnapshotState } from '../sections.ts';
import type { QemuPseriesState } from './pseries.ts';

/** Blocks of guest RAM in a snapshot are this big (the model's snapshot layout). */
const BLOCK_SHIFT = 12;

/** The machine options QEMU was started with, as far as the stream tells them. */
export function machineSpecOf(q: QemuPseriesState): MachineSpec {
  const legacy = machineType(q.machineType)?.legacyIrqAllocation === true;
  return {
    type: q.machineType,
    cpu: q.cpu,
    ...(legacy ? {} : { icMode: q.icMode }),
    vsmt: q.vsmt,
    smp: { cpus: q.cpus.length, maxcpus: q.maxCpus, threads: q.threads },
    accel: 'tcg',
    phbs: q.phbs.filter((p) => p.index !== 0).map((p) => ({ index: p.index })),
  };
}

/** Guest physical pages (4 KiB) holding the event queues of the valid, enqueuing ENDs. */
export function eventQueuePages(q: QemuPseriesState, pageSize: number): number[] {
  if (q.xive === null) return [];
  const v = new DataView(q.xive.ends.buffer, q.xive.ends.byteOffset, q.xive.ends.byteLength);
  const pages = new Set<number>();
  for (let e = 0; e < q.xive.nrEnds; e++) {
    const w0 = v.getUint32(e * R.END_BYTES, false);
    if ((w0 & R.END_W0_VALID) === 0 || (w0 & R.END_W0_ENQUEUE) === 0) continue;
    const bytes = 2 ** (((w0 & R.END_W0_QSIZE) >>> R.END_W0_QSIZE_SHIFT) + 12);
    const hi = v.getUint32(e * R.END_BYTES + 8, false) & R.END_W2_OP_DESC_HI;
    const addr = hi * 0x1_0000_0000 + v.getUint32(e * R.END_BYTES + 12, false);
    for (let a = addr - (addr % pageSize); a < addr + bytes; a += pageSize) pages.add(a);
  }
  return [...pages].sort((a, b) => a - b);
}

/**
 * The model's saved state of the machine QEMU migrated: shape, platform state, each block's
 * state, and guest RAM holding `pages` (guest physical address -> bytes). Refusals name the
 * QEMU section the contradiction is about.
 */
export function snapshotStateOf(q: QemuPseriesState, ramSize: number, pages: ReadonlyMap<number, Uint8Array>): SnapshotState {
  const spec = machineSpecOf(q);
  const at = (name: string): number => q.offsets[name] ?? q.offsets.spapr ?? 0;
  const inconsistent = (section: string, detail: string): QemuStreamError =>
    new QemuStreamError('inconsistent', { offset: at(section), where: `section '${section}' instance 0` }, detail);
  let scratch: SpaprMachine;
  try {
    resolveMachine(spec);
    scratch = new SpaprMachine({ spec, devices: 'none', memory: new SparseGuestMemory(ramSize) });
  } catch (e) {
    if (e instanceof MachineConfigError) throw inconsistent('spapr', `QEMU would not build the machine the stream describes (${describeSpec(spec)}): ${e.message}`);
    throw e;
  }
  const states = scratch.saveState();
  const config: ConfigState = { ...(states.get('config') as ConfigState), smp: q.cpus.length, vcpus: q.cpus.map((c) => c.cpuIndex) };
  states.set('config', config);

  const msiBitmap = (states.get('spapr') as SpaprState).msiBitmap.slice();
  if (q.irqMap !== null) {
    const beyond = q.irqMap.findIndex((b, i) => b !== 0 && i >= msiBitmap.length);
    if (beyond >= 0) throw inconsistent('spapr', `the MSI map allocates IRQ 0x${(0x1300 + beyond).toString(16)}, beyond the ${msiBitmap.length} MSIs of ${q.machineType}`);
    msiBitmap.set(q.irqMap.subarray(0, msiBitmap.length));
  }
  const spapr: SpaprState = { ov5Cas: q.ov5.slice(), msiBitmap, halted: null, mmioHi: 0 };
  states.set('spapr', spapr);

  const lsis = new Set(q.phbs.flatMap((p) => p.lsis));
  if (q.xive !== null) {
    const lsi = new Uint8Array(Math.ceil(q.xive.nrIrqs / 8));
    for (const irq of lsis) if (irq < q.xive.nrIrqs) lsi[irq >>> 3]! |= 1 << (irq & 7);
    const router: XiveRouterState = { nrIrqs: q.xive.nrIrqs, nrEnds: q.xive.nrEnds, eas: q.xive.eas.slice(), ends: q.xive.ends.slice() };
    const source: XiveSourceState = { nrIrqs: q.xive.nrIrqs, status: q.xive.status.slice(), lsi };
    const tctx: PerCpu<TctxState>[] = q.cpus.map((c) => ({ vcpu: c.cpuIndex, state: { lines: tctxLines(c.tctx!), regs: c.tctx!.slice() } }));
    states.set('spapr-xive', router);
    states.set('xive-source', source);
    states.set('xive-tctx', tctx);
  }
  if (q.xics !== null) {
    const x = q.xics;
    const ics: IcsState = { offset: 0x1000, nrIrqs: x.nrIrqs, server: x.server.slice(), priority: x.priority.slice(), savedPriority: x.savedPriority.slice(), status: x.status.slice(), flags: x.flags.slice() };
    const icp: PerCpu<IcpState>[] = q.cpus.map((c) => ({ vcpu: c.cpuIndex, state: { ...c.icp! } }));
    states.set('ics', ics);
    states.set('icp', icp);
  }
  // Each controller's own consistency, reported against its first QEMU section.
  const first: Record<IntcName, string> = { xive: 'spapr-xive', xics: 'ics' };
  for (const name of ['xive', 'xics'] as IntcName[]) {
    if ((name === 'xive' ? q.xive : q.xics) === null) continue;
    const why = INTC_STATE[name].inconsistency(states, config);
    if (why !== null) throw inconsistent(first[name], why);
  }

  const blocks: RamBlock[] = [];
  const size = 2 ** BLOCK_SHIFT;
  for (const [addr, data] of [...pages].sort((a, b) => a[0] - b[0])) {
    if (addr + data.length > ramSize) throw inconsistent('spapr-xive', `an event queue page at 0x${addr.toString(16)} is outside the ${ramSize}-byte guest RAM`);
    for (let o = 0; o < data.length; o += size) {
      const block = data.subarray(o, o + size);
      if (block.some((b) => b !== 0)) blocks.push({ addr: addr + o, data: block.slice() });
    }
  }
  return { machine: states, ram: { ramSize, blockShift: BLOCK_SHIFT, blocks } };
}

/** INT follows the OS ring's exception bit, HINT the PHYS ring's HE field. */
function tctxLines(regs: Uint8Array): number {
  let lines = 0;
  if ((regs[R.TM_QW1_OS + R.TM_NSR]! & R.TM_QW1_NSR_EO) !== 0) lines |= 1 << LINE_INT;
  if ((regs[R.TM_QW3_HV_PHYS + R.TM_NSR]! & R.TM_QW3_NSR_HE) !== 0) lines |= 1 << LINE_HINT;
  return lines;
}

function describeSpec(s: MachineSpec): string {
  return `-M ${s.type}${s.icMode !== undefined ? `,ic-mode=${s.icMode}` : ''},vsmt=${s.vsmt} -cpu ${s.cpu} -smp ${s.smp!.cpus},maxcpus=${s.smp!.maxcpus}`;
}
