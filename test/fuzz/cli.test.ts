/**
 * Command-line input of every command: bad input (unreadable or garbage files, unknown commands
 * and options, out-of-range numbers, unknown ic-modes, a trace of the wrong controller) exits 2
 * with one line naming what was wrong and no stack trace. And `xive fuzz` itself: a passing run
 * (exit 0, summary), a failing run (exit 1 with the seed, the step and a reproduction).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from '../support/cli.ts';
import { fuzzCommand, runFuzzCommand, FUZZ_HELP } from '../../src/cli/fuzz.ts';
import { defaultHostOps, type HostOperation } from '../../src/fuzz/host-ops.ts';
import { capturePath } from '../support/captures.ts';

const XIVE1 = capturePath('xive-smp1', 'trace');
const XICS2 = capturePath('xics-smp2', 'trace');
const tmp = mkdtempSync(join(tmpdir(), 'xive-badinput-'));
const GARBAGE = join(tmp, 'garbage.trace');
const BINARY = join(tmp, 'binary.trace');
const EMPTY = join(tmp, 'empty.trace');
const MALFORMED = join(tmp, 'malformed.trace');
writeFileSync(GARBAGE, 'this is not\na trace\n');
writeFileSync(BINARY, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
writeFileSync(EMPTY, '');
writeFileSync(MALFORMED, 'xive_source_esb_read @0xZZ IRQ 0x0 val=0x2\n');

function fuzz(...argv: string[]): CliRun {
  let out = '';
  let err = '';
  const code = fuzzCommand(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function assertBadInput(r: CliRun, what: RegExp, label: string): void {
  assert.equal(r.code, 2, `${label}: exit ${r.code}, stderr ${r.err}`);
  assert.match(r.err, what, label);
  assert.equal(r.err.trimEnd().split('\n').length, 1, `${label}: more than one line:\n${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at |internal error/, label);
}

const CASES: readonly [string, string[], RegExp][] = [
  // the dispatcher
  ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  // replay: files
  ['replay: missing file', ['replay', '/nonexistent.trace', '--smp', '1', '--ic-mode', 'xive'], /cannot read trace '\/nonexistent.trace': ENOENT/],
  ['replay: a directory', ['replay', tmp, '--smp', '1', '--ic-mode', 'xive'], /cannot read trace .*: EISDIR/],
  ['replay: garbage', ['replay', GARBAGE, '--smp', '1', '--ic-mode', 'xive'], /unusable trace .*no QEMU trace events/],
  ['replay: binary', ['replay', BINARY, '--smp', '1', '--ic-mode', 'xive'], /is binary/],
  ['replay: empty', ['replay', EMPTY, '--smp', '1', '--ic-mode', 'xive'], /unusable trace .*no QEMU trace events/],
  ['replay: malformed event', ['replay', MALFORMED, '--smp', '1', '--ic-mode', 'xive'], /line 1: malformed xive_source_esb_read event/],
  ['replay: XIVE trace on ic-mode xics', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xics'], /line 1: spapr_xive_claim_irq is a XIVE event, but ic-mode xics has no XIVE controller/],
  ['replay: XICS trace on ic-mode xive', ['replay', XICS2, '--smp', '2', '--ic-mode', 'xive'], /xics_icp_check_ipi is an XICS event, but ic-mode xive has no XICS controller/],
  ['replay: unreadable --expect-pic', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--expect-pic', '/nonexistent.pic'], /cannot read expected info pic '\/nonexistent.pic'/],
  ['replay: no trace', ['replay', '--smp', '1', '--ic-mode', 'xive'], /replay needs a TRACE file/],
  ['replay: two traces', ['replay', XIVE1, XIVE1, '--smp', '1', '--ic-mode', 'xive'], /replay takes one TRACE file, got 2/],
  // replay: options
  ['replay: unknown option', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['replay: option without value', ['replay', XIVE1, '--ic-mode', 'xive', '--smp'], /'--smp <value>' argument missing/],
  ['replay: --smp not a number', ['replay', XIVE1, '--smp', 'two', '--ic-mode', 'xive'], /--smp must be an integer/],
  ['replay: --smp 0', ['replay', XIVE1, '--smp', '0', '--ic-mode', 'xive'], /--smp must be an integer in 1\.\.4096, got '0'/],
  ['replay: --smp too large', ['replay', XIVE1, '--smp', '5000', '--ic-mode', 'xive'], /Invalid SMP CPUs 5000\. The max CPUs supported by machine 'pseries-7\.2' is 4096/],
  ['replay: --max-cpus below --smp', ['replay', XIVE1, '--smp', '2', '--max-cpus', '1', '--ic-mode', 'xive'], /--max-cpus must be an integer in 2\.\.4096/],
  ['replay: unknown ic-mode', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'foo'], /--ic-mode must be one of xics, xive, dual, got 'foo'/],
  ['replay: XIVE on a CPU without it', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--cpu', 'POWER8'], /XIVE-only machines require a POWER9 CPU/],
  ['replay: bad --ram', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--ram', '12X'], /--ram must be a size like 1G/],
  ['replay: --ram too small', ['replay', XIVE1, '--smp', '1', '--ic-mode', 'xive', '--ram', '1K'], /--ram must be at least 1M/],
  // demo
  ['demo: unknown option', ['demo', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['demo: positional', ['demo', 'extra'], /Unexpected argument 'extra'/],
  ['demo: --smp 0', ['demo', '--smp', '0'], /--smp must be an integer in 1\.\.4096, got '0'/],
  ['demo: --smp too large', ['demo', '--smp', '4097'], /Invalid SMP CPUs 4097\. The max CPUs supported by machine 'pseries-7\.2' is 4096/],
  ['demo: --events 0', ['demo', '--events', '0'], /--events must be an integer in 1\.\./],
  ['demo: --events not a number', ['demo', '--events', '1e3'], /--events must be an integer/],
  ['demo: --seconds 0', ['demo', '--seconds', '0'], /--seconds must be an integer in 1\.\.3600/],
  ['demo: --seed out of range', ['demo', '--seed', '4294967296'], /--seed must be an integer in 0\.\.4294967295/],
  ['demo: negative --seed', ['demo', '--seed', '-1'], /--seed/],
  ['demo: unknown ic-mode', ['demo', '--ic-mode', 'bogus'], /--ic-mode must be one of xics, xive, dual, got 'bogus'/],
  ['demo: --events and --seconds', ['demo', '--events', '5', '--seconds', '2'], /either --events or --seconds/],
  // dt
  ['dt: unknown machine type', ['dt', '--machine', 'pseries-9.9'], /unsupported machine type 'pseries-9\.9'/],
  ['dt: unknown ic-mode', ['dt', '--ic-mode', 'legacy', '--smp', '2'], /--ic-mode must be one of xics, xive, dual, got 'legacy'/],
  ['dt: XIVE without a POWER9', ['dt', '--machine', 'pseries,ic-mode=xive', '--cpu', 'POWER8'], /XIVE-only machines require a POWER9 CPU/],
  ['dt: --smp 0', ['dt', '--ic-mode', 'xive', '--smp', '0'], /--smp must be an integer in 1\.\.4096/],
  ['dt: --max-cpus below --smp', ['dt', '--ic-mode', 'xive', '--smp', '2', '--max-cpus', '1'], /--max-cpus must be an integer in 2\.\.4096/],
  ['dt: unknown format', ['dt', '--ic-mode', 'xive', '--smp', '2', '--format', 'yaml'], /--format must be one of dts, dtb, got 'yaml'/],
  ['dt: unwritable output', ['dt', '--ic-mode', 'xive', '--smp', '2', '-o', '/nonexistent/dir/ic.dts'], /cannot write '\/nonexistent\/dir\/ic.dts': ENOENT/],
  ['dt: unknown option', ['dt', '--ic-mode', 'xive', '--smp', '2', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['dt: positional', ['dt', '--ic-mode', 'xive', '--smp', '2', 'extra'], /Unexpected argument 'extra'/],
];

for (const [label, argv, what] of CASES) {
  test(`bad input exits 2 with one line: ${label}`, async () => {
    assertBadInput(await runCli(...argv), what, label);
  });
}

const FUZZ_CASES: readonly [string, string[], RegExp][] = [
  ['unknown option', ['--frobnicate'], /^xive fuzz: Unknown option '--frobnicate'/],
  ['positional', ['extra'], /fuzz takes no positional arguments, got 'extra'/],
  ['option without value', ['--ops'], /'--ops <value>' argument missing/],
  ['--ops 0', ['--ops', '0'], /--ops must be an integer in 1\.\.1000000000, got '0'/],
  ['--ops not a number', ['--ops', 'many'], /--ops must be an integer/],
  ['--ops with exponent', ['--ops', '3e5'], /--ops must be an integer/],
  ['--ops too large', ['--ops', '1000000001'], /--ops must be an integer in 1\.\.1000000000/],
  ['--seed out of range', ['--seed', '4294967296'], /--seed must be an integer in 0\.\.4294967295/],
  ['--seed not a number', ['--seed', 'abc'], /--seed must be an integer/],
  ['unknown ic-mode', ['--ic-mode', 'legacy'], /--ic-mode must be one of xics, xive, dual, got 'legacy'/],
  ['--smp 0', ['--smp', '0'], /--smp must be an integer in 1\.\.4096, got '0'/],
  ['--smp too large', ['--smp', '4097'], /--smp must be an integer in 1\.\.4096/],
  ['--max-cpus below --smp', ['--smp', '3', '--max-cpus', '2'], /--max-cpus must be an integer in 3\.\.4096, got '2'/],
  ['--check-every 0', ['--check-every', '0'], /--check-every must be an integer in 1\.\./],
  ['--shrink-seconds negative', ['--shrink-seconds', '-5'], /--shrink-seconds/],
];

for (const [label, argv, what] of FUZZ_CASES) {
  test(`fuzz: bad input exits 2 with one line: ${label}`, () => {
    const r = fuzz(...argv);
    assertBadInput(r, what, `fuzz ${label}`);
    assert.equal(r.out, '', 'nothing runs on bad input');
  });
}

test('no command prints the help and exits 2', async () => {
  const r = await runCli();
  assert.equal(r.code, 2);
  assert.match(r.out, /Usage: xive <command>/);
});

test('fuzz --help describes every option', () => {
  const r = fuzz('--help');
  assert.equal(r.code, 0);
  assert.equal(r.out, FUZZ_HELP);
  for (const o of ['--ops', '--seed', '--ic-mode', '--smp', '--max-cpus', '--check-every', '--shrink-seconds']) assert.ok(r.out.includes(o), o);
});

test('fuzz: a passing run exits 0 with the seed and where every event went', () => {
  const r = fuzz('--ops', '3000', '--seed', '12', '--ic-mode', 'dual', '--smp', '2');
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^xive fuzz: 3000 operations, seed 12, --ic-mode dual --smp 2 --max-cpus 4\n/);
  assert.match(r.out, /no failure: 3000 operations in [\d.]+ s/);
  assert.match(r.out, /XIVE router +enqueued \d+/);
  assert.match(r.out, /XICS MSI events +raised \d+/);
  const again = fuzz('--ops', '3000', '--seed', '12', '--ic-mode', 'dual', '--smp', '2');
  const strip = (s: string) => s.replace(/in [\d.]+ s \(\d+ per second\)/, '');
  assert.equal(strip(again.out), strip(r.out));
});

test('fuzz: without --seed a seed is chosen and printed', () => {
  let out = '';
  const code = runFuzzCommand(['--ops', '200', '--ic-mode', 'xics'], { out: (s) => (out += s), err: () => {} }, { randomSeed: () => 31337 });
  assert.equal(code, 0);
  assert.match(out, /seed 31337/);
});

test('fuzz: a failing run exits 1 with the seed, the step and a minimal reproduction', () => {
  // A host operation that changes guest-visible state behind the reference's back.
  const planted: HostOperation = {
    name: 'clear-cppr',
    perMille: 4,
    generate: (ctx, rng) => rng.pick(ctx.ref.vcpus),
    apply: (ctx, v) => {
      const t = ctx.machine.xive?.tctxById[v as number];
      if (t !== undefined) t.regs[0x11] = 0x3;
      return { problem: null };
    },
    describe: (v) => `host: set vCPU ${String(v)}'s OS CPPR behind the guest's back`,
  };
  let out = '';
  const code = runFuzzCommand(['--ops', '5000', '--seed', '9', '--ic-mode', 'xive', '--shrink-seconds', '5'], { out: (s) => (out += s), err: () => {} }, { hostOps: [...defaultHostOps(), planted] });
  assert.equal(code, 1, out);
  assert.match(out, /FAILURE at step \d+ of seed 9 \(--ic-mode xive --smp 2 --max-cpus 4\)/);
  assert.match(out, /operation: host: set vCPU \d's OS CPPR behind the guest's back/);
  assert.match(out, /state \/ tctx: after host operation clear-cppr: vCPU \d TIMA byte 0x11: model 0x3, reference 0x/);
  assert.match(out, /again: xive fuzz --ops \d+ --seed 9 --ic-mode xive --smp 2 --max-cpus 4/);
  assert.match(out, /minimal reproduction \(1 operation, fails at the last one with state \/ tctx\):\n {5}1\. host: set vCPU/);
  assert.match(out, /as a program:\n {2}import \{ SpaprMachine \} from '.\/src\/index.ts';\n {2}let m = new SpaprMachine\(\{ smp: 2, maxCpus: 4, icMode: 'xive'/);
});
