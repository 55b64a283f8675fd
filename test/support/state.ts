/**
 * Interrupt state read straight from a machine's own structures (never through the snapshot
 * code, so a field a snapshot forgets shows up as a difference):
 *   - the controllers' tables, by table (XIVE: EAS (event assignment), END (event notification
 *     descriptor), source PQ/asserted bytes, LSI map, thread contexts; XICS: ICS arrays, ICP
 *     registers), for "a failing call changed nothing" checks and for comparing two machines;
 *   - a fingerprint of all a migration must carry besides (ic-mode, active controller,
 *     `info pic`, negotiated option vector, MSI allocations, halt reason, line levels, RAM),
 *     as text.
 */
import assert from 'node:assert/strict';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import type { SpaprXive } from '../../src/spapr/spapr-xive.ts';
import type { Ics } from '../../src/xics/ics.ts';
import type { Icp } from '../../src/xics/icp.ts';
import { LineState, LINE_HINT, LINE_INT } from '../../src/ports/lines.ts';
import { SparseGuestMemory } from '../../src/ports/memory.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';

/** State by table: a copy of the table's bytes, or a text for state spread over objects. */
export type StateParts = Record<string, Uint8Array | string>;

/** A copy of the bytes of a table (copies are cheap enough for a check around every call). */
function bytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

function hex(v: ArrayBufferView): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

/** Every state byte of a sPAPR XIVE, by table. */
function xiveParts(x: SpaprXive): StateParts {
  return {
    eas: bytes(x.router.eas),
    ends: bytes(x.router.ends),
    sourceStatus: bytes(x.source.status),
    lsiMap: bytes(x.source.lsiMap),
    tctx: bytes(x.tctxRegs),
    tctxLines: x.cpus.map((t) => `${t.cpuIndex}:${t.lines}`).join(' '),
  };
}

/** Every state byte of an ICS and its ICPs (registers and whether an ICS owns the pending one). */
export function xicsParts(ics: Ics, icps: readonly Icp[]): StateParts {
  return {
    icsServer: bytes(ics.server),
    icsPriority: bytes(ics.priority),
    icsSaved: bytes(ics.savedPriority),
    icsStatus: bytes(ics.status),
    icsFlags: bytes(ics.flags),
    icps: JSON.stringify(icps.map((i) => [i.cpuIndex, i.xirr, i.pendingPriority, i.mfrr, i.owner === null, i.outputLevel])),
  };
}

/** Every state byte of the machine's controllers, by table. */
export function modelParts(m: SpaprMachine): StateParts {
  return { ...(m.xive === null ? {} : xiveParts(m.xive)), ...(m.xics === null ? {} : xicsParts(m.xics.ics, m.xics.icps)) };
}

/** The parts as text (tables in hex), one string for equality checks. */
export function partsText(parts: StateParts): string {
  return JSON.stringify(Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, typeof v === 'string' ? v : hex(v)])));
}

/** Every state byte of the machine's controllers, as one comparable string. */
export function modelState(m: SpaprMachine): string {
  return partsText(modelParts(m));
}

/** Everything a guest request can change: the controllers and the option vector CAS negotiated. */
export function guestState(m: SpaprMachine): StateParts {
  return { ...modelParts(m), ov5: bytes(m.ov5Cas) };
}

/** Asserts two sets of parts are equal, naming the first table that differs and where. */
function assertSameParts(actual: StateParts, expected: StateParts, what = ''): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: not the same tables`);
  for (const k of Object.keys(expected)) {
    const a = actual[k]!;
    const e = expected[k]!;
    if (typeof a === 'string' || typeof e === 'string' ? a === e : Buffer.compare(a, e) === 0) continue;
    const x = typeof a === 'string' ? a : hex(a);
    const y = typeof e === 'string' ? e : hex(e);
    let i = 0;
    while (x[i] === y[i]) i++;
    assert.fail(`${what}: ${k} differs at character ${i}: …${x.slice(Math.max(0, i - 16), i + 24)}… vs …${y.slice(Math.max(0, i - 16), i + 24)}…`);
  }
}

/** Asserts two machines (or a machine and parts taken earlier) hold the same controller state. */
export function assertSameModel(actual: SpaprMachine, expected: SpaprMachine | StateParts, what = ''): void {
  assertSameParts(modelParts(actual), isMachine(expected) ? modelParts(expected) : expected, what);
}

/** Asserts a guest request left the machine as `before` (taken with guestState). */
export function assertSameState(m: SpaprMachine, before: StateParts, what: string): void {
  assertSameParts(guestState(m), before, what);
}

function isMachine(x: SpaprMachine | StateParts): x is SpaprMachine {
  return typeof (x as { hcall?: unknown }).hcall === 'function';
}

/** Levels the port holds for each vCPU (INT, HINT). */
export function portLevels(m: SpaprMachine): string {
  const port = m.lines;
  assert.ok(port instanceof LineState, 'these tests use the default LineState port');
  return m.vcpus.map((v) => `${v}:${port.level(v, LINE_INT) ? 1 : 0}${port.level(v, LINE_HINT) ? 1 : 0}`).join(' ');
}

/** Every piece of interrupt state of the machine, and its RAM unless `withRam` is false. */
export function fingerprint(m: SpaprMachine, withRam = true): Record<string, string> {
  const f: Record<string, string> = {
    config: `${m.icMode} smp=${m.smp} max=${m.maxCpus} vcpus=${m.vcpus.join(',')}`,
    active: m.activeController(),
    pic: infoPic(m),
    ov5: hex(m.ov5Cas),
    msi: hex(m.msi.bitmap),
    halted: String(m.halted),
    mmioHi: String(m.mmioHi),
    port: portLevels(m),
    lineLevel: m.vcpus.map((v) => `${m.lineLevel(v, LINE_INT)}/${m.lineLevel(v, LINE_HINT)}`).join(' '),
  };
  for (const [k, v] of Object.entries(modelParts(m))) f[k] = typeof v === 'string' ? v : hex(v);
  if (m.xive !== null) f.mmio = String(m.xive.mmioEnabled);
  if (withRam && m.memory instanceof SparseGuestMemory) f.ram = ramDigest(m.memory);
  return f;
}

/** Non-zero RAM words as "addr=value" (the RAM tests touch is a few pages). */
function ramDigest(mem: SparseGuestMemory): string {
  const out: string[] = [];
  for (const p of mem.touchedPages()) {
    for (let a = p * 0x10000; a < (p + 1) * 0x10000; a += 4) {
      const w = mem.read32(a);
      if (w !== 0) out.push(`${a.toString(16)}=${w.toString(16)}`);
    }
  }
  return out.join(',');
}
