/**
 * Destination side of a migration: decode and check a snapshot completely, check it against the
 * target, then load it and resume. Nothing touches the target until every check has passed, and
 * the load itself only copies validated values, so a refused snapshot leaves the target exactly
 * as it was and an accepted one replaces the interrupt state as a whole.
 *
 * The blocks load their own state through the machine (SpaprMachine.loadState), in the order
 * QEMU 7.2 and the in-kernel XIVE sequence use: vCPUs present first; XIVE event queue
 * descriptors (END), then targeting (EAS), thread contexts, source PQ states; XICS sources (ICS)
 * before presenters (ICP); then the machine's negotiated mode, the vCPU inputs, and the active
 * controller's post-load (XICS re-sends, which may present interrupts waiting for a resend).
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { hasControllerState, stateInconsistency, type ConfigState } from '../spapr/machine-state.ts';
import { SparseGuestMemory, type GuestMemory } from '../ports/memory.ts';
import { decodeContainer } from './container.ts';
import { SnapshotError } from './errors.ts';
import { restoring } from './capture.ts';
import { decodeSection, isSectionId, RAM_SECTION, type RamState, type SnapshotState } from './sections.ts';

/** Capabilities this build can provide, in the order they are listed in a snapshot. */
export const KNOWN_CAPABILITIES = ['xive', 'xics', 'guest-ram', 'hotplug'] as const;
/** What a snapshot may need from its restorer: a controller, guest RAM, CPU hotplug. */
export type Capability = (typeof KNOWN_CAPABILITIES)[number];

export interface DecodedSnapshot {
  formatVersion: number;
  capabilities: string[];
  sections: { id: string; version: number; length: number }[];
  state: SnapshotState;
}

/** The snapshot's machine shape. */
export function snapshotConfig(s: SnapshotState): ConfigState {
  return s.machine.get('config') as ConfigState;
}

/** What a snapshot needs from whoever restores it. */
export function requiredCapabilities(s: SnapshotState): Capability[] {
  const caps: Capability[] = [];
  if (hasControllerState(s.machine, 'xive')) caps.push('xive');
  if (hasControllerState(s.machine, 'xics')) caps.push('xics');
  if (s.ram !== null) caps.push('guest-ram');
  const c = snapshotConfig(s);
  if (c.vcpus.length > c.smp) caps.push('hotplug');
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
  const machine = new Map<string, unknown>();
  let ram: RamState | null = null;
  for (const s of c.sections) {
    if (!isSectionId(s.id)) throw new SnapshotError('unknown-section', `snapshot has section '${s.id}' (version ${s.version}), which this build does not know`);
    const state = decodeSection(s.id, s.version, s.payload);
    if (s.id === RAM_SECTION) ram = state as RamState;
    else machine.set(s.id, state);
  }
  const why = stateInconsistency(machine);
  if (why !== null) throw corrupt(why);
  const state: SnapshotState = { machine, ram };
  const ramSize = snapshotConfig(state).ramSize;
  if (ram !== null && ram.ramSize !== ramSize) throw corrupt(`the RAM section is ${ram.ramSize} bytes, the machine ${ramSize}`);
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

/** What `m` can take: its backends, RAM it can replace, room for hot-plugged vCPUs. */
export function targetCapabilities(m: SpaprMachine, allowed?: readonly string[]): Set<string> {
  const caps = new Set<string>(m.intcs.map((b) => b.name));
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
  const mism = m.stateMismatch(s.machine);
  if (mism !== null) {
    throw new SnapshotError('incompatible', `snapshot does not fit the target machine: ${mism.what} is ${mism.saved} in the snapshot, ${mism.here} in the target`);
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
 * Loads a checked snapshot into a checked target and resumes it. Only copies and calls that
 * cannot fail on validated values happen here.
 */
export function commit(m: SpaprMachine, s: SnapshotState, postLoadResend = true): void {
  restoring.add(m);
  try {
    if (s.ram !== null) loadRam(m.memory, s.ram);
    m.loadState(s.machine, postLoadResend);
  } finally {
    restoring.delete(m);
  }
}

/** Replaces guest RAM: what the target held is cleared, then the snapshot's blocks written. */
function loadRam(mem: GuestMemory, ram: RamState): void {
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
