/**
 * The pruned QEMU migration streams of test/fixtures/qemu-streams (their manifest, streams.json):
 * the stream bytes (gunzipped once per process), QEMU's `info pic` printed right after each
 * migration, the trace of the boot before it, and the machine each must load as. With XIVE_QEMU_STREAMS set to a folder holding
 * the unpruned NAME.stream files, `fullStreamPath` also finds those.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { IcMode } from '../../src/spapr/cas.ts';

export const STREAMS_DIR = fileURLToPath(new URL('../fixtures/qemu-streams/', import.meta.url));

export interface StreamFixture {
  name: string;
  /** The QEMU options the guest ran with. */
  qemu: string;
  expect: { type: string; icMode: IcMode; active: 'xive' | 'xics'; vcpus: number[] };
}

export const STREAMS: readonly StreamFixture[] = (JSON.parse(readFileSync(join(STREAMS_DIR, 'streams.json'), 'utf8')) as { streams: StreamFixture[] }).streams;

const bytes = new Map<string, Uint8Array>();

/** The pruned stream's bytes (a fresh copy each call: callers may damage it). */
export function streamBytes(name: string): Uint8Array {
  let b = bytes.get(name);
  if (b === undefined) {
    b = new Uint8Array(gunzipSync(readFileSync(join(STREAMS_DIR, `${name}.stream.gz`))));
    bytes.set(name, b);
  }
  return b.slice();
}

/** QEMU's trace of the guest's boot up to the migration (interrupt-controller events). */
export function streamTrace(name: string): string {
  return gunzipSync(readFileSync(join(STREAMS_DIR, `${name}.trace.gz`))).toString('utf8');
}

/** QEMU's `info pic` at the moment of the migration. */
export function streamPic(name: string): string {
  return readFileSync(join(STREAMS_DIR, `${name}.pic`), 'utf8');
}

/** The unpruned stream, when XIVE_QEMU_STREAMS names a folder that has it. */
export function fullStreamPath(name: string): string | null {
  const dir = process.env.XIVE_QEMU_STREAMS;
  if (dir === undefined || dir === '') return null;
  const p = join(dir, `${name}.stream`);
  return existsSync(p) ? p : null;
}
