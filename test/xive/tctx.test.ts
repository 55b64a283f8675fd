/**
 * Thread interrupt context (docs/xive.md §4.1, §4.2): reset values, notify/ipb_update/set_cppr/accept
 * on the OS and PHYS rings, the ACK values seen from Linux, CPU line changes and trace events,
 * and properties comparing random operation sequences with a reference ring written from §4.2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as R from '../../src/xive/regs.ts';
import { ThreadContext } from '../../src/xive/tctx.ts';
import { LINE_HINT, LINE_INT } from '../../src/ports/lines.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { refIpbToPipr, refPrioToIpb } from './helpers.ts';
import { LineRecorder, eventNames, eventsNamed, guestErrors } from '../support/trace.ts';

const OS = R.TM_QW1_OS;
const PHYS = R.TM_QW3_HV_PHYS;

function setup(cpu = 3): { t: ThreadContext; lines: LineRecorder; trace: TraceBuffer } {
  const lines = new LineRecorder();
  const trace = new TraceBuffer();
  const t = new ThreadContext(cpu, cpu, lines);
  t.tracer.sink = trace;
  t.reset();
  lines.clear();
  trace.clear();
  return { t, lines, trace };
}

const ring = (t: ThreadContext, r: number): { nsr: number; cppr: number; ipb: number; pipr: number } => ({
  nsr: t.regs[r + R.TM_NSR]!,
  cppr: t.regs[r + R.TM_CPPR]!,
  ipb: t.regs[r + R.TM_IPB]!,
  pipr: t.regs[r + R.TM_PIPR]!,
});

// ---- §4.1 reset ------------------------------------------------------------------------------

test('reset: all 64 bytes 0 except OS LSMFB/ACK#/AGE/PIPR and PHYS PIPR = 0xFF; OS CPPR 0', () => {
  const { t } = setup();
  t.regs.fill(0x5a);
  t.reset();
  const expected = new Uint8Array(64);
  expected[0x13] = 0xff; // OS LSMFB
  expected[0x14] = 0xff; // OS ACK#
  expected[0x16] = 0xff; // OS AGE
  expected[0x17] = 0xff; // OS PIPR
  expected[0x37] = 0xff; // PHYS PIPR
  assert.deepEqual([...t.regs], [...expected]);
  assert.equal(t.regs[OS + R.TM_CPPR], 0x00);
});

test('word2 helpers read and write big-endian', () => {
  const { t } = setup();
  t.setWord2(OS, 0x8000_0400);
  assert.deepEqual([...t.regs.subarray(0x18, 0x1c)], [0x80, 0x00, 0x04, 0x00]);
  assert.equal(t.word2(OS), 0x8000_0400);
});

// ---- §4.2 notify / ipb_update ---------------------------------------------------------------

test('after reset (CPPR 0) nothing is presented: IPB/PIPR update only', () => {
  const { t, lines, trace } = setup();
  t.ipbUpdate(OS, R.prioToIpb(6));
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 0, ipb: 0x02, pipr: 6 });
  assert.deepEqual(lines.calls, []);
  assert.deepEqual(trace.events, []);
});

test('ipb_update ORs bits and recomputes PIPR; notify only when PIPR < CPPR', () => {
  const { t, lines, trace } = setup();
  t.regs[OS + R.TM_CPPR] = 6;
  t.ipbUpdate(OS, 0x02); // prio 6 == CPPR: not presented
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 6, ipb: 0x02, pipr: 6 });
  assert.equal(lines.calls.length, 0);
  t.ipbUpdate(OS, 0x01); // prio 7: PIPR stays 6
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 6, ipb: 0x03, pipr: 6 });
  assert.equal(lines.calls.length, 0);
  t.ipbUpdate(OS, 0x04); // prio 5 < 6: presented
  assert.deepEqual(ring(t, OS), { nsr: 0x80, cppr: 6, ipb: 0x07, pipr: 5 });
  assert.deepEqual(lines.calls, [{ cpu: 3, line: LINE_INT, level: true }]);
  assert.deepEqual(trace.events, [{ name: 'xive_tctx_notify', target: 3, ring: OS, ipb: 0x07, pipr: 5, cppr: 6, nsr: 0x80 }]);
  assert.equal(t.lines & (1 << LINE_INT), 1 << LINE_INT);
});

test('notify with PIPR >= CPPR never lowers the line nor clears NSR', () => {
  const { t, lines } = setup();
  t.regs[OS + R.TM_CPPR] = 0xff;
  t.ipbUpdate(OS, 0x02);
  assert.equal(ring(t, OS).nsr, 0x80);
  lines.clear();
  t.regs[OS + R.TM_CPPR] = 0; // raw change, then a no-op notify
  t.ipbUpdate(OS, 0);
  t.notify(OS);
  assert.equal(ring(t, OS).nsr, 0x80);
  assert.deepEqual(lines.calls, []);
});

test('ipb_update with 0 still notifies (e.g. a pending priority after a CPPR raw change)', () => {
  const { t, lines } = setup();
  t.ipbUpdate(OS, 0x04);
  t.regs[OS + R.TM_CPPR] = 0xff;
  t.ipbUpdate(OS, 0);
  assert.equal(ring(t, OS).nsr, 0x80);
  assert.equal(lines.raises().length, 1);
});

test('PHYS ring: NSR HE = PHYS (0x80), HINT line', () => {
  const { t, lines, trace } = setup();
  t.setCppr(PHYS, 0xff);
  lines.clear();
  trace.clear();
  t.ipbUpdate(PHYS, R.prioToIpb(2));
  assert.deepEqual(ring(t, PHYS), { nsr: 0x80, cppr: 0xff, ipb: 0x20, pipr: 2 });
  assert.deepEqual(lines.calls, [{ cpu: 3, line: LINE_HINT, level: true }]);
  assert.deepEqual(eventNames(trace), ['xive_tctx_notify']);
  assert.equal(eventsNamed(trace, 'xive_tctx_notify')[0]!.ring, PHYS);
  assert.equal(ring(t, OS).nsr, 0, 'OS ring untouched');
  // ACK_HV: mask 0xC0
  lines.clear();
  assert.equal(t.accept(PHYS), 0x8002);
  assert.deepEqual(ring(t, PHYS), { nsr: 0, cppr: 2, ipb: 0, pipr: 0xff });
  assert.deepEqual(lines.calls, [{ cpu: 3, line: LINE_HINT, level: false }]);
});

test('PHYS accept treats any HE value (0x40 POOL, 0xC0 LSI) as pending', () => {
  for (const nsr of [0x40, 0xc0]) {
    const { t } = setup();
    t.regs[PHYS + R.TM_IPB] = 0x10;
    t.regs[PHYS + R.TM_PIPR] = 3;
    t.regs[PHYS + R.TM_NSR] = nsr;
    t.regs[PHYS + R.TM_CPPR] = 0xff;
    assert.equal(t.accept(PHYS), (nsr << 8) | 3);
    assert.deepEqual(ring(t, PHYS), { nsr: 0, cppr: 3, ipb: 0, pipr: 0xff });
  }
});

test('POOL/USER notification is not presented (QEMU aborts there): no NSR, no line', () => {
  for (const r of [R.TM_QW2_HV_POOL, R.TM_QW0_USER]) {
    const { t, lines, trace } = setup();
    t.regs[r + R.TM_CPPR] = 0xff;
    t.ipbUpdate(r, 0x80);
    assert.equal(t.regs[r + R.TM_IPB], 0x80);
    assert.equal(t.regs[r + R.TM_PIPR], 0);
    assert.equal(t.regs[r + R.TM_NSR], 0);
    assert.deepEqual(lines.calls, []);
    assert.equal(guestErrors(trace).length, 1);
  }
});

// ---- set_cppr ------------------------------------------------------------------------------

test('set_cppr: values above 7 become 0xFF; the trace shows the raw value and the old state', () => {
  const { t, trace } = setup();
  for (const [v, stored] of [
    [0, 0],
    [5, 5],
    [7, 7],
    [8, 0xff],
    [0x10, 0xff],
    [0x7f, 0xff],
    [0xfe, 0xff],
    [0xff, 0xff],
  ] as const) {
    trace.clear();
    t.setCppr(OS, v);
    assert.equal(t.regs[OS + R.TM_CPPR], stored, `cppr ${v}`);
    const ev = eventsNamed(trace, 'xive_tctx_set_cppr');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.cppr, v, 'raw value traced');
  }
});

test('set_cppr unmasking a pending priority: set_cppr trace (old state) then notify', () => {
  const { t, lines, trace } = setup(1);
  t.ipbUpdate(OS, 0x02); // CPPR 0: pending only
  t.setCppr(OS, 0xff);
  assert.deepEqual(trace.events, [
    { name: 'xive_tctx_set_cppr', target: 1, ring: OS, ipb: 0x02, pipr: 6, cppr: 0xff, nsr: 0 },
    { name: 'xive_tctx_notify', target: 1, ring: OS, ipb: 0x02, pipr: 6, cppr: 0xff, nsr: 0x80 },
  ]);
  assert.deepEqual(lines.calls, [{ cpu: 1, line: LINE_INT, level: true }]);
});

test('set_cppr never lowers the line nor clears NSR', () => {
  const { t, lines } = setup();
  t.setCppr(OS, 0xff);
  t.ipbUpdate(OS, 0x02);
  lines.clear();
  t.setCppr(OS, 0);
  assert.equal(ring(t, OS).nsr, 0x80);
  assert.equal(ring(t, OS).cppr, 0);
  assert.deepEqual(lines.calls, []);
});

// ---- accept ----------------------------------------------------------------------------------

test('accept with EO pending returns 0x8006 (Linux ACK), then the replay ACK returns 0x0006', () => {
  const { t, lines, trace } = setup(1);
  t.setCppr(OS, 0xff);
  t.ipbUpdate(OS, 0x02);
  lines.clear();
  trace.clear();
  assert.equal(t.accept(OS), 0x8006);
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 6, ipb: 0, pipr: 0xff });
  assert.deepEqual(lines.calls, [{ cpu: 1, line: LINE_INT, level: false }]);
  assert.deepEqual(trace.events, [{ name: 'xive_tctx_accept', target: 1, ring: OS, ipb: 0, pipr: 0xff, cppr: 6, nsr: 0 }]);
  trace.clear();
  lines.clear();
  assert.equal(t.accept(OS), 0x0006);
  assert.deepEqual(trace.events, [], 'no accept trace without a pending exception');
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 6, ipb: 0, pipr: 0xff });
  assert.deepEqual(lines.calls, [{ cpu: 1, line: LINE_INT, level: false }], 'line lowered anyway');
});

test('accept without pending exception: (NSR << 8) | CPPR unchanged (0x0000 after reset, 0x00FF)', () => {
  const { t } = setup();
  assert.equal(t.accept(OS), 0x0000);
  t.setCppr(OS, 0xff);
  assert.equal(t.accept(OS), 0x00ff);
  t.ipbUpdate(OS, 0); // nothing pending
  assert.equal(t.accept(OS), 0x00ff);
});

test('accept takes the most favoured priority and keeps the others pending', () => {
  const { t, lines } = setup();
  t.setCppr(OS, 0xff);
  t.ipbUpdate(OS, 0x82); // prios 0 and 6
  assert.equal(t.accept(OS), 0x8000);
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 0, ipb: 0x02, pipr: 6 });
  // back to CPPR 0xFF: priority 6 is presented again
  lines.clear();
  t.setCppr(OS, 0xff);
  assert.equal(ring(t, OS).nsr, 0x80);
  assert.equal(lines.raises().length, 1);
  assert.equal(t.accept(OS), 0x8006);
  assert.deepEqual(ring(t, OS), { nsr: 0, cppr: 6, ipb: 0, pipr: 0xff });
});

test('accept sets CPPR to PIPR even if software raised CPPR after the notification', () => {
  const { t } = setup();
  t.setCppr(OS, 0xff);
  t.ipbUpdate(OS, R.prioToIpb(5));
  t.setCppr(OS, 3);
  assert.equal(ring(t, OS).nsr, 0x80);
  assert.equal(t.accept(OS), 0x8005);
  assert.equal(ring(t, OS).cppr, 5);
});

// ---- properties ------------------------------------------------------------------------------

type TOp = { k: 'ipb'; bits: number } | { k: 'prio'; p: number } | { k: 'cppr'; v: number } | { k: 'ack' };

const tOpArb: fc.Arbitrary<TOp> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map<TOp>((bits) => ({ k: 'ipb', bits })),
  fc.integer({ min: 0, max: 8 }).map<TOp>((p) => ({ k: 'prio', p })),
  fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })).map<TOp>((v) => ({ k: 'cppr', v })),
  fc.constant<TOp>({ k: 'ack' }),
);

/** OS ring per §4.2, plus the level of the INT line. */
class RefRing {
  nsr = 0;
  cppr = 0;
  ipb = 0;
  pipr = 0xff;
  line = false;
  private notify(): void {
    if (this.pipr < this.cppr) {
      this.nsr |= 0x80;
      this.line = true;
    }
  }
  ipbUpdate(bits: number): void {
    this.ipb |= bits;
    this.pipr = refIpbToPipr(this.ipb);
    this.notify();
  }
  setCppr(v: number): void {
    this.cppr = v > 7 ? 0xff : v;
    this.notify();
  }
  accept(): number {
    this.line = false;
    const nsr0 = this.nsr;
    if (nsr0 & 0x80) {
      this.cppr = this.pipr;
      this.ipb &= ~refPrioToIpb(this.cppr) & 0xff;
      this.pipr = refIpbToPipr(this.ipb);
      this.nsr &= ~0x80;
    }
    return (nsr0 << 8) | this.cppr;
  }
}

test('property: OS ring follows the §4.2 reference; PIPR == ipb_to_pipr(IPB) always', () => {
  fc.assert(
    fc.property(fc.array(tOpArb, { maxLength: 80 }), (ops) => {
      const { t, lines } = setup(2);
      const ref = new RefRing();
      for (const op of ops) {
        let got: number | null = null;
        let want: number | null = null;
        switch (op.k) {
          case 'ipb':
            t.ipbUpdate(OS, op.bits);
            ref.ipbUpdate(op.bits);
            break;
          case 'prio':
            t.ipbUpdate(OS, R.prioToIpb(op.p));
            ref.ipbUpdate(refPrioToIpb(op.p));
            break;
          case 'cppr':
            t.setCppr(OS, op.v);
            ref.setCppr(op.v);
            break;
          case 'ack':
            got = t.accept(OS);
            want = ref.accept();
            break;
        }
        assert.equal(got, want);
        const s = ring(t, OS);
        assert.deepEqual(s, { nsr: ref.nsr, cppr: ref.cppr, ipb: ref.ipb, pipr: ref.pipr }, JSON.stringify(op));
        assert.equal(s.pipr, R.ipbToPipr(s.ipb));
        assert.equal(lines.level(2, LINE_INT), ref.line);
        assert.equal(lines.level(2, LINE_HINT), false);
        // other rings and OS bytes 3..6, 8..15 untouched
        assert.deepEqual([...t.regs.subarray(0x13, 0x17)], [0xff, 0xff, 0, 0xff]);
        assert.equal(t.regs[0x37], 0xff);
      }
    }),
    { numRuns: 400 },
  );
});

test('property: NSR EO is only ever set while PIPR < CPPR; an ACK never leaves the taken priority pending', () => {
  fc.assert(
    fc.property(fc.array(tOpArb, { maxLength: 80 }), (ops) => {
      const { t, trace } = setup();
      for (const op of ops) {
        const before = ring(t, OS);
        if (op.k === 'ipb') t.ipbUpdate(OS, op.bits);
        else if (op.k === 'prio') t.ipbUpdate(OS, R.prioToIpb(op.p));
        else if (op.k === 'cppr') t.setCppr(OS, op.v);
        else {
          const v = t.accept(OS);
          const after = ring(t, OS);
          assert.equal(v >> 8, before.nsr);
          assert.equal(v & 0xff, after.cppr);
          if (before.nsr & 0x80) {
            assert.equal(after.cppr, before.pipr);
            assert.equal(after.ipb & R.prioToIpb(after.cppr), 0, 'accepted priority cleared from IPB');
            assert.equal(after.nsr & 0x80, 0);
          } else {
            assert.deepEqual(after, before);
          }
        }
        const after = ring(t, OS);
        if (!(before.nsr & 0x80) && after.nsr & 0x80) assert.ok(after.pipr < after.cppr, 'EO set only when PIPR < CPPR');
      }
      for (const ev of eventsNamed(trace, 'xive_tctx_notify')) assert.ok(ev.pipr < ev.cppr && (ev.nsr & 0x80) !== 0);
    }),
    { numRuns: 400 },
  );
});
