/**
 * The `xive` command: exit codes (0 ok, 1 divergence, 2 unusable input), one-line errors
 * without stack traces, help texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { captureArgs, captureLines, capturePath, captureText } from '../support/captures.ts';

const XIVE1 = capturePath('xive-smp1', 'trace');
const XIVE2 = capturePath('xive-smp2', 'trace');

const tmp = mkdtempSync(join(tmpdir(), 'xive-cli-'));

test('replay of a corpus trace with --expect-pic exits 0 and prints a summary and info pic', async () => {
  const r = await runCli('replay', XIVE2, ...captureArgs('xive-smp2'), '--expect-pic', capturePath('xive-smp2', 'pic'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /replayed \d+ actions, checked \d+ events \(\d+ values\), skipped 0 lines/);
  assert.ok(r.out.includes(captureText('xive-smp2', 'pic')));
  assert.match(r.out, /info pic matches/);
});

test('a divergence exits 1 and names the line, both values and the state', async () => {
  const lines = captureLines('xive-smp1').slice();
  const at = lines.findIndex((l) => l.includes('IRQ 0x1000 val=0x1'));
  lines[at] = lines[at]!.replace('val=0x1', 'val=0x2');
  const f = join(tmp, 'bad.trace');
  writeFileSync(f, lines.join('\n'));
  const r = await runCli('replay', f, ...captureArgs('xive-smp1'));
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`DIVERGENCE at .*bad\\.trace:${at + 1}`));
  assert.match(r.out, /value: expected 0x2, model 0x1/);
  assert.match(r.out, /model state:/);
});

test('--expect-pic mismatch exits 1', async () => {
  const r = await runCli('replay', XIVE1, ...captureArgs('xive-smp1'), '--expect-pic', capturePath('xive-smp2', 'pic'));
  assert.equal(r.code, 1);
  assert.match(r.out, /info pic differs .* at line \d+:\n  expected: .*\n  model: /);
});

for (const [what, argv, re] of [
  ['missing file', ['replay', '/nonexistent.trace', '--smp', '1', '--ic-mode', 'xive'], /cannot read trace '\/nonexistent.trace': ENOENT/],
  ['garbage file', ['replay', '@GARBAGE', '--smp', '1', '--ic-mode', 'xive'], /unusable trace/],
  ['binary file', ['replay', '@BINARY', '--smp', '1', '--ic-mode', 'xive'], /is binary/],
  ['a machine QEMU refuses', ['replay', XIVE1, '--machine', 'pseries-3.0,ic-mode=xive'], /^xive replay: This machine only uses the legacy XICS backend, don't pass ic-mode$/m],
  ['bad --smp', ['replay', XIVE1, '--smp', 'two', '--ic-mode', 'xive'], /--smp must be an integer/],
  ['out-of-range --smp', ['replay', XIVE1, '--smp', '5000', '--ic-mode', 'xive'], /Invalid SMP CPUs 5000\. The max CPUs supported by machine 'pseries-7\.2' is 4096/],
  ['unknown ic-mode', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'foo'], /--ic-mode must be one of xics, xive, dual/],
  ['unknown option', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['max-cpus mismatch', ['replay', XIVE2, '--smp', '1', '--ic-mode', 'xive'], /use --max-cpus 2/],
] as const) {
  test(`bad input exits 2 with one line: ${what}`, async () => {
    writeFileSync(join(tmp, 'garbage'), 'this is not\na trace\n');
    writeFileSync(join(tmp, 'binary'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
    const args = argv.map((a) => (a === '@GARBAGE' ? join(tmp, 'garbage') : a === '@BINARY' ? join(tmp, 'binary') : a));
    const r = await runCli(...args);
    assert.equal(r.code, 2);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });
}

test('unknown command exits 2', async () => {
  const r = await runCli('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command 'frobnicate'/);
});

test('help lists every command and an example', async () => {
  const r = await runCli('--help');
  assert.equal(r.code, 0);
  for (const c of ['demo', 'replay']) assert.match(r.out, new RegExp(`^  ${c} `, 'm'));
  assert.match(r.out, /Examples:/);
  const h = await runCli('replay', '--help');
  assert.equal(h.code, 0);
  for (const o of ['--smp', '--max-cpus', '--ic-mode', '--expect-pic']) assert.ok(h.out.includes(o));
  assert.match(h.out, /Examples?:/);
});

test('demo runs the reference guest, loses nothing and prints info pic', async () => {
  const r = await runCli('demo', '--smp', '2', '--events', '3000', '--seed', '5');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /raised 3000 {2}delivered \d+ {2}coalesced \d+ .* lost 0/);
  assert.match(r.out, /info pic:\nCPU\[0000\]: {3}QW/);
  assert.match(r.out, /CPU\[0001\]: {3}OS {4}00 {3}ff {2}00/);
  assert.match(r.out, /irqchip: emulated\n$/);
  const again = await runCli('demo', '--smp', '2', '--events', '3000', '--seed', '5');
  assert.equal(again.out.replace(/\d+ ms in this process/, ''), r.out.replace(/\d+ ms in this process/, ''));
});

test('demo rejects bad options with exit 2', async () => {
  for (const argv of [['demo', '--smp', '0'], ['demo', '--ic-mode', 'bogus'], ['demo', '--events', '-1'], ['demo', 'extra']]) {
    const r = await runCli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1);
  }
});

test('dt prints DTS and writes a DTB that dtc reads back', async () => {
  const r = await runCli('dt', '--ic-mode', 'xive', '--smp', '2');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\/dts-v1\/;/);
  assert.match(r.out, /interrupt-controller@60302031b0000 \{/);
  assert.match(r.out, /ibm,xive-lisn-ranges = <0x00 0x02>;/);
  const f = join(tmp, 'ic.dtb');
  const w = await runCli('dt', '--ic-mode', 'xics', '--smp', '4', '--max-cpus', '8', '--format', 'dtb', '-o', f);
  assert.equal(w.code, 0, w.err);
  const blob = readFileSync(f);
  assert.equal(blob.readUInt32BE(0), 0xd00dfeed);
  const { spawnSync } = await import('node:child_process');
  const dtc = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-W', 'no-interrupt_provider', f], { encoding: 'utf8' });
  if (dtc.error !== undefined) return; // dtc not installed: covered by the CI install
  assert.equal(dtc.status, 0, dtc.stderr);
  assert.match(dtc.stdout, /ibm,interrupt-server-ranges = <0x00 0x08>;/);
  assert.match(dtc.stdout, /PowerPC,POWER9@3 \{/);
});

test('dt rejects bad options with exit 2', async () => {
  // The machine options all have QEMU's defaults: --ic-mode and --smp alone are valid.
  for (const argv of [['dt', '--smp', '2'], ['dt', '--ic-mode', 'xive']]) assert.equal((await runCli(...argv)).code, 0, argv.join(' '));
  for (const argv of [['dt', '--smp', '0'], ['dt', '--ic-mode', 'bogus'], ['dt', '--ic-mode', 'xive', '--smp', '2', '--format', 'yaml'], ['dt', '--ic-mode', 'xive', '--smp', '2', '--max-cpus', '1']]) {
    const r = await runCli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1);
  }
});

test('demo on xics and dual machines: the guest negotiates its model at CAS, nothing is lost', async () => {
  for (const [mode, guest, pic] of [
    ['xics', 'XICS', /^CPU 1 XIRR=ff000000 \(\(nil\)\) PP=ff MFRR=ff$/m],
    ['dual', 'XIVE', /^CPU\[0001\]: {3}OS {4}00 {3}ff/m],
  ] as const) {
    const r = await runCli('demo', '--smp', '2', '--ic-mode', mode, '--events', '2000');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`the guest negotiated ${guest} at CAS`));
    assert.match(r.out, / lost 0\n/);
    assert.match(r.out, pic);
  }
  const x = await runCli('demo', '--smp', '2', '--ic-mode', 'dual', '--guest', 'xics', '--events', '1000');
  assert.equal(x.code, 0, x.err);
  assert.match(x.out, /negotiated XICS/);
  const bad = await runCli('demo', '--ic-mode', 'xive', '--guest', 'xics');
  assert.equal(bad.code, 2);
});
