/**
 * Continue-after-restore equivalence: a run migrated part way (snapshot, restore into a new
 * machine, carry on there) ends exactly like the same run without migration — same guest
 * accounting, same trace events, same final state read from the machines.
 *
 * Two drivers. The reference guest driver (xive-driver.ts + workload.ts) keeps its own state
 * (queue consumer positions, counters) and talks to a machine proxy whose target is swapped at
 * an arbitrary entry-point call, as a migrated guest keeps running on another host; any piece of
 * controller state the snapshot misses makes it lose, duplicate or misroute an event. And a
 * QEMU capture replayed half way, then seeded random guest/device operations on both machines.
 * XICS runs are compared with QEMU's migration semantics applied in place (the ICP owner is not
 * migrated and every ICP resends after the load).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { captureSnapshot, restoreSnapshot } from '../../src/migration/snapshot.ts';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import type { IcMode } from '../../src/spapr/cas.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { runGuestWorkload, type WorkloadStats } from '../../src/guest/workload.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { CORPUS, corpusMachine, qemuPostLoadInPlace, randomXiveOp, randomXicsOp, SwitchableMachine } from './helpers.ts';
import { seeded } from '../support/rng.ts';
import { fingerprint } from '../support/state.ts';
import { drainTrace } from '../support/trace.ts';

interface Shape {
  icMode: IcMode;
  smp: number;
  maxCpus: number;
  /** vCPUs hot-plugged (and brought up by the guest) before the workload. */
  hotplug: number[];
}

interface Outcome {
  stats: WorkloadStats;
  guest: ReturnType<XiveGuest['stats']>;
  trace: string[];
  state: Record<string, string>;
  migrated: boolean;
}

/** Boots a guest, runs a seeded workload, migrating once the proxy has seen `switchAt` calls. */
function run(shape: Shape, seed: number, events: number, switchAt: number): Outcome {
  const buf = new TraceBuffer();
  const first = new SpaprMachine({ smp: shape.smp, maxCpus: shape.maxCpus, icMode: shape.icMode, trace: buf });
  const sw = new SwitchableMachine(first);
  const trace: string[] = [];
  let migrated = false;
  sw.beforeCall = (n) => {
    if (n !== switchAt) return;
    trace.push(...drainTrace(buf));
    const bytes = captureSnapshot(sw.current, { includeMemory: true });
    sw.current = restoreSnapshot(bytes, { trace: buf });
    migrated = true;
  };
  const guest = new XiveGuest(sw.proxy);
  guest.boot();
  for (const v of shape.hotplug) {
    sw.proxy.plugCpu(v);
    guest.bringUpCpu(v);
  }
  const stats = runGuestWorkload(sw.proxy, guest, { events, seed, msiSources: 3, lsiSources: 2 });
  trace.push(...drainTrace(buf));
  return { stats, guest: guest.stats(), trace, state: fingerprint(sw.current), migrated };
}

const SHAPES: readonly Shape[] = [
  { icMode: 'xive', smp: 3, maxCpus: 3, hotplug: [] },
  { icMode: 'dual', smp: 2, maxCpus: 2, hotplug: [] },
  { icMode: 'xive', smp: 2, maxCpus: 4, hotplug: [3] },
];

for (const shape of SHAPES) {
  const label = `${shape.icMode} smp=${shape.smp} max-cpus=${shape.maxCpus}${shape.hotplug.length > 0 ? ` +hotplug ${shape.hotplug.join(',')}` : ''}`;
  test(`guest driver workload migrated at any call ends as without migration (${label})`, () => {
    const events = 120;
    const refs = new Map<number, Outcome & { calls: number }>();
    const reference = (seed: number) => {
      let r = refs.get(seed);
      if (r === undefined) {
        const out = run(shape, seed, events, Number.POSITIVE_INFINITY);
        // Count the entry-point calls of the run, to draw switch points from all of them.
        const counter = countCalls(shape, seed, events);
        r = { ...out, calls: counter };
        refs.set(seed, r);
      }
      return r;
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, where) => {
        const ref = reference(seed);
        const at = Math.min(ref.calls - 1, Math.floor(where * ref.calls));
        const got = run(shape, seed, events, at);
        assert.ok(got.migrated, `switch point ${at} of ${ref.calls} was never reached`);
        assert.deepEqual(got.stats, ref.stats);
        assert.deepEqual(got.guest, ref.guest);
        assert.equal(got.stats.lost, 0);
        assert.deepEqual(got.trace, ref.trace);
        assert.deepEqual(got.state, ref.state);
      }),
      { numRuns: 12, seed: 0x5eed, examples: [[1, 0], [1, 0.999999], [2, 0.5]] },
    );
  });
}

function countCalls(shape: Shape, seed: number, events: number): number {
  let n = 0;
  const m = new SpaprMachine({ smp: shape.smp, maxCpus: shape.maxCpus, icMode: shape.icMode });
  const sw = new SwitchableMachine(m);
  sw.beforeCall = () => void n++;
  const guest = new XiveGuest(sw.proxy);
  guest.boot();
  for (const v of shape.hotplug) {
    sw.proxy.plugCpu(v);
    guest.bringUpCpu(v);
  }
  runGuestWorkload(sw.proxy, guest, { events, seed, msiSources: 3, lsiSources: 2 });
  return n;
}

for (const c of CORPUS) {
  test(`${c.name}: replayed half way, migrated, and continued with random operations = not migrated`, () => {
    fc.assert(
      fc.property(fc.constantFrom(0.3, 0.5, 0.7), fc.integer({ min: 1, max: 1_000_000 }), (fraction, seed) => {
        const original = corpusMachine(c, fraction);
        const migrated = restoreSnapshot(captureSnapshot(original, { includeMemory: true }));
        // What QEMU's load does to XICS state (nothing at all for XIVE), on the unmigrated side.
        qemuPostLoadInPlace(original);
        const op = original.activeController() === 'xive' ? randomXiveOp : randomXicsOp;
        const bufA = new TraceBuffer();
        const bufB = new TraceBuffer();
        original.setTrace(bufA);
        migrated.setTrace(bufB);
        const ra = seeded(seed);
        const rb = seeded(seed);
        for (let i = 0; i < 400; i++) {
          op(original, ra);
          op(migrated, rb);
          if (bufA.events.length !== bufB.events.length) break;
        }
        assert.deepEqual(bufB.events.map(formatTraceEvent), bufA.events.map(formatTraceEvent));
        assert.deepEqual(fingerprint(migrated), fingerprint(original));
      }),
      { numRuns: 6, seed: 0xc0ffee },
    );
  });
}
