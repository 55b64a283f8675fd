/**
 * Versioned snapshots of a pseries machine's interrupt state: the public entry points.
 *
 *   captureSnapshot(machine, { includeMemory })  quiesce, sync queues, capture -> bytes
 *   restoreSnapshot(bytes, opts)                  a new machine built from the snapshot's config
 *   restoreInto(machine, bytes, opts)             replace the state of a machine of the same shape
 *   inspectSnapshot(bytes)                        check a snapshot and describe it
 *
 * Every refusal is a SnapshotError (errors.ts) with a one-line message; the target is then left
 * untouched. The byte layout is described in container.ts (envelope) and sections.ts (payloads).
 */
import { DEFAULT_RAM_SIZE, SpaprMachine } from '../spapr/machine.ts';
import { SparseGuestMemory, type GuestMemory } from '../ports/memory.ts';
import type { CpuLines } from '../ports/lines.ts';
import type { TraceSink } from '../trace/events.ts';
import { encodeContainer, type Section } from './container.ts';
import { captureState, type CaptureOptions } from './capture.ts';
import {
  checkCapabilities,
  checkRamFits,
  checkTarget,
  commit,
  decodeSnapshot,
  KNOWN_CAPABILITIES,
  requiredCapabilities,
  targetCapabilities,
  snapshotConfig,
  type Capability,
} from './restore.ts';
import { encodeSection, RAM_SECTION, SECTION_IDS, sectionVersion, type SnapshotState } from './sections.ts';
import { configSpec, savedActiveController, type ConfigState } from '../spapr/machine-state.ts';

export { SnapshotError, type SnapshotErrorCode } from './errors.ts';
export { SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC, READABLE_FORMAT_VERSIONS } from './container.ts';
export { KNOWN_CAPABILITIES, type Capability } from './restore.ts';
export type { CaptureOptions } from './capture.ts';

/**
 * Options of {@link restoreSnapshot}: the ports of the new machine and what the restorer offers.
 */
export interface RestoreOptions {
  /** The trace sink of the new machine. */
  trace?: TraceSink | null;
  /** The vCPU interrupt outputs of the new machine. */
  lines?: CpuLines;
  /** Guest RAM for the new machine; default a SparseGuestMemory of the snapshot's RAM size. */
  memory?: GuestMemory;
  /** Restrict what this restorer offers (e.g. a tool that must not load guest RAM). */
  capabilities?: readonly string[];
  /**
   * Run QEMU's XICS post-load resend on every ICP (default true). It may present an interrupt
   * that was waiting for a resend earlier than the source machine would have; a restore that
   * must continue a run event for event (replay --snapshot-every) turns it off.
   */
  postLoadResend?: boolean;
}

/** Options of {@link restoreInto}; see {@link RestoreOptions}. */
export interface RestoreIntoOptions {
  capabilities?: readonly string[];
  postLoadResend?: boolean;
}

/** What {@link inspectSnapshot} reads from a snapshot without restoring it. */
export interface SnapshotInfo {
  formatVersion: number;
  capabilities: string[];
  sections: { id: string; version: number; length: number }[];
  config: ConfigState;
  /** Controller the snapshot's negotiated option vector selects. */
  activeController: 'xive' | 'xics';
  halted: string | null;
}

/** Serialises a decoded state (also used by tests to build snapshots of other shapes). */
export function encodeState(s: SnapshotState): Uint8Array {
  const sections: Section[] = [];
  for (const id of SECTION_IDS) {
    const state = id === RAM_SECTION ? s.ram : s.machine.get(id);
    if (state === undefined || state === null) continue;
    sections.push({ id, version: sectionVersion(id), payload: encodeSection(id, state) });
  }
  return encodeContainer(requiredCapabilities(s), sections);
}

/**
 * Takes a snapshot: quiesce, sync the event queues, capture (capture.ts). Throws SnapshotError
 * ('unsupported') when includeMemory is asked of a memory that cannot be enumerated.
 */
export function captureSnapshot(machine: SpaprMachine, opts: CaptureOptions = {}): Uint8Array {
  return encodeState(captureState(machine, opts));
}

/** Checks a snapshot completely (as a restore would, short of a target) and describes it. */
export function inspectSnapshot(bytes: Uint8Array): SnapshotInfo {
  const d = decodeSnapshot(bytes);
  const config = snapshotConfig(d.state);
  return {
    formatVersion: d.formatVersion,
    capabilities: d.capabilities,
    sections: d.sections,
    config: { ...config, vcpus: config.vcpus.slice() },
    activeController: savedActiveController(d.state.machine),
    halted: (d.state.machine.get('spapr') as { halted: string | null }).halted,
  };
}

/**
 * Builds a new machine from the snapshot's config and loads the snapshot into it. The trace
 * sink is attached only after the machine is built, so it sees what the restore itself does
 * (the XICS post-load resends) and not the construction of an empty machine.
 */
export function restoreSnapshot(bytes: Uint8Array, opts: RestoreOptions = {}): SpaprMachine {
  const { state } = decodeSnapshot(bytes);
  const c = snapshotConfig(state);
  const have = new Set<string>(opts.capabilities ?? KNOWN_CAPABILITIES);
  // Only RAM this module can clear and enumerate can be replaced.
  if (opts.memory !== undefined && !(opts.memory instanceof SparseGuestMemory)) have.delete('guest-ram');
  checkCapabilities(requiredCapabilities(state), have, 'this restore');
  // A snapshot whose source memory did not tell its size (ramSize 0) gets the default RAM.
  const memory = opts.memory ?? new SparseGuestMemory(c.ramSize !== 0 ? c.ramSize : DEFAULT_RAM_SIZE);
  checkRamFits(memory, state);
  const m = new SpaprMachine({ spec: configSpec(c), nrXirqs: c.nrXirqs, memory, lines: opts.lines, trace: null, devices: 'none' });
  // The new machine has the boot vCPUs; those the snapshot's machine had unplugged go away.
  for (const v of [...m.vcpus]) if (!c.vcpus.includes(v)) m.unplugCpu(v);
  checkTarget(m, state);
  m.setTrace(opts.trace ?? null);
  commit(m, state, opts.postLoadResend ?? true);
  return m;
}

/**
 * Replaces the interrupt state of `machine` with the snapshot's. The machine must have the same
 * shape (ic-mode, smp, max-cpus, RAM size, table sizes) and its vCPUs must be the snapshot's
 * first ones (the others are plugged). On any refusal the machine is left untouched.
 */
export function restoreInto(machine: SpaprMachine, bytes: Uint8Array, opts: RestoreIntoOptions = {}): void {
  const { state } = decodeSnapshot(bytes);
  checkTarget(machine, state);
  checkCapabilities(requiredCapabilities(state), targetCapabilities(machine, opts.capabilities), 'the target machine');
  checkRamFits(machine.memory, state);
  commit(machine, state, opts.postLoadResend ?? true);
}

/** Capabilities a restoreInto on `machine` offers. */
export function machineCapabilities(machine: SpaprMachine): Capability[] {
  const have = targetCapabilities(machine);
  return KNOWN_CAPABILITIES.filter((c) => have.has(c));
}
