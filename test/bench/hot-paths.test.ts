/**
 * The paths the benchmark sped up keep their behaviour where the speed-ups touched them: the
 * presenter's cached CAM matches follow pulls and pushes of a context; ESB and TIMA accesses
 * split into (source, offset in its pages) give the same results, traces and rejections as
 * whole offsets, including unaligned and fractional ones; memory ports that do not take signed
 * words still get unsigned ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { MMIO_INVALID, MMIO_OK, SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE } from '../../src/spapr/spapr-xive.ts';
import * as H from '../../src/spapr/hcall.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { XiveSource } from '../../src/xive/source.ts';
import { FlatGuestMemory, type GuestMemory } from '../../src/ports/memory.ts';

const TM_HV = SPAPR_XIVE_TM_BASE + 0x10000;
const TM_OS = SPAPR_XIVE_TM_BASE + 0x20000;

function machine(): { m: SpaprMachine; trace: TraceBuffer } {
  const trace = new TraceBuffer();
  const m = new SpaprMachine({ smp: 2, icMode: 'xive', trace });
  m.cas(0x40);
  for (const c of [0, 1]) {
    assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, BigInt(c), 6n, BigInt(0x100_0000 + c * 0x1_0000), 16n]).ret, H.H_SUCCESS);
    m.mmioWrite(c, TM_OS + 0x11, 1, 0xff);
  }
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, 1n, 1n, 6n, 0x21n]).ret, H.H_SUCCESS);
  m.mmioRead(0, SPAPR_XIVE_VC_BASE + 0x2_0000 + 0x1_0c00, 8);
  trace.clear();
  return { m, trace };
}

function lines(trace: TraceBuffer): string[] {
  const l = trace.events.map(formatTraceEvent);
  trace.clear();
  return l;
}

test('presenter: a pulled context stops matching, a pushed one matches again', () => {
  const { m, trace } = machine();
  const ipi1 = SPAPR_XIVE_VC_BASE + 0x2_0000;
  m.mmioWrite(0, ipi1, 8, 0, 0);
  assert.ok(lines(trace).includes('xive_presenter_notify found NVT 0x0/0x401 ring=0x10'));
  m.mmioRead(1, TM_OS + 0x810, 2);
  m.mmioRead(0, ipi1 + 0x1_0c00, 8);
  assert.equal(m.mmioRead(1, TM_HV + 0x818, 4), 0x8000_0401); // pull OS context
  trace.clear();
  m.mmioWrite(0, ipi1, 8, 0, 0);
  assert.ok(lines(trace).includes('XIVE: NVT 0/401 is not dispatched'));
  m.mmioRead(0, ipi1 + 0x1_0c00, 8);
  m.mmioWrite(1, TM_HV + 0x18, 4, 0x8000_0401); // push it back
  trace.clear();
  m.mmioWrite(0, ipi1, 8, 0, 0);
  assert.ok(lines(trace).includes('xive_presenter_notify found NVT 0x0/0x401 ring=0x10'));
  // Both vCPUs on one CAM line: several threads match.
  m.mmioRead(0, ipi1 + 0x1_0c00, 8);
  m.mmioWrite(0, TM_HV + 0x18, 4, 0x8000_0401);
  trace.clear();
  m.mmioWrite(0, ipi1, 8, 0, 0);
  assert.ok(lines(trace).includes('XIVE: already found a thread context NVT 0/401'));
});

test('unaligned and odd-sized ESB and TIMA accesses are rejected as before, with the same offsets', () => {
  const { m, trace } = machine();
  const x = m.xive!;
  const out = new Uint32Array(2);
  m.mmioRead(0, SPAPR_XIVE_VC_BASE + 0x2_0000 + 0x1_0c04, 8);
  m.mmioWrite(0, SPAPR_XIVE_VC_BASE + 0x3_0003, 8, 0, 0);
  m.mmioRead(0, TM_OS + 0x811, 2);
  m.mmioWrite(0, TM_OS + 0x13, 4, 0);
  assert.deepEqual(lines(trace), [
    "Invalid read at addr 0x30C04, size 8, region 'xive.esb-emulated', reason: unaligned",
    "Invalid write at addr 0x30003, size 8, region 'xive.esb-emulated', reason: unaligned",
    "Invalid read at addr 0x20811, size 2, region 'xive.tima', reason: unaligned",
    "Invalid write at addr 0x20013, size 4, region 'xive.tima', reason: unaligned",
  ]);
  assert.equal(x.esbRead(0x3_0c00 + 0.5, 8, out), MMIO_INVALID);
  assert.equal(x.esbWrite(-8, 4, 0, 0), MMIO_INVALID);
  assert.equal(x.timaRead(x.tctxById[0]!, 0x2_0810 + 0.25, 2, out), MMIO_INVALID);
  assert.deepEqual(lines(trace), [
    "Invalid read at addr 0x30C00.8, size 8, region 'xive.esb-emulated', reason: unaligned",
    "Invalid write at addr 0x-8, size 4, region 'xive.esb-emulated', reason: invalid size (min:8 max:8)",
    "Invalid read at addr 0x20810.4, size 2, region 'xive.tima', reason: unaligned",
  ]);
  assert.equal(x.esbRead(0x3_0800, 8, out), MMIO_OK);
});

test('property: ESB loads and stores by region offset and by (source, offset in its pages) agree', () => {
  const op = fc.record({
    srcno: fc.integer({ min: 0, max: 15 }),
    inPage: fc.integer({ min: 0, max: 0x1_ffff }).map((v) => v & ~7),
    store: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const ta = new TraceBuffer();
      const tb = new TraceBuffer();
      const a = new XiveSource(16);
      const b = new XiveSource(16);
      a.tracer.sink = ta;
      b.tracer.sink = tb;
      for (const o of ops) {
        const addr = o.srcno * 0x2_0000 + o.inPage;
        if (o.store) {
          a.esbStore(addr, 1, 2);
          b.esbStoreAt(o.srcno, o.inPage, 1, 2);
        } else {
          assert.equal(b.esbLoadAt(o.srcno, o.inPage), a.esbLoad(addr));
        }
      }
      assert.deepEqual(tb.events.map(formatTraceEvent), ta.events.map(formatTraceEvent));
      assert.deepEqual(b.status, a.status);
    }),
    { numRuns: 300 },
  );
});

test('event-queue entries reach a memory port without signedWrite32 as unsigned words', () => {
  const words: number[] = [];
  const ram = new FlatGuestMemory(1 << 16);
  const port: GuestMemory = {
    isRam: (a, l) => ram.isRam(a, l),
    read32: (a) => ram.read32(a),
    write32: (a, v) => {
      words.push(v);
      return ram.write32(a, v);
    },
  };
  const m = new SpaprMachine({ smp: 1, icMode: 'xive', memory: port, devices: 'none' });
  m.cas(0x40);
  const lisn = 0x1002;
  m.claimIrq(lisn, false);
  assert.equal(m.hcall(0, H.H_INT_SET_QUEUE_CONFIG, [1n, 0n, 6n, 0x1000n, 12n]).ret, H.H_SUCCESS);
  assert.equal(m.hcall(0, H.H_INT_SET_SOURCE_CONFIG, [2n, BigInt(lisn), 0n, 6n, 0x42n]).ret, H.H_SUCCESS);
  m.mmioRead(0, SPAPR_XIVE_VC_BASE + lisn * 0x2_0000 + 0x1_0c00, 8);
  words.length = 0;
  m.mmioWrite(0, SPAPR_XIVE_VC_BASE + lisn * 0x2_0000, 8, 0, 0);
  assert.deepEqual(words, [0x8000_0042]);
  assert.equal(ram.read32(0x1000), 0x8000_0042);
});
