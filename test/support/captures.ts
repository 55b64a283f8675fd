/**
 * The fixtures manifest (test/fixtures/captures.json): every QEMU capture the project keeps, with
 * the machine it was taken on, given as the options of the xive commands (`args`). Tests,
 * benchmarks and tools list captures from here only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IcMode } from '../../src/spapr/cas.ts';
import { parse } from '../../src/cli/args.ts';
import { MACHINE_OPTIONS, machineSpecOf } from '../../src/cli/machine-args.ts';
import { resolveMachine, type MachineConfig, type MachineSpec } from '../../src/spapr/machine-config.ts';

interface ManifestEntry {
  name: string;
  /** Folder below test/fixtures/. */
  dir: string;
  /** The QEMU options it was captured with (documentation). */
  qemu: string;
  /** The same machine as options of the xive commands. */
  args: string[];
  /** The controller the guest used after CAS (the one active at reset when paused before boot). */
  guest: 'xive' | 'xics';
  /** Whether QEMU's device tree dump of that machine (NAME.dtb) is kept. */
  dtb: boolean;
  /** What the capture shows (unplugs, resets, …). */
  notes?: string;
}

export interface Capture extends ManifestEntry {
  /** The machine options `args` stand for. */
  spec: MachineSpec;
  /** What QEMU built for them. */
  config: MachineConfig;
  /** Its size and ic-mode, for tests that build the machine from these three. */
  machine: { smp: number; maxCpus: number; icMode: IcMode };
}

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${FIXTURES_DIR}captures.json`, 'utf8')) as { captures: ManifestEntry[] };

function load(e: ManifestEntry): Capture {
  const spec = machineSpecOf(parse(e.args, MACHINE_OPTIONS, false).values);
  const config = resolveMachine(spec);
  return { ...e, spec, config, machine: { smp: config.smp.cpus, maxCpus: config.smp.maxCpus, icMode: config.icMode } };
}

/** Every capture of the manifest. */
export const ALL_CAPTURES: readonly Capture[] = manifest.captures.map(load);

/**
 * The captures of the default machine type with one thread per core (test/fixtures/qemu and
 * qemu-extra): the ones the tests written before machine types loop over.
 */
export const CAPTURES: readonly Capture[] = ALL_CAPTURES.filter((c) => c.dir !== 'qemu-configs');

export function capture(name: string): Capture {
  const c = ALL_CAPTURES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no capture '${name}' in test/fixtures/captures.json`);
  return c;
}

/** Absolute path of one of a capture's files ('trace', 'pic' or 'dtb'). */
export function capturePath(c: Capture | string, ext: 'trace' | 'pic' | 'dtb'): string {
  const k = typeof c === 'string' ? capture(c) : c;
  return `${FIXTURES_DIR}${k.dir}/${k.name}.${ext}`;
}

// Several tests of one file read the same multi-megabyte logs: each is read once per process.
const texts = new Map<string, string>();
const lineArrays = new Map<string, readonly string[]>();

export function captureText(c: Capture | string, ext: 'trace' | 'pic'): string {
  const path = capturePath(c, ext);
  let t = texts.get(path);
  if (t === undefined) {
    t = readFileSync(path, 'utf8');
    texts.set(path, t);
  }
  return t;
}

/** The capture's trace split at newlines (the last element is the empty text after the final one). */
export function captureLines(c: Capture | string): readonly string[] {
  const path = capturePath(c, 'trace');
  let l = lineArrays.get(path);
  if (l === undefined) {
    l = Object.freeze(captureText(c, 'trace').split('\n'));
    lineArrays.set(path, l);
  }
  return l;
}

/** The device tree blob QEMU dumped for the capture's machine. */
export function captureDtb(c: Capture | string): Uint8Array {
  return new Uint8Array(readFileSync(capturePath(c, 'dtb')));
}

/** The capture's machine as options of the xive commands. */
export function captureArgs(c: Capture | string): string[] {
  const k = typeof c === 'string' ? capture(c) : c;
  return [...k.args];
}

/**
 * A test's expectations for particular captures, keyed by capture name. A key the manifest does
 * not know fails at once, so a renamed or removed capture cannot leave an expectation unchecked.
 */
export function byCapture<T>(table: Readonly<Record<string, T>>): ReadonlyMap<string, T> {
  for (const name of Object.keys(table)) capture(name);
  return new Map(Object.entries(table));
}
