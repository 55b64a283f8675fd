/**
 * XIVE presenter (IVPE): finds the thread context dispatched on an NVT and presents the event
 * (IPB update of the matching ring). QEMU scans every vCPU on each notification; this presenter
 * keeps an index CAM line -> (thread, ring) updated whenever a WORD2 changes, so a lookup is O(1)
 * whatever the number of vCPUs, with the same outcome as the scan (including its errors when
 * zero or several threads match).
 */
import * as R from './regs.ts';
import { getField } from '../base/bits.ts';
import type { Presenter } from './router.ts';
import type { ThreadContext } from './tctx.ts';
import { Tracer } from '../trace/events.ts';

// Module-private copies of the helpers every match uses (the engine folds a module's own
// constants, while an imported binding is loaded from its module cell and checked on each use).
const camLine = R.camLine;
const prioToIpb = R.prioToIpb;

const RINGS_BY_PRIORITY = [R.TM_QW3_HV_PHYS, R.TM_QW2_HV_POOL, R.TM_QW1_OS] as const;

interface CamKeys {
  phys: number;
  pool: number;
  os: number;
}

/** Outcome of a CAM match: the one thread found and its ring, or none, or several threads. */
interface Resolved {
  readonly tctx: ThreadContext | null;
  readonly ring: number;
  readonly several: boolean;
}

const enum MatchError {
  LogicalServer,
  Several,
  NotDispatched,
}

/** CAM lines with a cached format-0 outcome: below 2^16 (sPAPR uses 0x400 + vCPU id). */
const F0_CACHED = 1 << 16;

const NOT_FOUND: Resolved = { tctx: null, ring: -1, several: false };
const SEVERAL: Resolved = { tctx: null, ring: -1, several: true };

/**
 * The XIVE presenter (IVPE): the CAM line index of the thread contexts, and the match of an event
 * to a thread.
 */
export class XivePresenter implements Presenter {
  /** cam -> threads answering to it, with the ring they answer on. */
  private readonly index = new Map<number, { tctx: ThreadContext; ring: number }[]>();
  private readonly keys = new Map<ThreadContext, CamKeys>();
  /**
   * Format-0 outcomes by CAM line, for CAM lines below F0_CACHED. They depend on the index alone,
   * which changes only when a context's WORD2 does (push, pull, reset), while every event is
   * matched: each is worked out once and kept until the index changes. A dense array, sized to
   * the largest CAM line indexed, makes the lookup one load.
   */
  private f0: (Resolved | undefined)[] = [];
  /**
   * The thread and ring of each format-0 outcome kept in f0 that found one (null otherwise), side
   * by side: cachedF0 gets them in one load each, without going through the outcome object.
   */
  private f0Thread: (ThreadContext | null)[] = [];
  private f0Ring = new Uint8Array(0);
  private f0Used = false;
  private maxCam = -1;
  /** Where the block reports trace events and guest errors (shared by the machine's blocks). */
  tracer: Tracer = new Tracer();

  /** Start (or refresh) indexing a thread context after any change of its WORD2 registers. */
  update(tctx: ThreadContext): void {
    const old = this.keys.get(tctx);
    const next: CamKeys = {
      phys: (tctx.word2(R.TM_QW3_HV_PHYS) & R.TM_QW3W2_VT) !== 0 ? tctx.hwCam() : -1,
      pool: this.ringCam(tctx, R.TM_QW2_HV_POOL, R.TM_QW2W2_VP, R.TM_QW2W2_POOL_CAM),
      os: this.ringCam(tctx, R.TM_QW1_OS, R.TM_QW1W2_VO, R.TM_QW1W2_OS_CAM),
    };
    if (old !== undefined && old.phys === next.phys && old.pool === next.pool && old.os === next.os) return;
    if (old !== undefined) this.unindex(tctx, old);
    this.keys.set(tctx, next);
    this.add(next.phys, tctx, R.TM_QW3_HV_PHYS);
    this.add(next.pool, tctx, R.TM_QW2_HV_POOL);
    this.add(next.os, tctx, R.TM_QW1_OS);
  }

  /** Forget a thread context (vCPU removed). */
  remove(tctx: ThreadContext): void {
    const old = this.keys.get(tctx);
    if (old !== undefined) this.unindex(tctx, old);
    this.keys.delete(tctx);
  }

  private ringCam(tctx: ThreadContext, ring: number, valid: number, mask: number): number {
    const w2 = tctx.word2(ring);
    return (w2 & valid) !== 0 ? getField(mask, w2) : -1;
  }

  private add(cam: number, tctx: ThreadContext, ring: number): void {
    if (cam < 0) return;
    if (cam > this.maxCam) this.maxCam = cam;
    this.forgetOutcomes();
    const list = this.index.get(cam);
    if (list === undefined) this.index.set(cam, [{ tctx, ring }]);
    else {
      list.push({ tctx, ring });
      list.sort((a, b) => a.tctx.cpuIndex - b.tctx.cpuIndex);
    }
  }

  private unindex(tctx: ThreadContext, keys: CamKeys): void {
    this.forgetOutcomes();
    for (const cam of [keys.phys, keys.pool, keys.os]) {
      if (cam < 0) continue;
      const list = this.index.get(cam);
      if (list === undefined) continue;
      const kept = list.filter((e) => e.tctx !== tctx);
      if (kept.length === 0) this.index.delete(cam);
      else this.index.set(cam, kept);
    }
  }

  /**
   * The ring a thread answers `cam` on, as QEMU's per-thread check orders them (PHYS, POOL, OS),
   * or -1. For format 1 (user-level EBB) the OS CAM must match and the USER ring must be valid
   * for `logicServ`.
   */
  private ringFor(entries: { tctx: ThreadContext; ring: number }[], at: number, format: number, logicServ: number): number {
    const tctx = entries[at]!.tctx;
    if (format === 1) {
      for (const e of entries) {
        if (e.tctx === tctx && e.ring === R.TM_QW1_OS) {
          const w2 = tctx.word2(R.TM_QW0_USER);
          if ((w2 & R.TM_QW0W2_VU) !== 0 && logicServ === getField(R.TM_QW0W2_LOGIC_SERV, w2)) return R.TM_QW0_USER;
        }
      }
      return -1;
    }
    for (const ring of RINGS_BY_PRIORITY) {
      for (const e of entries) if (e.tctx === tctx && e.ring === ring) return ring;
    }
    return -1;
  }

  match(format: number, nvtBlk: number, nvtIdx: number, camIgnore: boolean, priority: number, logicServ: number): boolean {
    // What every event of a guest takes: a format-0 CAM line with a known outcome, one thread,
    // nothing traced. Small enough to be compiled into the router's notification.
    if (format === 0 && !camIgnore && this.tracer.sink === null) {
      const cam = camLine(nvtBlk, nvtIdx);
      const m = cam < this.f0.length ? this.f0[cam] : undefined;
      if (m !== undefined && m.tctx !== null) {
        m.tctx.ipbUpdate(m.ring, prioToIpb(priority));
        return true;
      }
    }
    return this.matchAny(format, nvtBlk, nvtIdx, camIgnore, priority, logicServ);
  }

  /**
   * @internal The thread a format-0 event for CAM line `cam` goes to when that outcome is already
   * worked out (its ring then in `cachedRing`), else null: what match() would present to,
   * looked up without presenting, for a caller that checks everything before changing anything.
   */
  cachedF0(cam: number): ThreadContext | null {
    if (cam >= this.f0Thread.length) return null;
    this.cachedRing = this.f0Ring[cam]!;
    return this.f0Thread[cam]!;
  }
  /** @internal The ring of the last thread cachedF0 returned. */
  cachedRing = -1;

  /** match() in every case: errors, format 1, outcomes not yet worked out, traces. */
  private matchAny(format: number, nvtBlk: number, nvtIdx: number, camIgnore: boolean, priority: number, logicServ: number): boolean {
    if (camIgnore) {
      this.matchError(MatchError.LogicalServer, nvtBlk, nvtIdx);
      return false;
    }
    const cam = camLine(nvtBlk, nvtIdx);
    let m: Resolved | undefined;
    if (format === 0) {
      m = cam < this.f0.length ? this.f0[cam] : undefined;
      if (m === undefined) m = this.resolveF0(cam);
    } else {
      m = this.resolve(cam, format, logicServ);
    }
    const found = m.tctx;
    if (found === null) {
      this.matchError(m.several ? MatchError.Several : MatchError.NotDispatched, nvtBlk, nvtIdx);
      return false;
    }
    if (this.tracer.sink !== null) this.traceNotify(nvtBlk, nvtIdx, m.ring);
    found.ipbUpdate(m.ring, prioToIpb(priority));
    return true;
  }

  // Kept out of match(), which runs for every event and is then small enough to be inlined.
  private matchError(kind: MatchError, nvtBlk: number, nvtIdx: number): void {
    const nvt = `${hx(nvtBlk)}/${hx(nvtIdx)}`;
    if (kind === MatchError.LogicalServer) this.tracer.guestError(`XIVE: no support for LS NVT ${nvt}`);
    else if (kind === MatchError.Several) this.tracer.guestError(`XIVE: already found a thread context NVT ${nvt}`);
    else this.tracer.guestError(`XIVE: NVT ${nvt} is not dispatched`);
  }

  private traceNotify(nvtBlk: number, nvtIdx: number, ring: number): void {
    this.tracer.sink!.emit({ name: 'xive_presenter_notify', nvtBlk, nvtIdx, ring });
  }

  private forgetOutcomes(): void {
    if (!this.f0Used) return;
    this.f0.fill(undefined);
    this.f0Thread.fill(null);
    this.f0Used = false;
  }

  private resolveF0(cam: number): Resolved {
    const m = this.resolve(cam, 0, 0);
    // Above the largest CAM line indexed nothing matches; beyond F0_CACHED lines are not kept.
    if (cam <= this.maxCam && cam < F0_CACHED) {
      if (this.f0.length <= cam) {
        const n = Math.min(this.maxCam + 1, F0_CACHED);
        this.f0 = Array.from({ length: n }, () => undefined);
        this.f0Thread = Array.from({ length: n }, () => null);
        this.f0Ring = new Uint8Array(n);
      }
      this.f0[cam] = m;
      this.f0Thread[cam] = m.tctx;
      if (m.tctx !== null) this.f0Ring[cam] = m.ring;
      this.f0Used = true;
    }
    return m;
  }

  /** The scan QEMU does over every thread, on the threads indexed under `cam`. */
  private resolve(cam: number, format: number, logicServ: number): Resolved {
    const entries = this.index.get(cam);
    let found: ThreadContext | null = null;
    let foundRing = -1;
    if (entries !== undefined) {
      for (let i = 0; i < entries.length; i++) {
        const tctx = entries[i]!.tctx;
        if (tctx === found || (i > 0 && entries[i - 1]!.tctx === tctx)) continue;
        const ring = this.ringFor(entries, i, format, logicServ);
        if (ring < 0) continue;
        if (found !== null) return SEVERAL;
        found = tctx;
        foundRing = ring;
      }
    }
    return found === null ? NOT_FOUND : { tctx: found, ring: foundRing, several: false };
  }

}

function hx(v: number): string {
  return (v >>> 0).toString(16);
}
