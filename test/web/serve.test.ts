/**
 * `xive serve`: the HTTP routes and their refusals (wrong method, unknown page, foreign Host or
 * Origin, bad IRQ), the command's options and its stop on SIGINT, and the page itself in a real
 * browser — Debian's chromium driven by playwright-core: the tables must show what /api/state
 * says, trigger / pause / step must act, and a screenshot is taken.
 *
 * The browser tests are skipped, with a message, where /usr/bin/chromium is not installed
 * (.ci/run installs it, so CI always runs them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkip, launchBrowser, pageProblems, waitText } from '../support/browser.ts';
import { startServer, serveCommand, SERVE_HELP } from '../../src/cli/serve.ts';
import { UsageFailure } from '../../src/cli/args.ts';
import type { LiveState } from '../../src/web/session.ts';
import * as H from '../../src/spapr/hcall.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { captureSnapshot } from '../../src/migration/snapshot.ts';

const tmp = mkdtempSync(join(tmpdir(), 'xive-web-'));

/** A XICS machine with an MSI presented to vCPU 1, saved as a snapshot file. */
function xicsSnapshot(): string {
  const m = new SpaprMachine({ smp: 2, icMode: 'xics' });
  assert.equal(m.hcall(1, H.H_CPPR, [0xffn]).ret, H.H_SUCCESS);
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1100, 1, 5], 1), [0]);
  m.pulseMsi(0x1100);
  const path = join(tmp, 'xics-pending.snap');
  writeFileSync(path, captureSnapshot(m));
  return path;
}


async function getState(url: string): Promise<LiveState> {
  const res = await fetch(new URL('/api/state', url));
  assert.equal(res.status, 200);
  return (await res.json()) as LiveState;
}

/** A raw request, so Host and Origin can be anything. */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('routes: the page files, the state, the actions and their refusals', async () => {
  const srv = await startServer({ port: 0, smp: 2 });
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(srv.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/app\.js">/);
    for (const [path, type] of [['/app.js', /^text\/javascript/], ['/style.css', /^text\/css/]] as const) {
      const r = await fetch(new URL(path, srv.url));
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type')!, type);
      assert.ok((await r.text()).length > 1000, `${path} has content`);
    }

    const s0 = await getState(srv.url);
    assert.equal(s0.run.paused, false);
    assert.equal(s0.run.demo, false);
    assert.equal(s0.machine.cpus.length, 2);

    const post = (path: string) => fetch(new URL(path, srv.url), { method: 'POST' });
    let r = await post('/api/trigger?irq=0x1300');
    assert.equal(r.status, 200);
    let s = (await r.json()) as LiveState;
    assert.equal(s.run.triggers, 1);
    assert.equal(s.machine.guest!.delivered, s0.machine.guest!.delivered + 1);
    r = await post('/api/trigger?irq=4864'); // decimal works too
    assert.equal(r.status, 200);

    r = await post('/api/pause');
    assert.equal(((await r.json()) as LiveState).run.paused, true);
    r = await post('/api/step');
    s = (await r.json()) as LiveState;
    assert.equal(s.run.steps, 1);
    r = await post('/api/resume');
    s = (await r.json()) as LiveState;
    assert.equal(s.run.paused, false);
    assert.equal(s.machine.guest!.lost, 0);

    for (const [q, re] of [
      ['irq=0x1fff', /0x1fff is not a claimed source/],
      ['irq=zz', /irq must be a number/],
      ['', /trigger needs \?irq=/],
    ] as const) {
      r = await post(`/api/trigger?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(((await r.json()) as { error: string }).error, re);
    }
    assert.equal((await fetch(new URL('/api/pause', srv.url))).status, 405);
    assert.equal((await post('/api/state')).status, 405);
    assert.equal((await fetch(new URL('/nope', srv.url))).status, 404);

    // Another name for this address (DNS rebinding) and another site's page are refused.
    const port = new URL(srv.url).port;
    let x = await raw(srv.url, 'GET', '/api/state', { host: `attacker.example:${port}` });
    assert.equal(x.status, 403);
    x = await raw(srv.url, 'POST', '/api/pause', { host: `127.0.0.1:${port}`, origin: 'http://attacker.example' });
    assert.equal(x.status, 403);
    assert.equal((await getState(srv.url)).run.paused, false);
    x = await raw(srv.url, 'POST', '/api/pause', { host: `localhost:${port}`, origin: `http://localhost:${port}` });
    assert.equal(x.status, 200);
    assert.match(x.type, /^application\/json/);
  } finally {
    await srv.close();
  }
});

test('--load: the machine of a snapshot is shown as it was saved; no step without the reference guest', async () => {
  const srv = await startServer({ port: 0, load: xicsSnapshot() });
  try {
    const st = await getState(srv.url);
    assert.equal(st.machine.controller, 'xics');
    assert.equal(st.run.guest, false);
    assert.equal(st.run.demo, false);
    assert.deepEqual(st.machine.cpus[1]!.icp, { xirr: 0xff00_1100, cppr: 0xff, xisr: 0x1100, pp: 5, mfrr: 0xff });
    assert.equal(st.machine.cpus[1]!.intLine, true);
    const post = (path: string) => fetch(new URL(path, srv.url), { method: 'POST' });
    let r = await post('/api/step');
    assert.equal(r.status, 409);
    assert.match(((await r.json()) as { error: string }).error, /reference guest/);
    // A second MSI from the same source: presented again, and rejected by the busy ICP.
    r = await post('/api/trigger?irq=0x1100');
    assert.equal(r.status, 200);
    const s = ((await r.json()) as LiveState).machine.sources.find((x) => x.lisn === 0x1100)!;
    assert.equal(s.counters.attempts, 1);
    assert.deepEqual(s.xics!.status, ['rejected']);
  } finally {
    await srv.close();
  }
});

test('--load refusals: unreadable or damaged files are one-line usage errors', async () => {
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageFailure && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(startServer({ port: 0, load: '/nonexistent.snap' }), usage(/cannot read snapshot '\/nonexistent\.snap': ENOENT/));
  const junk = join(tmp, 'junk.snap');
  writeFileSync(junk, 'not a snapshot at all');
  await assert.rejects(startServer({ port: 0, load: junk }), usage(/junk\.snap: snapshot/));
});

test('serve command: help, option errors, a busy port, and a clean stop on SIGINT', async () => {
  let out = '';
  const io = { out: (t: string) => (out += t), err: (t: string) => (out += t) };
  assert.equal(await serveCommand(['--help'], io), 0);
  assert.equal(out, SERVE_HELP);
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageFailure && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(serveCommand([], io), usage(/--port is required/));
  await assert.rejects(serveCommand(['--port', '70000'], io), usage(/--port must be an integer in 0\.\.65535/));
  await assert.rejects(serveCommand(['--port', '0', '--smp', '65'], io), usage(/--smp must be an integer in 1\.\.64/));
  await assert.rejects(serveCommand(['--port', '0', '--load', 'x.snap', '--smp', '2'], io), usage(/--load takes the machine from the snapshot: drop --smp/));
  await assert.rejects(serveCommand(['--port', '0', '--load', 'x.snap', '--demo'], io), usage(/drop --demo or --load/));
  await assert.rejects(serveCommand(['--port', '0', '--frob'], io), usage(/Unknown option '--frob'/));

  const busy = await startServer({ port: 0, smp: 1 });
  try {
    await assert.rejects(startServer({ port: busy.port, smp: 1 }), usage(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.port}: EADDRINUSE`)));
  } finally {
    await busy.close();
  }

  out = '';
  const running = serveCommand(['--port', '0', '--smp', '1', '--demo'], io);
  const deadline = Date.now() + 5000;
  while (!out.includes('http://') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
  assert.ok(url, out);
  assert.equal((await getState(url)).run.demo, true);
  process.emit('SIGINT');
  assert.equal(await running, 0);
  assert.match(out, /stopped/);
  await assert.rejects(fetch(url), 'the server no longer listens');
});

/** The page's own formatting rules, for comparing the DOM with /api/state. */
const h2 = (v: number) => v.toString(16).padStart(2, '0');
const h8 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
const lisnText = (v: number) => '0x' + v.toString(16).padStart(4, '0');
const orDash = (v: number | null) => (v === null ? '—' : String(v));

async function cells(page: Page, row: string): Promise<Record<string, string>> {
  return page.$$eval(`${row} td[data-f]`, (tds) => Object.fromEntries(tds.map((td) => [td.getAttribute('data-f') ?? '', td.textContent ?? ''])));
}

test('the page in chromium: tables equal /api/state; trigger, pause and step act; screenshot', { skip: browserSkip, timeout: 60_000 }, async (t) => {
  const srv = await startServer({ port: 0, smp: 2 });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = pageProblems(page);
    await page.goto(srv.url);
    await page.waitForSelector('body[data-ready="1"]');
    const st = await getState(srv.url);
    // Nothing moves without the demo: what the page rendered is what the API says now.
    assert.equal(await page.getAttribute('body', 'data-version'), String(st.version));

    // vCPU rows: one per vCPU, the OS ring bytes as the model has them.
    const cpuRows = await page.$$eval('#cpus tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-vcpu')));
    assert.deepEqual(cpuRows, st.machine.cpus.map((c) => String(c.vcpu)));
    for (const c of st.machine.cpus) {
      const os = c.rings![1]!;
      const got = await cells(page, `#cpus tr[data-vcpu="${c.vcpu}"]`);
      assert.deepEqual(
        { vcpu: got.vcpu, int: got.int, nsr: got.nsr, cppr: got.cppr, ipb: got.ipb, pipr: got.pipr, age: got.age, w2: got.w2, delivered: got.delivered },
        { vcpu: String(c.vcpu), int: c.intLine ? 'raised' : 'low', nsr: h2(os.nsr), cppr: h2(os.cppr), ipb: h2(os.ipb), pipr: h2(os.pipr), age: h2(os.age), w2: h8(os.w2), delivered: orDash(c.counters.delivered) },
      );
    }

    // LISN rows: every claimed source, with PQ, mask, EISN and route.
    const lisnRows = await page.$$eval('#sources tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-lisn')));
    assert.deepEqual(lisnRows, st.machine.sources.map((s) => String(s.lisn)));
    for (const s of st.machine.sources) {
      const got = await cells(page, `#sources tr[data-lisn="${s.lisn}"]`);
      const target = s.route === null || !s.route.endValid ? '—' : `${s.route.vcpu}/${s.route.priority}`;
      const end = s.masked ? 'masked' : s.route === null ? '—' : String(s.route.endIndex);
      assert.deepEqual(
        { lisn: got.lisn, kind: got.kind, pq: got.pq, masked: got.masked, asserted: got.asserted, eisn: got.eisn, end: got.end, target: got.target, triggers: got.triggers },
        { lisn: lisnText(s.lisn), kind: s.kind.toUpperCase(), pq: s.pq, masked: s.masked ? 'M' : '', asserted: s.asserted ? 'A' : '', eisn: h8(s.eisn!), end, target, triggers: String(s.counters.triggers) },
      );
    }

    // One ring per configured END, with its write index and toggle.
    assert.equal(await page.locator('#queues article.queue').count(), st.machine.queues.length);
    for (const q of st.machine.queues) {
      const card = `#queues article[data-end="${q.end}"]`;
      assert.equal(await page.textContent(`${card} dd[data-f="index"]`), String(q.index));
      assert.equal(await page.textContent(`${card} dd[data-f="generation"]`), String(q.generation));
      assert.equal(await page.locator(`${card} svg.ring path.slot`).count(), q.slots.length);
      assert.equal(await page.locator(`${card} table.window tbody tr`).count(), q.window.length);
    }

    // Trigger an MSI: running, so the guest takes it; its counters and the totals move.
    const msi = st.machine.sources.find((s) => s.lisn === 0x1300)!;
    const delivered0 = await page.textContent('#c-delivered');
    await page.click(`#sources tr[data-lisn="${0x1300}"] button.trig`);
    await waitText(page, '#c-triggers', (x) => x === '1');
    await waitText(page, '#c-delivered', (x) => x !== delivered0);
    assert.equal(await page.textContent(`#sources tr[data-lisn="${0x1300}"] td[data-f="delivered"]`), String(msi.counters.delivered! + 1));
    assert.equal(await page.textContent(`#sources tr[data-lisn="${0x1300}"] td[data-f="triggers"]`), String(msi.counters.triggers! + 1));
    assert.equal((await getState(srv.url)).machine.guest!.delivered, st.machine.guest!.delivered + 1);

    // Pause: the next trigger stays pending, visible as P- and a raised line on its vCPU.
    await page.click('#pause');
    await page.waitForSelector('#status[data-paused="true"]');
    assert.equal(await page.isDisabled('#pause'), true);
    assert.equal(await page.isEnabled('#resume'), true);
    assert.equal((await getState(srv.url)).run.paused, true);
    await page.click(`#sources tr[data-lisn="${0x1300}"] button.trig`);
    await waitText(page, `#sources tr[data-lisn="${0x1300}"] td[data-f="pq"]`, (x) => x === 'P-');
    const vcpu = msi.route!.vcpu!;
    assert.equal(await page.textContent(`#cpus tr[data-vcpu="${vcpu}"] td[data-f="int"]`), 'raised');

    // Step: one workload step; its tail is left pending for the view.
    await page.click('#step');
    await waitText(page, '#c-steps', (x) => x === '1');
    const after = await getState(srv.url);
    assert.equal(after.run.steps, 1);
    assert.equal(await page.textContent('#c-events'), String(after.run.events));

    // Changed cells flash for 0.8 s; the picture is of the settled page.
    await page.waitForTimeout(1000);
    const shot = join(tmp, 'serve.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(statSync(shot).size > 40_000, `a screenshot of a filled page is not tiny (${statSync(shot).size} bytes)`);
    t.diagnostic(`screenshot: ${shot}`);

    // Resume: the vCPUs take what waited.
    await page.click('#resume');
    await page.waitForSelector('#status[data-paused="false"]');
    assert.equal((await getState(srv.url)).machine.guest!.lost, 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

test('the page in chromium with --demo: the counters move by themselves until paused', { skip: browserSkip, timeout: 60_000 }, async () => {
  const srv = await startServer({ port: 0, smp: 2, demo: true, intervalMs: 40 });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(srv.url);
    await page.waitForSelector('body[data-ready="1"]');
    const first = Number(await page.textContent('#c-events'));
    await waitText(page, '#c-events', (x) => Number(x) > first);
    await page.click('#pause');
    await page.waitForSelector('#status[data-paused="true"]');
    const frozen = (await getState(srv.url)).run.batches;
    await page.waitForTimeout(400);
    assert.equal((await getState(srv.url)).run.batches, frozen);
    assert.match((await page.textContent('#status'))!, /paused/);
  } finally {
    await browser.close();
    await srv.close();
  }
});

test('the page in chromium on a XICS snapshot: ICP registers and ICS sources', { skip: browserSkip, timeout: 60_000 }, async (t) => {
  const srv = await startServer({ port: 0, load: xicsSnapshot() });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(srv.url);
    await page.waitForSelector('body[data-ready="1"]');
    const st = await getState(srv.url);
    const heads = await page.$$eval('#cpus thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(heads.slice(0, 7), ['vCPU', 'INT', 'XIRR', 'CPPR', 'XISR', 'PP', 'MFRR']);
    for (const c of st.machine.cpus) {
      const got = await cells(page, `#cpus tr[data-vcpu="${c.vcpu}"]`);
      assert.deepEqual([got.int, got.xirr, got.cppr, got.xisr, got.pp, got.mfrr], [c.intLine ? 'raised' : 'low', h8(c.icp!.xirr), h2(c.icp!.cppr), c.icp!.xisr.toString(16).padStart(6, '0'), h2(c.icp!.pp), h2(c.icp!.mfrr)]);
    }
    const lisnRows = await page.$$eval('#sources tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-lisn')));
    assert.deepEqual(lisnRows, st.machine.sources.map((s) => String(s.lisn)));
    const src = await cells(page, `#sources tr[data-lisn="${0x1100}"]`);
    assert.deepEqual([src.server, src.priority, src.masked], ['1', '05', '']);
    assert.equal(await page.isHidden('#queues-section'), true);
    assert.equal(await page.isDisabled('#step'), true);
    const shot = join(tmp, 'serve-xics.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000);
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await browser.close();
    await srv.close();
  }
});

test('serve command with machine options: the machine and guest they describe; QEMU refusals and the page limit are usage errors', async () => {
  let out = '';
  const io = { out: (t: string) => (out += t), err: (t: string) => (out += t) };
  assert.equal(await serveCommand(['--port', '0', '--machine', 'help'], io), 0);
  assert.match(out, /^pseries-4\.1$/m);
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageFailure && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(serveCommand(['--port', '0', '--machine', 'pseries,ic-mode=xive', '--cpu', 'POWER8'], io), usage(/XIVE-only machines require a POWER9 CPU/));
  await assert.rejects(serveCommand(['--port', '0', '--smp', '128,maxcpus=128'], io), usage(/the page shows at most 64 vCPUs, got 128/));
  await assert.rejects(serveCommand(['--port', '0', '--load', 'x.snap', '--cpu', 'POWER8'], io), usage(/--load takes the machine from the snapshot: drop --cpu/));

  for (const [argv, controller, model, ids] of [
    [['--cpu', 'POWER8', '--smp', '2'], 'xics', 'XICS', [0, 1]],
    [['--machine', 'pseries-4.1', '--smp', '2'], 'xive', 'XIVE', [0, 8]],
    [['--smp', '2,maxcpus=4'], 'xive', 'XIVE', [0, 1]],
  ] as const) {
    out = '';
    const running = serveCommand(['--port', '0', ...argv], io);
    const deadline = Date.now() + 5000;
    while (!out.includes('http://') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
    assert.ok(url, out);
    const st = await getState(url);
    assert.deepEqual([st.machine.controller, st.machine.guestModel, st.run.guest], [controller, model, true], argv.join(' '));
    assert.deepEqual(st.machine.cpus.map((c) => c.vcpu), ids, argv.join(' '));
    process.emit('SIGINT');
    assert.equal(await running, 0);
  }
});

test('the page in chromium on a POWER8 machine: the XICS guest runs, its counters show on the ICP and ICS tables; trigger, pause and step act', { skip: browserSkip, timeout: 60_000 }, async (t) => {
  const srv = await startServer({ port: 0, spec: { cpu: 'POWER8', smp: { cpus: 2 } } });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = pageProblems(page);
    await page.goto(srv.url);
    await page.waitForSelector('body[data-ready="1"]');
    const st = await getState(srv.url);
    assert.equal(st.machine.controller, 'xics');
    assert.equal(await page.getAttribute('body', 'data-version'), String(st.version));
    const status = (await page.textContent('#status'))!;
    assert.match(status, /^XICS · ic-mode xics · 2 vCPUs · running · XICS guest · pseries-7\.2 · POWER8$/);

    // ICP rows with the guest's counters; no rings, no queues; step is there (the guest runs).
    const heads = await page.$$eval('#cpus thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(heads, ['vCPU', 'INT', 'XIRR', 'CPPR', 'XISR', 'PP', 'MFRR', 'CPU#', 'presented', 'delivered', 'H_XIRR calls']);
    for (const c of st.machine.cpus) {
      const got = await cells(page, `#cpus tr[data-vcpu="${c.vcpu}"]`);
      assert.deepEqual(
        [got.vcpu, got.cpu, got.xirr, got.cppr, got.mfrr, got.presented, got.delivered, got.acks],
        [String(c.vcpu), String(c.cpuIndex), h8(c.icp!.xirr), h2(c.icp!.cppr), h2(c.icp!.mfrr), String(c.counters.presented), orDash(c.counters.delivered), orDash(c.counters.acks)],
      );
      assert.notEqual(got.delivered, '—', 'the guest counts on XICS too');
    }
    assert.equal(await page.isHidden('#queues-section'), true);
    assert.equal(await page.isHidden('#rings-details'), true);
    assert.equal(await page.isEnabled('#step'), true);

    // ICS rows, the guest's counters among them.
    const lisnRows = await page.$$eval('#sources tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-lisn')));
    assert.deepEqual(lisnRows, st.machine.sources.map((s) => String(s.lisn)));
    for (const s of st.machine.sources) {
      const got = await cells(page, `#sources tr[data-lisn="${s.lisn}"]`);
      assert.deepEqual(
        [got.lisn, got.kind, got.server, got.priority, got.masked, got.attempts, got.raised, got.delivered],
        [lisnText(s.lisn), s.kind.toUpperCase(), String(s.xics!.server), h2(s.xics!.priority), s.masked ? 'M' : '', String(s.counters.attempts), orDash(s.counters.raised), orDash(s.counters.delivered)],
      );
    }
    assert.equal(await page.textContent(`#sources tr[data-lisn="${0x1301}"] td[data-f="server"]`), '1');

    // Trigger an MSI routed to vCPU 1: the guest takes it at once.
    await page.click(`#sources tr[data-lisn="${0x1301}"] button.trig`);
    await waitText(page, `#sources tr[data-lisn="${0x1301}"] td[data-f="delivered"]`, (x) => x === '1');
    await waitText(page, '#cpus tr[data-vcpu="1"] td[data-f="delivered"]', (x) => x === '1');
    assert.equal(await page.textContent('#c-delivered'), String((await getState(srv.url)).machine.guest!.delivered));

    // Paused: the next one waits in vCPU 1's ICP (XISR 1301, line raised).
    await page.click('#pause');
    await page.waitForSelector('#status[data-paused="true"]');
    await page.click(`#sources tr[data-lisn="${0x1301}"] button.trig`);
    await waitText(page, '#cpus tr[data-vcpu="1"] td[data-f="xisr"]', (x) => x === '001301');
    assert.equal(await page.textContent('#cpus tr[data-vcpu="1"] td[data-f="int"]'), 'raised');
    await page.click('#step');
    await waitText(page, '#c-steps', (x) => x === '1');
    await page.waitForTimeout(1000);
    const shot = join(tmp, 'serve-power8.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000);
    t.diagnostic(`screenshot: ${shot}`);

    await page.click('#resume');
    await page.waitForSelector('#status[data-paused="false"]');
    const end = await getState(srv.url);
    assert.equal(end.machine.guest!.lost, 0);
    assert.equal(end.run.error, null);
    await waitText(page, '#c-inflight', (x) => x === '0');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});
