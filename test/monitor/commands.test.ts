/**
 * The monitor console: commands act on the machine as a guest or device would, `info pic` is
 * the QEMU text, and a script full of bad commands gets one error line each without stopping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { Monitor } from '../../src/monitor/commands.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { main } from '../../src/cli/main.ts';

test('commands drive the machine; info pic is the QEMU text', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'xive' });
  const mon = new Monitor(m);
  assert.equal(mon.run('cas 0x40').output, 'negotiated XIVE\n');
  const r = mon.run('hcall 0 h_int_get_source_info 0 0x1000');
  assert.equal(r.output, 'H_SUCCESS R4=0x0 R5=0x6010020010000 R6=0x6010020000000 R7=0x10 R8=0x0 R9=0x0\n');
  assert.equal(mon.run('hcall 0 h_int_get_source_info 1 0x1000').output.split(' ')[0], 'H_PARAMETER');
  assert.equal(mon.run('mmio read 0 0x6010020010800 8').output, '0x1\n'); // GET: PQ 01 (off)
  assert.equal(mon.run('info pic').output, infoPic(m));
  assert.equal(mon.run('info mode').output, 'ic-mode xive, active controller XIVE\n');
});

test('trigger and info irq count what happened', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'xive' });
  new XiveGuest(m).boot();
  const mon = new Monitor(m);
  mon.run('hcall 0 h_int_set_source_config 2 0x1000 1 6 0x99');
  mon.run('mmio read 0 0x6010020010c00 8');
  assert.equal(mon.run('trigger 0x1000').ok, true);
  const out = mon.run('info irq').output;
  assert.match(out, /^ {2}00001000 +1$/m);
  assert.match(out, /^ {2}CPU 1 +1 +0$/m);
  assert.match(mon.run('info cpus').output, /^CPU 1: INT raised, HINT low$/m);
});

test('a script of bad commands: one error line each, the console survives', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'dual' });
  const mon = new Monitor(m);
  const bad = ['frobnicate', 'info', 'info nope', 'hcall', 'hcall 7 h_cppr', 'hcall 0 h_nothing', 'hcall 0 0x3a8 zz', 'mmio read 0 0x10 3', 'mmio poke 0 1 1',
    'trigger 5', 'trigger 0x1000 extra', 'irq 0x1000 2', 'cpu-add 1', 'cas 0x80', 'cas 999', 'rtas 0 ibm,nope 1', 'savevm', 'loadvm /nonexistent', 'hcall 0 h_cppr 1 2 3 4 5 6 7'];
  for (const b of bad) {
    const r = mon.run(b);
    const lines = r.output.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${b}: ${r.output}`);
    assert.doesNotMatch(r.output, /\n\s+at /);
  }
  assert.equal(mon.run('info mode').ok, true);
  assert.equal(mon.run('help').ok, true);
  assert.equal(mon.run('quit').quit, true);
});

test('xive monitor -c runs a script and exits; a failing command gives status 1', async () => {
  let out = '';
  const io = { out: (s: string) => (out += s), err: (s: string) => (out += s) };
  assert.equal(await main(['monitor', '--smp', '2', '--boot', '-c', 'info pic'], io), 0);
  assert.match(out, /^CPU\[0001\]: {3}OS {4}00 {3}ff/m);
  out = '';
  assert.equal(await main(['monitor', '-c', 'nonsense', '-c', 'info mode'], io), 1);
  assert.match(out, /^Error: unknown command: 'nonsense'/m);
  assert.match(out, /^ic-mode xive, active controller XIVE$/m);
  assert.equal(await main(['monitor', '--ic-mode', 'bogus', '-c', 'info pic'], io), 2);
});

test('savevm / loadvm and --load: a machine goes to a file and comes back; refused snapshots exit 2', async () => {
  const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'xive-mon-'));
  const f = join(dir, 'm.snap');
  let out = '';
  const io = { out: (s: string) => (out += s), err: (s: string) => (out += s) };
  assert.equal(await main(['monitor', '--smp', '2', '--boot', '-c', 'cas 0x40', '-c', `savevm ${f}`, '-c', 'info pic'], io), 0);
  const before = out.slice(out.indexOf('CPU[0000]'));
  out = '';
  assert.equal(await main(['monitor', '--load', f, '-c', 'info pic'], io), 0);
  assert.equal(out, before);
  // loadvm inside a session replaces the machine
  out = '';
  assert.equal(await main(['monitor', '--smp', '1', '-c', `loadvm ${f}`, '-c', 'info mode'], io), 0);
  assert.match(out, /^ic-mode xive, active controller XIVE$/m);
  // damaged and truncated files are refused with one line naming the snapshot
  const bytes = readFileSync(f);
  const bad = join(dir, 'bad.snap');
  for (const damaged of [bytes.subarray(0, 100), Buffer.concat([bytes.subarray(0, 40), Buffer.from([bytes[40]! ^ 0xff]), bytes.subarray(41)]), Buffer.from('not a snapshot')]) {
    writeFileSync(bad, damaged);
    let err = '';
    const code = await main(['monitor', '--load', bad, '-c', 'info pic'], { out: () => {}, err: (s) => (err += s) });
    assert.equal(code, 2);
    assert.match(err, /snapshot/);
    assert.equal(err.trim().split('\n').length, 1);
  }
  out = '';
  assert.equal(await main(['monitor', '-c', `loadvm ${bad}`, '-c', 'info mode'], io), 1);
  assert.match(out, /^Error: .*snapshot/m);
});
