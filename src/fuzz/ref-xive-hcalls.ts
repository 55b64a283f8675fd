/**
 * The H_INT_* hcalls of the reference XIVE (docs/spapr-xive.md §2) with their argument checks and
 * return codes: source information and configuration (the EAS, Event Assignment Structure),
 * queue information and configuration (the END, Event Notification Descriptor), ESB (Event State
 * Buffer) accesses, sync and reset. An EAS names END vCPU * 8 + priority; a queue's NVT
 * (Notification Virtual Target) is NVT_BASE + vCPU.
 */
import * as H from '../spapr/hcall.ts';
import { END_BASE, END_ENQUEUE, END_GEN, END_INDEX, END_UCOND, END_VALID, EAS_MASKED, EAS_VALID, ESB_PAGE, ESB_REGION, ESB_STRIDE, NR_IRQS, NVT_BASE, VC_BASE, type XiveState } from './ref-xive-defs.ts';
import { abandon, queueAddr, resetEnd } from './ref-xive-router.ts';
import { esbLoad, esbStore } from './ref-xive-source.ts';

/** Priorities from this one up are reserved to the hypervisor (docs/spapr-xive.md §2). */
const HV_PRIO = 7;
const M64 = 0xffff_ffff_ffff_ffffn;

/** The H_INT_* hcalls (docs/spapr-xive.md §2). */
export const XIVE_HCALLS: ReadonlySet<number> = new Set([
  H.H_INT_GET_SOURCE_INFO, H.H_INT_SET_SOURCE_CONFIG, H.H_INT_GET_SOURCE_CONFIG, H.H_INT_GET_QUEUE_INFO, H.H_INT_SET_QUEUE_CONFIG,
  H.H_INT_GET_QUEUE_CONFIG, H.H_INT_SET_OS_REPORTING_LINE, H.H_INT_GET_OS_REPORTING_LINE, H.H_INT_ESB, H.H_INT_SYNC, H.H_INT_RESET,
]);

function lisnOk(x: XiveState, lisn: bigint): boolean {
  return lisn < BigInt(NR_IRQS) && (x.easHi[Number(lisn)]! & EAS_VALID) !== 0;
}

/** The vCPU a target argument names, or -1 when there is none. */
function target(x: XiveState, t: bigint): number {
  const id = Number(t & 0xffff_ffffn);
  return x.tctx.has(id) ? id : -1;
}

/** One H_INT_* hcall on `a` = R4..R8: its return code; the outputs overwrite `a`. */
export function xiveHcall(x: XiveState, opcode: number, a: bigint[]): number {
  const [r4, r5, r6, r7, r8] = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!];
  switch (opcode) {
    case H.H_INT_GET_SOURCE_INFO: {
      if (r4 !== 0n) return H.H_PARAMETER;
      if (!lisnOk(x, r5)) return H.H_P2;
      const n = Number(r5);
      const page = BigInt(VC_BASE) + BigInt(n) * BigInt(ESB_STRIDE);
      const lsi = x.lsi[n] === 1;
      a[0] = lsi ? 0xcn : 0n;
      a[1] = lsi ? M64 : page + BigInt(ESB_PAGE);
      a[2] = lsi ? M64 : page;
      a[3] = 16n;
      return H.H_SUCCESS;
    }
    case H.H_INT_SET_SOURCE_CONFIG: {
      if ((r4 & ~3n) !== 0n) return H.H_PARAMETER;
      if (!lisnOk(x, r5)) return H.H_P2;
      const n = Number(r5);
      x.fx.touchedEas.add(n);
      if (r7 === 0xffn) {
        x.easHi[n] = EAS_VALID;
        x.easLo[n] = EAS_MASKED;
        return H.H_SUCCESS;
      }
      const prio = Number(r7 & 0xffn);
      if (prio >= HV_PRIO) return H.H_P4;
      const v = target(x, r6);
      if (v < 0) return H.H_P3;
      x.easHi[n] = ((x.easHi[n]! & 0xf000_0000) | (v * 8 + prio)) >>> 0;
      let lo = (r4 & 1n) !== 0n ? x.easLo[n]! | EAS_MASKED : x.easLo[n]! & ~EAS_MASKED;
      if ((r4 & 2n) !== 0n) lo = (lo & EAS_MASKED) | Number(r8 & 0x7fff_ffffn);
      x.easLo[n] = lo >>> 0;
      return H.H_SUCCESS;
    }
    case H.H_INT_GET_SOURCE_CONFIG: {
      if (r4 !== 0n) return H.H_PARAMETER;
      if (!lisnOk(x, r5)) return H.H_P2;
      const n = Number(r5);
      const e = x.easHi[n]! & 0x00ff_ffff;
      const nvt = e < x.nrEnds ? x.end[e * 8 + 6]! & 0x7ffff : 0;
      const prio = e < x.nrEnds ? (x.end[e * 8 + 7]! >>> 16) & 0xff : 0;
      a[0] = BigInt((nvt - NVT_BASE) >>> 0);
      a[1] = (x.easLo[n]! & EAS_MASKED) !== 0 ? 0xffn : BigInt(prio);
      a[2] = BigInt(x.easLo[n]! & 0x7fff_ffff);
      return H.H_SUCCESS;
    }
    case H.H_INT_GET_QUEUE_INFO: {
      if (r4 !== 0n) return H.H_PARAMETER;
      if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
      const v = target(x, r5);
      if (v < 0) return H.H_P2;
      const e = v * 8 + Number(r6 & 0xffn);
      const w0 = x.end[e * 8]!;
      a[0] = BigInt(END_BASE) + BigInt(e) * BigInt(ESB_STRIDE);
      a[1] = (w0 & END_ENQUEUE) !== 0 ? BigInt(((w0 >>> 16) & 0xf) + 12) : 0n;
      return H.H_SUCCESS;
    }
    case H.H_INT_SET_QUEUE_CONFIG: {
      if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
      if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
      const v = target(x, r5);
      if (v < 0) return H.H_P2;
      const prio = Number(r6 & 0xffn);
      const e = v * 8 + prio;
      if (r8 === 0n) {
        resetEnd(x, e);
        return H.H_SUCCESS;
      }
      if (r8 !== 12n && r8 !== 16n && r8 !== 21n && r8 !== 24n) return H.H_P5;
      if ((r7 & ((1n << r8) - 1n)) !== 0n) return H.H_P4;
      if (r7 + (1n << r8) > BigInt(x.ramSize)) return H.H_P4;
      const b = e * 8;
      let w0 = (x.end[b]! & ~0x000f_0000) | END_ENQUEUE | ((Number(r8) - 12) << 16) | END_VALID;
      w0 = (r4 & 1n) !== 0n ? w0 | END_UCOND : w0 & ~END_UCOND;
      abandon(x, e);
      x.end[b] = w0 >>> 0;
      x.end[b + 1] = END_GEN;
      x.end[b + 2] = Number((r7 >> 32n) & 0x0fff_ffffn);
      x.end[b + 3] = Number(r7 & 0xffff_ffffn);
      x.end[b + 6] = NVT_BASE + v;
      x.end[b + 7] = (prio << 16) >>> 0;
      x.fx.touchedEnd.add(e);
      return H.H_SUCCESS;
    }
    case H.H_INT_GET_QUEUE_CONFIG: {
      if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
      if (Number(r6 & 0xffn) >= HV_PRIO) return H.H_P3;
      const v = target(x, r5);
      if (v < 0) return H.H_P2;
      const e = v * 8 + Number(r6 & 0xffn);
      const b = e * 8;
      const w0 = x.end[b]!;
      const debug = (r4 & 1n) !== 0n;
      const enq = (w0 & END_ENQUEUE) !== 0;
      a[0] = ((w0 & END_UCOND) !== 0 ? 1n : 0n) | (debug ? BigInt((x.end[b + 1]! >>> 22) & 1) << 62n : 0n);
      a[1] = enq ? BigInt(queueAddr(x, e)) : 0n;
      a[2] = enq ? BigInt(((w0 >>> 16) & 0xf) + 12) : 0n;
      a[3] = debug ? BigInt(x.end[b + 1]! & END_INDEX) : 0n;
      return H.H_SUCCESS;
    }
    case H.H_INT_SET_OS_REPORTING_LINE:
    case H.H_INT_GET_OS_REPORTING_LINE:
      return H.H_FUNCTION;
    case H.H_INT_ESB: {
      if ((r4 & ~1n) !== 0n) return H.H_PARAMETER;
      if (!lisnOk(x, r5)) return H.H_P2;
      if (r6 > 0x20000n) return H.H_P3;
      const off = Number(r5) * ESB_STRIDE + ESB_PAGE + Number(r6);
      if (off % 8 !== 0 || off + 8 > ESB_REGION) return H.H_HARDWARE;
      if ((r4 & 1n) !== 0n) {
        esbStore(x, off);
        a[0] = M64;
      } else {
        const v = esbLoad(x, off);
        a[0] = (BigInt(v.hi) << 32n) | BigInt(v.lo);
      }
      return H.H_SUCCESS;
    }
    case H.H_INT_SYNC:
      if (r4 !== 0n) return H.H_PARAMETER;
      return lisnOk(x, r5) ? H.H_SUCCESS : H.H_P2;
    case H.H_INT_RESET:
      return r4 !== 0n ? H.H_PARAMETER : H.H_SUCCESS;
    default:
      return H.H_FUNCTION;
  }
}
