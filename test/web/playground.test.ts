/**
 * The playground's model side: its timeline (a seek restores the nearest checkpoint and replays
 * forward, and must give exactly the machine a plain replay has at that event, across resets,
 * CAS and CPU hot-plug), the machine options a page gives, and the worker's requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capture, captureText } from '../support/captures.ts';
import { replayTrace } from '../../src/replay/replay.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { ReplayTimeline } from '../../src/web/timeline.ts';
import { LiveCounters, machineView, type MachineView } from '../../src/web/state.ts';
import { PlaygroundHost, type LiveFrame, type ReplayOutcome, type WorkerMessage } from '../../src/web/worker.ts';
import { pageMachine } from '../../src/web/machine-choice.ts';
import type { TimelineFrame } from '../../src/web/timeline.ts';
import type { MachineSpec } from '../../src/spapr/machine-config.ts';

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
