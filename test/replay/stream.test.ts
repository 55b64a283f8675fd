/**
 * The streaming replay: a log cut into pieces of any size replays exactly as the whole text;
 * the lookahead is bounded and a log that needs more is refused; the trace writer's logs (what
 * `xive demo --trace` writes) replay with no divergence on every controller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayStream, replayTrace, type ReplayResult } from '../../src/replay/replay.ts';
import { LOOKAHEAD_LINES } from '../../src/replay/line-window.ts';
import { TraceLogWriter } from '../../src/replay/log-writer.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import type { IcMode } from '../../src/spapr/cas.ts';
import { createGuest, type GuestMode } from '../../src/guest/guest.ts';
import { runGuestWorkload } from '../../src/guest/workload.ts';
import { capture, captureText } from '../support/captures.ts';

function summary(r: ReplayResult) {
  return { status: r.status, reason: r.reason, divergence: r.divergence, replayed: r.replayed, events: r.eventsChecked, values: r.valuesChecked, skipped: [...r.skipped], notes: r.notes, pic: r.pic };
}

/** Replays `text` fed in pieces of `size` bytes. */
function replayInPieces(text: string, size: number, opts: Parameters<typeof replayTrace>[1]): ReplayResult {
  const bytes = new TextEncoder().encode(text);
  const s = new ReplayStream(opts);
  for (let p = 0; p < bytes.length && !s.finished; p += size) s.write(bytes.subarray(p, p + size));
  return s.end();
}

for (const name of ['xive-smp2', 'xics-smp2', 'p72-xive-unplug', 'p72-dual-reset']) {
  test(`${name}: pieces of any size replay as the whole text`, () => {
    const c = capture(name);
    const text = captureText(c, 'trace');
    const whole = summary(replayTrace(text, { spec: c.spec }));
    assert.equal(whole.status, 'ok');
    for (const size of [1, 7, 4096, 1 << 20]) {
      if (size === 1 && text.length > 600_000) continue; // byte by byte: the small logs only
      assert.deepEqual(summary(replayInPieces(text, size, { spec: c.spec })), whole, `pieces of ${size}`);
    }
  });
}

test('a divergence is found whatever the piece size (CR LF and no final newline too)', () => {
  const lines = captureText('xive-smp2', 'trace').trimEnd().split('\n');
  const at = lines.findIndex((l) => l.includes('val=0x8006'));
  lines[at] = lines[at]!.replace('val=0x8006', 'val=0x8005');
  const text = lines.join('\r\n');
  for (const size of [3, 1000, 1 << 16]) {
    const r = replayInPieces(text, size, { smp: 2, icMode: 'xive' });
    assert.equal(r.status, 'diverged');
    assert.equal(r.divergence!.line, at + 1);
    assert.equal(r.divergence!.expected, lines[at]);
  }
});

test('a log that needs more lookahead than the window is refused, not replayed on guesses', () => {
  // A TIMA load whose reported events come more than the lookahead later: the action that
  // explains the output lines lies beyond what the replay may read.
  const lines = captureText('xive-smp2', 'trace').trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('xive_tctx_accept'));
  const filler = Array.from({ length: LOOKAHEAD_LINES + 10 }, (_, k) => `virtio_notify vdev 0x${k.toString(16)} vq 0x0`);
  lines.splice(at + 1, 0, ...filler);
  const r = replayTrace(lines.join('\n'), { smp: 2, icMode: 'xive' });
  assert.equal(r.status, 'unusable');
  // Reported at the action being replayed when the window ran out (the store whose events
  // the accept line ends), a few lines before the filler.
  const m = new RegExp(`^line (\\d+): what follows this line does not settle it within ${LOOKAHEAD_LINES} lines`).exec(r.reason!);
  assert.ok(m !== null, r.reason);
  assert.ok(Number(m[1]) <= at + 1 && Number(m[1]) > at - 5, r.reason);
});

/** What `xive demo --trace` writes for this machine and guest, as text. */
function demoLog(icMode: IcMode, smp: number, guestMode: GuestMode, events: number): string {
  let text = '';
  const log = new TraceLogWriter({ write: (t) => (text += t) });
  const machine = new SpaprMachine({ spec: { smp: { cpus: smp }, icMode }, devices: 'default', trace: log });
  log.attach(machine);
  const guest = createGuest(machine, guestMode);
  guest.boot();
  for (let b = 0; b < 3; b++) runGuestWorkload(machine, guest, { events: events / 3, seed: 7 + b });
  log.flush();
  return text;
}

for (const [icMode, smp, guest] of [
  ['xive', 4, 'xive'],
  ['xics', 3, 'xics'],
  ['dual', 2, 'xics'],
  ['dual', 4, 'xive'],
] as const) {
  test(`the trace writer's log of a ${guest.toUpperCase()} guest on ic-mode ${icMode}, ${smp} vCPUs, replays with no divergence`, () => {
    const text = demoLog(icMode, smp, guest, 6000);
    assert.match(text, /^spapr_cas_pvr current=0x0, explicit_match=1, new=0xf000005$/m);
    assert.match(text, /^spapr_cas_continue Copy changes to the guest: \d+ bytes$/m);
    const r = replayTrace(text, { smp, icMode });
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    assert.equal(r.status, 'ok', r.reason);
    assert.ok(r.replayed > 3000, `${r.replayed} actions`);
    if (icMode === 'dual') assert.ok(r.notes.some((n) => n.endsWith(`the guest chose ${guest.toUpperCase()}`)), r.notes.join('; '));
  });
}
