/**
 * QEMU 7.2's refusals, exactly: every configuration of test/fixtures/qemu-configs/refusals.json
 * (QEMU run with those options; its exit status and standard error kept) gets the same answer
 * from the model — refused with QEMU's message (each line of it, in order), or accepted when QEMU
 * accepted it. Where QEMU dies of an assertion instead of refusing, the model refuses cleanly.
 * The command line turns a refusal into one line on standard error and exit status 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from '../../src/cli/args.ts';
import { MACHINE_OPTIONS, machineConfigOf } from '../../src/cli/machine-args.ts';
import { UsageFailure } from '../../src/cli/args.ts';
import { FIXTURES_DIR } from '../support/captures.ts';
import { runCli } from '../support/cli.ts';

interface Refusal {
  args: string[];
  exit: number | null;
  stderr: string;
}

const REFUSALS = JSON.parse(readFileSync(`${FIXTURES_DIR}qemu-configs/refusals.json`, 'utf8')) as Refusal[];

/** QEMU's options as the xive commands take them. */
function xiveArgs(qemu: readonly string[]): string[] {
  const long: Record<string, string> = { '-M': '--machine', '-machine': '--machine', '-cpu': '--cpu', '-smp': '--smp', '-device': '--device', '-accel': '--accel' };
  return qemu.map((w) => long[w] ?? w);
}

/** QEMU's error lines: its standard error without the program name and the warnings. */
function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^qemu-system-ppc64: /, '').trim())
    .filter((l) => l !== '' && !l.startsWith('warning:'));
}

function outcome(args: string[]): string | null {
  try {
    machineConfigOf(parse(xiveArgs(args), MACHINE_OPTIONS, false).values);
    return null;
  } catch (e) {
    if (e instanceof UsageFailure) return e.message;
    throw e;
  }
}

test('the refusals fixture covers the cases', () => {
  assert.ok(REFUSALS.filter((r) => r.exit !== null).length >= 20);
  assert.ok(REFUSALS.some((r) => r.exit === null));
});

for (const r of REFUSALS) {
  const what = r.args.join(' ');
  if (r.exit === null) {
    test(`accepted as QEMU accepts it: ${what}`, () => assert.equal(outcome(r.args), null));
  } else if (r.exit === 134) {
    test(`refused where QEMU aborts: ${what}`, () => assert.notEqual(outcome(r.args), null));
  } else {
    test(`refused with QEMU's message: ${what}`, () => {
      const msg = outcome(r.args);
      assert.notEqual(msg, null, 'accepted');
      let from = 0;
      for (const line of errorLines(r.stderr)) {
        // QEMU's unknown-type line names no type; the model says which one.
        const want = line === 'unsupported machine type' ? 'unsupported machine type' : line;
        const at = msg!.indexOf(want.replace(/^Use -machine help/, 'Use --machine help'), from);
        assert.ok(at >= 0, `'${want}' not in '${msg}'`);
        from = at + 1;
      }
    });
  }
}

test('on the command line a refusal is one line on standard error and exit status 2', async () => {
  for (const args of [
    ['replay', 'x.trace', '--machine', 'pseries,ic-mode=xive', '--cpu', 'POWER8'],
    ['dt', '--machine', 'pseries-3.0,ic-mode=xive'],
    ['demo', '--smp', '2,threads=2'],
    ['monitor', '--machine', 'pseries-9.9'],
  ]) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^xive \w+: \S/);
  }
});
