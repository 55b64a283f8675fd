/**
 * Destination side of a migration: decode and check a snapshot completely, check it against the
 * target, then load it and resume. Nothing touches the target until every check has passed, and
 * the load itself only copies validated values, so a refused snapshot leaves the target exactly
 * as it was and an accepted one replaces the interrupt state as a whole.
 *
 * Load order follows QEMU 7.2 and the in-kernel XIVE sequence (kvm-device-api.md §8): vCPUs
 * present first; XIVE event queue descriptors (END), then targeting (EAS), then thread contexts,
 * then source PQ states; XICS sources (ICS) before presenters (ICP); then the machine section
 * (MSI map, negotiated option vector 5, hence the active controller and the XIVE MMIO enable).
 * Resume: the presenter's CAM index is rebuilt, the vCPU input lines are set from the loaded
 * state, and — XICS being active — every ICP runs its resend in vCPU order as QEMU's post-load
 * does (which may present interrupts that were waiting for a resend).
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { SparseGuestMemory, type GuestMemory } from '../ports/memory.ts';
import { LINE_HINT, LINE_INT } from '../ports/lines.ts';
import { OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import { SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { decodeContainer } from './container.ts';
import { SnapshotError } from './errors.ts';
import { restoring } from './capture.ts';
import { decodeSection, isSectionId, OV5_BYTES, type SectionId, type SectionPayloads, type SnapshotState } from './sections.ts';

/** Capabilities this build can provide, in the order they are listed in a snapshot. */
export const KNOWN_CAPABILITIES = ['xive', 'xics', 'guest-ram', 'hotplug'] as const;
export type Capability = (typeof KNOWN_CAPABILITIES)[number];

export interface DecodedSnapshot {
  formatVersion: number;
  capabilities: string[];
  sections: { id: string; version: number; length: number }[];
  state: SnapshotState;
}

/** What a snapshot needs from whoever restores it. */
export function requiredCapabilities(s: SnapshotState): Capability[] {
  const caps: Capability[] = [];
  if (s.xive !== null) caps.push('xive');
  if (s.ics !== null) caps.push('xics');
  if (s.ram !== null) caps.push('guest-ram');
  if (s.config.vcpus.length > s.config.smp) caps.push('hotplug');
  return caps;
}

function corrupt(what: string): SnapshotError {
  return new SnapshotError('corrupt', `snapshot is inconsistent: ${what}`);
}

/** Decodes every section and checks the snapshot against itself. Throws SnapshotError. */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  const c = decodeContainer(bytes);
  for (const cap of c.capabilities) {
    if (!(KNOWN_CAPABILITIES as readonly string[]).includes(cap)) {
      throw new SnapshotError('capability', `snapshot needs capability '${cap}', which this build does not have (it has ${KNOWN_CAPABILITIES.join(', ')})`);
    }
  }
  const found = new Map<SectionId, unknown>();
  for (const s of c.sections) {
    if (!isSectionId(s.id)) throw new SnapshotError('unknown-section', `snapshot has section '${s.id}' (version ${s.version}), which this build does not know`);
    found.set(s.id, decodeSection(s.id, s.version, s.payload));
  }
  const get = <K extends SectionId>(id: K): SectionPayloads[K] | null => (found.get(id) as SectionPayloads[K] | undefined) ?? null;
  const config = get('config');
  const spapr = get('spapr');
  if (config === null) throw corrupt("section 'config' is missing");
  if (spapr === null) throw corrupt("section 'spapr' is missing");
  const state: SnapshotState = {
    config,
    spapr,
    xive: get('spapr-xive'),
    xiveSource: get('xive-source'),
    tctx: get('xive-tctx'),
    ics: get('ics'),
    icp: get('icp'),
    ram: get('guest-ram'),
  };
  validateState(state);
  const need = requiredCapabilities(state);
  if (need.length !== c.capabilities.length || need.some((x) => !c.capabilities.includes(x))) {
    throw corrupt(`its capability list (${c.capabilities.join(', ') || 'none'}) does not match its contents (${need.join(', ') || 'none'})`);
  }
  return {
    formatVersion: c.formatVersion,
    capabilities: [...c.capabilities],
    sections: c.sections.map((s) => ({ id: s.id, version: s.version, length: s.payload.length })),
    state,
  };
}

function validateState(s: SnapshotState): void {
  const { smp, maxCpus, icMode, vcpus, ramSize } = s.config;
  if (smp < 1 || maxCpus < smp || maxCpus > SPAPR_MAX_CPUS) throw corrupt(`smp ${smp} / max-cpus ${maxCpus} is not a valid machine`);
  // The machine plugs 0..smp-1 at creation and can only add vCPUs afterwards.
  for (let i = 0; i < smp; i++) if (vcpus[i] !== i) throw corrupt(`vCPU list [${vcpus.join(', ')}] does not start with 0..${smp - 1}`);
  const seen = new Set<number>();
  for (const v of vcpus) {
    if (v >= maxCpus || seen.has(v)) throw corrupt(`vCPU list [${vcpus.join(', ')}] repeats an id or exceeds max-cpus ${maxCpus}`);
    seen.add(v);
  }
  const hasXive = icMode !== 'xics';
  const hasXics = icMode !== 'xive';
  const xiveParts = [s.xive, s.xiveSource, s.tctx].filter((p) => p !== null).length;
  if (xiveParts !== (hasXive ? 3 : 0)) throw corrupt(`ic-mode=${icMode} needs ${hasXive ? 'all' : 'none'} of the sections spapr-xive, xive-source, xive-tctx`);
  if ((s.ics !== null) !== hasXics || (s.icp !== null) !== hasXics) throw corrupt(`ic-mode=${icMode} needs ${hasXics ? 'both' : 'neither'} of the sections ics, icp`);
  if (s.spapr.ov5Cas.length !== OV5_BYTES) throw corrupt('option vector 5 has the wrong size');
  if (!hasXive && (s.spapr.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0) throw corrupt('XIVE was negotiated on a machine without XIVE');
  if (s.xive !== null && s.xiveSource !== null && s.tctx !== null) {
    if (s.xive.nrEnds !== maxCpus * 8) throw corrupt(`${s.xive.nrEnds} ENDs for max-cpus ${maxCpus} (expected ${maxCpus * 8})`);
    if (s.xiveSource.nrIrqs !== s.xive.nrIrqs) throw corrupt(`the XIVE source has ${s.xiveSource.nrIrqs} interrupts, the router ${s.xive.nrIrqs}`);
    if (!sameIds(s.tctx.map((t) => t.vcpu), vcpus)) throw corrupt('the thread contexts are not those of the plugged vCPUs, in plug order');
  }
  if (s.icp !== null && !sameIds(s.icp.map((c) => c.vcpu), vcpus)) throw corrupt('the ICPs are not those of the plugged vCPUs, in plug order');
  if (s.ram !== null && s.ram.ramSize !== ramSize) throw corrupt(`the RAM section is ${s.ram.ramSize} bytes, the machine ${ramSize}`);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** What `m` can take: its backends, RAM it can replace, room for hot-plugged vCPUs. */
export function targetCapabilities(m: SpaprMachine, allowed?: readonly string[]): Set<string> {
  const caps = new Set<string>();
  if (m.xive !== null) caps.add('xive');
  if (m.xics !== null) caps.add('xics');
  if (m.memory instanceof SparseGuestMemory) caps.add('guest-ram');
  if (m.maxCpus > m.smp) caps.add('hotplug');
  if (allowed !== undefined) for (const c of [...caps]) if (!allowed.includes(c)) caps.delete(c);
  return caps;
}

export function checkCapabilities(need: readonly string[], have: ReadonlySet<string>, target: string): void {
  for (const c of need) {
    if (!have.has(c)) throw new SnapshotError('capability', `snapshot needs capability '${c}', which ${target} lacks (it has ${[...have].join(', ') || 'none'})`);
  }
}

/** Same machine shape, and the target's vCPUs a prefix of the snapshot's (the rest get plugged). */
export function checkTarget(m: SpaprMachine, s: SnapshotState): void {
  const c = s.config;
  const mism = (what: string, snap: string | number, tgt: string | number): SnapshotError =>
    new SnapshotError('incompatible', `snapshot does not fit the target machine: ${what} is ${snap} in the snapshot, ${tgt} in the target`);
  if (m.icMode !== c.icMode) throw mism('ic-mode', c.icMode, m.icMode);
  if (m.smp !== c.smp) throw mism('smp', c.smp, m.smp);
  if (m.maxCpus !== c.maxCpus) throw mism('max-cpus', c.maxCpus, m.maxCpus);
  const tSize = m.memory instanceof SparseGuestMemory ? m.memory.size : 0;
  if (c.ramSize !== 0 && tSize !== 0 && c.ramSize !== tSize) throw mism('the RAM size', c.ramSize, tSize);
  if (m.msi.size !== s.spapr.msiBitmap.length) throw mism('the MSI range size', s.spapr.msiBitmap.length, m.msi.size);
  if (s.xive !== null && m.xive !== null) {
    if (m.xive.nrIrqs !== s.xive.nrIrqs) throw mism('the XIVE nr_irqs', s.xive.nrIrqs, m.xive.nrIrqs);
    if (m.xive.nrEnds !== s.xive.nrEnds) throw mism('the XIVE nr_ends', s.xive.nrEnds, m.xive.nrEnds);
  }
  if (s.ics !== null && m.xics !== null) {
    if (m.xics.ics.nrIrqs !== s.ics.nrIrqs) throw mism('the ICS nr_irqs', s.ics.nrIrqs, m.xics.ics.nrIrqs);
    if (m.xics.ics.offset !== s.ics.offset) throw mism('the ICS offset', s.ics.offset, m.xics.ics.offset);
  }
  if (m.vcpus.length > c.vcpus.length || m.vcpus.some((v, i) => c.vcpus[i] !== v)) {
    throw mism('the vCPU list', `[${c.vcpus.join(', ')}]`, `[${m.vcpus.join(', ')}]`);
  }
}

/** RAM blocks must land in RAM of the target's memory. */
export function checkRamFits(mem: GuestMemory, s: SnapshotState): void {
  if (s.ram === null) return;
  const size = 2 ** s.ram.blockShift;
  for (const b of s.ram.blocks) {
    if (!mem.isRam(b.addr, size)) throw new SnapshotError('incompatible', `snapshot RAM block at 0x${b.addr.toString(16)} is not RAM in the target`);
  }
}

/**
 * Sets the negotiated option vector and the controller it selects, without resetting either
 * backend: both are loaded from the snapshot, and QEMU's post-load switch does not reset them.
 */
/**
 * Loads a checked snapshot into a checked target and resumes it. Only copies and calls that
 * cannot fail on validated values happen here.
 */
export function commit(m: SpaprMachine, s: SnapshotState, postLoadResend = true): void {
  restoring.add(m);
  try {
    load(m, s);
    resume(m, postLoadResend);
  } finally {
    restoring.delete(m);
  }
}

function load(m: SpaprMachine, s: SnapshotState): void {
  for (const v of s.config.vcpus) if (!m.hasCpu(v)) m.plugCpu(v);
  const x = m.xive;
  if (x !== null && s.xive !== null && s.xiveSource !== null && s.tctx !== null) {
    const ends = x.router.ends;
    const eas = x.router.eas;
    new Uint8Array(ends.buffer, ends.byteOffset, ends.byteLength).set(s.xive.ends);
    new Uint8Array(eas.buffer, eas.byteOffset, eas.byteLength).set(s.xive.eas);
    for (const t of s.tctx) {
      const tc = x.tctxById[t.vcpu]!;
      tc.regs.set(t.regs);
      tc.lines = t.lines;
    }
    x.source.status.set(s.xiveSource.status);
    for (let i = 0; i < x.source.nrIrqs; i++) x.source.setLsi(i, ((s.xiveSource.lsi[i >>> 3]! >>> (i & 7)) & 1) === 1);
  }
  const xc = m.xics;
  if (xc !== null && s.ics !== null && s.icp !== null) {
    const ics = xc.ics;
    ics.server.set(s.ics.server);
    ics.priority.set(s.ics.priority);
    ics.savedPriority.set(s.ics.savedPriority);
    ics.status.set(s.ics.status);
    ics.flags.set(s.ics.flags);
    for (const c of s.icp) xc.icpOfCpu(c.vcpu)!.loadState(c.xirr, c.pendingPriority, c.mfrr);
  }
  if (s.ram !== null) loadRam(m.memory, s);
  m.msi.bitmap.set(s.spapr.msiBitmap);
  m.halted = s.spapr.halted;
  m.mmioHi = s.spapr.mmioHi;
  m.restoreMode(s.spapr.ov5Cas);
}

/** Replaces guest RAM: what the target held is cleared, then the snapshot's blocks written. */
function loadRam(mem: GuestMemory, s: SnapshotState): void {
  const ram = s.ram!;
  if (mem instanceof SparseGuestMemory) {
    for (const page of mem.touchedPages()) {
      const base = page * 0x1_0000;
      for (let a = base; a < base + 0x1_0000 && a < mem.size; a += 4) if (mem.read32(a) !== 0) mem.write32(a, 0);
    }
  }
  const size = 2 ** ram.blockShift;
  for (const b of ram.blocks) {
    const view = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
    for (let o = 0; o < size; o += 4) {
      const w = view.getUint32(o, false);
      if (w !== 0) mem.write32(b.addr + o, w);
    }
  }
}

function resume(m: SpaprMachine, postLoadResend: boolean): void {
  const x = m.xive;
  if (x !== null) for (const t of x.cpus) x.presenter.update(t);
  // The vCPU inputs follow the loaded state (QEMU's CPU state carries them across); the port is
  // told every level, whatever it held before.
  for (const v of m.vcpus) {
    m.lines.setLine(v, LINE_INT, m.lineLevel(v, LINE_INT));
    m.lines.setLine(v, LINE_HINT, m.lineLevel(v, LINE_HINT));
  }
  if (postLoadResend && m.activeController() === 'xics' && m.xics !== null) {
    for (const v of m.vcpus) m.xics.icpOfCpu(v)!.resend();
  }
}
