/**
 * The reference XIVE's router (docs/xive.md §3): an event the source lets through looks up its EAS
 * (Event Assignment Structure), then its END (Event Notification Descriptor), is written into
 * the END's event queue (EQ) in guest RAM, and is presented to the one thread context whose CAM
 * line matches the END's NVT (Notification Virtual Target), each drop counted with its reason.
 *
 * It also keeps the accounting of the EQs: which slot holds which live entry, so that an entry
 * overwritten, abandoned by a reconfiguration or read by the guest is counted once, and the
 * guest's own view of each queue (the consumer index and toggle a Linux guest keeps).
 */
import { END_ENQUEUE, END_GEN, END_INDEX, END_RESET_W1, END_UCOND, END_VALID, EAS_MASKED, EAS_VALID, NVT_BASE, TRIGGER, hx, prioToIpb, type EqEntry, type XiveState } from './ref-xive-defs.ts';
import { ipbUpdate, matchRing } from './ref-xive-tima.ts';

function err(x: XiveState, message: string): void {
  x.fx.guestErrors.push(message);
}

/** An event the source let through for `lisn` (or injected there). */
export function forward(x: XiveState, lisn: number): void {
  x.fx.forwards.push(lisn);
  x.led.forwarded++;
  const hi = x.easHi[lisn]!;
  const lo = x.easLo[lisn]!;
  if ((hi & EAS_VALID) === 0) {
    err(x, `XIVE: invalid LISN ${hx(lisn)}`);
    x.led.easInvalid++;
    return;
  }
  if ((lo & EAS_MASKED) !== 0) {
    x.led.easMasked++;
    return;
  }
  endTrigger(x, (hi >>> 24) & 0xf, hi & 0x00ff_ffff, lo & 0x7fff_ffff);
}

function endTrigger(x: XiveState, blk: number, idx: number, data: number): void {
  if (blk !== 0 || idx >= x.nrEnds) {
    err(x, `XIVE: No END ${hx(blk)}/${hx(idx)}`);
    x.led.noEnd++;
    return;
  }
  const b = idx * 8;
  const w0 = x.end[b]!;
  if ((w0 & END_VALID) === 0) {
    err(x, `XIVE: END ${hx(blk)}/${hx(idx)} is invalid`);
    x.led.endInvalid++;
    return;
  }
  if ((w0 & END_ENQUEUE) !== 0) enqueue(x, idx, data);
  else x.led.notQueued++;
  // Silent escalation, backlog, escalation and format 1 are never configured through the
  // sPAPR hcalls (the END table invariants check it); notification is all that follows.
  const w6 = x.end[b + 6]!;
  const w7 = x.end[b + 7]!;
  const format = (w6 >>> 23) & 1;
  const prio = (w7 >>> 16) & 0xff;
  if (format === 0 && prio === 0xff) {
    x.led.endMasked++;
    return;
  }
  if ((w0 & END_UCOND) === 0) {
    const w1 = x.end[b + 1]!;
    const esn = (w1 >>> 30) & 3;
    x.end[b + 1] = ((w1 & 0x3fff_ffff) | (TRIGGER[esn]! << 30)) >>> 0;
    x.fx.touchedEnd.add(idx);
    if (esn !== 0) {
      x.led.esnCoalesced++;
      return;
    }
  }
  const nvtBlk = (w6 >>> 19) & 0xf;
  const nvtIdx = w6 & 0x7ffff;
  if (!x.tctx.has((nvtIdx - NVT_BASE) >>> 0)) {
    err(x, `XIVE: no NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
    x.led.nvtMissing++;
    return;
  }
  if (format === 0 && (w7 & 0x8000_0000) !== 0) {
    err(x, `XIVE: no support for LS NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
    x.led.lsUnsupported++;
    return;
  }
  const cam = (nvtBlk << 19) | nvtIdx;
  let found = -1;
  let foundRing = -1;
  for (const v of x.cpuOrder) {
    const ring = matchRing(x, v, cam);
    if (ring < 0) continue;
    if (found >= 0) {
      err(x, `XIVE: already found a thread context NVT ${hx(nvtBlk)}/${hx(nvtIdx)}`);
      x.led.multipleThreads++;
      return;
    }
    found = v;
    foundRing = ring;
  }
  if (found < 0) {
    err(x, `XIVE: NVT ${hx(nvtBlk)}/${hx(nvtIdx)} is not dispatched`);
    x.led.notDispatched++;
    return;
  }
  x.fx.presents.push({ nvtIdx, ring: foundRing });
  x.fx.touchedCpu.add(found);
  x.led.presented++;
  const bit = prioToIpb(prio);
  if (bit !== 0 && (x.tctx.get(found)![foundRing + 2]! & bit) === 0) x.led.ipbNew++;
  else x.led.ipbMerged++;
  ipbUpdate(x, found, foundRing, bit);
}

/** docs/xive.md §3.3: entry = generation bit | 31-bit data, index advances, generation flips on wrap. */
function enqueue(x: XiveState, idx: number, data: number): void {
  const b = idx * 8;
  const w1 = x.end[b + 1]!;
  const index = w1 & END_INDEX;
  const gen = (w1 >>> 22) & 1;
  const addr = queueAddr(x, idx) + 4 * index;
  const word = ((gen << 31) | (data & 0x7fff_ffff)) >>> 0;
  if (addr + 4 > x.ramSize) {
    err(x, `XIVE: failed to write END data @0x${addr.toString(16)}`);
    x.led.enqueueFailed++;
    return;
  }
  x.fx.enqueues.push({ end: idx, addr, word });
  x.led.enqueued++;
  const prev = x.slots.get(addr);
  if (prev !== undefined && prev.alive) {
    kill(x, prev);
    if (prev.end === idx) x.led.eqOverwritten++;
    else x.led.eqOverlapClobbered++;
  }
  const entry: EqEntry = { end: idx, word, alive: true };
  x.slots.set(addr, entry);
  x.live[idx]!.add(entry);
  x.led.eqLive++;
  const next = (index + 1) & (queueEntries(x, idx) - 1);
  let nw1 = (w1 & ~END_INDEX) | next;
  if (next === 0) nw1 ^= END_GEN;
  x.end[b + 1] = nw1 >>> 0;
  x.writes[idx]!++;
  x.fx.touchedEnd.add(idx);
}

// ---- END configuration and the EQ accounting ----------------------------------------------------
/** An END back to its reset value (machine reset, or a queue configured with size 0). */
export function resetEnd(x: XiveState, e: number): void {
  x.end.fill(0, e * 8, e * 8 + 8);
  x.end[e * 8 + 1] = END_RESET_W1;
  abandon(x, e);
  x.fx.touchedEnd.add(e);
}

function kill(x: XiveState, e: EqEntry): void {
  e.alive = false;
  x.live[e.end]!.delete(e);
  x.led.eqLive--;
}

/** The guest gives up a queue (reconfiguration, reset): its unread entries are abandoned. */
export function abandon(x: XiveState, idx: number): void {
  const live = x.live[idx]!;
  if (live.size > 0) {
    for (const e of live) {
      e.alive = false;
      x.led.eqAbandoned++;
      x.led.eqLive--;
    }
    live.clear();
  }
  x.writes[idx] = 0;
  const c = x.consumers[idx]!;
  c.index = 0;
  c.toggle = 0;
}

export function queueAddr(x: XiveState, idx: number): number {
  return (x.end[idx * 8 + 2]! & 0x0fff_ffff) * 0x1_0000_0000 + x.end[idx * 8 + 3]!;
}

function queueEntries(x: XiveState, idx: number): number {
  return 1 << (((x.end[idx * 8]! >>> 16) & 0xf) + 10);
}

/**
 * The slot an END wrote last and the generation it wrote it with, when no other END's queue
 * has overwritten it since (generation consistency check); null when it never wrote.
 */
export function lastWrite(x: XiveState, idx: number): { addr: number; gen: number } | null {
  const w = x.writes[idx]!;
  if (w === 0) return null;
  const entries = queueEntries(x, idx);
  const addr = queueAddr(x, idx) + 4 * ((w - 1) % entries);
  const owner = x.slots.get(addr);
  if (owner === undefined || owner.end !== idx) return null;
  return { addr, gen: Math.floor((w - 1) / entries) % 2 === 0 ? 1 : 0 };
}

/** The word the guest RAM must hold at `addr` (only event-queue writes change guest RAM). */
export function expectedWord(x: XiveState, addr: number): number {
  return x.slots.get(addr)?.word ?? 0;
}

/**
 * The guest reads up to `max` entries of its queue (vCPU, priority) the way Linux does: an
 * entry is valid while its bit 31 differs from the consumer's toggle. `read` loads guest RAM
 * from the model; every word must equal what the reference wrote there. Returns the words
 * read (the last one is the invalid entry that stopped the scan, if any) or a mismatch.
 */
export function eqPop(x: XiveState, v: number, prio: number, max: number, read: (addr: number) => number): { words: number[]; mismatch?: string } {
  const idx = v * 8 + prio;
  const words: number[] = [];
  if (idx >= x.nrEnds) return { words };
  const w0 = x.end[idx * 8]!;
  if ((w0 & END_VALID) === 0 || (w0 & END_ENQUEUE) === 0) return { words };
  const base = queueAddr(x, idx);
  const entries = queueEntries(x, idx);
  const c = x.consumers[idx]!;
  for (let i = 0; i < max; i++) {
    const addr = base + 4 * c.index;
    const word = read(addr) >>> 0;
    const want = expectedWord(x, addr);
    words.push(word);
    if (word !== want) return { words, mismatch: `EQ of vCPU ${v} priority ${prio}: guest RAM @0x${addr.toString(16)} holds 0x${hx(word)}, the queue writes put 0x${hx(want)} there` };
    if (word >>> 31 === c.toggle) break;
    const owner = x.slots.get(addr);
    if (owner !== undefined && owner.alive) {
      kill(x, owner);
      x.led.eqConsumed++;
      if (owner.end !== idx) x.led.eqConsumedForeign++;
    } else {
      x.led.eqStaleReads++;
    }
    c.index = (c.index + 1) & (entries - 1);
    if (c.index === 0) c.toggle ^= 1;
  }
  return { words };
}
