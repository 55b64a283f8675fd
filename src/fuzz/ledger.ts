/**
 * Conservation ledger of the fuzzer: where every interrupt event went.
 *
 * XIVE (docs/xive.md §1-§4): an event is an attempt at a source (device input, ESB trigger store,
 * EOI re-notification, inject). The source's PQ logic either lets it through to the router
 * ("forwarded"), keeps it as the Q bit (PQ 11: one coalesced event, re-sent by the next EOI),
 * merges it into a Q bit already set, or drops it (PQ 01 = source off). A forwarded event then
 * ends as exactly one of: an EQ entry written, or a drop the spec makes (EAS not valid, EAS
 * masked, END invalid, ...). An EQ entry stays in the queue until the guest reads it, the queue
 * wraps over it (no overflow check), another END's queue overlapping it overwrites it, or the
 * guest abandons the queue (reconfiguration, reset). Separately, each event that reached a valid
 * END is notified: presented to a thread (IPB bit, new or already set) or not, with the reason.
 *
 * XICS (docs/xics.md §3): a message-signalled (MSI) event raised by a device is a token that is, at
 * any time, in exactly one place: presented in an ICP's XISR, flagged REJECTED (waiting for a
 * resend), flagged MASKED_PENDING, or gone: accepted by the guest (H_XIRR), merged into a flag
 * already set, or dropped where the spec drops it (masked before its resend, rejected while
 * unclaimed, reset, source freed). LSIs are levels, not tokens: their invariant is that a source
 * marked SENT is presented somewhere or being handled by the guest.
 *
 * Each balance below must hold after every step; `check` returns the first one that does not.
 */

/** Counters; every name is a category of the accounting above. */
export class Ledger {
  // ---- XIVE source (PQ) level ----
  /** Trigger attempts (MSI input, ESB trigger stores). */
  trigger = 0;
  fwdTrigger = 0;
  /** Trigger while PQ=10: the event is kept in Q (PQ becomes 11). */
  coalescedQ = 0;
  /** Trigger while PQ=11: merged into the event already kept in Q. */
  mergedQ = 0;
  /** Trigger while PQ=01 (source off): dropped by the spec. */
  droppedOff = 0;
  /** LSI input raised. */
  lsiRaise = 0;
  lsiFwd = 0;
  /** LSI raised while PQ != 00: the level is held (ASSERTED), re-presented at EOI. */
  lsiHeld = 0;
  /** EOIs (ESB loads at 0x000-0x7FF). */
  eoi = 0;
  /** EOI with PQ=11: the event kept in Q is sent now. */
  fwdEoiQ = 0;
  /** EOI of an LSI still asserted: presented again. */
  lsiRepresent = 0;
  /** EOI with PQ=11 of an LSI still asserted: Q is not re-sent (§1.3, the result is PQ=10). */
  lsiEoiQDropped = 0;
  /** Inject stores (management page 0x800-0xBFF): forwarded whatever PQ. */
  inject = 0;
  /** The guest set PQ to 11 by a SET_PQ access: an event the next EOI will send. */
  qCreatedByGuest = 0;
  /** The guest moved PQ away from 11 by a SET_PQ access: the kept event is discarded. */
  qClearedByGuest = 0;
  /** Sources at PQ=11 when the controller was reset. */
  qClearedByReset = 0;
  /** Sources currently at PQ=11 (kept events). */
  qHeld = 0;

  // ---- XIVE router ----
  forwarded = 0;
  easInvalid = 0;
  easMasked = 0;
  unknownLisn = 0;
  noEnd = 0;
  endInvalid = 0;
  enqueueFailed = 0;
  enqueued = 0;
  /** END valid without ENQUEUE: notified, not stored (not reachable through sPAPR hcalls). */
  notQueued = 0;

  // ---- XIVE event queues ----
  eqConsumed = 0;
  /** Of the consumed entries, those read through another END's queue (overlapping queues). */
  eqConsumedForeign = 0;
  /** The queue wrapped over an entry the guest had not read. */
  eqOverwritten = 0;
  /** Another END's queue overlapping this one wrote over an unread entry. */
  eqOverlapClobbered = 0;
  /** Unread entries of a queue the guest reconfigured or that a reset dropped. */
  eqAbandoned = 0;
  /** Entries written and not yet read, overwritten or abandoned. */
  eqLive = 0;
  /** Valid-looking words the guest read that were not live entries (left from an old queue). */
  eqStaleReads = 0;

  // ---- XIVE notification ----
  endMasked = 0;
  esnCoalesced = 0;
  nvtMissing = 0;
  nvtInvalid = 0;
  lsUnsupported = 0;
  multipleThreads = 0;
  notDispatched = 0;
  presented = 0;
  ipbNew = 0;
  ipbMerged = 0;
  /** ACKs that took an interrupt (NSR exception bit was set). */
  acks = 0;

  // ---- XICS MSI tokens ----
  msiRaised = 0;
  /** Tokens created when an LSI presentation is rejected to a source since reclaimed as MSI. */
  msiFromKindChange = 0;
  xAccepted = 0;
  xMerged = 0;
  xDropMaskedAtResend = 0;
  xDropUnclaimed = 0;
  xDropKindChanged = 0;
  xDropReset = 0;
  xDropFreed = 0;
  /** Tokens in an XISR. */
  xInXisr = 0;
  /** REJECTED flags set. */
  xRejected = 0;
  /** MASKED_PENDING flags set. */
  xMaskedPending = 0;

  // ---- XICS information ----
  lsiDelivered = 0;
  lsiAccepted = 0;
  ipiPresented = 0;
  ipiAccepted = 0;
  xicsDeliveries = 0;
  xicsRejects = 0;

  /** The first balance that does not hold, or null. */
  check(): string | null {
    const q = this.coalescedQ + this.qCreatedByGuest - this.fwdEoiQ - this.qClearedByGuest - this.qClearedByReset - this.lsiEoiQDropped;
    if (q !== this.qHeld) return `XIVE source: events kept in Q ${q} (in ${this.coalescedQ + this.qCreatedByGuest}, out ${this.fwdEoiQ + this.qClearedByGuest + this.qClearedByReset + this.lsiEoiQDropped}) but ${this.qHeld} sources hold PQ=11`;
    const trig = this.fwdTrigger + this.coalescedQ + this.mergedQ + this.droppedOff;
    if (trig !== this.trigger) return `XIVE source: ${this.trigger} trigger attempts but ${trig} accounted (forwarded ${this.fwdTrigger}, kept ${this.coalescedQ}, merged ${this.mergedQ}, off ${this.droppedOff})`;
    if (this.lsiFwd + this.lsiHeld !== this.lsiRaise) return `XIVE source: ${this.lsiRaise} LSI raises but ${this.lsiFwd} forwarded + ${this.lsiHeld} held`;
    const fwd = this.fwdTrigger + this.lsiFwd + this.fwdEoiQ + this.lsiRepresent + this.inject;
    if (fwd !== this.forwarded) return `XIVE: sources let through ${fwd} events but the router received ${this.forwarded}`;
    const routed = this.easInvalid + this.easMasked + this.unknownLisn + this.noEnd + this.endInvalid + this.enqueueFailed + this.enqueued + this.notQueued;
    if (routed !== this.forwarded) return `XIVE router: ${this.forwarded} events received, ${routed} accounted (enqueued ${this.enqueued}, dropped ${routed - this.enqueued - this.notQueued})`;
    const eq = this.eqConsumed + this.eqOverwritten + this.eqOverlapClobbered + this.eqAbandoned + this.eqLive;
    if (eq !== this.enqueued) return `XIVE EQ: ${this.enqueued} entries written, ${eq} accounted (read ${this.eqConsumed}, wrapped over ${this.eqOverwritten}, overlapped ${this.eqOverlapClobbered}, abandoned ${this.eqAbandoned}, live ${this.eqLive})`;
    const notif = this.endMasked + this.esnCoalesced + this.nvtMissing + this.nvtInvalid + this.lsUnsupported + this.multipleThreads + this.notDispatched + this.presented;
    if (notif !== this.enqueued + this.notQueued + this.enqueueFailed) return `XIVE notification: ${this.enqueued + this.notQueued + this.enqueueFailed} events reached a valid END, ${notif} notification outcomes`;
    if (this.ipbNew + this.ipbMerged !== this.presented) return `XIVE presenter: ${this.presented} presented, ${this.ipbNew + this.ipbMerged} IPB updates`;
    const held = this.xInXisr + this.xRejected + this.xMaskedPending;
    const gone = this.xAccepted + this.xMerged + this.xDropMaskedAtResend + this.xDropUnclaimed + this.xDropKindChanged + this.xDropReset + this.xDropFreed;
    if (this.msiRaised + this.msiFromKindChange !== held + gone) {
      return `XICS: ${this.msiRaised + this.msiFromKindChange} MSI events, ${held} held (XISR ${this.xInXisr}, rejected ${this.xRejected}, masked-pending ${this.xMaskedPending}) + ${gone} gone (accepted ${this.xAccepted}, merged ${this.xMerged}, dropped ${gone - this.xAccepted - this.xMerged})`;
    }
    return null;
  }

  /** The summary printed at the end of a run. */
  summary(): string[] {
    const out: string[] = [];
    const p = (label: string, parts: [string, number][]) => {
      const shown = parts.filter(([, v]) => v !== 0);
      out.push(`  ${label.padEnd(20)} ${shown.length === 0 ? '-' : shown.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    };
    p('XIVE sources', [
      ['triggers', this.trigger],
      ['LSI raises', this.lsiRaise],
      ['EOIs', this.eoi],
      ['injects', this.inject],
      ['forwarded', this.forwarded],
      ['kept in Q', this.coalescedQ],
      ['merged in Q', this.mergedQ],
      ['off (dropped)', this.droppedOff],
      ['LSI held', this.lsiHeld],
      ['LSI re-presented', this.lsiRepresent],
      ['LSI Q not re-sent', this.lsiEoiQDropped],
      ['Q set/cleared by guest', this.qCreatedByGuest + this.qClearedByGuest],
      ['Q cleared by reset', this.qClearedByReset],
      ['held in Q now', this.qHeld],
    ]);
    p('XIVE router', [
      ['enqueued', this.enqueued],
      ['EAS invalid', this.easInvalid],
      ['EAS masked', this.easMasked],
      ['END invalid', this.endInvalid],
      ['no END', this.noEnd],
      ['write failed', this.enqueueFailed],
    ]);
    p('XIVE event queues', [
      ['read by guest', this.eqConsumed],
      ['wrapped over', this.eqOverwritten],
      ['overlapping queue', this.eqOverlapClobbered],
      ['abandoned', this.eqAbandoned],
      ['live', this.eqLive],
      ['stale reads', this.eqStaleReads],
    ]);
    p('XIVE notification', [
      ['presented', this.presented],
      ['IPB already set', this.ipbMerged],
      ['ESn coalesced', this.esnCoalesced],
      ['END masked', this.endMasked],
      ['not dispatched', this.notDispatched],
      ['several threads', this.multipleThreads],
      ['NVT missing', this.nvtMissing],
      ['ACKs', this.acks],
    ]);
    p('XICS MSI events', [
      ['raised', this.msiRaised],
      ['accepted', this.xAccepted],
      ['merged', this.xMerged],
      ['masked at resend', this.xDropMaskedAtResend],
      ['unclaimed', this.xDropUnclaimed],
      ['kind changed', this.xDropKindChanged + this.msiFromKindChange],
      ['reset', this.xDropReset],
      ['freed', this.xDropFreed],
      ['in XISR', this.xInXisr],
      ['rejected', this.xRejected],
      ['masked-pending', this.xMaskedPending],
    ]);
    p('XICS other', [
      ['deliveries', this.xicsDeliveries],
      ['rejects', this.xicsRejects],
      ['LSI presented', this.lsiDelivered],
      ['LSI accepted', this.lsiAccepted],
      ['IPI presented', this.ipiPresented],
      ['IPI accepted', this.ipiAccepted],
    ]);
    return out;
  }
}
