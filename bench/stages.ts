/**
 * What each stage of the interrupt cycle costs. The stages run in batches, as a guest handles a
 * burst: 4,096 sources triggered (ESB trigger store: EAS -> END enqueue -> presenter), one TIMA
 * ACK load per vCPU, every event-queue entry read with the toggle check, the sources EOId (ESB
 * SET_PQ_00 load), one CPPR store (0xFF) per vCPU. Each stage is timed as a whole and
 * divided by its operations, less the cost of reading the clock. The work per operation is the
 * cycle's (the same entry points, the same state transitions); only the order differs, so the
 * stages add up to about the cycle, not exactly to it.
 */
import { CYCLE_EISN_BASE, TM_ACK_OS, TM_CPPR_OS, type CycleRig } from './cycle.ts';

/** Nanoseconds per operation of each stage, and their sum (one operation of each). */
export interface StageCosts {
  trigger_ns: number;
  ack_ns: number;
  queue_read_ns: number;
  eoi_ns: number;
  cppr_ns: number;
  sum_ns: number;
  /** Batches timed (each: every source once, every vCPU once). */
  batches: number;
}

const STAGES = 5;

/**
 * Runs `batches` batches over the rig (which must be idle: every source's PQ at 00, as after
 * runCycles) and returns the median cost of each stage. Every entry read is checked
 * against the EISN of the source that was triggered.
 */
export function measureStages(rig: CycleRig, batches: number): StageCosts {
  if (rig.lanes !== 1) throw new RangeError('stage costs are measured on a one-lane rig');
  if (rig.trig === null || rig.eoi === null) throw new Error('run the cycle once before measuring its stages');
  const clock = clockCost();
  // One unmeasured batch first (it compiles the batch loops), then the timed ones. Each stage's
  // figure is its median over the batches: a batch of the smallest machine's per-vCPU stages
  // lasts a few dozen nanoseconds, where one preemption would outweigh thousands of batches in
  // a mean.
  const times = new Float64Array(STAGES * batches);
  const size = batchSize(rig);
  const windows = rig.sources / size;
  batch(rig, times, 0, 0, size);
  for (let b = 0; b < batches; b++) batch(rig, times, b * STAGES, ((b + 1) % windows) * size, size);
  const per = (i: number, ops: number): number => {
    const v: number[] = [];
    for (let b = 0; b < batches; b++) v.push(times[b * STAGES + i]!);
    v.sort((x, y) => x - y);
    return Math.max(0, (v[v.length >> 1]! - clock) * 1e6) / ops;
  };
  const r = {
    trigger_ns: per(0, size),
    ack_ns: per(1, rig.vcpus),
    queue_read_ns: per(2, size),
    eoi_ns: per(3, size),
    cppr_ns: per(4, rig.vcpus),
  };
  return { ...r, sum_ns: r.trigger_ns + r.ack_ns + r.queue_read_ns + r.eoi_ns + r.cppr_ns, batches };
}

/** Median cost in ms of a performance.now() pair around nothing. */
function clockCost(): number {
  const n = 20_000;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    v[i] = performance.now() - t0;
  }
  v.sort();
  return v[n >> 1]!;
}

/**
 * Sources per batch: 4,096 (or all of them, if fewer), at least one per vCPU. The batches take the
 * sources window after window, as the cycle takes them one after the other: with 4,096 vCPUs
 * each vCPU then sees one event per batch, and its state is as warm (or as cold) as in the cycle.
 */
function batchSize(rig: CycleRig): number {
  const size = Math.max(rig.vcpus, Math.min(rig.sources, 4096));
  if (rig.sources % size !== 0 || size % rig.vcpus !== 0) throw new RangeError(`stage batches need sources (${rig.sources}) a multiple of ${size}, itself a multiple of the vCPUs (${rig.vcpus})`);
  return size;
}

/**
 * One batch over sources first .. first + count - 1: each stage over those sources (or every
 * vCPU), its time stored at times[at + stage].
 */
function batch(rig: CycleRig, times: Float64Array, at: number, first: number, count: number): void {
  const m = rig.machine;
  const ncpu = rig.vcpus;
  const trig = rig.trig!;
  const eoi = rig.eoi!;
  const end = first + count;
  let t0 = performance.now();
  for (let s = first; s < end; s++) m.mmioWrite(s % ncpu, trig[s]!, 8, 0, 0);
  let t1 = performance.now();
  times[at + 0] = t1 - t0;
  t0 = performance.now();
  let acked = 0;
  for (let c = 0; c < ncpu; c++) if ((m.mmioRead(c, TM_ACK_OS, 2) & 0x8000) !== 0) acked++;
  t1 = performance.now();
  times[at + 1] = t1 - t0;
  if (acked !== ncpu) throw new Error(`stage run: ${acked} of ${ncpu} vCPUs had an interrupt to acknowledge`);
  t0 = performance.now();
  const bad = readQueues(rig, first, end);
  t1 = performance.now();
  times[at + 2] = t1 - t0;
  if (bad >= 0) throw new Error(`stage run: the event-queue entry of source ${bad} is missing or wrong`);
  t0 = performance.now();
  for (let s = first; s < end; s++) m.mmioRead(s % ncpu, eoi[s]!, 8);
  t1 = performance.now();
  times[at + 3] = t1 - t0;
  t0 = performance.now();
  for (let c = 0; c < ncpu; c++) m.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
  t1 = performance.now();
  times[at + 4] = t1 - t0;
}

/**
 * The guest's queue reads: vCPU c holds the entries of the batch's sources s with s % vcpus === c
 * in order, each valid (its bit 31 differs from the vCPU's toggle) with the source's EISN.
 * Returns the first source whose entry is not there, or -1.
 */
function readQueues(rig: CycleRig, first: number, end: number): number {
  const mem = rig.memory;
  const qpage = rig.qpage;
  const qmask = rig.qmask;
  const idx = rig.idx;
  const toggle = rig.toggle;
  const ncpu = rig.vcpus;
  for (let c = 0; c < ncpu; c++) {
    let i = idx[c]!;
    let tog = toggle[c]!;
    for (let s = first + c; s < end; s += ncpu) {
      const w = mem.read32(qpage[c]! + 4 * i);
      if (w >>> 31 === tog || (w & 0x7fff_ffff) !== CYCLE_EISN_BASE + s) return s;
      i = (i + 1) & qmask;
      if (i === 0) tog ^= 1;
    }
    idx[c] = i;
    toggle[c] = tog;
  }
  return -1;
}
