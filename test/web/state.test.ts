/**
 * The web view's JSON state and the live session behind it: every value the page shows must be
 * the model's own (thread-context bytes, PQ, EAS route, END queue words in guest memory), the
 * XICS form must show the ICP registers, and pause / step / trigger / resume must act on the
 * machine as described (a trigger while paused stays pending, a resume drains it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as R from '../../src/xive/regs.ts';
import * as H from '../../src/spapr/hcall.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { XicsGuest } from '../../src/guest/ops-xics.ts';
import { LiveCounters, machineView } from '../../src/web/state.ts';
import { LiveSession, SessionError } from '../../src/web/session.ts';

function bootedMachine(smp = 2): { m: SpaprMachine; g: XiveGuest; stats: LiveCounters } {
  const m = new SpaprMachine({ smp, icMode: 'xive' });
  const g = new XiveGuest(m);
  g.boot();
  m.claimIrq(0x1300, false);
  g.configureSource(0x1300, 1);
  const stats = new LiveCounters();
  m.setTrace(stats);
  return { m, g, stats };
}

test('XIVE view: rings, sources and queues are the model’s own values and survive JSON', () => {
  const { m, g, stats } = bootedMachine(2);
  g.deviceMsi(0x1300); // pending on vCPU 1: PQ 10, one queue entry, line raised
  const v = machineView(m, { guest: g, counters: stats });
  assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  assert.equal(v.controller, 'xive');

  assert.deepEqual(v.cpus.map((c) => c.vcpu), [0, 1]);
  const t1 = m.xive!.tctxById[1]!;
  const os = v.cpus[1]!.rings![1]!;
  assert.equal(os.name, 'OS');
  assert.equal(os.nsr, t1.regs[R.TM_QW1_OS + R.TM_NSR]);
  assert.equal(os.ipb, t1.regs[R.TM_QW1_OS + R.TM_IPB]);
  assert.equal(os.pipr, 6);
  assert.equal(os.w2, t1.word2(R.TM_QW1_OS));
  assert.equal(v.cpus[1]!.intLine, true);
  assert.equal(v.cpus[0]!.intLine, false);

  // Claimed sources only: the 2 IPIs, the default devices, and the MSI.
  const lisns = v.sources.map((s) => s.lisn);
  assert.deepEqual(lisns, [0, 1, 0x1000, 0x1001, 0x1100, 0x1101, 0x1200, 0x1201, 0x1202, 0x1203, 0x1300]);
  const msi = v.sources.find((s) => s.lisn === 0x1300)!;
  assert.equal(msi.kind, 'msi');
  assert.equal(msi.pq, 'P-');
  assert.equal(msi.masked, false);
  assert.equal(msi.eisn, g.source(0x1300).eisn);
  assert.deepEqual(msi.route, { endBlock: 0, endIndex: 1 * 8 + 6, endValid: true, vcpu: 1, priority: 6 });
  assert.equal(msi.counters.raised, 1);
  assert.equal(msi.counters.triggers, 1);
  const epow = v.sources.find((s) => s.lisn === 0x1000)!;
  assert.equal(epow.pq, '-Q'); // off after reset
  assert.equal(epow.masked, true);
  assert.equal(epow.route, null);
  assert.equal(v.sources.find((s) => s.lisn === 0x1200)!.kind, 'lsi');
  assert.equal(v.sources.find((s) => s.lisn === 1)!.kind, 'ipi');

  // One queue per vCPU at the guest's priority; the window ends at the entry just written.
  assert.deepEqual(v.queues.map((q) => [q.end, q.vcpu, q.priority]), [[6, 0, 6], [14, 1, 6]]);
  const q = v.queues[1]!;
  const r = m.xive!.router;
  assert.equal(q.index, r.endQueueIndex(14));
  assert.equal(q.generation, r.endGeneration(14));
  assert.equal(q.entries, r.endQueueEntries(14));
  assert.equal(q.addr, r.endQueueAddr(14));
  const last = q.window.at(-1)!;
  assert.equal(last.slot, q.index - 1);
  assert.equal(last.value, m.memory.read32(q.addr + 4 * last.slot) >>> 0);
  assert.equal(last.data, g.source(0x1300).eisn);
  assert.equal(last.gen, q.generation);
  assert.equal(q.slots.length, 64);
  assert.equal(q.slots[0], q.generation); // slot 0 holds an entry of this lap
  assert.equal(q.slots[1], -1); // far from the index: never written
  assert.deepEqual(q.consumer, { index: g.consumer(1).index, toggle: g.consumer(1).toggle });

  // The guest takes it: the queue's consumer catches up, the line drops, PQ back to 00.
  g.handleInterrupts(1);
  const v2 = machineView(m, { guest: g, counters: stats });
  assert.equal(v2.cpus[1]!.intLine, false);
  assert.equal(v2.sources.find((s) => s.lisn === 0x1300)!.pq, '--');
  assert.equal(v2.queues[1]!.consumer!.index, v2.queues[1]!.index);
  assert.equal(v2.guest!.delivered - (v.guest!.delivered), 1);
  assert.equal(v2.guest!.lost, 0);
});

test('without a guest or counters the view still builds, with the guest-only fields empty', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'xive' });
  const v = machineView(m);
  assert.equal(v.guest, null);
  assert.equal(v.queues.length, 0); // no END configured before the guest does it
  assert.equal(v.cpus[0]!.counters.delivered, null);
  assert.equal(v.sources[0]!.counters.raised, null);
  assert.equal(v.sources[0]!.counters.triggers, 0);
});

test('XICS view: ICP registers and ICS sources', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'xics' });
  const stats = new LiveCounters();
  m.setTrace(stats);
  assert.equal(m.hcall(1, H.H_CPPR, [0xffn]).ret, H.H_SUCCESS);
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1100, 1, 5], 1), [0]);
  m.pulseMsi(0x1100);
  const v = machineView(m, { counters: stats });
  assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  assert.equal(v.controller, 'xics');
  assert.equal(v.queues.length, 0);
  const c1 = v.cpus[1]!;
  assert.equal(c1.rings, null);
  assert.deepEqual(c1.icp, { xirr: 0xff00_1100, cppr: 0xff, xisr: 0x1100, pp: 5, mfrr: 0xff });
  assert.equal(c1.intLine, true);
  assert.equal(c1.hintLine, null);
  assert.equal(c1.counters.presented, 1);
  const s = v.sources.find((x) => x.lisn === 0x1100)!;
  assert.deepEqual(s.xics, { server: 1, priority: 5, savedPriority: 5, status: [] });
  assert.equal(s.masked, false);
  assert.equal(s.pq, null);
  assert.equal(s.counters.attempts, 1);
  assert.equal(s.counters.triggers, null);
  assert.deepEqual(v.sources.map((x) => x.lisn), [0x1000, 0x1001, 0x1100, 0x1101, 0x1200, 0x1201, 0x1202, 0x1203]);
  assert.equal(v.sources.find((x) => x.lisn === 0x1000)!.masked, true);
});

test('session: a trigger while paused stays pending, resume drains it, step runs the workload', () => {
  const s = new LiveSession({ smp: 2, seed: 3 });
  try {
    const v0 = s.state();
    assert.equal(v0.run.paused, false);
    assert.equal(v0.machine.guest!.lost, 0);
    // Running: the vCPUs take it at once.
    s.trigger(0x1300);
    let st = s.state();
    assert.equal(st.run.triggers, 1);
    assert.equal(st.machine.guest!.delivered, 1);
    assert.equal(st.machine.sources.find((x) => x.lisn === 0x1300)!.pq, '--');
    assert.ok(st.version > v0.version);

    s.pause();
    s.trigger(0x1300);
    st = s.state();
    const src = st.machine.sources.find((x) => x.lisn === 0x1300)!;
    assert.equal(src.pq, 'P-');
    assert.equal(st.machine.cpus[src.route!.vcpu!]!.intLine, true);
    assert.equal(st.machine.guest!.lost, 1); // in flight
    // An LSI raised by hand while paused stays asserted until handled.
    s.trigger(0x1200);
    assert.equal(s.state().machine.sources.find((x) => x.lisn === 0x1200)!.asserted, true);

    s.resume();
    st = s.state();
    assert.equal(st.machine.guest!.lost, 0);
    assert.ok(st.machine.cpus.every((c) => !c.intLine));
    assert.equal(st.machine.sources.find((x) => x.lisn === 0x1200)!.asserted, false);

    s.pause();
    s.step();
    st = s.state();
    assert.equal(st.run.steps, 1);
    assert.equal(st.run.events, 8 + 3);
    assert.equal(st.machine.guest!.lost, 3); // the tail waits for the vCPUs
    s.resume();
    assert.equal(s.state().machine.guest!.lost, 0);

    // Sources the guest does not drive get a device pulse: EPOW is off, nothing moves but the count.
    s.trigger(0x1000);
    st = s.state();
    assert.equal(st.machine.sources.find((x) => x.lisn === 0x1000)!.counters.triggers, 1);
    assert.equal(st.machine.sources.find((x) => x.lisn === 0x1000)!.pq, '-Q');

    assert.throws(() => s.trigger(0x1fff), (e: unknown) => e instanceof SessionError && /0x1fff is not a claimed source/.test(e.message));
    assert.throws(() => s.trigger(0x5000), SessionError);
  } finally {
    s.close();
  }
});

test('session: the demo loop runs batches until paused, and close stops it', async () => {
  const s = new LiveSession({ smp: 2, demo: true, intervalMs: 5, batchEvents: 50 });
  try {
    const deadline = Date.now() + 5000;
    while (s.state().run.batches < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.state().run.batches >= 3, 'the demo loop ran');
    s.pause();
    const b = s.state().run.batches;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.state().run.batches, b, 'no batch while paused');
    s.resume();
    assert.equal(s.state().machine.guest!.lost, 0, 'resume drained the tail');
    while (s.state().run.batches === b && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.state().run.batches > b, 'the loop went on after resume');
  } finally {
    s.close();
  }
  const b = s.state().run.batches;
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(s.state().run.batches, b, 'closed for good');
});

test('session on a machine without the reference guest: no step, triggers still work', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'xive' });
  const s = new LiveSession({ machine: m, demo: true });
  try {
    const st = s.state();
    assert.equal(st.run.guest, false);
    assert.equal(st.run.demo, false);
    assert.throws(() => s.step(), (e: unknown) => e instanceof SessionError && e.kind === 'conflict');
    s.trigger(0);
    assert.equal(s.state().machine.sources[0]!.counters.triggers, 1);
  } finally {
    s.close();
  }
});

test('vsmt=8 machine: vCPUs shown by id with their CPU index, the guest’s counters and queue positions found by CPU index', () => {
  const s = new LiveSession({ spec: { type: 'pseries-4.1', smp: { cpus: 4 } }, seed: 5 });
  try {
    s.pause();
    s.step();
    const st = s.state();
    const m = st.machine;
    assert.equal(m.controller, 'xive');
    assert.equal(m.guestModel, 'XIVE');
    assert.deepEqual(m.config, { machineType: 'pseries-4.1', cpu: 'power9_v2.0', cpuFamily: 'POWER9', vsmt: 8, threads: 1, accel: 'tcg', inKernelIrqchip: false });
    assert.deepEqual(m.cpus.map((c) => [c.vcpu, c.cpuIndex]), [[0, 0], [8, 1], [16, 2], [24, 3]]);
    const g = s.guest as XiveGuest;
    const stats = g.stats();
    for (const c of m.cpus) {
      assert.equal(c.counters.delivered, stats.perCpu[c.cpuIndex]!.delivered);
      assert.equal(c.counters.acks, stats.perCpu[c.cpuIndex]!.acks);
    }
    // One queue per vCPU, END = vCPU id * 8 + priority, each with the guest's read position.
    assert.deepEqual(m.queues.map((q) => [q.end, q.vcpu]), [[6, 0], [70, 8], [134, 16], [198, 24]]);
    for (const [i, q] of m.queues.entries()) assert.deepEqual(q.consumer, { index: g.consumer(i).index, toggle: g.consumer(i).toggle });
    // IPIs are the sources numbered by vCPU id, with the guest's counters.
    for (const id of [0, 8, 16, 24]) {
      const ipi = m.sources.find((x) => x.lisn === id)!;
      assert.equal(ipi.kind, 'ipi');
      assert.deepEqual(ipi.route, { endBlock: 0, endIndex: id * 8 + 6, endValid: true, vcpu: id, priority: 6 });
      assert.equal(ipi.counters.raised, g.source(id).raised);
    }
    assert.equal(m.sources.find((x) => x.lisn === 1)!.counters.raised, null, 'LISN 1 is no vCPU’s IPI here');
    s.resume();
    assert.equal(s.state().machine.guest!.lost, 0);
    // Presentations are counted on the vCPU they went to (the NVT names its id), accepts by the
    // CPU that made them: an MSI routed to CPU 1 is one more of each on the row of vCPU 8.
    const before = s.state().machine.cpus.map((c) => [c.counters.presented, c.counters.accepted]);
    s.trigger(0x1301);
    const after = s.state().machine.cpus.map((c) => [c.counters.presented, c.counters.accepted]);
    assert.deepEqual(after, before.map(([p, a], i) => (i === 1 ? [p! + 1, a! + 1] : [p, a])));
  } finally {
    s.close();
  }
});

test('POWER8 machine: the session boots the XICS guest; its counters show on the ICP and ICS views; step and trigger work', () => {
  const s = new LiveSession({ spec: { cpu: 'POWER8', smp: { cpus: 2 } }, seed: 9 });
  try {
    let st = s.state();
    assert.equal(st.run.guest, true);
    assert.equal(st.machine.controller, 'xics');
    assert.equal(st.machine.icMode, 'xics');
    assert.equal(st.machine.guestModel, 'XICS');
    assert.equal(st.machine.config.cpuFamily, 'POWER8');
    assert.equal(st.machine.queues.length, 0);
    assert.ok(s.guest instanceof XicsGuest);
    // The guest opened the CPPRs and routed the workload's sources.
    assert.ok(st.machine.cpus.every((c) => c.icp!.cppr === 0xff));
    const msi = st.machine.sources.find((x) => x.lisn === 0x1301)!;
    assert.deepEqual(msi.xics, { server: 1, priority: 5, savedPriority: 5, status: [] });
    assert.equal(msi.counters.raised, 0);

    s.trigger(0x1301);
    st = s.state();
    const after = st.machine.sources.find((x) => x.lisn === 0x1301)!;
    assert.deepEqual([after.counters.raised, after.counters.delivered, after.counters.attempts], [1, 1, 1]);
    assert.equal(st.machine.cpus[1]!.counters.delivered, 1);
    assert.equal(st.machine.cpus[1]!.counters.acks, 1, 'the H_XIRR that took it');
    assert.equal(st.machine.guest!.lost, 0);

    // Paused, a trigger waits in the ICP of its vCPU.
    s.pause();
    s.trigger(0x1301);
    st = s.state();
    assert.equal(st.machine.cpus[1]!.icp!.xisr, 0x1301);
    assert.equal(st.machine.cpus[1]!.intLine, true);
    s.step();
    assert.equal(s.state().run.steps, 1);
    s.resume();
    st = s.state();
    assert.equal(st.machine.guest!.lost, 0);
    assert.ok(st.machine.cpus.every((c) => !c.intLine));
    assert.equal(st.run.error, null);
  } finally {
    s.close();
  }
});

test('XICS machine with vsmt=8 (pseries-2.12): IPIs and source deliveries are counted on the vCPU they went to', () => {
  const s = new LiveSession({ spec: { type: 'pseries-2.12', cpu: 'POWER9', smp: { cpus: 2 } }, seed: 2 });
  try {
    s.pause();
    s.trigger(0x1301);
    let st = s.state();
    assert.deepEqual(st.machine.cpus.map((c) => [c.vcpu, c.cpuIndex]), [[0, 0], [8, 1]]);
    assert.equal(st.machine.sources.find((x) => x.lisn === 0x1301)!.xics!.server, 8);
    assert.deepEqual(st.machine.cpus.map((c) => c.counters.presented), [0, 1]);
    // An IPI from CPU 0 to CPU 1: presented to the ICP of CPU 1 too.
    s.guest!.sendIpi(0, 1);
    st = s.state();
    assert.deepEqual(st.machine.cpus.map((c) => c.counters.presented), [0, 2]);
    s.resume();
    assert.equal(s.state().machine.guest!.lost, 0);
  } finally {
    s.close();
  }
});
