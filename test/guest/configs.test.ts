/**
 * The reference guest on every kind of pseries machine QEMU 7.2 builds: VSMT-spaced vCPU ids
 * (vsmt=8, pseries-4.1 and older), the legacy XICS machine types, CPU models without XIVE
 * (POWER8, max-cpu-compat=power8), POWER10, hotplug headroom (maxcpus) and KVM with SMT. On each
 * the seeded workload must lose nothing, and what the guest tells the controllers must name vCPUs
 * by their server number (vCPU id) while it runs its own calls as a CPU index: with vsmt=8, CPU 1
 * is server 8, its IPI is LISN 8 (XIVE), its queue is END 8 * 8 + 6, and its XICS ICP is server 8.
 * Then `xive demo` and `xive monitor --boot` on the same configurations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import type { MachineSpec } from '../../src/spapr/machine-config.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { createGuest, defaultGuestMode, type GuestMode } from '../../src/guest/guest.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { XicsGuest } from '../../src/guest/ops-xics.ts';
import { runGuestWorkload } from '../../src/guest/workload.ts';
import { LINE_INT } from '../../src/ports/lines.ts';
import type { TraceEvent } from '../../src/trace/events.ts';
import { runCli } from '../support/cli.ts';

interface Config {
  /** The options as `xive demo` takes them. */
  argv: string[];
  /** The same machine as a MachineSpec. */
  spec: MachineSpec;
  icMode: 'xive' | 'xics' | 'dual';
  /** vCPU ids by CPU index. */
  ids: number[];
  irqchip: 'emulated' | 'in-kernel';
}

const CONFIGS: Config[] = [
  { argv: ['--machine', 'pseries,ic-mode=xive,vsmt=8', '--smp', '4'], spec: { icMode: 'xive', vsmt: 8, smp: { cpus: 4 } }, icMode: 'xive', ids: [0, 8, 16, 24], irqchip: 'emulated' },
  { argv: ['--machine', 'pseries-4.1', '--smp', '4'], spec: { type: 'pseries-4.1', smp: { cpus: 4 } }, icMode: 'dual', ids: [0, 8, 16, 24], irqchip: 'emulated' },
  { argv: ['--machine', 'pseries-2.12', '--cpu', 'POWER9', '--smp', '2'], spec: { type: 'pseries-2.12', cpu: 'POWER9', smp: { cpus: 2 } }, icMode: 'xics', ids: [0, 8], irqchip: 'emulated' },
  { argv: ['--cpu', 'POWER8', '--smp', '2'], spec: { cpu: 'POWER8', smp: { cpus: 2 } }, icMode: 'xics', ids: [0, 1], irqchip: 'emulated' },
  { argv: ['--cpu', 'POWER10', '--smp', '2'], spec: { cpu: 'POWER10', icMode: 'xive', smp: { cpus: 2 } }, icMode: 'xive', ids: [0, 1], irqchip: 'emulated' },
  { argv: ['--machine', 'pseries,max-cpu-compat=power8', '--smp', '2'], spec: { maxCpuCompat: 'power8', smp: { cpus: 2 } }, icMode: 'xics', ids: [0, 1], irqchip: 'emulated' },
  { argv: ['--smp', '4,maxcpus=8'], spec: { icMode: 'xive', smp: { cpus: 4, maxcpus: 8 } }, icMode: 'xive', ids: [0, 1, 2, 3], irqchip: 'emulated' },
  { argv: ['--accel', 'kvm', '--smp', '8,threads=4'], spec: { icMode: 'xive', accel: 'kvm', smp: { cpus: 8, threads: 4 } }, icMode: 'xive', ids: [0, 1, 2, 3, 4, 5, 6, 7], irqchip: 'in-kernel' },
];

/** The guest modes a machine of this ic-mode runs: the one Linux picks first. */
function modes(icMode: Config['icMode']): GuestMode[] {
  return icMode === 'dual' ? ['xive', 'xics'] : [icMode];
}

function label(c: Config): string {
  return c.argv.join(' ');
}

/** Runs `f` with the machine's trace events collected. */
function traced(m: SpaprMachine, f: () => void): TraceEvent[] {
  const events: TraceEvent[] = [];
  m.setTrace({ emit: (e) => events.push(e) });
  try {
    f();
  } finally {
    m.setTrace(null);
  }
  return events;
}

test('every configuration: the machine has the vCPU ids the guest is tested against', () => {
  for (const c of CONFIGS) {
    const m = new SpaprMachine({ spec: c.spec, devices: 'default' });
    assert.equal(m.icMode, c.icMode, label(c));
    assert.deepEqual(m.vcpus.map((i) => m.vcpuId(i)), c.ids, label(c));
  }
});

test('the seeded workload on every configuration and guest mode: nothing lost, IPIs filed by vCPU id, counters by CPU index', () => {
  for (const c of CONFIGS) {
    for (const mode of modes(c.icMode)) {
      const what = `${label(c)} (${mode} guest)`;
      const m = new SpaprMachine({ spec: c.spec, devices: 'default' });
      const g = createGuest(m, mode);
      g.boot();
      assert.deepEqual([...g.onlineCpus()], m.vcpus, what);
      const r = runGuestWorkload(m, g, { events: 3000, seed: 11 });
      assert.equal(r.lost, 0, what);
      assert.equal(r.raised, 3000, what);
      assert.equal(r.delivered + r.coalesced + ('withdrawn' in r ? (r.withdrawn as number) : 0) - r.represented, 3000, what);
      assert.equal(g.lost(), 0, what);
      // One counter row per CPU index; every vCPU took part.
      assert.equal(r.perCpu.length, m.vcpus.length, what);
      assert.ok(r.perCpu.every((x) => x.raised > 0 && x.delivered > 0), what);
      // Each vCPU's IPI is the source numbered by its vCPU id, routed to its CPU index.
      for (const cpu of m.vcpus) {
        const ipi = r.perSource.get(m.vcpuId(cpu));
        assert.ok(ipi !== undefined, `${what}: IPI of CPU ${cpu}`);
        assert.equal(ipi.kind, 'ipi', what);
        assert.equal(ipi.cpu, cpu, what);
      }
      // Nothing pending once drained, and `info pic` ends with the irqchip line.
      assert.ok(m.vcpus.every((cpu) => !m.lineLevel(cpu, LINE_INT)), what);
      assert.ok(infoPic(m).endsWith(`irqchip: ${c.irqchip}\n`), what);
    }
  }
});

test('vsmt=8, XIVE guest: CPU 1 is server 8 in every hcall target, its IPI is a trigger of LISN 8', () => {
  const m = new SpaprMachine({ spec: CONFIGS[0]!.spec, devices: 'default' });
  const g = createGuest(m, 'xive');
  assert.ok(g instanceof XiveGuest);
  const boot = traced(m, () => g.boot());
  const queues = boot.filter((e) => e.name === 'spapr_xive_set_queue_config').map((e) => Number((e as { target: bigint }).target));
  assert.deepEqual(queues, [0, 8, 16, 24]);
  const ipis = boot.filter((e) => e.name === 'spapr_xive_set_source_config').map((e) => [Number((e as { lisn: bigint }).lisn), Number((e as { target: bigint }).target)]);
  assert.deepEqual(ipis, [[0, 0], [8, 8], [16, 16], [24, 24]]);
  assert.deepEqual([...g.onlineCpus()], [0, 1, 2, 3]);
  assert.equal(g.source(8), g.cpu(1).ipi);
  assert.equal(g.hasSource(1), false, 'LISN 1 is the IPI of a vCPU id nobody has');

  // A device source routed to CPU 2 names server 16.
  m.claimIrq(0x1300, false);
  const cfg = traced(m, () => g.configureSource(0x1300, 2));
  const set = cfg.find((e) => e.name === 'spapr_xive_set_source_config') as { lisn: bigint; target: bigint } | undefined;
  assert.deepEqual([set?.lisn, set?.target], [0x1300n, 16n]);
  assert.equal(g.source(0x1300).cpu, 2);

  // CPU 0 sends CPU 1 an IPI: a store on LISN 8's trigger page, an entry in END 8 * 8 + 6,
  // NVT 0x408 notified, the thread context of CPU 1 and its line.
  const end = 8 * 8 + 6;
  const router = m.xive!.router;
  assert.equal(router.endQueueIndex(end), 0);
  const sent = traced(m, () => g.sendIpi(0, 1));
  const trig = sent.find((e) => e.name === 'xive_source_esb_write') as { srcno: number } | undefined;
  assert.equal(trig?.srcno, 8);
  assert.equal(router.endQueueIndex(end), 1);
  assert.equal(router.endQueueAddr(end), g.consumer(1).qpage);
  const nvt = sent.find((e) => e.name === 'xive_presenter_notify') as { nvtIdx: number } | undefined;
  assert.equal(nvt?.nvtIdx, 0x408);
  const notify = sent.find((e) => e.name === 'xive_tctx_notify') as { target: number } | undefined;
  assert.equal(notify?.target, 1, 'the thread context of CPU index 1');
  assert.equal(m.lineLevel(1, LINE_INT), true);
  assert.equal(m.lineLevel(0, LINE_INT), false);
  // The queue the controller reports for CPU 1 is the one the guest reads.
  assert.equal(g.queueConfig(1).qpage, g.consumer(1).qpage);
  assert.equal(g.queueConfig(1).index, 1);
  assert.equal(g.handleInterrupts(1), 1);
  assert.equal(g.source(8).delivered, 1);
  assert.equal(g.stats().perCpu[1]!.delivered, 1, 'counted under the CPU index');
  assert.equal(g.lost(), 0);
});

test('vsmt=8, XICS guest (pseries-2.12): ibm,set-xive, H_IPI and the ICPs name server 8 for CPU 1', () => {
  const m = new SpaprMachine({ spec: CONFIGS[2]!.spec, devices: 'default' });
  const g = createGuest(m, defaultGuestMode(m.icMode));
  assert.ok(g instanceof XicsGuest);
  g.boot();
  m.claimIrq(0x1300, false);
  const cfg = traced(m, () => g.configureSource(0x1300, 1));
  const writes = cfg.filter((e) => e.name === 'xics_ics_write_xive').map((e) => (e as { server: number }).server);
  // Startup set-xive, int-on (which rewrites the entry) and the affinity set-xive.
  assert.deepEqual(writes, [8, 8, 8]);
  assert.equal(g.source(0x1300).cpu, 1);

  const sent = traced(m, () => g.sendIpi(0, 1));
  // The trace names the ICP by its CPU index, as QEMU's does; H_IPOLL asks for the server.
  const check = sent.find((e) => e.name === 'xics_icp_check_ipi') as { server: number } | undefined;
  assert.equal(check?.server, 1);
  assert.deepEqual(g.poll(8), { xirr: 0xff00_0002, mfrr: 4 }, 'the request sits in server 8, presented');
  assert.equal(m.lineLevel(1, LINE_INT), true);
  assert.equal(g.handleInterrupts(1), 1);
  assert.equal(g.poll(8).mfrr, 0xff, 'CPU 1 cleared its own request (H_IPI to server 8)');
  assert.equal(g.source(8).delivered, 1);

  g.deviceMsi(0x1300);
  assert.equal(m.lineLevel(1, LINE_INT), true);
  assert.equal(g.handleInterrupts(1), 1);
  assert.equal(g.lost(), 0);
});

test('xive demo on every configuration: nothing lost, vCPU ids printed where they differ, info pic', async () => {
  for (const c of CONFIGS) {
    const r = await runCli('demo', ...c.argv, '--events', '1500', '--seed', '7');
    assert.equal(r.code, 0, `${label(c)}: ${r.err}`);
    assert.match(r.out, / lost 0\n/, label(c));
    assert.match(r.out, new RegExp(`ic-mode ${c.icMode}; the guest negotiated ${c.icMode === 'xics' ? 'XICS' : 'XIVE'} at CAS`), label(c));
    const spaced = c.ids.some((id, i) => id !== i);
    assert.equal(r.out.includes(`vCPU ids (server numbers) by CPU index: ${c.ids.join(', ')}`), spaced, label(c));
    // The IPI rows are listed under the vCPU ids, in the vCPU column their CPU index.
    for (const [cpu, id] of c.ids.entries()) assert.match(r.out, new RegExp(`^  ${id.toString(16).padStart(8, '0')}  ipi  ${String(cpu).padStart(5)} `, 'm'), label(c));
    assert.ok(r.out.endsWith(`irqchip: ${c.irqchip}\n`), label(c));
  }
});

test('xive monitor --boot on every configuration: the boot sources are routed to the vCPUs by server number', async () => {
  for (const c of CONFIGS) {
    const r = await runCli('monitor', ...c.argv, '--boot', '-c', 'trigger 0x1000', '-c', 'info pic');
    assert.equal(r.code, 0, `${label(c)}: ${r.err}`);
    assert.ok(r.out.endsWith(`irqchip: ${c.irqchip}\n`), label(c));
    if (c.icMode === 'xics') {
      // EPOW goes to CPU 0 and is presented there; the ICS covers the machine's device range.
      assert.match(r.out, /^CPU 0 XIRR=ff001000 /m, label(c));
      assert.match(r.out, /^ {2}1000 MSI 05 00$/m, label(c));
    } else {
      // XIVE: LISN 0x1001 (hot-plug) is routed to CPU 1, printed as its server / priority.
      assert.match(r.out, new RegExp(`^ {2}00001001 MSI -- {4}00000012 +${c.ids[1]}/6 `, 'm'), label(c));
      assert.match(r.out, new RegExp(`^ {2}${c.ids[1]!.toString(16).padStart(8, '0')} MSI -- {4}00000010 +${c.ids[1]}/6 `, 'm'), label(c));
    }
  }
});
