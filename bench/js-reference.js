/**
 * The C reference (bench/xive_cycle.c) transcribed to JavaScript: the same flat tables in typed
 * arrays, the same happy path (no access checks, no trace, no error cases), the same cycle. It is
 * not the model; it shows what the language costs for this work, between the C reference and
 * the model, which does everything the hardware checks on each access.
 */
const EAS_VALID = 0x8000_0000;
const EAS_MASKED = 0x8000_0000;
const END_W0_VALID = 0x8000_0000;
const END_W0_ENQUEUE = 0x4000_0000;
const END_W0_UCOND = 0x2000_0000;
const END_W1_GEN = 0x0040_0000;
const OS = 0x10;
const NSR = 0;
const CPPR = 1;
const IPB = 2;
const PIPR = 7;
const QSHIFT = 16;
function ipbToPipr(ipb) {
    return ipb === 0 ? 0xff : Math.clz32(ipb) - 24;
}
/** A class rather than closures: each instance gets code for its own tables, not a shared guess. */
export class JsReference {
    sources;
    vcpus;
    pq;
    eas;
    ends;
    tctx;
    mem;
    gidx;
    gtog;
    entries = 1 << (QSHIFT - 2);
    constructor(sources, vcpus) {
        this.sources = sources;
        this.vcpus = vcpus;
        this.pq = new Uint8Array(sources);
        this.eas = new DataView(new ArrayBuffer(sources * 8));
        this.ends = new DataView(new ArrayBuffer(vcpus * 8 * 32));
        this.tctx = new Uint8Array(vcpus * 64);
        this.mem = new DataView(new ArrayBuffer(vcpus * 2 ** QSHIFT));
        this.gidx = new Int32Array(vcpus);
        this.gtog = new Int32Array(vcpus).fill(1);
        for (let c = 0; c < vcpus; c++) {
            const e = (c * 8 + 6) * 32;
            this.ends.setUint32(e, END_W0_VALID | END_W0_ENQUEUE | END_W0_UCOND | ((QSHIFT - 12) << 16));
            this.ends.setUint32(e + 4, END_W1_GEN);
            this.ends.setUint32(e + 12, c * 2 ** QSHIFT);
            this.ends.setUint32(e + 24, 0x400 + c);
            this.ends.setUint32(e + 28, 6 << 16);
            this.tctx[c * 64 + OS + CPPR] = 0xff;
            this.tctx[c * 64 + OS + PIPR] = 0xff;
        }
        for (let s = 0; s < sources; s++) {
            this.eas.setUint32(s * 8, EAS_VALID | ((s % vcpus) * 8 + 6));
            this.eas.setUint32(s * 8 + 4, 0x10 + s);
        }
    }
    present(vp, prio) {
        const t = this.tctx;
        const r = (vp - 0x400) * 64 + OS;
        t[r + IPB] = t[r + IPB] | (0x80 >> prio);
        t[r + PIPR] = ipbToPipr(t[r + IPB]);
        if (t[r + PIPR] < t[r + CPPR])
            t[r + NSR] = t[r + NSR] | 0x80;
    }
    endNotify(idx, data) {
        const ends = this.ends;
        const e = idx * 32;
        const w0 = ends.getInt32(e);
        if ((w0 & END_W0_VALID) === 0)
            return;
        if ((w0 & END_W0_ENQUEUE) !== 0) {
            const qaddr = (ends.getInt32(e + 8) & 0x0fff_ffff) * 2 ** 32 + ends.getUint32(e + 12);
            const n = 1 << (((w0 >>> 16) & 0xf) + 10);
            const w1 = ends.getInt32(e + 4);
            let i = w1 & 0x3f_ffff;
            let gen = w1 & END_W1_GEN;
            this.mem.setInt32(qaddr + 4 * i, (gen !== 0 ? 0x8000_0000 : 0) | (data & 0x7fff_ffff));
            if (++i === n) {
                i = 0;
                gen ^= END_W1_GEN;
            }
            ends.setInt32(e + 4, gen | i);
        }
        if ((w0 & END_W0_UCOND) !== 0)
            this.present(ends.getInt32(e + 24) & 0x7ffff, (ends.getInt32(e + 28) >>> 16) & 7);
    }
    trigger(s) {
        const pq = this.pq;
        const old = pq[s];
        if (old === 0)
            pq[s] = 2;
        else {
            if (old === 2)
                pq[s] = 3;
            return;
        }
        const hi = this.eas.getInt32(s * 8);
        const lo = this.eas.getInt32(s * 8 + 4);
        if ((hi & EAS_VALID) === 0 || (lo & EAS_MASKED) !== 0)
            return;
        this.endNotify(hi & 0xff_ffff, lo & 0x7fff_ffff);
    }
    ackOs(c) {
        const t = this.tctx;
        const r = c * 64 + OS;
        const ret = (t[r + NSR] << 8) | t[r + CPPR];
        if ((t[r + NSR] & 0x80) !== 0) {
            const p = t[r + PIPR];
            t[r + CPPR] = p;
            t[r + IPB] = t[r + IPB] & ~(0x80 >> p);
            t[r + PIPR] = ipbToPipr(t[r + IPB]);
            t[r + NSR] = 0;
            if (t[r + PIPR] < t[r + CPPR])
                t[r + NSR] = t[r + NSR] | 0x80;
        }
        return ret;
    }
    setCppr(c, v) {
        const t = this.tctx;
        const r = c * 64 + OS;
        t[r + CPPR] = v;
        t[r + NSR] = t[r + NSR] & 0x7f;
        if (t[r + PIPR] < t[r + CPPR])
            t[r + NSR] = t[r + NSR] | 0x80;
    }
    /** Cycles from .. from + count - 1; returns the events consumed. */
    run(from, count) {
        const nsrc = this.sources;
        const ncpu = this.vcpus;
        const gidx = this.gidx;
        const gtog = this.gtog;
        let delivered = 0;
        for (let n = from; n < from + count; n++) {
            const s = n % nsrc;
            const c = s % ncpu;
            this.trigger(s);
            const ack = this.ackOs(c);
            if (((ack >> 8) & 0x80) !== 0) {
                const v = this.mem.getUint32(c * 2 ** QSHIFT + 4 * gidx[c]);
                if (v >>> 31 === gtog[c]) {
                    delivered++;
                    const i = gidx[c] + 1;
                    if (i === this.entries) {
                        gidx[c] = 0;
                        gtog[c] = gtog[c] ^ 1;
                    }
                    else {
                        gidx[c] = i;
                    }
                }
                this.pq[s] = 0;
                this.setCppr(c, 0xff);
            }
        }
        return delivered;
    }
}
export function buildJsReference(sources, vcpus) {
    return new JsReference(sources, vcpus);
}
//# sourceMappingURL=js-reference.js.map