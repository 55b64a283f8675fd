/**
 * The fused paths of the sPAPR XIVE controller (ESB trigger store, EOI load, OS ring ACK load and
 * CPPR store, see src/spapr/xive-fast-path.ts) against the checked path: two controllers start
 * from the same random state (sources, EAS, END, thread contexts, guest RAM), one untraced (it
 * takes the fused paths where they apply), one with a trace sink (always the checked path); the
 * same random guest accesses must give the same values, tables, registers, RAM and line changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as R from '../../src/xive/regs.ts';
import { SpaprXive, SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE } from '../../src/spapr/spapr-xive.ts';
import { FlatGuestMemory } from '../../src/ports/memory.ts';
import type { CpuLines } from '../../src/ports/lines.ts';
import type { TraceSink } from '../../src/trace/events.ts';
import { XiveFastTrigger } from '../../src/spapr/xive-fast-path.ts';

const NR_IRQS = 16;
const NR_SERVERS = 4;
const RAM = 0x8000;
const ESB_PAGE = 2 ** 17;
const TM_OS = SPAPR_XIVE_TM_BASE + 2 * 2 ** R.TM_SHIFT;

class RecordingLines implements CpuLines {
  readonly calls: string[] = [];
  setLine(cpu: number, line: number, level: boolean): void {
    this.calls.push(`${cpu}:${line}:${level}`);
  }
}

const NULL_SINK: TraceSink = { emit() {} };

interface Rig {
  x: SpaprXive;
  mem: FlatGuestMemory;
  lines: RecordingLines;
}

interface Start {
  status: number[];
  lsi: number[];
  eas: [number, number][];
  ends: number[][];
  cams: number[];
  regs: number[][];
  vcpus: boolean[];
}

/** Mostly the common case (weight 6), anything else otherwise (weight 1). */
function mostly<T>(common: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: common, weight: 6 }, { arbitrary: other, weight: 1 });
}
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** END `e`: mostly valid, enqueuing and notifying vCPU e / 8 at a priority in 0..7; every field free to differ. */
const endArb = (e: number): fc.Arbitrary<number[]> =>
  fc
    .tuple(
      mostly(fc.constantFrom((0xe000_0000 | (4 << 16)) >>> 0, 0xe000_0000), fc.oneof(fc.constant(0xe000_0000), fc.constant(0xc000_0000), fc.constant(0xa000_0000), u32)),
      mostly(fc.integer({ min: 0, max: 0x3ff }).map((i) => (i | (i & 1 ? 0x0040_0000 : 0)) >>> 0), u32),
      fc.integer({ min: 0, max: 1 }),
      mostly(fc.constant((e >> 3) * 0x1000), fc.oneof(fc.integer({ min: 0, max: RAM / 4 - 1 }).map((p) => p * 4), u32)),
      fc.constant(0),
      fc.constant(0),
      mostly(fc.constant(0x400 + (e >> 3)), fc.oneof(fc.integer({ min: 0x3ff, max: 0x400 + NR_SERVERS }), u32)),
      mostly(fc.integer({ min: 0, max: 7 }).map((p) => p << 16), fc.oneof(fc.constant(0xff << 16), u32)),
    )
    .map((w) => [...w] as number[]);

const startArb: fc.Arbitrary<Start> = fc.record({
  status: fc.array(mostly(fc.constant(0), fc.integer({ min: 0, max: 7 })), { minLength: NR_IRQS, maxLength: NR_IRQS }),
  lsi: fc.array(mostly(fc.constant(0), fc.constant(1)), { minLength: NR_IRQS, maxLength: NR_IRQS }),
  eas: fc.array(
    mostly(
      fc.tuple(fc.integer({ min: 0, max: NR_SERVERS * 8 - 1 }).map((e) => (0x8000_0000 | e) >>> 0), fc.integer({ min: 0, max: 0x7fff_ffff })),
      fc.tuple(u32, u32),
    ),
    { minLength: NR_IRQS, maxLength: NR_IRQS },
  ),
  ends: fc.tuple(...Array.from({ length: NR_SERVERS * 8 }, (_, e) => endArb(e))),
  cams: fc.tuple(...Array.from({ length: NR_SERVERS }, (_, v) => mostly(fc.constant(0x400 + v), fc.integer({ min: 0, max: 0xffff })))),
  regs: fc.array(fc.array(fc.integer({ min: 0, max: 0xff }), { minLength: 16, maxLength: 16 }), { minLength: NR_SERVERS, maxLength: NR_SERVERS }),
  vcpus: fc.array(mostly(fc.constant(true), fc.constant(false)), { minLength: NR_SERVERS, maxLength: NR_SERVERS }),
});

type Access = { kind: 'trigger' | 'eoi' | 'pq' | 'ack' | 'cppr' | 'other'; cpu: number; n: number; v: number };

const accessArb: fc.Arbitrary<Access> = fc.record({
  kind: fc.constantFrom('trigger', 'trigger', 'trigger', 'eoi', 'eoi', 'pq', 'ack', 'ack', 'cppr', 'cppr', 'other'),
  cpu: fc.integer({ min: 0, max: NR_SERVERS - 1 }),
  n: fc.integer({ min: 0, max: NR_IRQS - 1 }),
  v: fc.integer({ min: 0, max: 0xff }),
});

function build(start: Start, traced: boolean): Rig {
  const mem = new FlatGuestMemory(RAM);
  const lines = new RecordingLines();
  const x = new SpaprXive({ nrIrqs: NR_IRQS, nrServers: NR_SERVERS, memory: mem, lines, trace: traced ? NULL_SINK : null });
  for (let v = 0; v < NR_SERVERS; v++) if (start.vcpus[v]) x.addCpu(v);
  x.activate();
  for (let i = 0; i < NR_IRQS; i++) {
    x.source.status[i] = start.status[i]!;
    x.source.setLsi(i, start.lsi[i] === 1);
    x.router.setEas(i, start.eas[i]![0], start.eas[i]![1]);
  }
  for (let e = 0; e < NR_SERVERS * 8; e++) for (let w = 0; w < 8; w++) x.router.setEndWord(e, w, start.ends[e]![w]!);
  for (const t of x.cpus) {
    // OS ring registers random, its CAM line pushed (valid) on a random NVT.
    for (let b = 0; b < 8; b++) t.regs[R.TM_QW1_OS + b] = start.regs[t.pir]![b]!;
    t.setWord2(R.TM_QW1_OS, R.TM_QW1W2_VO | R.camLine(0, start.cams[t.pir]!));
  }
  x.postLoad(false);
  lines.calls.length = 0;
  return { x, mem, lines };
}

function access(r: Rig, a: Access): number {
  const x = r.x;
  if (!x.hasCpu(a.cpu)) return -2;
  const esb = SPAPR_XIVE_VC_BASE + a.n * ESB_PAGE;
  switch (a.kind) {
    case 'trigger':
      x.store(a.cpu, esb + (a.v & 0xf8), 8, a.v, 0);
      return -1;
    case 'eoi':
      return x.load(a.cpu, esb + ESB_PAGE / 2 + 0xc00, 8);
    case 'pq':
      return x.load(a.cpu, esb + ESB_PAGE / 2 + 0xc00 + (a.v & 3) * 0x100, 8) + x.loadHi * 2 ** 32;
    case 'ack':
      return x.load(a.cpu, TM_OS + R.TM_SPC_ACK_OS_REG, 2);
    case 'cppr':
      x.store(a.cpu, TM_OS + R.TM_QW1_OS + R.TM_CPPR, 1, a.v < 0x40 ? a.v & 7 : a.v, 0);
      return -1;
    default:
      // Same register from the HV page and a raw OS register load: the checked path on both sides.
      return x.load(a.cpu, TM_OS + R.TM_QW1_OS, 4);
  }
}

function snapshot(r: Rig): unknown {
  return {
    status: Array.from(r.x.source.status),
    lsi: Array.from(r.x.source.lsiMap),
    router: r.x.router.saveState(),
    tctx: Array.from(r.x.tctxRegs),
    lines: r.x.cpus.map((t) => t.lines),
    calls: r.lines.calls.slice(),
    ram: Buffer.from(r.mem.bytes).toString('base64'),
  };
}

test('fused trigger, EOI, ACK and CPPR paths reach the checked path\'s state', () => {
  fc.assert(
    fc.property(startArb, fc.array(accessArb, { minLength: 20, maxLength: 60 }), (start, accesses) => {
      const fast = build(start, false);
      const checked = build(start, true);
      for (const a of accesses) {
        assert.equal(access(fast, a), access(checked, a), `value of ${JSON.stringify(a)}`);
      }
      assert.deepEqual(snapshot(fast), snapshot(checked));
    }),
    { numRuns: 300 },
  );
});

test('the fused trigger is taken in the common case (an event goes all the way to the line)', () => {
  const start: Start = {
    status: Array(NR_IRQS).fill(0),
    lsi: Array(NR_IRQS).fill(0),
    eas: Array.from({ length: NR_IRQS }, (_, i) => [(0x8000_0000 | ((i % NR_SERVERS) * 8 + 5)) >>> 0, 0x100 + i] as [number, number]),
    ends: Array.from({ length: NR_SERVERS * 8 }, (_, e) => [0xe000_0000 | (4 << 16), 0, 0, (e >> 3) * 0x1000, 0, 0, 0x400 + (e >> 3), 5 << 16]),
    cams: Array.from({ length: NR_SERVERS }, (_, v) => 0x400 + v),
    regs: Array.from({ length: NR_SERVERS }, () => [0, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff]),
    vcpus: Array(NR_SERVERS).fill(true),
  };
  const fast = build(start, false);
  const checked = build(start, true);
  const proto = XiveFastTrigger.prototype;
  const original = proto.trigger;
  let taken = 0;
  proto.trigger = function (this: XiveFastTrigger, srcno: number): boolean {
    const done = original.call(this, srcno);
    if (done) taken++;
    return done;
  };
  try {
  for (let round = 0; round < 3; round++) {
    for (let n = 0; n < NR_IRQS; n++) {
      const cpu = n % NR_SERVERS;
      for (const kind of ['trigger', 'ack', 'eoi', 'cppr'] as const) {
        const a = { kind, cpu, n, v: 0xff };
        assert.equal(access(fast, a), access(checked, a));
      }
    }
  }
  } finally {
    proto.trigger = original;
  }
  // The first event of each vCPU works the presenter's match out; the others are fused.
  assert.equal(taken, 3 * NR_IRQS - NR_SERVERS);
  assert.deepEqual(snapshot(fast), snapshot(checked));
  assert.ok(fast.lines.calls.includes('1:0:true'));
  assert.equal(fast.mem.read32(0x1000), 0x101);
});
