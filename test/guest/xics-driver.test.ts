/**
 * The XICS reference guest driver against the sPAPR XICS model, on ic-mode xics and dual
 * machines: boot through CAS, IPIs in every direction, the Linux 6.1 capture's IPI round trip and
 * source configuration, how MSIs and LSIs are (and are not) merged by XICS's reject/resend rules,
 * a seeded mixed workload with nothing lost and reproducible statistics, and the common guest
 * interface (createGuest, the generic workload) over both drivers.
 * Checks go through what a guest or an operator sees: hcalls, line levels, traces, `info pic`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import * as H from '../../src/spapr/hcall.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { maskPicPointers } from '../../src/xics/info-pic.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { XicsGuest, XicsGuestError } from '../../src/guest/ops-xics.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { createGuest, defaultGuestMode, type ReferenceGuest } from '../../src/guest/guest.ts';
import { drainGuest, runGuestWorkload } from '../../src/guest/workload.ts';
import { captureText } from '../support/captures.ts';

const corpus = (): string[] => captureText('xics-smp2', 'trace').split('\n');

type XicsMode = 'xics' | 'dual';
const MODES: readonly XicsMode[] = ['xics', 'dual'];

function bootedGuest(smp: number, icMode: XicsMode = 'xics'): { m: SpaprMachine; g: XicsGuest } {
  const m = new SpaprMachine({ smp, icMode });
  const g = new XicsGuest(m);
  g.boot();
  return { m, g };
}

const hex4 = (v: number): string => v.toString(16).padStart(4, ' ');

function cpuLine(m: SpaprMachine, cpu: number): string {
  const line = infoPic(m).split('\n').find((l) => l.startsWith(`CPU ${cpu} `));
  assert.ok(line !== undefined, `no info pic line for CPU ${cpu}`);
  return line;
}

function srcLine(m: SpaprMachine, irq: number): string {
  const line = infoPic(m).split('\n').find((l) => l.startsWith(`  ${hex4(irq)} `));
  assert.ok(line !== undefined, `no info pic line for irq 0x${irq.toString(16)}`);
  return line;
}

/** Every ICP idle and open (the corpus's final CPU lines), every configured source idle. */
function assertQuiescent(m: SpaprMachine, g: XicsGuest): void {
  for (const cpu of m.vcpus) {
    assert.equal(g.lineRaised(cpu), false, `vCPU ${cpu} INT line still raised`);
    assert.equal(cpuLine(m, cpu), `CPU ${cpu} XIRR=ff000000 ((nil)) PP=ff MFRR=ff`);
  }
  for (const [irq, s] of g.stats().perSource) {
    if (s.kind === 'ipi') continue;
    assert.equal(srcLine(m, irq), `  ${hex4(irq)} ${s.kind.toUpperCase()} 05 00`, `irq 0x${irq.toString(16)} idle`);
  }
}

function traced(m: SpaprMachine): TraceBuffer {
  const buf = new TraceBuffer();
  m.setTrace(buf);
  return buf;
}

const lines = (buf: TraceBuffer): string[] => buf.events.map(formatTraceEvent);

for (const icMode of MODES) {
  for (const smp of [1, 2, 4]) {
    test(`ic-mode=${icMode}, ${smp} vCPU(s): the guest negotiates XICS and opens every CPPR`, () => {
      const { m, g } = bootedGuest(smp, icMode);
      assert.equal(m.activeController(), 'xics');
      assert.equal(m.ov5Cas[23], 0);
      assert.equal(m.halted, null);
      assert.deepEqual([...g.onlineCpus()], m.vcpus);
      for (const cpu of m.vcpus) assert.deepEqual(g.poll(cpu), { xirr: 0xff00_0000, mfrr: 0xff });
      assertQuiescent(m, g);
    });

    test(`ic-mode=${icMode}, ${smp} vCPU(s): IPIs in every direction are delivered and ended`, () => {
      const { m, g } = bootedGuest(smp, icMode);
      for (const from of m.vcpus) {
        for (const to of m.vcpus) {
          g.sendIpi(from, to);
          assert.equal(g.lineRaised(to), true, `IPI ${from}->${to} raised the line`);
          assert.equal(cpuLine(m, to), `CPU ${to} XIRR=ff000002 ((nil)) PP=04 MFRR=04`);
          for (const other of m.vcpus) if (other !== to) assert.equal(g.lineRaised(other), false, `IPI ${from}->${to} left vCPU ${other} alone`);
          assert.equal(g.handleInterrupts(to), 1, `IPI ${from}->${to} handled once`);
          assert.equal(cpuLine(m, to), `CPU ${to} XIRR=ff000000 ((nil)) PP=ff MFRR=ff`);
        }
      }
      const s = g.stats();
      assert.deepEqual([s.raised, s.delivered, s.coalesced, s.lost], [smp * smp, smp * smp, 0, 0]);
      for (const cpu of m.vcpus) {
        assert.equal(s.perCpu[cpu]!.delivered, smp);
        assert.equal(s.perCpu[cpu]!.accepts, smp);
        assert.equal(s.perCpu[cpu]!.spurious, 0);
        const ipi = s.perSource.get(cpu)!;
        assert.deepEqual([ipi.kind, ipi.cpu, ipi.eisn, ipi.delivered], ['ipi', cpu, 2, smp]);
      }
      assertQuiescent(m, g);
    });
  }
}

test('boot and IPI round trips emit exactly the Linux 6.1 capture lines', () => {
  const m = new SpaprMachine({ smp: 2, icMode: 'xics' });
  const buf = traced(m);
  const g = new XicsGuest(m);
  // CAS, H_CPPR and the accounting's H_IPOLL leave nothing in the trace.
  g.boot();
  assert.deepEqual(lines(buf), []);
  g.sendIpi(0, 1);
  g.handleInterrupts(1);
  assert.deepEqual(lines(buf), [
    'xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4',
    'xics_icp_accept icp_accept: XIRR 0xff000002->0x4000000',
    'xics_icp_eoi icp_eoi: server 1 given XIRR 0xff000002 new XIRR 0xff000000',
  ]);
  g.sendIpi(1, 0);
  g.handleInterrupts(0);
  // The capture's first two round trips: to CPU 1, then to CPU 0 (after its two CAS lines).
  assert.deepEqual(lines(buf), corpus().slice(2, 8));
  assertQuiescent(m, g);
});

test('two vCPUs with IPIs pending at once take them in any order (the capture\'s C1 C0 A A E1 E0)', () => {
  const { m, g } = bootedGuest(2);
  const buf = traced(m);
  g.sendIpi(0, 1);
  g.sendIpi(1, 0);
  assert.equal(g.handleInterrupts(1), 1);
  assert.equal(g.handleInterrupts(0), 1);
  assert.deepEqual(
    lines(buf).map((l) => l.split(' ')[0]),
    ['xics_icp_check_ipi', 'xics_icp_check_ipi', 'xics_icp_accept', 'xics_icp_eoi', 'xics_icp_accept', 'xics_icp_eoi'],
  );
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('source configuration is the capture\'s ics_write_xive triple, and the capture\'s final info pic follows', () => {
  const { m, g } = bootedGuest(2);
  const buf = traced(m);
  const src = g.configureSource(0x1000, 0);
  assert.deepEqual([src.kind, src.cpu, src.eisn], ['msi', 0, 0x1000]);
  const triple = 'xics_ics_write_xive ics_write_xive: irq 0x1000 [src 0] server 0x0 prio 0x5';
  assert.deepEqual(lines(buf), [triple, triple, triple]);
  const capture = corpus();
  assert.deepEqual(lines(buf), capture.slice(74, 77));
  // The other two sources Linux requested in the capture, then every write_xive compared.
  g.configureSource(0x1001, 0);
  g.configureSource(0x1100, 0);
  const writes = (ls: string[]) => ls.filter((l) => l.startsWith('xics_ics_write_xive '));
  assert.deepEqual(lines(buf), writes(capture));
  // RTAS readback: routed to server 0 at priority 5.
  assert.deepEqual(m.rtas(0, 'ibm,get-xive', [0x1100], 3), [0, 0, 5]);
  g.sendIpi(0, 1);
  g.handleInterrupts(1);
  g.sendIpi(1, 0);
  g.handleInterrupts(0);
  const pic = captureText('xics-smp2', 'pic');
  assert.equal(infoPic(m), maskPicPointers(pic));
});

test('device MSI: delivered to its vCPU with XISR = irq and ended with the popped CPPR', () => {
  const { m, g } = bootedGuest(2);
  assert.equal(m.claimIrq(0x1300, false), true);
  g.configureSource(0x1300, 1);
  const buf = traced(m);
  g.deviceMsi(0x1300);
  assert.equal(g.lineRaised(1), true);
  assert.equal(g.lineRaised(0), false);
  assert.equal(cpuLine(m, 1), 'CPU 1 XIRR=ff001300 (0x1c5000000000) PP=05 MFRR=ff');
  assert.equal(g.handleInterrupts(1), 1);
  assert.deepEqual(lines(buf), [
    'xics_ics_set_irq_msi set_irq_msi: srcno 768 [irq 0x1300]',
    'xics_icp_irq cpu 1 trying to deliver irq 0x1300 priority 0x5',
    'xics_icp_raise raising IRQ new XIRR=0xff001300 new pending priority=0x5',
    'xics_ics_set_irq_msi set_irq_msi: srcno 768 [irq 0x1300]',
    'xics_icp_accept icp_accept: XIRR 0xff001300->0x5000000',
    'xics_icp_eoi icp_eoi: server 1 given XIRR 0xff001300 new XIRR 0xff000000',
    'xics_ics_eoi ics_eoi: irq 0x1300',
  ]);
  assert.deepEqual([g.source(0x1300).raised, g.source(0x1300).delivered], [1, 1]);
  assertQuiescent(m, g);
});

test('MSI fired again while presented: rejected, flagged REJECTED, resent once — two triggers, two deliveries', () => {
  const { m, g } = bootedGuest(2);
  m.claimIrq(0x1300, false);
  g.configureSource(0x1300, 1);
  const buf = traced(m);
  g.deviceMsi(0x1300);
  g.deviceMsi(0x1300);
  // The second one lost the tie with itself and waits in the ICS.
  assert.ok(lines(buf).includes('xics_ics_reject reject irq 0x1300 [src 768]'));
  assert.equal(srcLine(m, 0x1300), '  1300 MSI 05 04');
  let s = g.source(0x1300);
  assert.deepEqual([s.raised, s.coalesced], [2, 0]);
  // The first delivery's EOI finds the XISR empty and resends: the retry is presented at once.
  assert.equal(g.handleInterrupts(1), 2);
  s = g.source(0x1300);
  assert.deepEqual([s.raised, s.coalesced, s.delivered], [2, 0, 2]);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('a third MSI while the retry is still owed is merged: three triggers, two deliveries', () => {
  const { m, g } = bootedGuest(1);
  m.claimIrq(0x1300, false);
  g.configureSource(0x1300, 0);
  for (let i = 0; i < 3; i++) g.deviceMsi(0x1300);
  assert.equal(g.handleInterrupts(0), 2);
  const s = g.source(0x1300);
  assert.deepEqual([s.raised, s.coalesced, s.delivered], [3, 1, 2]);
  assert.equal(g.stats().perCpu[0]!.coalesced, 1);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('an IPI pushing out a presented MSI whose retry is already owed merges the two MSIs', () => {
  const { m, g } = bootedGuest(2);
  m.claimIrq(0x1300, false);
  g.configureSource(0x1300, 1);
  g.deviceMsi(0x1300); // presented on vCPU 1
  g.deviceMsi(0x1300); // rejected: REJECTED set
  const buf = traced(m);
  g.sendIpi(0, 1); // MFRR 4 beats PP 5: the presented MSI goes back, onto a bit already set
  assert.deepEqual(lines(buf), ['xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4', 'xics_ics_reject reject irq 0x1300 [src 768]']);
  assert.equal(g.handleInterrupts(1), 2, 'the IPI, then the MSI once');
  const s = g.source(0x1300);
  assert.deepEqual([s.raised, s.coalesced, s.delivered], [2, 1, 1]);
  assert.equal(g.source(1).delivered, 1);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('an IPI pushing out a presented MSI with no retry owed loses nothing: both are delivered', () => {
  const { m, g } = bootedGuest(2);
  m.claimIrq(0x1301, false);
  g.configureSource(0x1301, 1);
  g.deviceMsi(0x1301);
  g.sendIpi(0, 1);
  assert.equal(srcLine(m, 0x1301), '  1301 MSI 05 04');
  assert.equal(cpuLine(m, 1), 'CPU 1 XIRR=ff000002 ((nil)) PP=04 MFRR=04');
  assert.equal(g.handleInterrupts(1), 2);
  const s = g.stats();
  assert.deepEqual([s.raised, s.coalesced, s.delivered, s.lost], [2, 0, 2, 0]);
  assertQuiescent(m, g);
});

test('IPIs sent while the MFRR still holds a request are one doorbell', () => {
  const { m, g } = bootedGuest(2);
  g.sendIpi(0, 1);
  g.sendIpi(1, 1);
  g.sendIpi(0, 1);
  assert.equal(g.handleInterrupts(1), 1);
  const ipi = g.source(1);
  assert.deepEqual([ipi.raised, ipi.coalesced, ipi.delivered], [3, 2, 1]);
  assert.equal(g.lost(), 0);
  // An IPI sent from inside the handler, after the MFRR was cleared, is a new one.
  g.onEvent = (cpu, src) => {
    if (src.kind === 'ipi' && src.delivered === 2) g.sendIpi(cpu, cpu);
  };
  g.sendIpi(0, 1);
  assert.equal(g.handleInterrupts(1), 2);
  assert.deepEqual([ipi.raised, ipi.coalesced, ipi.delivered], [5, 2, 3]);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('LSI: re-presented after every EOI while the device keeps its line up', () => {
  const { m, g } = bootedGuest(2);
  const src = g.configureSource(0x1200, 0); // PHB 0 INTA, claimed as an LSI by the machine
  assert.equal(src.kind, 'lsi');
  const buf = traced(m);
  let runs = 0;
  g.onEvent = (cpu, s) => {
    assert.equal(cpu, 0);
    assert.equal(s.lisn, 0x1200);
    // The device keeps its line up through the first two handler runs.
    if (++runs === 3) g.deviceLsi(0x1200, false);
  };
  g.deviceLsi(0x1200, true);
  assert.equal(srcLine(m, 0x1200), '  1200 LSI 05 03', 'ASSERTED | SENT');
  assert.equal(g.handleInterrupts(0), 3);
  assert.equal(runs, 3);
  assert.deepEqual([src.raised, src.coalesced, src.delivered, src.represented], [1, 0, 3, 2]);
  assert.equal(g.stats().represented, 2);
  assert.equal(g.lost(), 0);
  assert.equal(lines(buf).filter((l) => l === 'xics_ics_eoi ics_eoi: irq 0x1200').length, 3);
  assert.equal(lines(buf).filter((l) => l.startsWith('xics_icp_irq cpu 0 trying to deliver irq 0x1200')).length, 3);
  assertQuiescent(m, g);
});

test('LSI asserted again while up is one level condition', () => {
  const { m, g } = bootedGuest(1);
  const src = g.configureSource(0x1201, 0);
  g.onEvent = (_cpu, s) => g.deviceLsi(s.lisn, false);
  g.deviceLsi(0x1201, true);
  g.deviceLsi(0x1201, true);
  assert.deepEqual([src.raised, src.coalesced], [2, 1]);
  assert.equal(g.handleInterrupts(0), 1);
  assert.deepEqual([src.delivered, src.represented], [1, 0]);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('LSI dropped before the guest took it: delivered if latched, withdrawn if waiting or pushed out', () => {
  const { m, g } = bootedGuest(2);
  m.claimIrq(0x1300, false);
  g.configureSource(0x1300, 0);
  const lsi = g.configureSource(0x1201, 0);
  // Latched in the XISR, then dropped: lowering the level never takes back a presentation.
  g.deviceLsi(0x1201, true);
  g.deviceLsi(0x1201, false);
  assert.equal(cpuLine(m, 0), 'CPU 0 XIRR=ff001201 (0x1c5000000000) PP=05 MFRR=ff');
  assert.equal(g.handleInterrupts(0), 1);
  assert.deepEqual([lsi.raised, lsi.delivered, lsi.withdrawn], [1, 1, 0]);
  // Refused (the MSI holds the XISR at the same priority), then dropped while waiting.
  g.deviceMsi(0x1300);
  g.deviceLsi(0x1201, true);
  assert.equal(srcLine(m, 0x1201), '  1201 LSI 05 01', 'ASSERTED, not SENT: waiting for a resend');
  g.deviceLsi(0x1201, false);
  assert.equal(g.handleInterrupts(0), 1, 'only the MSI');
  assert.deepEqual([lsi.raised, lsi.delivered, lsi.withdrawn], [2, 1, 1]);
  // Latched, dropped, then pushed out by an IPI: nothing will resend a level that is down.
  g.deviceLsi(0x1201, true);
  g.deviceLsi(0x1201, false);
  g.sendIpi(1, 0);
  assert.equal(g.handleInterrupts(0), 1, 'only the IPI');
  assert.deepEqual([lsi.raised, lsi.delivered, lsi.withdrawn], [3, 1, 2]);
  const s = g.stats();
  assert.equal(s.withdrawn, 2);
  assert.equal(s.perCpu[0]!.withdrawn, 2);
  assert.equal(s.lost, 0);
  assertQuiescent(m, g);
});

test('an interrupt from a source the guest never configured is masked and ended, as Linux does', () => {
  const { m, g } = bootedGuest(1);
  m.claimIrq(0x1305, false);
  // Enabled behind the driver's back.
  assert.deepEqual(m.rtas(0, 'ibm,set-xive', [0x1305, 0, 5], 1), [0]);
  m.pulseMsi(0x1305);
  assert.equal(g.handleInterrupts(0), 0);
  const c = g.stats().perCpu[0]!;
  assert.deepEqual([c.unknown, c.accepts, c.delivered], [1, 1, 0]);
  assert.equal(srcLine(m, 0x1305), '  1305 MSI ff 00');
  assert.deepEqual(m.rtas(0, 'ibm,get-xive', [0x1305], 3), [0, 0, 0xff]);
  assert.equal(cpuLine(m, 0), 'CPU 0 XIRR=ff000000 ((nil)) PP=ff MFRR=ff');
  m.pulseMsi(0x1305); // masked now: latched as MASKED_PENDING, never presented
  assert.equal(g.lineRaised(0), false);
  assert.equal(g.lost(), 0);
});

test('a hot-plugged vCPU brought up after boot takes IPIs like the others', () => {
  const m = new SpaprMachine({ smp: 1, maxCpus: 2, icMode: 'dual' });
  const g = new XicsGuest(m);
  g.boot();
  m.plugCpu(1);
  assert.throws(() => g.sendIpi(0, 1), /vCPU 1 is not up/);
  g.bringUpCpu(1);
  g.sendIpi(0, 1);
  g.sendIpi(1, 0);
  assert.equal(g.handleInterrupts(1), 1);
  assert.equal(g.handleInterrupts(0), 1);
  assert.equal(g.lost(), 0);
  assertQuiescent(m, g);
});

test('refused calls are reported with their name and status', () => {
  assert.throws(() => new XicsGuest(new SpaprMachine({ smp: 1, icMode: 'xive' })).boot(), /CAS refused legacy XICS: Guest requested unavailable interrupt mode \(XICS\)/);
  const m = new SpaprMachine({ smp: 1, icMode: 'dual' });
  const g = new XicsGuest(m);
  assert.throws(() => g.configureSource(0x1300, 0), XicsGuestError, 'configureSource before boot');
  g.boot();
  assert.throws(() => g.configureSource(0x2000, 0), /ibm,get-xive\(0x2000\) on vCPU 0 failed with RTAS status -3/);
  assert.throws(() => g.configureSource(0x2, 0), /not a device interrupt/);
  assert.throws(() => g.sendIpi(0, 3), /vCPU 3 is not up/);
  assert.throws(() => g.deviceMsi(0x1300), /irq 0x1300 is not configured/);
  // The machine switched to XIVE behind the guest's back: every XICS call now fails.
  assert.equal(m.cas(0x40).ok, true);
  assert.throws(() => g.sendIpi(0, 0), /H_IPOLL\(0x0\) on vCPU 0 failed with H_HARDWARE \(-1\)/);
  assert.throws(() => g.configureSource(0x1001, 0), /ibm,get-xive\(0x1001\) on vCPU 0 failed with RTAS status -1/);
  assert.equal(m.hcall(0, H.H_IPI, [0n, 4n]).ret, H.H_HARDWARE);
  assert.throws(() => new XicsGuest(m, { priority: 0xff }), /priority must be 0..0xfe/);
});

for (const icMode of MODES) {
  for (const smp of [1, 2, 4]) {
    test(`seeded workload of 2000 events, ic-mode=${icMode}, ${smp} vCPU(s): nothing lost, reproducible`, () => {
      const run = (seed: number, mode: XicsMode = icMode) => {
        const { m, g } = bootedGuest(smp, mode);
        const stats = runGuestWorkload(m, g, { events: 2000, seed });
        return { m, g, stats };
      };
      const { m, g, stats } = run(0x5eed);
      assert.equal(stats.events, 2000);
      assert.equal(stats.raised, 2000);
      assert.equal(stats.lost, 0);
      assert.equal(stats.represented, 0, 'LSI handlers drop their line before the EOI');
      assert.equal(stats.withdrawn, 0, 'lines only drop in their handler');
      assert.equal(stats.delivered + stats.coalesced, 2000);
      assert.ok(stats.coalesced > 0, 'the schedule produced some merging');
      assert.ok(stats.handleSteps > 0);
      const kinds = new Set([...stats.perSource.values()].filter((s) => s.raised > 0).map((s) => s.kind));
      assert.deepEqual([...kinds].sort(), ['ipi', 'lsi', 'msi']);
      const merged = new Set([...stats.perSource.values()].filter((s) => s.coalesced > 0).map((s) => s.kind));
      assert.ok(merged.has('ipi') && merged.has('msi'), `merges seen for ${[...merged].join(', ')}`);
      let cpuDelivered = 0;
      let cpuRaised = 0;
      for (const c of stats.perCpu) {
        cpuDelivered += c.delivered;
        cpuRaised += c.raised;
        assert.equal(c.unknown, 0);
      }
      assert.equal(cpuDelivered, stats.delivered);
      assert.equal(cpuRaised, stats.raised);
      for (const s of stats.perSource.values()) {
        assert.equal(s.raised + s.represented - s.coalesced - s.withdrawn, s.delivered, `irq 0x${s.lisn.toString(16)} accounting`);
      }
      assert.equal(g.lost(), 0);
      assertQuiescent(m, g);

      const again = run(0x5eed);
      assert.deepStrictEqual(again.stats, stats, 'same seed, same statistics');
      assert.equal(infoPic(again.m), infoPic(m), 'same seed, same controller state');
      const other = run(0x5eed + 1);
      assert.notDeepStrictEqual(other.stats, stats, 'another seed, another schedule');
      assert.equal(other.stats.lost, 0);
      // The same XICS runs behind both ic-modes once the guest chose it.
      const otherMode = run(0x5eed, icMode === 'xics' ? 'dual' : 'xics');
      assert.deepStrictEqual(otherMode.stats, stats, 'xics and dual machines behave the same');
    });
  }
}

test('a workload can follow earlier traffic on the same guest; its stats cover its own run', () => {
  const { m, g } = bootedGuest(2);
  g.sendIpi(0, 1);
  g.sendIpi(0, 1);
  const first = runGuestWorkload(m, g, { events: 300, seed: 7, msiSources: [0x1310], lsiSources: 1 });
  assert.equal(first.raised, 300);
  assert.equal(first.lost, 0);
  const second = runGuestWorkload(m, g, { events: 300, seed: 8, msiSources: [0x1310], lsiSources: 1 });
  assert.equal(second.raised, 300);
  assert.equal(second.lost, 0);
  assert.equal(g.stats().raised, 602);
  assert.equal(g.lost(), 0);
  drainGuest(g);
  assertQuiescent(m, g);
  assert.throws(() => runGuestWorkload(m, g, { events: 10, seed: 1, lsiSources: [0x1310] }), /source 0x1310 is msi, asked for an LSI/);
});

test('createGuest picks the driver; both drivers satisfy ReferenceGuest', () => {
  const xicsM = new SpaprMachine({ smp: 2, icMode: 'dual' });
  const xics = createGuest(xicsM, 'xics');
  assert.ok(xics instanceof XicsGuest);
  const xiveM = new SpaprMachine({ smp: 2, icMode: 'dual' });
  const xive = createGuest(xiveM, 'xive');
  assert.ok(xive instanceof XiveGuest);
  assert.throws(() => createGuest(new SpaprMachine({ smp: 1, icMode: 'xive' }), 'xics'), /no XICS/);
  assert.throws(() => createGuest(new SpaprMachine({ smp: 1, icMode: 'xics' }), 'xive'), /no XIVE/);
  assert.deepEqual((['xics', 'xive', 'dual'] as const).map(defaultGuestMode), ['xics', 'xive', 'xive']);
  const guests: ReferenceGuest[] = [xics, xive];
  for (const g of guests) {
    g.boot();
    const seen: string[] = [];
    g.onEvent = (cpu, s) => seen.push(`${cpu}:${s.kind}:${s.lisn.toString(16)}`);
    g.machine.claimIrq(0x1300, false);
    g.configureSource(0x1300, 1);
    g.sendIpi(0, 1);
    g.deviceMsi(0x1300);
    drainGuest(g);
    assert.deepEqual(seen.sort(), ['1:ipi:1', '1:msi:1300']);
    assert.equal(g.lost(), 0);
  }
  assert.equal(xicsM.activeController(), 'xics');
  assert.equal(xiveM.activeController(), 'xive');
});

test('the generic workload on the XIVE guest reports exactly what runGuestWorkload reports', () => {
  const a = new SpaprMachine({ smp: 3, icMode: 'xive' });
  const ga = new XiveGuest(a);
  ga.boot();
  const b = new SpaprMachine({ smp: 3, icMode: 'xive' });
  const gb = createGuest(b, 'xive');
  gb.boot();
  const viaGeneric = runGuestWorkload(b, gb, { events: 1000, seed: 42 });
  const viaXive = runGuestWorkload(a, ga, { events: 1000, seed: 42 });
  assert.deepStrictEqual(viaGeneric, viaXive);
  assert.equal(infoPic(b), infoPic(a));
});
