/**
 * What a new user and hostile input hit: a closed output pipe, CR LF trace files, numbers too
 * wide for a register, negative counts, malformed HTTP request targets and upper-case Host
 * names. Each ends quietly or with one precise line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { visible } from '../../src/cli/replay.ts';
import { startServer } from '../../src/cli/serve.ts';
import { Monitor } from '../../src/monitor/commands.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { capture, captureArgs, capturePath } from '../support/captures.ts';
import { runCli } from '../support/cli.ts';

const BIN = new URL('../../bin/xive.mjs', import.meta.url).pathname;

test('a reader that closes the output early ends the command quietly (xive demo | head -1)', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--events', '200000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Read the first line, then close the pipe as `head -1` does.
  await new Promise<void>((resolve) => {
    child.stdout.once('data', () => {
      child.stdout.destroy();
      resolve();
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(err, '', 'nothing on stderr');
  assert.equal(code, 0);
});

test('a trace with CR LF line endings replays as the same trace', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xive-crlf-'));
  const f = join(tmp, 'crlf.trace');
  writeFileSync(f, readFileSync(capturePath('xive-smp1', 'trace'), 'utf8').replace(/\n/g, '\r\n'));
  const r = await runCli('replay', f, ...captureArgs('xive-smp1'), '--expect-pic', capturePath('xive-smp1', 'pic'));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /info pic matches/);
  assert.equal(capture('xive-smp1').machine.icMode, 'xive');
});

test('divergence reports show invisible characters', () => {
  assert.equal(visible('lsi=0\r'), 'lsi=0\\r');
  assert.equal(visible('a\tb\x00c\x7f'), 'a\\tb\\x00c\\x7f');
  assert.equal(visible('plain text'), 'plain text');
});

test('the monitor refuses register values wider than 64 bits instead of truncating them', () => {
  const mon = new Monitor(new SpaprMachine({ smp: 1, icMode: 'xive' }));
  const r = mon.run('hcall 0 h_int_get_source_info 0 0x10000000000000000');
  assert.equal(r.ok, false);
  assert.match(r.output, /^Error: R5 must fit in 64 bits .*got '0x10000000000000000'\n$/);
  assert.equal(mon.run('mmio write 0 0 8 0x1ffffffffffffffff').ok, false);
  // The widest value and a negative one (two's complement) are still taken.
  assert.match(mon.run('hcall 0 h_int_get_source_info 0 0xffffffffffffffff').output, /R5=0xffffffffffffffff/);
  assert.match(mon.run('hcall 0 h_int_get_source_info 0 -1').output, /R5=0xffffffffffffffff/);
});

test('a negative count names the valid range', async () => {
  for (const [args, want] of [
    [['demo', '--smp', '-3'], /^xive demo: --smp must be an integer in 1\.\.\d+, got '-3'\n$/],
    [['demo', '--events', '-1'], /^xive demo: --events must be an integer in 1\.\.\d+, got '-1'\n$/],
    [['replay', 'x.trace', '--smp', '-2', '--ic-mode', 'xive'], /^xive replay: --smp must be an integer in 1\.\.\d+, got '-2'\n$/],
  ] as const) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, want);
  }
});

/** One raw HTTP/1.1 request; returns the status line. */
function rawRequest(port: number, target: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data.split('\r\n')[0]!));
    sock.on('error', reject);
  });
}

test('xive serve: a malformed request target is a 400, and Host names match whatever their case', async () => {
  const srv = await startServer({ port: 0, smp: 1 });
  try {
    assert.equal(await rawRequest(srv.port, 'http://[', `127.0.0.1:${srv.port}`), 'HTTP/1.1 400 Bad Request');
    assert.equal(await rawRequest(srv.port, '/api/state', `LOCALHOST:${srv.port}`), 'HTTP/1.1 200 OK');
    assert.equal(await rawRequest(srv.port, '/api/state', `evil.example:${srv.port}`), 'HTTP/1.1 403 Forbidden');
  } finally {
    await srv.close();
  }
});

test("the monitor's examples show something happening: a booted guest's EPOW interrupt is queued, the hcall answers after CAS", async () => {
  const boot = await runCli('monitor', '--smp', '2', '--boot', '-c', 'trigger 0x1000', '-c', 'info irq', '-c', 'info pic');
  assert.equal(boot.code, 0, boot.out);
  assert.match(boot.out, /^ {2}00001000 {10}1$/m, 'raised once');
  assert.match(boot.out, /^ {2}CPU 0 {14}1 /m, 'presented to vCPU 0');
  // Pending at the source (P), unmasked, and its EISN in vCPU 0's event queue.
  assert.match(boot.out, /^ {2}00001000 MSI P- {4}(0000001[0-9a-f]) {3}0\/6 .*80000011/m);
  const xics = await runCli('monitor', '--smp', '2', '--ic-mode', 'xics', '--boot', '-c', 'trigger 0x1000', '-c', 'info pic');
  assert.equal(xics.code, 0, xics.out);
  assert.match(xics.out, /^CPU 0 XIRR=ff001000 /m, 'presented to vCPU 0, waiting to be accepted');
  const hcall = await runCli('monitor', '--smp', '2', '-c', 'cas 0x40', '-c', 'hcall 0 h_int_get_source_info 0 0x1000');
  assert.match(hcall.out, /^H_SUCCESS /m);
});

test('an END that escalates to itself cannot recurse without end, and a snapshot carrying one is refused by name', async () => {
  const { XiveRouter, MAX_ESCALATIONS, NVT_VALID } = await import('../../src/xive/router.ts');
  const R = await import('../../src/xive/regs.ts');
  const { SparseGuestMemory } = await import('../../src/ports/memory.ts');
  const { TraceBuffer } = await import('../../src/trace/events.ts');
  const trace = new TraceBuffer();
  const router = new XiveRouter(0, 8, 8, new SparseGuestMemory(1 << 20), { lookup: () => NVT_VALID, backlog: () => {} }, { match: () => false });
  router.tracer.sink = trace;
  // END 1: valid, no queue, silent escalation, unconditional, to itself.
  const w0 = R.END_W0_VALID | R.END_W0_SILENT_ESCALATE | R.END_W0_ESCALATE_CTL | R.END_W0_UNCOND_ESCALATE;
  router.setEndWord(1, 0, w0 >>> 0);
  router.setEndWord(1, 4, 1);
  router.setEas(0, (R.EAS_HI_VALID | 1) >>> 0, 0x10);
  router.notify(0, true);
  assert.equal(trace.events.filter((e) => e.name === 'xive_router_end_escalate').length, MAX_ESCALATIONS);
  assert.ok(trace.events.some((e) => e.name === 'guest_error' && /escalation loop/.test(e.message)));

  // The same END in a snapshot that is otherwise valid: refused, naming the END.
  const m = new SpaprMachine({ smp: 1, icMode: 'xive' });
  m.xive!.router.setEndWord(3, 0, w0 >>> 0);
  const { captureSnapshot, restoreSnapshot, SnapshotError } = await import('../../src/migration/snapshot.ts');
  assert.throws(
    () => restoreSnapshot(captureSnapshot(m)),
    (e: unknown) => e instanceof SnapshotError && e.code === 'corrupt' && /END 0x3 has escalation control set, which no sPAPR guest can set up/.test(e.message),
  );
});
