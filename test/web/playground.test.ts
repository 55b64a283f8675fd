/**
 * The static playground (dist/web): its timeline (a seek restores the nearest checkpoint and
 * replays forward, and must give exactly the machine a plain replay has at that event, across
 * resets, CAS and CPU hot-plug), the worker's requests, the build (a Node.js built-in in the
 * page's import graph fails it), and the built page in a real browser — Debian's chromium driven
 * by playwright-core, served by a bare static file server with no API: boot a machine from the
 * query string, replay a QEMU trace through the file input and by drag and drop, compare the
 * final `info pic` with QEMU's byte for byte, seek and step on the timeline, watch the live
 * guest's counters move.
 *
 * The browser test is skipped, with a message, where /usr/bin/chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { browserSkip, launchBrowser, pageProblems, waitText } from '../support/browser.ts';
import { capture, capturePath, captureText } from '../support/captures.ts';
import { replayTrace } from '../../src/replay/replay.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { ReplayTimeline } from '../../src/web/timeline.ts';
import { LiveCounters, machineView, type MachineView } from '../../src/web/state.ts';
import { PlaygroundHost, type LiveFrame, type ReplayOutcome, type WorkerMessage } from '../../src/web/worker.ts';
import { pageMachine } from '../../src/web/machine-choice.ts';
import type { TimelineFrame } from '../../src/web/timeline.ts';
import type { MachineSpec } from '../../src/spapr/machine-config.ts';

const tmp = mkdtempSync(join(tmpdir(), 'xive-play-'));

/** scripts/build-web.mjs, a plain script (no type declarations): what the tests use of it. */
interface BuildScript {
  buildWeb(opts: { outdir: string; logLevel?: string }): Promise<{ file: string; bytes: number }[]>;
  noNodeBuiltins: Plugin;
}
const buildScript = (): Promise<BuildScript> => import(pathToFileURL(join(import.meta.dirname, '../../scripts/build-web.mjs')).href) as Promise<BuildScript>;

/** The views and `info pic` a plain replay (no checkpoint, no stop) has at the given events. */
function reference(text: string, spec: MachineSpec, events: readonly number[]): Map<number, { view: MachineView; pic: string }> {
  const want = new Set(events);
  const last = Math.max(...events);
  const out = new Map<number, { view: MachineView; pic: string }>();
  const counters = new LiveCounters();
  const r = replayTrace(text, {
    spec,
    tap: counters,
    onProgress: (at) => {
      if (want.has(at.replayed)) out.set(at.replayed, { view: machineView(at.machine, { counters }), pic: infoPic(at.machine) });
      return at.replayed < last;
    },
  });
  assert.equal(r.status, 'ok');
  if (!out.has(r.replayed)) out.set(r.replayed, { view: machineView(r.machine!, { counters }), pic: r.pic });
  return out;
}

test('timeline: a seek gives the machine a plain replay has at that event (XIVE, a reset with CAS twice, XICS hot-plug and unplug)', () => {
  for (const name of ['xive-smp2', 'p72-dual-reset', 'p72-xics-unplug']) {
    const c = capture(name);
    const text = captureText(c, 'trace');
    let calls = 0;
    let last = -1;
    const tl = new ReplayTimeline(text, {
      spec: c.spec,
      every: 500,
      onProgress: (line, lines) => {
        assert.ok(line >= last && line <= lines, `${name}: progress ${line} of ${lines} after ${last}`);
        last = line;
        calls++;
      },
    });
    const s = tl.run();
    assert.equal(s.status, 'ok', name);
    assert.equal(s.lines, text.split('\n').length - 1, name);
    assert.equal(last, s.lines, `${name}: the last progress report is the end`);
    assert.ok(calls > 10 && calls < 400, `${name}: ${calls} progress reports`);
    assert.equal(s.checkpoints, Math.floor((s.events - 1) / 500) + 1, name);
    assert.equal(tl.run(), s, 'a second run answers the same summary');
    const n = s.events;
    const targets = [0, 1, 499, 500, 501, Math.floor(n / 3), Math.floor(n / 2) + 7, Math.floor((n * 5) / 6), n - 1, n];
    const ref = reference(text, c.spec, targets);
    // Out of order on purpose: a seek depends on no earlier one.
    for (const e of [...targets].reverse()) {
      const f = tl.seek(e);
      assert.equal(f.event, e);
      assert.equal(f.events, n);
      assert.equal(f.pic, ref.get(e)!.pic, `${name}: info pic at event ${e}`);
      assert.deepEqual(f.view, ref.get(e)!.view, `${name}: view at event ${e}`);
      assert.equal(f.line === null, e === 0);
    }
    assert.equal(tl.seek(-5).event, 0);
    assert.equal(tl.seek(n + 100).event, n);
    assert.equal(tl.seek(Number.NaN).event, 0);
  }
  const gold = captureText('xive-smp2', 'pic');
  const tl = new ReplayTimeline(captureText('xive-smp2', 'trace'), { spec: capture('xive-smp2').spec });
  assert.equal(tl.seek(tl.run().events).pic, gold);
  const lines = captureText('xive-smp2', 'trace').split('\n');
  const f = tl.seek(1);
  assert.equal(f.text, lines[f.line! - 1], 'the frame names the line of its action');
});

test('timeline: a log that cannot be replayed has no events; a divergence ends the timeline', () => {
  const bad = new ReplayTimeline('hello\nworld\n', { spec: {} });
  const s = bad.run();
  assert.equal(s.status, 'unusable');
  assert.match(s.reason!, /no QEMU trace events/);
  assert.equal(s.events, 0);
  assert.throws(() => bad.seek(0), /could not be replayed/);

  // The first ESB load of the log answers a value the model does not give.
  const lines = captureText('xive-smp2', 'trace').split('\n');
  const k = lines.findIndex((l) => /xive_source_esb_read .* val=0x[0-3]$/.test(l));
  assert.ok(k > 0);
  lines[k] = lines[k]!.replace(/val=0x[0-3]$/, 'val=0x7');
  const tl = new ReplayTimeline(lines.slice(0, k + 50).join('\n'), { spec: capture('xive-smp2').spec });
  const d = tl.run();
  assert.equal(d.status, 'diverged');
  assert.equal(d.divergence!.line, k + 1);
  assert.equal(tl.seek(d.events).pic, infoPic(replayTrace(lines.slice(0, k + 50).join('\n'), { spec: capture('xive-smp2').spec }).machine!));
  assert.equal(tl.seek(d.events - 1).event, d.events - 1);
});

test('page machine options: the defaults of xive serve, QEMU syntax, refusals with their message', () => {
  assert.deepEqual(pageMachine({}).spec, { smp: { cpus: 4 }, icMode: 'xive' });
  assert.deepEqual(pageMachine({ machine: 'pseries,ic-mode=xive', smp: '2' }).spec, { type: 'pseries', icMode: 'xive', smp: { cpus: 2 } });
  assert.deepEqual(pageMachine({ cpu: 'POWER8', smp: '2' }).spec, { cpu: 'POWER8', smp: { cpus: 2 } });
  assert.equal(pageMachine({ machine: 'pseries-4.1' }).config.vsmt, 8);
  assert.equal(pageMachine({ machine: 'pseries-4.1' }).config.icMode, 'dual');
  const c = pageMachine({ smp: '2,maxcpus=4', device: ['spapr-pci-host-bridge,index=1'], 'ic-mode': 'dual' }).config;
  assert.deepEqual([c.smp.cpus, c.smp.maxCpus, c.phbs.length, c.icMode], [2, 4, 2, 'dual']);
  assert.equal(pageMachine({ smp: '2', 'max-cpus': '8' }).config.smp.maxCpus, 8);
  assert.throws(() => pageMachine({ smp: '65' }), /smp must be an integer in 1\.\.64/);
  assert.throws(() => pageMachine({ smp: '128,maxcpus=128' }), /the page shows at most 64 vCPUs, got 128/);
  assert.throws(() => pageMachine({ machine: 'pseries,ic-mode=xive', cpu: 'POWER8' }), /XIVE-only machines require a POWER9 CPU/);
  assert.throws(() => pageMachine({ machine: 'pseries,ic-mode=xics', 'ic-mode': 'xive' }), /contradicts/);
  assert.throws(() => pageMachine({ 'ic-mode': 'both' }), /ic-mode must be one of xics, xive, dual/);
  assert.throws(() => pageMachine({ machine: 'pseries-1.0' }), /unsupported machine type 'pseries-1\.0'/);
});

/** The worker's host, driven as the page drives it; answers collected in order. */
function host(): { ask(req: object): Promise<unknown>; progress: { line: number; lines: number }[] } {
  const posted: WorkerMessage[] = [];
  const h = new PlaygroundHost((m) => posted.push(m));
  let id = 0;
  const progress: { line: number; lines: number }[] = [];
  return {
    progress,
    async ask(req) {
      const my = ++id;
      await h.receive({ id: my, ...req });
      const answers = posted.splice(0);
      for (const a of answers) if ('progress' in a) progress.push(a.progress);
      const a = answers.find((x) => !('progress' in x) && x.id === my) as Extract<WorkerMessage, { ok: boolean }> | undefined;
      assert.ok(a !== undefined, `an answer to ${JSON.stringify(req)}`);
      if (!a.ok) throw new Error(a.error);
      return a.value;
    },
  };
}

test('worker requests: catalog, boot, step, trigger, replay with progress, seek; refusals are messages', async () => {
  const w = host();
  const cat = (await w.ask({ op: 'catalog' })) as { machineTypes: string[]; cpus: string[] };
  assert.ok(cat.machineTypes.includes('pseries-4.1') && cat.cpus.includes('POWER9'));
  await assert.rejects(w.ask({ op: 'state' }), /no machine is booted/);
  await assert.rejects(w.ask({ op: 'seek', event: 3 }), /no trace has been replayed/);
  await assert.rejects(w.ask({ op: 'boot', args: { cpu: 'POWER7', machine: 'pseries,ic-mode=xive' } }), /XIVE-only machines require a POWER9 CPU/);
  await assert.rejects(w.ask({ op: 'frobnicate' }), /unknown request 'frobnicate'/);

  let f = (await w.ask({ op: 'boot', args: { machine: 'pseries,ic-mode=xive', smp: '2' } })) as LiveFrame;
  assert.equal(f.state.machine.controller, 'xive');
  assert.equal(f.state.machine.guestModel, 'XIVE');
  assert.match(f.pic, /^CPU\[0000\]: +QW +NSR/);
  assert.deepEqual(JSON.parse(JSON.stringify(f)), f, 'plain data');
  f = (await w.ask({ op: 'step' })) as LiveFrame;
  assert.equal(f.state.run.steps, 1);
  f = (await w.ask({ op: 'trigger', irq: 0x1300 })) as LiveFrame;
  assert.equal(f.state.run.triggers, 1);
  await assert.rejects(w.ask({ op: 'trigger', irq: 0x1fff }), /0x1fff is not a claimed source/);

  const out = (await w.ask({ op: 'replay', trace: captureText('xive-smp2', 'trace'), name: 'xive-smp2.trace', args: { machine: 'pseries,ic-mode=xive', smp: '2' } })) as ReplayOutcome;
  assert.equal(out.summary.status, 'ok');
  assert.equal(out.frame!.pic, captureText('xive-smp2', 'pic'));
  assert.ok(w.progress.length > 10);
  assert.equal(w.progress.at(-1)!.line, w.progress.at(-1)!.lines);
  const mid = (await w.ask({ op: 'seek', event: 1234 })) as TimelineFrame;
  assert.equal(mid.event, 1234);
  assert.notEqual(mid.pic, out.frame!.pic);
  // A Blob as the page sends it, on a machine the log was not recorded on.
  const wrong = (await w.ask({ op: 'replay', trace: new Blob([captureText('xive-smp2', 'trace')]), args: { smp: '4' } })) as ReplayOutcome;
  assert.equal(wrong.summary.status, 'unusable');
  assert.match(wrong.summary.reason!, /recorded with 2 possible vCPUs/);
  assert.equal(wrong.frame, null);
  // The live machine is still there.
  assert.equal(((await w.ask({ op: 'state' })) as LiveFrame).state.run.steps, 1);
});

test('build: a Node.js built-in in the import graph fails it, naming the importer', async () => {
  const { noNodeBuiltins } = await buildScript();
  const entry = join(tmp, 'uses-fs.js');
  writeFileSync(entry, "import { readFileSync } from 'node:fs';\nimport 'os';\nexport const f = readFileSync;\n");
  await assert.rejects(
    build({ entryPoints: [entry], bundle: true, platform: 'browser', write: false, logLevel: 'silent', plugins: [noNodeBuiltins] }),
    (e: Error & { errors?: { text: string }[] }) => {
      const texts = (e.errors ?? []).map((x) => x.text).join('\n');
      return /Node\.js built-in 'node:fs' imported by .*uses-fs\.js/.test(texts) && /Node\.js built-in 'os'/.test(texts);
    },
  );
});

/** A bare static file server: files of `dir`, 404 for anything else (no API). */
async function staticServer(dir: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file) || types[extname(file)] === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)]! });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const h2 = (v: number) => v.toString(16).padStart(2, '0');

test('the built playground in chromium: boot from the query, replay a trace, seek, drag and drop, live counters', { skip: browserSkip, timeout: 60_000 }, async (t) => {
  const dir = join(tmp, 'web');
  const files = await (await buildScript()).buildWeb({ outdir: dir, logLevel: 'silent' });
  assert.deepEqual(files.map((f) => f.file).filter((f) => !f.endsWith('.map')).sort(), ['app.js', 'worker.js']);
  for (const f of ['index.html', 'style.css']) assert.ok(existsSync(join(dir, f)), f);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, /<script type="module" src="app\.js">/);
  assert.match(html, /<meta name="xive-backend" content="worker">/);

  const { url, server } = await staticServer(dir);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = pageProblems(page);
    await page.goto(`${url}?machine=pseries,ic-mode=xive&smp=2`);
    await page.waitForSelector('body[data-ready="1"]');
    assert.equal(await page.getAttribute('body', 'data-backend'), 'worker');
    assert.deepEqual(
      await page.$$eval('#machine-form select, #machine-form input:not([type=checkbox])', (els) => els.map((e) => [e.id, (e as unknown as { value: string }).value])),
      [['m-type', 'pseries'], ['m-icmode', 'xive'], ['m-vsmt', ''], ['m-compat', ''], ['m-irqchip', ''], ['m-cpu', ''], ['m-smp', '2'], ['m-phbs', ''], ['m-accel', '']],
    );
    assert.match((await page.textContent('#status'))!, /^XIVE · ic-mode xive · 2 vCPUs · running · XIVE guest · pseries-7\.2 · POWER9$/);
    assert.deepEqual(await page.$$eval('#cpus tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-vcpu'))), ['0', '1']);

    // Replay through the file input: verdict, then QEMU's own info pic, byte for byte.
    await page.setInputFiles('[data-testid=trace-input]', capturePath('xive-smp2', 'trace'));
    await waitText(page, '[data-testid=replay-status]', (x) => x === 'no divergence' || /divergence at|unusable|failed/.test(x));
    assert.equal(await page.textContent('[data-testid=replay-status]'), 'no divergence');
    assert.equal(await page.textContent('[data-testid=info-pic]'), captureText('xive-smp2', 'pic'));
    assert.equal(await page.getAttribute('body', 'data-mode'), 'trace');
    const events = Number(await page.textContent('#tl-events'));
    assert.equal(await page.getAttribute('body', 'data-event'), String(events));

    // Seek: the tables and info pic are those of a replay stopped at that event.
    const spec = capture('xive-smp2').spec;
    const at = 3000;
    const ref = reference(captureText('xive-smp2', 'trace'), spec, [at, at + 1]);
    await page.fill('[data-testid=seek]', String(at));
    await page.press('[data-testid=seek]', 'Enter');
    await page.waitForSelector(`body[data-event="${at}"]`);
    const pic = (await page.textContent('[data-testid=info-pic]'))!;
    assert.notEqual(pic, captureText('xive-smp2', 'pic'));
    assert.equal(pic, ref.get(at)!.pic);
    for (const c of ref.get(at)!.view.cpus) {
      const os = c.rings![1]!;
      const got = await page.$$eval(`#cpus tr[data-vcpu="${c.vcpu}"] td[data-f]`, (tds) => Object.fromEntries(tds.map((td) => [td.getAttribute('data-f'), td.textContent])));
      assert.deepEqual([got.nsr, got.cppr, got.ipb, got.pipr, got.presented], [h2(os.nsr), h2(os.cppr), h2(os.ipb), h2(os.pipr), String(c.counters.presented)]);
    }
    const pqs = await page.$$eval('#sources tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-lisn'), tr.querySelector('td[data-f="pq"]')?.textContent]));
    assert.deepEqual(pqs, ref.get(at)!.view.sources.map((s) => [String(s.lisn), s.pq]));
    const lines = captureText('xive-smp2', 'trace').split('\n');
    const lineText = (await page.textContent('[data-testid=trace-line]'))!;
    const m = /^line (\d+): (.*)$/.exec(lineText);
    assert.ok(m !== null, lineText);
    assert.equal(m[2], lines[Number(m[1]) - 1]);
    // One step forward.
    await page.click('#tl-next');
    await page.waitForSelector(`body[data-event="${at + 1}"]`);
    assert.equal(await page.textContent('[data-testid=info-pic]'), ref.get(at + 1)!.pic);

    // Drag and drop: the head of the log, dropped on the page, is replayed on the same machine.
    const head = lines.slice(0, 400).join('\n') + '\n';
    const expected = replayTrace(head, { spec });
    assert.equal(expected.status, 'ok');
    // Built in the page (the test's own TypeScript has no DOM types).
    const drop = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(head)}], 'head.trace', { type: 'text/plain' }));
      return dt;
    })()`);
    await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer: drop });
    await waitText(page, '#tl-events', (x) => x === String(expected.replayed));
    assert.equal(await page.textContent('[data-testid=replay-status]'), 'no divergence');
    assert.equal(await page.textContent('[data-testid=info-pic]'), expected.pic);
    await page.waitForTimeout(1000);
    const shot = join(tmp, 'playground-trace.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);

    // Back to a live machine: boot again with the demo workload; its counters move on their own.
    await page.check('#m-demo');
    await page.click('#boot');
    await page.waitForSelector('body[data-mode="live"]');
    await waitText(page, '#status', (x) => x.includes('running (demo workload)'));
    assert.match(page.url(), /\?machine=pseries,ic-mode=xive&smp=2&demo=1$/);
    const first = Number(await page.textContent('#c-events'));
    await waitText(page, '#c-events', (x) => Number(x) > first);
    await page.click('#pause');
    await page.waitForSelector('#status[data-paused="true"]');
    const steps = Number(await page.textContent('#c-steps'));
    await page.click('#step');
    await waitText(page, '#c-steps', (x) => Number(x) === steps + 1);
    assert.equal(await page.isHidden('[data-testid=info-pic]'), false);
    assert.match((await page.textContent('[data-testid=info-pic]'))!, /^CPU\[0000\]: +QW +NSR/);
    // A refusal is shown next to the form; the machine stays.
    await page.selectOption('#m-cpu', 'POWER8');
    await page.click('#boot');
    await waitText(page, '#m-error', (x) => x !== '');
    assert.match((await page.textContent('#m-error'))!, /XIVE-only machines require a POWER9 CPU/);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});
