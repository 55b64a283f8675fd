/**
 * The interrupt cycle benchmark: one Linux-style XIVE interrupt at a time, through the guest entry
 * points of an ordinary pseries machine (SpaprMachine, ic-mode xive) only — ESB trigger store ->
 * (EAS -> END enqueue -> presenter inside the model) -> TIMA ACK load -> read of the event-queue
 * entry from guest RAM with the toggle check -> ESB load SET_PQ_00 (EOI) -> CPPR store 0xFF —
 * with sources taken round-robin and source s routed to vCPU s % vcpus. It is the same work as
 * the C reference (bench/xive_cycle.c), which does it by hand over flat arrays.
 *
 * The machine is sized for the run (its device interrupt range holds the sources; with 2^20
 * sources the IPIs are sources too), set up as a guest does: CAS asking for XIVE exploitation,
 * H_INT_SET_QUEUE_CONFIG per vCPU, H_INT_SET_SOURCE_CONFIG per source, then an ESB SET_PQ_00
 * load to enable each source.
 */
import { SpaprMachine, MAX_XIVE_IRQS } from "../src/spapr/machine.js";
import { SPAPR_IRQ_NR_IPIS, SPAPR_NR_XIRQS, SPAPR_XIRQ_BASE } from "../src/spapr/irq-map.js";
import { OV5_XIVE_EXPLOIT } from "../src/spapr/cas.js";
import { SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE } from "../src/spapr/spapr-xive.js";
import * as H from "../src/spapr/hcall.js";
import { FlatGuestMemory } from "../src/ports/memory.js";
export const CYCLE_PRIORITY = 6;
/** log2 of each vCPU's event-queue size in bytes (16K entries, as Linux allocates). */
export const CYCLE_QUEUE_SHIFT = 16;
/** EISN of source s is EISN_BASE + s (the C reference's data). */
export const CYCLE_EISN_BASE = 0x10;
const ESB_PAGE = 2 ** 17; // 64K trigger page + 64K management page per source
const ESB_MGMT = 2 ** 16;
const ESB_SET_PQ_00 = 0xc00;
const TM_OS_PAGE = SPAPR_XIVE_TM_BASE + 0x20000;
export const TM_ACK_OS = TM_OS_PAGE + 0x810;
export const TM_CPPR_OS = TM_OS_PAGE + 0x11;
const CHECK = new Float64Array(1);
/** The guest of the cycle polls the TIMA instead of waiting for its interrupt line. */
class UnwiredLines {
    setLine() { }
}
const UNWIRED = new UnwiredLines();
/**
 * The sources are device interrupts from 0x1000 on, in a device range of the default size or
 * larger; past what the device range can hold they start lower and take IPIs as well (the
 * 2^20-source machine is its whole LISN space), which needs every IPI claimed: 4096 vCPUs.
 */
export function cycleLayout(sources, vcpus) {
    if (!Number.isInteger(sources) || sources < 1 || sources > MAX_XIVE_IRQS)
        throw new RangeError(`sources must be an integer in 1..${MAX_XIVE_IRQS}, got ${sources}`);
    const nrXirqs = Math.min(Math.max(SPAPR_NR_XIRQS, sources), MAX_XIVE_IRQS - SPAPR_IRQ_NR_IPIS);
    const nrIrqs = SPAPR_IRQ_NR_IPIS + nrXirqs;
    const firstLisn = Math.min(SPAPR_XIRQ_BASE, nrIrqs - sources);
    if (firstLisn < SPAPR_XIRQ_BASE && vcpus < SPAPR_IRQ_NR_IPIS) {
        throw new RangeError(`more than ${MAX_XIVE_IRQS - SPAPR_IRQ_NR_IPIS} sources take IPIs as sources, which needs ${SPAPR_IRQ_NR_IPIS} vCPUs, got ${vcpus}`);
    }
    return { nrXirqs, nrIrqs, firstLisn };
}
/** Queue of vCPU c: 64K-aligned slots from guest physical 0, as the C reference lays them out. */
export function queueAddress(c) {
    return c * 2 ** CYCLE_QUEUE_SHIFT;
}
export function cycleRamSize(vcpus) {
    return vcpus * 2 ** CYCLE_QUEUE_SHIFT;
}
/** Guest address of the ESB pages (trigger page, then management page) of LISN `lisn`. */
export function esbPage(lisn) {
    return SPAPR_XIVE_VC_BASE + lisn * ESB_PAGE;
}
/** Guest address of the SET_PQ_00 load (the EOI) of LISN `lisn`. */
export function esbEoi(lisn) {
    return esbPage(lisn) + ESB_MGMT + ESB_SET_PQ_00;
}
/** Builds the machine and configures it as Linux would (unless attaching to a configured one). */
export function buildCycleRig(opts) {
    const { sources, vcpus } = opts;
    const lanes = opts.lanes ?? 1;
    const lane = opts.lane ?? 0;
    if (!Number.isInteger(lanes) || lanes < 1 || sources % lanes !== 0 || vcpus % lanes !== 0) {
        throw new RangeError(`lanes must divide both the sources (${sources}) and the vCPUs (${vcpus}), got ${lanes}`);
    }
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes)
        throw new RangeError(`lane must be in 0..${lanes - 1}, got ${lane}`);
    const layout = cycleLayout(sources, vcpus);
    const memory = opts.memory ?? new FlatGuestMemory(cycleRamSize(vcpus));
    const machine = new SpaprMachine({
        smp: vcpus,
        icMode: 'xive',
        nrXirqs: layout.nrXirqs,
        memory,
        lines: opts.lines ?? UNWIRED,
        devices: 'none',
        xiveBuffers: opts.buffers,
        attach: opts.attach,
    });
    const rig = {
        machine,
        memory,
        sources,
        vcpus,
        firstLisn: layout.firstLisn,
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
    for (let c = 0; c < vcpus; c++)
        rig.qpage[c] = queueAddress(c);
    if (opts.attach === true)
        return rig;
    if (machine.cas(OV5_XIVE_EXPLOIT).ok !== true)
        throw new Error('CAS did not negotiate XIVE exploitation');
    const prio = BigInt(CYCLE_PRIORITY);
    for (let c = 0; c < vcpus; c++) {
        call(machine, H.H_INT_SET_QUEUE_CONFIG, [1n /* ALWAYS_NOTIFY */, BigInt(c), prio, BigInt(queueAddress(c)), BigInt(CYCLE_QUEUE_SHIFT)]);
        machine.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
    }
    const perLane = sources / lanes;
    const cpusPerLane = vcpus / lanes;
    for (let s = 0; s < sources; s++) {
        const w = Math.floor(s / perLane);
        const cpu = ((s - w * perLane) % cpusPerLane) * lanes + w;
        const lisn = layout.firstLisn + s;
        // IPIs are claimed by the machine (one per vCPU); device interrupts by their "driver".
        if (lisn >= SPAPR_XIRQ_BASE)
            machine.claimIrq(lisn, false);
        call(machine, H.H_INT_SET_SOURCE_CONFIG, [2n /* SET_EISN */, BigInt(lisn), BigInt(cpu), prio, BigInt(CYCLE_EISN_BASE + s)]);
        machine.mmioRead(0, esbEoi(lisn), 8);
    }
    return rig;
}
function call(m, opcode, args) {
    const r = m.hcall(0, opcode, args);
    if (r.ret !== H.H_SUCCESS)
        throw new Error(`setup hcall 0x${opcode.toString(16)}(${args.join(', ')}) failed: ${r.ret}`);
}
/**
 * Runs cycles number `from` .. `from + count - 1` of the rig's lane: cycle n triggers the lane's
 * source n % (its sources), taken by its vCPU as configured (with one lane: source n % sources,
 * vCPU source % vcpus). Returns the number of events consumed by these cycles.
 */
export function runCycles(rig, from, count) {
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
    if (rig.trig === null || rig.eoi === null)
        guestPages(rig);
    const trig = rig.trig;
    const eoi = rig.eoi;
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
        m.mmioWrite(c, trig[s], 8, 0, 0); // trigger
        const ack = m.mmioRead(c, TM_ACK_OS, 2);
        if ((ack & 0x8000) !== 0) {
            const i = idx[c];
            const w = mem.read32(qpage[c] + 4 * i);
            if (w >>> 31 !== toggle[c]) {
                check[0] = check[0] + (w & 0x7fff_ffff);
                delivered++;
                const ni = (i + 1) & qmask;
                idx[c] = ni;
                if (ni === 0)
                    toggle[c] = toggle[c] ^ 1;
            }
            const old = m.mmioRead(c, eoi[s], 8); // EOI
            if ((old & 1) !== 0)
                m.mmioWrite(c, trig[s], 8, 0, 0); // Q was set: an event came meanwhile
            m.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
        }
    }
    rig.delivered += delivered;
    rig.check += check[0];
    return delivered;
}
/**
 * Fills the guest's per-source page addresses. They are 50-bit numbers: held in an array of
 * tagged values (the leading `null` keeps V8 from storing them as raw doubles), each is one
 * already-allocated number that calls take as it is, where an address computed in the loop would
 * be boxed into a new heap number at every call that is not inlined.
 */
function guestPages(rig) {
    const trig = [null];
    const eoi = [null];
    trig.length = 0;
    eoi.length = 0;
    for (let s = 0; s < rig.sources; s++) {
        trig.push(esbPage(rig.firstLisn + s));
        eoi.push(esbEoi(rig.firstLisn + s));
    }
    rig.trig = trig;
    rig.eoi = eoi;
}
/**
 * The check value of cycles 0 .. cycles-1 over sources base .. base + sources - 1 (the sum of
 * the EISNs consumed); with base 0 it is the C reference's "check".
 */
export function expectedCheck(sources, cycles, base = 0) {
    const full = Math.floor(cycles / sources);
    const rest = cycles % sources;
    const first = CYCLE_EISN_BASE + base;
    const sumAll = (sources * (sources - 1)) / 2 + first * sources;
    const sumRest = (rest * (rest - 1)) / 2 + first * rest;
    return full * sumAll + sumRest;
}
//# sourceMappingURL=cycle.js.map