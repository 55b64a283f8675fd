/**
 * Whatever a trace log contains, the replay answers with a status (ok, diverged, unusable) and
 * never throws: numbers in real lines are replaced by random (often out-of-range) values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayTrace } from '../../src/replay/replay.ts';
import { captureText } from '../support/captures.ts';

const lines = captureText('xive-smp1', 'trace').trimEnd().split('\n');

test('mutated numbers in a real log never make the replay throw', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(lines.length - 1), fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 0xffn, 0x1fffn, 0x2000n, 0x20000n))), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const l = lines.slice();
        for (const [at, v] of edits) {
          let k = 0;
          l[at] = l[at]!.replace(/0x[0-9a-f]+/g, (m) => (k++ === 0 ? `0x${v.toString(16)}` : m));
        }
        const r = replayTrace(l.join('\n'), { smp: 1, icMode: 'xive' });
        assert.ok(['ok', 'diverged', 'unusable'].includes(r.status));
      },
    ),
    { numRuns: 150, seed: 42 },
  );
});
