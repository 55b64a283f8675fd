/**
 * The fixtures manifest (test/fixtures/captures.json): every QEMU capture the project keeps, with
 * the machine it was taken on. Tests, benchmarks and tools list captures from here only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IcMode } from '../../src/spapr/cas.ts';

export interface Capture {
  name: string;
  /** Folder below test/fixtures/. */
  dir: string;
  /** The QEMU options it was captured with (documentation). */
  qemu: string;
  machine: { smp: number; maxCpus: number; icMode: IcMode };
  /** The controller the guest used after CAS. */
  guest: 'xive' | 'xics';
  /** Whether QEMU's device tree dump of that machine (NAME.dtb) is kept. */
  dtb: boolean;
}

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${FIXTURES_DIR}captures.json`, 'utf8')) as { captures: Capture[] };

// Entries without `machine` (test/fixtures/qemu-configs) give their machine as QEMU options
// (`args`) only; they are not replayed here.
export const CAPTURES: readonly Capture[] = manifest.captures.filter((c) => (c as Partial<Capture>).machine !== undefined);

export function capture(name: string): Capture {
  const c = CAPTURES.find((x) => x.name === name);
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

/** The capture's machine as CLI options (--smp N --max-cpus M --ic-mode X). */
export function captureArgs(c: Capture | string): string[] {
  const k = typeof c === 'string' ? capture(c) : c;
  return ['--smp', String(k.machine.smp), '--max-cpus', String(k.machine.maxCpus), '--ic-mode', k.machine.icMode];
}

/**
 * A test's expectations for particular captures, keyed by capture name. A key the manifest does
 * not know fails at once, so a renamed or removed capture cannot leave an expectation unchecked.
 */
export function byCapture<T>(table: Readonly<Record<string, T>>): ReadonlyMap<string, T> {
  for (const name of Object.keys(table)) capture(name);
  return new Map(Object.entries(table));
}
