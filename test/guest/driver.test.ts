/**
 * The guest core over its two operations tables: the driver is picked from the CAS answer (once,
 * by createGuest, or forced by constructing one driver), the core reports errors in the terms and
 * error class of its ops, and a driver resumed through the checkpoint hooks carries on exactly as
 * the one it was saved from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { GuestError } from '../../src/guest/driver.ts';
import { XiveGuest, XiveGuestError, XiveOps } from '../../src/guest/ops-xive.ts';
import { XicsGuest, XicsGuestError, XicsOps } from '../../src/guest/ops-xics.ts';
import { createGuest, type GuestMode } from '../../src/guest/guest.ts';
import { runGuestWorkload } from '../../src/guest/workload.ts';
import { readCheckpoint, writeCheckpoint } from '../../src/guest/checkpoint.ts';

/** A dual machine that counts the guest's CAS calls. */
function countingCas(): { m: SpaprMachine; calls: number[] } {
  const m = new SpaprMachine({ smp: 2, icMode: 'dual' });
  const calls: number[] = [];
  const cas = m.cas.bind(m);
  m.cas = (b: number) => {
    calls.push(b);
    return cas(b);
  };
  return { m, calls };
}

test('createGuest asks once at CAS and the answer picks the driver; boot does not ask again', () => {
  for (const [mode, byte, Driver] of [['xics', 0x00, XicsGuest], ['xive', 0x40, XiveGuest]] as const) {
    const { m, calls } = countingCas();
    const g = createGuest(m, mode);
    assert.ok(g instanceof Driver, mode);
    assert.deepEqual(calls, [byte]);
    assert.equal(m.ov5Cas[23], byte);
    g.boot();
    assert.deepEqual(calls, [byte], 'boot() keeps the negotiated answer');
    assert.deepEqual([...g.onlineCpus()], [0, 1]);
    assert.throws(() => g.boot(), /boot\(\) called twice/);
  }
  // A forced driver asks at boot.
  const { m, calls } = countingCas();
  new XicsGuest(m).boot();
  assert.deepEqual(calls, [0]);
});

test('a refused mode is reported by createGuest as the CAS answer, and the machine stops as QEMU does', () => {
  const cases: [GuestMode, 'xics' | 'xive', RegExp, RegExp][] = [
    ['xics', 'xive', /^Error: an ic-mode=xive machine has no XICS: use the XIVE guest, or ic-mode xics or dual$/, /unavailable interrupt mode \(XICS\)/],
    ['xive', 'xics', /^Error: an ic-mode=xics machine has no XIVE: use the XICS guest, or ic-mode xive or dual$/, /unavailable interrupt mode \(XIVE\)/],
  ];
  for (const [mode, icMode, message, halted] of cases) {
    const m = new SpaprMachine({ smp: 1, icMode });
    assert.throws(() => createGuest(m, mode), message);
    assert.match(m.halted ?? '', halted);
  }
  assert.throws(() => createGuest(new SpaprMachine({ smp: 1 }), 'xive2' as GuestMode), /guest mode must be one of xics, xive, got xive2/);
});

test('a driver refuses a CAS answer that grants the other model', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'dual' });
  assert.throws(() => new XiveGuest(m).negotiate({ ok: true, xive: false }), (e: unknown) => e instanceof XiveGuestError && e instanceof GuestError && e.message === 'CAS did not select XIVE');
  assert.throws(() => new XicsGuest(m).negotiate({ ok: true, xive: true }), (e: unknown) => e instanceof XicsGuestError && e.message === 'CAS did not leave the machine on XICS');
  assert.throws(() => new XiveGuest(m).negotiate({ ok: false, fatal: 'no' }), /^XiveGuestError: CAS refused XIVE exploitation: no$/);
});

test('the core words its errors as its ops do, with their error class', () => {
  const cases = [
    [new XiveGuest(new SpaprMachine({ smp: 1, icMode: 'xive' })), XiveGuestError, 'LISN'],
    [new XicsGuest(new SpaprMachine({ smp: 1, icMode: 'xics' })), XicsGuestError, 'irq'],
  ] as const;
  for (const [g, E, noun] of cases) {
    g.boot();
    const is = (re: RegExp) => (e: unknown) => e instanceof E && re.test((e as Error).message);
    assert.throws(() => g.deviceMsi(0x1300), is(new RegExp(`^${noun} 0x1300 is not configured$`)));
    g.machine.claimIrq(0x1300, false);
    g.configureSource(0x1300, 0);
    assert.throws(() => g.configureSource(0x1300, 0), is(new RegExp(`^${noun} 0x1300 is already configured$`)));
    assert.throws(() => g.deviceLsi(0x1300, true), is(new RegExp(`^${noun} 0x1300 is msi, not an LSI$`)));
    assert.throws(() => g.deviceMsi(0x1200), is(/is not configured/));
    assert.throws(() => g.bringUpCpu(0), is(/^vCPU 0 is already up$/));
    assert.throws(() => g.handleInterrupts(1), is(/^vCPU 1 is not up \(online: 0\)$/));
  }
});

test('a driver resumed from a checkpoint carries on exactly as the one it was saved from', () => {
  for (const [icMode, mode, Ops] of [['xive', 'xive', XiveOps], ['dual', 'xics', XicsOps]] as const) {
    const m = new SpaprMachine({ smp: 3, icMode, devices: 'default' });
    const g = createGuest(m, mode);
    g.boot();
    runGuestWorkload(m, g, { events: 800, seed: 21 });
    const progress = { events: 1600, done: 800, batch: 1, step: 800, seed: 21 };
    const saved = readCheckpoint(writeCheckpoint(m, g, progress));
    assert.deepEqual(saved.progress, progress);
    const r = saved.guest as XiveGuest | XicsGuest;
    assert.ok(r instanceof (mode === 'xive' ? XiveGuest : XicsGuest));
    assert.ok(r.ops instanceof Ops, 'the fresh ops object keeps its methods');
    assert.equal(r.source(1), r.cpu(1).ipi, 'objects shared in the saved driver are shared again');
    assert.deepStrictEqual(r.stats(), g.stats());
    const a = runGuestWorkload(m, g, { events: 800, seed: 22 });
    const b = runGuestWorkload(saved.machine, r, { events: 800, seed: 22 });
    assert.deepStrictEqual(b, a);
    assert.deepStrictEqual(r.stats(), g.stats());
    assert.equal(infoPic(saved.machine), infoPic(m));
    assert.equal(r.lost(), 0);
  }
});
