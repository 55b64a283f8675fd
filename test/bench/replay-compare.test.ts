/**
 * The replay compares a model event with a log line field by field (sameTraceLine) instead of
 * printing the event: that must decide exactly what comparing the printed lines decides, for
 * any values — including values that differ but print the same once narrowed to their C type —
 * and the corpus must still replay with the same counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { TraceEvent } from '../../src/trace/events.ts';
import { formatTraceEvent, sameTraceLine, TEMPLATES, type CType } from '../../src/trace/format.ts';
import { replayTrace } from '../../src/replay/replay.ts';

function value(ctype: CType): fc.Arbitrary<unknown> {
  switch (ctype) {
    case 'u64':
      return fc.oneof(fc.bigInt({ min: -(1n << 66n), max: 1n << 66n }), fc.constantFrom(0n, 0xffn, (1n << 64n) - 1n));
    case 'bool':
      return fc.boolean();
    case 'str':
      return fc.constantFrom('', 'dev', 'a PIN1 IRQ 2', '" vector 1, addr=0x2');
    default:
      return fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: -3, max: 300 }), fc.constantFrom(0xff, 0x100, 0xffff_ffff, -1));
  }
}

/** A value that differs from v but prints the same after narrowing (when there is one). */
function alias(ctype: CType, v: unknown): unknown {
  if (typeof v === 'bigint') return v + (1n << 64n);
  if (typeof v !== 'number') return v;
  switch (ctype) {
    case 'u8':
      return v + 0x100;
    case 'u16':
      return v + 0x1_0000;
    case 'u32':
    case 'int':
      return v + 0x1_0000_0000;
    default:
      return v;
  }
}

const pairs = fc.constantFrom(...TEMPLATES.keys()).chain((name) => {
  const convs = TEMPLATES.get(name)!.convs;
  const fields = convs.map((t) => fc.tuple(value(t.ctype), value(t.ctype), fc.integer({ min: 0, max: 2 })));
  return fc.tuple(...fields).map((vals) => {
    const a: Record<string, unknown> = { name };
    const b: Record<string, unknown> = { name };
    vals.forEach(([x, y, how], i) => {
      const t = convs[i]!;
      a[t.field] = x;
      b[t.field] = how === 0 ? x : how === 1 ? alias(t.ctype, x) : y;
    });
    return [a as unknown as TraceEvent, b as unknown as TraceEvent] as const;
  });
});

test('property: sameTraceLine(a, b) is formatTraceEvent(a) === formatTraceEvent(b)', () => {
  fc.assert(
    fc.property(pairs, ([a, b]) => {
      assert.equal(sameTraceLine(a, b), formatTraceEvent(a) === formatTraceEvent(b));
    }),
    { numRuns: 5000 },
  );
  const ge = (message: string): TraceEvent => ({ name: 'guest_error', message });
  assert.equal(sameTraceLine(ge('x'), ge('x')), true);
  assert.equal(sameTraceLine(ge('x'), ge('y')), false);
  assert.equal(sameTraceLine(ge('x'), { name: 'spapr_xive_reset', flags: 0n }), false);
});

test('the corpus replays with the same counts of events and values checked', () => {
  // Counts as the replay reported them when it compared printed lines.
  const r = replayTrace(readFileSync(new URL('../fixtures/qemu/xics-smp2.trace', import.meta.url), 'utf8'), { smp: 2, icMode: 'xics' });
  assert.equal(r.status, 'ok');
  assert.equal(r.eventsChecked, 8163);
  const x = replayTrace(readFileSync(new URL('../fixtures/qemu/xive-smp2.trace', import.meta.url), 'utf8'), { smp: 2, icMode: 'xive' });
  assert.equal(x.status, 'ok');
  assert.deepEqual([x.replayed, x.eventsChecked, x.valuesChecked], XIVE_SMP2_COUNTS);
});

const XIVE_SMP2_COUNTS = [10510, 20968, 86434];
