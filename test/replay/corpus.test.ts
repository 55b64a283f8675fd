/**
 * Acceptance: every QEMU 7.2 capture in test/fixtures/qemu replays on the model with no
 * divergence, and the model's final `info pic` is byte-identical to what QEMU printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { replayTrace } from '../../src/replay/replay.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';

const DIR = new URL('../fixtures/qemu/', import.meta.url);
const SMP: Record<string, number> = { 'xive-smp1': 1, 'xive-smp2': 2, 'xive-smp3-rng': 3 };

for (const file of readdirSync(DIR).filter((f) => f.startsWith('xive-') && f.endsWith('.trace'))) {
  const name = file.replace(/\.trace$/, '');
  test(`replay ${name}: no divergence and identical info pic`, () => {
    const smp = SMP[name];
    assert.ok(smp !== undefined, `no vCPU count known for ${name}`);
    const r = replayTrace(readFileSync(new URL(file, DIR), 'utf8'), { smp, icMode: 'xive' });
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence, null, 2));
    assert.equal(r.status, 'ok');
    assert.ok(r.eventsChecked > 0);
    assert.equal(r.pic, readFileSync(new URL(`${name}.pic`, DIR), 'utf8'));
  });
}

test('a vCPU referenced beyond --smp is hot-plugged at its first reference', () => {
  const text = readFileSync(new URL('xive-smp2.trace', DIR), 'utf8');
  const r = replayTrace(text, { smp: 1, maxCpus: 2, icMode: 'xive' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence));
  const note = r.notes.find((n) => n.startsWith('vCPU 1 hot-plugged'));
  assert.ok(note, `notes: ${r.notes.join('; ')}`);
  assert.equal(r.pic, readFileSync(new URL('xive-smp2.pic', DIR), 'utf8'));
});

test('a second CAS (guest reboot) resets the machine before negotiating again', () => {
  const text = readFileSync(new URL('xive-smp1.trace', DIR), 'utf8');
  const boot = text.split('\n').filter((l) => l !== '' && !l.startsWith('spapr_xive_claim_irq'));
  const r = replayTrace(text + boot.join('\n') + '\n', { smp: 1, icMode: 'xive' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence));
  assert.ok(r.notes.some((n) => n.startsWith('machine reset before line')), r.notes.join('; '));
  assert.equal(r.pic, readFileSync(new URL('xive-smp1.pic', DIR), 'utf8'));
});

test('replay xics-smp2 (ic-mode xics): every XICS event re-emitted, info pic equal but for host pointers', () => {
  const r = replayTrace(readFileSync(new URL('xics-smp2.trace', DIR), 'utf8'), { smp: 2, icMode: 'xics' });
  assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
  assert.equal(r.eventsChecked, 8163);
  assert.ok(r.notes.includes('CAS at line 2: the guest chose XICS'), r.notes.join('; '));
  assert.equal(maskPicPointers(r.pic), maskPicPointers(readFileSync(new URL('xics-smp2.pic', DIR), 'utf8')));
});

for (const [name, chose] of [['xics-smp2', 'XICS'], ['xive-smp2', 'XIVE']] as const) {
  test(`replay ${name} on an ic-mode dual machine follows the guest's CAS choice (${chose})`, () => {
    const r = replayTrace(readFileSync(new URL(`${name}.trace`, DIR), 'utf8'), { smp: 2, icMode: 'dual' });
    assert.equal(r.status, 'ok', JSON.stringify(r.divergence, null, 2));
    assert.ok(r.notes.some((n) => n.endsWith(`the guest chose ${chose}`)), r.notes.join('; '));
    assert.equal(maskPicPointers(r.pic), maskPicPointers(readFileSync(new URL(`${name}.pic`, DIR), 'utf8')));
  });
}
