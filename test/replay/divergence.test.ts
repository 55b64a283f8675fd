/**
 * The replay must catch every kind of disagreement between a log and the model: wrong loaded
 * values, wrong register values, events the model does not produce, events it produces that the
 * log lacks; and it must refuse unusable input. Whatever a log contains, the replay answers with
 * a status (ok, diverged, unusable) and never throws: numbers in real lines are replaced by
 * random (often out-of-range) values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayTrace } from '../../src/replay/replay.ts';
import { captureLines, captureText } from '../support/captures.ts';

const smp2 = captureLines('xive-smp2');

function replayWith(edit: (lines: string[]) => void, smp = 2) {
  const lines = smp2.slice();
  edit(lines);
  return replayTrace(lines.join('\n'), { smp, icMode: 'xive' });
}

function indexOf(lines: string[], re: RegExp, from = 0): number {
  for (let i = from; i < lines.length; i++) if (re.test(lines[i]!)) return i;
  throw new Error(`no line matches ${re}`);
}

test('a wrong ACK value is reported at its line with both values', () => {
  let at = -1;
  const r = replayWith((l) => {
    at = indexOf(l, /xive_tctx_tm_read @0x20810 sz=2 val=0x8006/);
    l[at] = l[at]!.replace('val=0x8006', 'val=0x8005');
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.divergence!.line, at + 1);
  assert.match(r.divergence!.expected, /val=0x8005/);
  assert.match(r.divergence!.model, /val=0x8006/);
});

test('a wrong ESB load result diverges', () => {
  let at = -1;
  const r = replayWith((l) => {
    at = indexOf(l, /xive_source_esb_read @0x10c00 IRQ 0x0 val=0x2/);
    l[at] = l[at]!.replace('val=0x2', 'val=0x3');
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.divergence!.line, at + 1);
  assert.match(r.divergence!.state, /LISN/);
});

test('a wrong thread-context register in a notify line diverges', () => {
  let at = -1;
  const r = replayWith((l) => {
    at = indexOf(l, /xive_tctx_notify target=1 .*PIPR=0x06/);
    l[at] = l[at]!.replace('PIPR=0x06', 'PIPR=0x05');
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.divergence!.line, at + 1);
  assert.match(r.divergence!.state, /CPU\[0001\]/);
});

test('an event the model does not produce diverges', () => {
  let at = -1;
  const r = replayWith((l) => {
    at = indexOf(l, /spapr_xive_set_source_config/);
    l.splice(at, 0, 'xive_presenter_notify found NVT 0x0/0x400 ring=0x10');
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.divergence!.line, at + 1);
});

test('an event the log lacks diverges (removed presenter line)', () => {
  let at = -1;
  const r = replayWith((l) => {
    at = indexOf(l, /xive_presenter_notify/);
    l.splice(at, 1);
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.divergence!.line, at + 1);
  assert.match(r.divergence!.model, /xive_presenter_notify/);
});

test('a CPPR store by the wrong vCPU is detected through its set_cppr line', () => {
  const r = replayWith((l) => {
    const at = indexOf(l, /xive_tctx_set_cppr target=1/);
    l[at] = l[at]!.replace('target=1', 'target=0').replace('IBP=0x00 PIPR=0xff', 'IBP=0x00 PIPR=0xff');
    // vCPU 0's CPPR is 0 before Linux sets it: the recorded IPB/PIPR no longer hold for it
  });
  // Either the values disagree right away or later; it must never pass silently.
  assert.equal(r.status, 'diverged');
});

test('unusable input: no trace events', () => {
  const r = replayTrace('hello\nworld\n', { smp: 1, icMode: 'xive' });
  assert.equal(r.status, 'unusable');
});

test('unusable input: malformed known event', () => {
  const r = replayTrace('spapr_xive_claim_irq lisn=zz lsi=0\n', { smp: 1, icMode: 'xive' });
  assert.equal(r.status, 'unusable');
  assert.match(r.reason!, /line 1: malformed spapr_xive_claim_irq/);
});

test('unusable input: IPI count does not match --max-cpus', () => {
  const r = replayTrace(smp2.join('\n'), { smp: 1, icMode: 'xive' });
  assert.equal(r.status, 'unusable');
  assert.match(r.reason!, /--max-cpus 2/);
});

test('lines of other subsystems are skipped and counted', () => {
  const r = replayWith((l) => {
    l.splice(20, 0, 'virtio_notify vdev 0x1 vq 0x2', 'XIVE: invalid LISN 1234');
  });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence));
  assert.equal(r.skipped.get('virtio_notify'), 1);
  assert.equal(r.skipped.get('(log text)'), 1);
});

test('an action outside the machine (LISN beyond the IRQ space) is unusable input, not a crash', () => {
  const r = replayWith((l) => {
    l.splice(12, 0, 'spapr_xive_set_irq lisn=0x5000 val=1');
  });
  assert.equal(r.status, 'unusable');
  assert.match(r.reason!, /^line 13: LISN 20480 is outside/);
});

const smp1 = captureText('xive-smp1', 'trace').trimEnd().split('\n');

test('mutated numbers in a real log never make the replay throw', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(smp1.length - 1), fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 0xffn, 0x1fffn, 0x2000n, 0x20000n))), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const l = smp1.slice();
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
