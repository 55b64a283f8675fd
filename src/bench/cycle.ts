/**
 * The interrupt cycle benchmark: one Linux-style XIVE interrupt at a time, through the guest entry
 * points only — ESB trigger store -> (EAS -> END enqueue -> presenter inside the model) -> TIMA
 * ACK load -> read of the event-queue entry from guest RAM with the toggle check -> ESB load
 * SET_PQ_00 (EOI) -> CPPR store 0xFF — with sources taken round-robin and source s routed to
 * vCPU s % vcpus. It is the same work as the C reference (shared/bench/xive_cycle.c), which does
 * it by hand over flat arrays.
 *
 * Setting up goes through the hcalls a guest uses (H_INT_SET_QUEUE_CONFIG per vCPU,
 * H_INT_SET_SOURCE_CONFIG per source, then an ESB SET_PQ_00 load to enable each source).
 */
import { BigXiveMachine, type BigMachineOptions } from './big-machine.ts';
import { FlatGuestMemory, type GuestMemory } from '../ports/memory.ts';
import { SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE } from '../spapr/spapr-xive.ts';
import * as H from '../spapr/hcall.ts';
import type { CpuLines } from '../ports/lines.ts';

export const CYCLE_PRIORITY = 6;
/** log2 of each vCPU's event-queue size in bytes (16K entries, as Linux allocates). */
export const CYCLE_QUEUE_SHIFT = 16;
/** EISN of source s is EISN_BASE + s (the C reference's data). */
export const CYCLE_EISN_BASE = 0x10;

const ESB_PAGE = 2 ** 17; // 64K trigger page + 64K management page per source
const ESB_MGMT = 2 ** 16;
const ESB_SET_PQ_00 = 0xc00;
const TM_OS_PAGE = SPAPR_XIVE_TM_BASE + 0x20000;
const TM_ACK_OS = TM_OS_PAGE + 0x810;
const TM_CPPR_OS = TM_OS_PAGE + 0x11;
const CHECK = new Float64Array(1);

export interface CycleRigOptions {
  sources: number;
  vcpus: number;
  /** Guest RAM; default a flat RAM just large enough for the queues. */
  memory?: GuestMemory;
  lines?: CpuLines | null;
  buffers?: BigMachineOptions['buffers'];
  /** Join a machine another thread configured (shared buffers): no setup hcalls. */
  attach?: boolean;
  /**
   * Split the machine into `lanes` independent parts (default 1), for threads that each run
   * one: lane w has the contiguous sources [w*sources/lanes, (w+1)*sources/lanes), taken
   * round-robin by the vCPUs c with c % lanes === w. With one lane, source s goes to vCPU
   * s % vcpus, as in the C reference. `sources` and `vcpus` must be multiples of `lanes`.
   */
  lanes?: number;
  /** The lane this rig's cycles run (default 0). */
  lane?: number;
}

/** A configured machine plus the guest driver's per-vCPU consumer state. */
export interface CycleRig {
  readonly machine: BigXiveMachine;
  readonly memory: GuestMemory;
  readonly sources: number;
  readonly vcpus: number;
  /** Guest address of each vCPU's queue. */
  readonly qpage: Float64Array;
  readonly qmask: number;
  /** Consumer index and toggle per vCPU (an entry is valid when its bit 31 differs). */
  readonly idx: Int32Array;
  readonly toggle: Uint8Array;
  /**
   * Each source's trigger and EOI page addresses, as the guest keeps them (Linux's per-interrupt
   * trig_mmio / eoi_mmio), made on the first run (see guestPages).
   */
  trig: number[] | null;
  eoi: number[] | null;
  readonly lanes: number;
  readonly lane: number;
  /** Events consumed, and the sum of their EISNs (compared with the C reference's "check"). */
  delivered: number;
  check: number;
}

/** Queue of vCPU c: 64K-aligned slots from guest physical 0, as the C reference lays them out. */
export function queueAddress(c: number): number {
  return c * 2 ** CYCLE_QUEUE_SHIFT;
}

export function cycleRamSize(vcpus: number): number {
  return vcpus * 2 ** CYCLE_QUEUE_SHIFT;
}

/** Builds the machine and configures it as Linux would (unless attaching to a configured one). */
export function buildCycleRig(opts: CycleRigOptions): CycleRig {
  const { sources, vcpus } = opts;
  const lanes = opts.lanes ?? 1;
  const lane = opts.lane ?? 0;
  if (!Number.isInteger(lanes) || lanes < 1 || sources % lanes !== 0 || vcpus % lanes !== 0) {
    throw new RangeError(`lanes must divide both the sources (${sources}) and the vCPUs (${vcpus}), got ${lanes}`);
  }
  if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new RangeError(`lane must be in 0..${lanes - 1}, got ${lane}`);
  const memory = opts.memory ?? new FlatGuestMemory(cycleRamSize(vcpus));
  const machine = new BigXiveMachine({ nrIrqs: sources, nrServers: vcpus, memory, lines: opts.lines ?? null, buffers: opts.buffers, attach: opts.attach });
  const rig: CycleRig = {
    machine,
    memory,
    sources,
    vcpus,
    qpage: new Float64Array(vcpus),
    qmask: (1 << (CYCLE_QUEUE_SHIFT - 2)) - 1,
    idx: new Int32Array(vcpus),
    toggle: new Uint8Array(vcpus),
    trig: null,
    eoi: null,
    lanes,
    lane,
    delivered: 0,
    check: 0,
  };
  for (let c = 0; c < vcpus; c++) rig.qpage[c] = queueAddress(c);
  if (opts.attach === true) return rig;
  const prio = BigInt(CYCLE_PRIORITY);
  for (let c = 0; c < vcpus; c++) {
    call(machine, 0, H.H_INT_SET_QUEUE_CONFIG, [1n /* ALWAYS_NOTIFY */, BigInt(c), prio, BigInt(queueAddress(c)), BigInt(CYCLE_QUEUE_SHIFT)]);
    machine.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
  }
  const perLane = sources / lanes;
  const cpusPerLane = vcpus / lanes;
  for (let s = 0; s < sources; s++) {
    const w = Math.floor(s / perLane);
    const cpu = ((s - w * perLane) % cpusPerLane) * lanes + w;
    machine.claim(s);
    call(machine, 0, H.H_INT_SET_SOURCE_CONFIG, [2n /* SET_EISN */, BigInt(s), BigInt(cpu), prio, BigInt(CYCLE_EISN_BASE + s)]);
    machine.mmioRead(0, SPAPR_XIVE_VC_BASE + s * ESB_PAGE + ESB_MGMT + ESB_SET_PQ_00, 8);
  }
  return rig;
}

function call(m: BigXiveMachine, vcpu: number, opcode: number, args: bigint[]): void {
  const r = m.hcall(vcpu, opcode, args);
  if (r.ret !== H.H_SUCCESS) throw new Error(`setup hcall 0x${opcode.toString(16)}(${args.join(', ')}) failed: ${r.ret}`);
}

/**
 * Runs cycles number `from` .. `from + count - 1` of the rig's lane: cycle n triggers the lane's
 * source n % (its sources), taken by its vCPU as configured (with one lane: source n % sources,
 * vCPU source % vcpus). Returns the number of events consumed by these cycles.
 */
export function runCycles(rig: CycleRig, from: number, count: number): number {
  const m = rig.machine;
  const mem = rig.memory;
  const lanes = rig.lanes;
  const lane = rig.lane;
  const nsrc = rig.sources / lanes;
  const ncpu = rig.vcpus / lanes;
  const base = lane * nsrc;
  const qpage = rig.qpage;
  const qmask = rig.qmask;
  const idx = rig.idx;
  const toggle = rig.toggle;
  if (rig.trig === null || rig.eoi === null) guestPages(rig);
  const trig = rig.trig!;
  const eoi = rig.eoi!;
  let delivered = 0;
  // The EISN sum passes 2^31 quickly with many sources; kept in a Float64Array rather than a
  // local, which the compiler may hold as a boxed number and reallocate on every addition.
  const check = CHECK;
  check[0] = 0;
  const end = from + count;
  for (let n = from; n < end; n++) {
    const k = n % nsrc;
    const s = base + k;
    const c = (k % ncpu) * lanes + lane;
    m.mmioWrite(c, trig[s]!, 8, 0, 0); // trigger
    const ack = m.mmioRead(c, TM_ACK_OS, 2);
    if ((ack & 0x8000) !== 0) {
      const i = idx[c]!;
      const w = mem.read32(qpage[c]! + 4 * i);
      if (w >>> 31 !== toggle[c]) {
        check[0] = check[0]! + (w & 0x7fff_ffff);
        delivered++;
        const ni = (i + 1) & qmask;
        idx[c] = ni;
        if (ni === 0) toggle[c] = toggle[c]! ^ 1;
      }
      const old = m.mmioRead(c, eoi[s]!, 8); // EOI
      if ((old & 1) !== 0) m.mmioWrite(c, trig[s]!, 8, 0, 0); // Q was set: an event came meanwhile
      m.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
    }
  }
  rig.delivered += delivered;
  rig.check += check[0]!;
  return delivered;
}

/**
 * Fills the guest's per-source page addresses. They are 50-bit numbers: held in an array of
 * tagged values (the leading `null` keeps V8 from storing them as raw doubles), each is one
 * already-allocated number that calls take as it is, where an address computed in the loop would
 * be boxed into a new heap number at every call that is not inlined.
 */
function guestPages(rig: CycleRig): void {
  const trig: (number | null)[] = [null];
  const eoi: (number | null)[] = [null];
  trig.length = 0;
  eoi.length = 0;
  for (let s = 0; s < rig.sources; s++) {
    const page = SPAPR_XIVE_VC_BASE + s * ESB_PAGE;
    trig.push(page);
    eoi.push(page + ESB_MGMT + ESB_SET_PQ_00);
  }
  rig.trig = trig as number[];
  rig.eoi = eoi as number[];
}

/**
 * The check value of cycles 0 .. cycles-1 over sources base .. base + sources - 1 (the sum of
 * the EISNs consumed); with base 0 it is the C reference's "check".
 */
export function expectedCheck(sources: number, cycles: number, base = 0): number {
  const full = Math.floor(cycles / sources);
  const rest = cycles % sources;
  const first = CYCLE_EISN_BASE + base;
  const sumAll = (sources * (sources - 1)) / 2 + first * sources;
  const sumRest = (rest * (rest - 1)) / 2 + first * rest;
  return full * sumAll + sumRest;
}
