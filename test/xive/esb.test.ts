/**
 * ESB PQ state machine (docs/xive.md §1.2) and the priority helpers (docs/xive.md §0): the trigger/EOI table row
 * by row, set semantics on a source, and model-based properties driving an MSI and an LSI source
 * with random event sequences against a small reference written from the spec tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pqEoi, pqEoiForwards, pqTrigger, pqTriggerForwards } from '../../src/xive/esb.ts';
import { XiveSource } from '../../src/xive/source.ts';
import { ipbToPipr, prioToIpb } from '../../src/xive/regs.ts';
import { refIpbToPipr, refPrioToIpb } from './helpers.ts';

// §1.2 table: old PQ -> [trigger new, trigger forwards, EOI new, EOI forwards]
const PQ_TABLE: Record<number, [number, boolean, number, boolean]> = {
  0b00: [0b10, true, 0b00, false],
  0b10: [0b11, false, 0b00, false],
  0b11: [0b11, false, 0b10, true],
  0b01: [0b01, false, 0b01, false],
};

test('PQ table §1.2: trigger and EOI, every row', () => {
  for (const [oldStr, [tNew, tFwd, eNew, eFwd]] of Object.entries(PQ_TABLE)) {
    const old = Number(oldStr);
    assert.equal(pqTrigger(old), tNew, `trigger from ${old.toString(2)}`);
    assert.equal(pqTriggerForwards(old), tFwd, `trigger forwards from ${old.toString(2)}`);
    assert.equal(pqEoi(old), eNew, `EOI from ${old.toString(2)}`);
    assert.equal(pqEoiForwards(old), eFwd, `EOI forwards from ${old.toString(2)}`);
  }
});

test('PQ: only 00->10 forwards a trigger and only 11->10 forwards an EOI', () => {
  const trig = [0, 1, 2, 3].filter((pq) => pqTriggerForwards(pq));
  const eoi = [0, 1, 2, 3].filter((pq) => pqEoiForwards(pq));
  assert.deepEqual(trig, [0b00]);
  assert.deepEqual(eoi, [0b11]);
});

test('PQ: OFF (01) absorbs triggers and EOIs', () => {
  let pq = 0b01;
  for (let i = 0; i < 5; i++) {
    assert.equal(pqTriggerForwards(pq), false);
    pq = pqTrigger(pq);
    assert.equal(pq, 0b01);
    assert.equal(pqEoiForwards(pq), false);
    pq = pqEoi(pq);
    assert.equal(pq, 0b01);
  }
});

test('PQ set(v): PQ := v & 3, returns the old PQ, never forwards', () => {
  const forwards: number[] = [];
  const src = new XiveSource(4);
  src.notifier = { notify: (n) => forwards.push(n) };
  for (const old of [0, 1, 2, 3]) {
    for (const v of [0, 1, 2, 3, 4, 5, 6, 7, 0xff]) {
      src.setPq(2, old);
      assert.equal(src.setPq(2, v), old);
      assert.equal(src.getPq(2), v & 3);
    }
  }
  assert.deepEqual(forwards, []);
});

test('prio_to_ipb (§0) for every byte value', () => {
  for (let p = 0; p < 256; p++) assert.equal(prioToIpb(p), refPrioToIpb(p), `prio ${p}`);
  assert.equal(prioToIpb(0), 0x80);
  assert.equal(prioToIpb(7), 0x01);
  assert.equal(prioToIpb(8), 0);
  assert.equal(prioToIpb(0xff), 0);
});

test('ipb_to_pipr (§0) for every byte value', () => {
  for (let ipb = 0; ipb < 256; ipb++) assert.equal(ipbToPipr(ipb), refIpbToPipr(ipb), `ipb ${ipb}`);
  assert.equal(ipbToPipr(0), 0xff);
  assert.equal(ipbToPipr(0x80), 0);
  assert.equal(ipbToPipr(0x02), 6);
  assert.equal(ipbToPipr(0x01), 7);
  assert.equal(ipbToPipr(0x83), 0);
});

// ---- model-based properties on a source --------------------------------------------------------

type Op =
  | { k: 'in1' }
  | { k: 'in0' }
  | { k: 'trigStore'; off: number }
  | { k: 'mgmtTrigStore'; off: number }
  | { k: 'loadEoi'; off: number }
  | { k: 'get'; off: number }
  | { k: 'setLoad'; off: number }
  | { k: 'setStore'; off: number }
  | { k: 'inject'; off: number };

const aligned = (lo: number, hi: number): fc.Arbitrary<number> => fc.integer({ min: lo / 8, max: (hi - 7) / 8 }).map((n) => n * 8);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ k: 'in1' }),
  fc.constant<Op>({ k: 'in0' }),
  aligned(0, 0xfff8 + 7).map<Op>((off) => ({ k: 'trigStore', off })),
  aligned(0, 0x3ff).map<Op>((off) => ({ k: 'mgmtTrigStore', off })),
  aligned(0, 0x7ff).map<Op>((off) => ({ k: 'loadEoi', off })),
  aligned(0x800, 0xbff).map<Op>((off) => ({ k: 'get', off })),
  aligned(0xc00, 0xfff).map<Op>((off) => ({ k: 'setLoad', off })),
  aligned(0xc00, 0xfff).map<Op>((off) => ({ k: 'setStore', off })),
  aligned(0x800, 0xbff).map<Op>((off) => ({ k: 'inject', off })),
);

/** Reference source from the §1.2/§1.3/§1.5 tables. Returns [forwarded, load value or null]. */
class RefSource {
  pq = 0;
  asserted = false;
  constructor(readonly lsi: boolean) {}
  private trigger(): boolean {
    const [n, f] = PQ_TABLE[this.pq]!;
    this.pq = n;
    return f;
  }
  private eoi(): boolean {
    const [, , n, f] = PQ_TABLE[this.pq]!;
    this.pq = n;
    if (this.lsi && this.asserted) {
      if (this.pq === 0) {
        this.pq = 0b10;
        return true;
      }
      return false;
    }
    return f;
  }
  apply(op: Op): [boolean, number | null] {
    switch (op.k) {
      case 'in1':
        if (!this.lsi) return [this.trigger(), null];
        this.asserted = true;
        if (this.pq === 0) {
          this.pq = 0b10;
          return [true, null];
        }
        return [false, null];
      case 'in0':
        if (this.lsi) this.asserted = false;
        return [false, null];
      case 'trigStore':
      case 'mgmtTrigStore':
        return [this.trigger(), null];
      case 'loadEoi': {
        const f = this.eoi();
        return [f, f ? 1 : 0];
      }
      case 'get':
        return [false, this.pq];
      case 'setLoad': {
        const old = this.pq;
        this.pq = (op.off >> 8) & 3;
        return [false, old];
      }
      case 'setStore':
        this.pq = (op.off >> 8) & 3;
        return [false, null];
      case 'inject':
        return [true, null];
    }
  }
}

function runOnSource(src: XiveSource, n: number, op: Op): number | null {
  const base = n * 0x20000;
  const mg = base + 0x10000;
  switch (op.k) {
    case 'in1':
      src.setIrq(n, true);
      return null;
    case 'in0':
      src.setIrq(n, false);
      return null;
    case 'trigStore':
      src.esbStore(base + op.off, 0);
      return null;
    case 'mgmtTrigStore':
      src.esbStore(mg + op.off, 0);
      return null;
    case 'loadEoi':
    case 'get':
    case 'setLoad':
      return src.esbLoad(mg + op.off);
    case 'setStore':
    case 'inject':
      src.esbStore(mg + op.off, 0);
      return null;
  }
}

for (const lsi of [false, true]) {
  test(`property: ${lsi ? 'LSI' : 'MSI'} source matches the reference tables for any op sequence`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.array(opArb, { maxLength: 60 }), (startPq, ops) => {
        const src = new XiveSource(8);
        if (lsi) src.setLsi(5, true);
        const fwd: { n: number; checked: boolean }[] = [];
        src.notifier = { notify: (n, checked) => fwd.push({ n, checked }) };
        src.setPq(5, startPq);
        const ref = new RefSource(lsi);
        ref.pq = startPq;
        let refForwards = 0;
        for (const op of ops) {
          const before = fwd.length;
          const got = runOnSource(src, 5, op);
          const [f, v] = ref.apply(op);
          if (f) refForwards++;
          assert.equal(fwd.length - before, f ? 1 : 0, `forward count after ${JSON.stringify(op)}`);
          if (v !== null) assert.equal(got, v, `value of ${JSON.stringify(op)}`);
          const pq = src.getPq(5);
          assert.ok(pq >= 0 && pq <= 3);
          assert.equal(pq, ref.pq, `PQ after ${JSON.stringify(op)}`);
          assert.equal(src.isAsserted(5), lsi && ref.asserted);
          assert.ok(src.status[5]! <= 7, 'status byte keeps only PQ and ASSERTED');
        }
        assert.equal(fwd.length, refForwards);
        assert.ok(fwd.every((e) => e.n === 5 && e.checked));
        // No other source was touched.
        for (let i = 0; i < 8; i++) if (i !== 5) assert.equal(src.status[i], 0);
      }),
      { numRuns: 300 },
    );
  });
}

test('property: MSI triggers/EOIs from 00 — every trigger is delivered by a forward at or after it', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 80 }), (seq) => {
      const src = new XiveSource(2);
      src.setPq(1, 0);
      let t = 0;
      const forwardTimes: number[] = [];
      const triggerTimes: number[] = [];
      src.notifier = { notify: () => forwardTimes.push(t) };
      let eois = 0;
      for (const isTrigger of seq) {
        t++;
        if (isTrigger) {
          triggerTimes.push(t);
          src.setIrq(1, true);
        } else {
          eois++;
          src.esbLoad(0x20000 + 0x10000);
        }
        assert.ok(src.getPq(1) !== 0b01, 'trigger/EOI never reach OFF');
      }
      // Drain: the guest EOIs until the source is ready again.
      for (let i = 0; i < 3 && src.getPq(1) !== 0; i++) {
        t++;
        eois++;
        src.esbLoad(0x30000);
      }
      assert.equal(src.getPq(1), 0);
      // Every trigger is covered by a forward at or after its time; forwards never outnumber
      // triggers nor exceed EOIs + 1.
      for (const tt of triggerTimes) assert.ok(forwardTimes.some((ft) => ft >= tt), `trigger at ${tt} delivered`);
      assert.ok(forwardTimes.length <= triggerTimes.length);
      assert.ok(forwardTimes.length <= eois + 1);
    }),
    { numRuns: 300 },
  );
});
