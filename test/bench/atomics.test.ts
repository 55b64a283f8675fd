/**
 * The atomic forms of the table updates (tables in shared memory with lock words) compute exactly
 * what the sequential code does: random sequences of guest and device operations on two
 * machines, one with plain buffers and one with shared tables, give the same loads, trace lines,
 * tables and event queues. FlatGuestMemory over a shared buffer reads and writes the same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { SPAPR_IRQ_MSI, SPAPR_IRQ_NR_IPIS, SPAPR_XIRQ_BASE } from '../../src/spapr/irq-map.ts';
import { allocateSharedTables } from '../../src/spapr/shared-tables.ts';
import { FlatGuestMemory } from '../../src/ports/memory.ts';
import { SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE } from '../../src/spapr/spapr-xive.ts';
import * as H from '../../src/spapr/hcall.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';

const NR_IRQS = 8;
const VCPUS = 2;
const RAM = 1 << 16;
const TM_OS = SPAPR_XIVE_TM_BASE + 0x20000;
/** The smallest device range a pseries machine takes; the sources are its first NR_IRQS. */
const NR_XIRQS = SPAPR_IRQ_MSI - SPAPR_XIRQ_BASE;
const lisnOf = (s: number) => SPAPR_XIRQ_BASE + s;

type Op =
  | { k: 'trigger'; s: number }
  | { k: 'load'; s: number; off: number }
  | { k: 'store'; s: number; off: number }
  | { k: 'level'; s: number; level: boolean }
  | { k: 'ack'; c: number }
  | { k: 'cppr'; c: number; v: number }
  | { k: 'pending'; c: number; prio: number }
  | { k: 'flood'; s: number; n: number };

const src = fc.integer({ min: 0, max: NR_IRQS - 1 });
const cpu = fc.integer({ min: 0, max: VCPUS - 1 });
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('trigger' as const), s: src }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('load' as const), s: src, off: fc.constantFrom(0x000, 0x000, 0x800, 0xc00, 0xd00, 0xe00, 0xf00) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('store' as const), s: src, off: fc.constantFrom(0x000, 0x400, 0x800, 0xc00, 0xd00, 0xe00, 0xf00) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('level' as const), s: src, level: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('ack' as const), c: cpu }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('cppr' as const), c: cpu, v: fc.constantFrom(0, 5, 6, 7, 0xff) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('pending' as const), c: cpu, prio: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('flood' as const), s: src, n: fc.integer({ min: 100, max: 900 }) }) },
  ),
  { minLength: 30, maxLength: 150 },
);

interface Rig {
  m: SpaprMachine;
  trace: TraceBuffer;
  mem: FlatGuestMemory;
}

/** vCPU 0's queue always notifies; vCPU 1's coalesces through ESn. Sources 2, 3, 6 and 7 are LSIs. */
function rig(shared: boolean): Rig {
  const trace = new TraceBuffer();
  const mem = new FlatGuestMemory(shared ? new SharedArrayBuffer(RAM) : new ArrayBuffer(RAM));
  const xiveBuffers = shared ? allocateSharedTables(SPAPR_IRQ_NR_IPIS + NR_XIRQS, VCPUS) : undefined;
  const m = new SpaprMachine({ smp: VCPUS, icMode: 'xive', nrXirqs: NR_XIRQS, memory: mem, trace, devices: 'none', xiveBuffers });
  m.cas(0x40);
  for (let c = 0; c < VCPUS; c++) {
    assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [c === 0 ? 1n : 0n, BigInt(c), 6n, BigInt(0x1000 * (c + 1)), 12n]).ret, H.H_SUCCESS);
    m.mmioWrite(c, TM_OS + 0x11, 1, 0xff);
  }
  for (let s = 0; s < NR_IRQS; s++) {
    m.claimIrq(lisnOf(s), s % 4 >= 2);
    assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, BigInt(lisnOf(s)), BigInt(s % VCPUS), 6n, BigInt(0x100 + s)]).ret, H.H_SUCCESS);
    m.mmioRead(0, SPAPR_XIVE_VC_BASE + lisnOf(s) * 0x20000 + 0x10c00, 8);
  }
  trace.clear();
  return { m, trace, mem };
}

function apply(r: Rig, op: Op): number[] {
  const { m } = r;
  const page = (s: number) => SPAPR_XIVE_VC_BASE + lisnOf(s) * 0x20000;
  switch (op.k) {
    case 'trigger':
      m.mmioWrite(0, page(op.s), 8, 0, 0);
      return [];
    case 'load':
      return [m.mmioRead(0, page(op.s) + 0x10000 + op.off, 8), m.mmioHi];
    case 'store':
      m.mmioWrite(0, page(op.s) + 0x10000 + op.off, 8, 0, 0);
      return [];
    case 'level':
      m.setIrq(lisnOf(op.s), op.level);
      return [];
    case 'ack':
      return [m.mmioRead(op.c, TM_OS + 0x810, 2)];
    case 'cppr':
      m.mmioWrite(op.c, TM_OS + 0x11, 1, op.v);
      return [];
    case 'pending':
      m.mmioWrite(op.c, TM_OS + 0x812, 1, op.prio);
      return [];
    case 'flood': {
      const out: number[] = [];
      for (let i = 0; i < op.n; i++) {
        m.mmioWrite(0, page(op.s), 8, 0, 0);
        out.push(m.mmioRead(0, page(op.s) + 0x10c00, 8));
      }
      return out;
    }
  }
}

function tables(r: Rig): Uint8Array[] {
  const x = r.m.xive!;
  const bytes = (v: DataView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  return [x.source.status.slice(), new Uint8Array(x.source.lsiMap.slice().buffer), bytes(x.router.eas), bytes(x.router.ends), x.tctxRegs.slice(), r.mem.bytes.slice()];
}

test('property: shared tables with lock words behave exactly as plain ones', () => {
  fc.assert(
    fc.property(ops, (list) => {
      const a = rig(false);
      const b = rig(true);
      assert.equal(a.m.xive!.source.atomic, false);
      assert.equal(b.m.xive!.source.atomic, true);
      for (const op of list) {
        assert.deepEqual(apply(b, op), apply(a, op), JSON.stringify(op));
        assert.deepEqual(b.trace.events.map(formatTraceEvent), a.trace.events.map(formatTraceEvent), JSON.stringify(op));
        a.trace.clear();
        b.trace.clear();
      }
      assert.deepEqual(tables(b), tables(a));
    }),
    { numRuns: 80 },
  );
});

test('FlatGuestMemory: big-endian words, bounds, the same words over a shared buffer', () => {
  for (const buf of [new ArrayBuffer(64), new SharedArrayBuffer(64)]) {
    const m = new FlatGuestMemory(buf);
    assert.equal(m.size, 64);
    assert.equal(m.write32(8, 0x8000_1234), true);
    assert.deepEqual([...m.bytes.subarray(8, 12)], [0x80, 0x00, 0x12, 0x34]);
    assert.equal(m.read32(8), 0x8000_1234);
    // Unaligned words take the plain path.
    assert.equal(m.write32(13, 0xa1b2_c3d4), true);
    assert.equal(m.read32(13), 0xa1b2_c3d4);
    assert.equal(m.read32(61), -1);
    assert.equal(m.write32(61, 1), false);
    assert.equal(m.read32(-4), -1);
    assert.equal(m.isRam(60, 4), true);
    assert.equal(m.isRam(60, 5), false);
  }
  assert.throws(() => new FlatGuestMemory(0), RangeError);
});
