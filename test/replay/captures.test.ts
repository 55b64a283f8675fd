/**
 * Acceptance, for every QEMU 7.2 capture of the fixtures manifest (test/fixtures/captures.json):
 * the capture replays on the model of its machine with no divergence, the guest's CAS choice is
 * the manifest's, and the model's final `info pic` is QEMU's (byte for byte for XIVE, with host
 * pointers masked for XICS). Then the same replay with --snapshot-every K for several K (the
 * run moves to a brand-new machine decoded from an encoded snapshot every K actions) ends
 * exactly as without it. And a few replays of particular captures: a vCPU hot-plugged at its
 * first reference, a guest reboot, a capture replayed on a dual machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayTrace, type ReplayResult } from '../../src/replay/replay.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { CAPTURES, byCapture, captureText, type Capture } from '../support/captures.ts';

/** What particular captures must show beyond the checks every capture gets. */
const EXPECT = byCapture<{ eventsChecked?: number; note?: RegExp }>({
  'xics-smp2': { eventsChecked: 8163, note: /^CAS at line 2: the guest chose XICS$/ },
  'xive-hotplug': { note: /^vCPU 2 hot-plugged at line \d+/ },
  'xics-smp2-rng': { note: /^IRQ 0x1301 claimed as MSI/ },
});

// The plain replay of each capture, shared by its acceptance and snapshot-every tests.
const plainRuns = new Map<string, ReplayResult>();
function plainReplay(c: Capture): ReplayResult {
  let r = plainRuns.get(c.name);
  if (r === undefined) {
    r = replayTrace(captureText(c, 'trace'), { ...c.machine });
    plainRuns.set(c.name, r);
  }
  return r;
}

/** QEMU's `info pic` of the capture as the model must print it. */
function assertQemuPic(c: Capture, pic: string, what = ''): void {
  const qemu = captureText(c, 'pic');
  // XICS lines print host pointers, which differ from run to run.
  if (c.guest === 'xive') assert.equal(pic, qemu, what);
  else assert.equal(maskPicPointers(pic), maskPicPointers(qemu), what);
}

for (const c of CAPTURES) {
  test(`replay ${c.name}: no divergence and QEMU's info pic`, () => {
    const r = plainReplay(c);
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence, null, 2));
    assert.equal(r.status, 'ok');
    assert.ok(r.eventsChecked > 0);
    assert.ok(r.notes.some((n) => n.endsWith(`the guest chose ${c.guest.toUpperCase()}`)), r.notes.join('; '));
    const e = EXPECT.get(c.name);
    if (e?.eventsChecked !== undefined) assert.equal(r.eventsChecked, e.eventsChecked);
    if (e?.note !== undefined) assert.ok(r.notes.some((n) => e.note!.test(n)), r.notes.join('; '));
    assertQemuPic(c, r.pic);
  });

  test(`${c.dir}/${c.name}: snapshot + restore every K actions ends exactly as without`, () => {
    const text = captureText(c, 'trace');
    const plain = plainReplay(c);
    assert.equal(plain.status, 'ok');
    for (const k of [3, 97, 1000]) {
      if (k === 3 && plain.replayed > 3000) continue; // keeps the suite fast; small logs take K = 3
      const r = replayTrace(text, { ...c.machine, snapshotEvery: k });
      assert.equal(r.status, 'ok', `K=${k}: ${JSON.stringify(r.divergence)}`);
      assert.equal(r.migrations, Math.floor((plain.replayed - 1) / k), `K=${k}`);
      assert.equal(r.eventsChecked, plain.eventsChecked);
      assert.equal(maskPicPointers(r.pic), maskPicPointers(plain.pic), `K=${k}`);
      assert.equal(maskPicPointers(r.pic), maskPicPointers(captureText(c, 'pic')));
    }
  });
}

test('a vCPU referenced beyond --smp is hot-plugged at its first reference', () => {
  const r = replayTrace(captureText('xive-smp2', 'trace'), { smp: 1, maxCpus: 2, icMode: 'xive' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence));
  const note = r.notes.find((n) => n.startsWith('vCPU 1 hot-plugged'));
  assert.ok(note, `notes: ${r.notes.join('; ')}`);
  assert.equal(r.pic, captureText('xive-smp2', 'pic'));
});

test('a second CAS (guest reboot) resets the machine before negotiating again', () => {
  const text = captureText('xive-smp1', 'trace');
  const boot = text.split('\n').filter((l) => l !== '' && !l.startsWith('spapr_xive_claim_irq'));
  const r = replayTrace(text + boot.join('\n') + '\n', { smp: 1, icMode: 'xive' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence));
  assert.ok(r.notes.some((n) => n.startsWith('machine reset before line')), r.notes.join('; '));
  assert.equal(r.pic, captureText('xive-smp1', 'pic'));
});

for (const [name, chose] of [['xics-smp2', 'XICS'], ['xive-smp2', 'XIVE']] as const) {
  test(`replay ${name} on an ic-mode dual machine follows the guest's CAS choice (${chose})`, () => {
    const r = replayTrace(captureText(name, 'trace'), { smp: 2, icMode: 'dual' });
    assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
    assert.ok(r.notes.some((n) => n.endsWith(`the guest chose ${chose}`)), r.notes.join('; '));
    assert.equal(maskPicPointers(r.pic), maskPicPointers(captureText(name, 'pic')));
  });
}
