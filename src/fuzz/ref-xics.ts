/**
 * Reference model of the sPAPR XICS for the fuzzer, written from the spec (docs/xics.md §2-§5)
 * independently of src/xics: one ICS over 0x1000..0x1FFF, one ICP per vCPU, the algorithms of
 * §3 step by step (deliver, reject, IPI check, resend, CPPR, accept, EOI, device input, xive
 * writes, claim/free/reset), the six hcalls and four RTAS calls with their checks.
 *
 * It predicts every xics_* trace event in order (the fuzzer compares them with the model's) and
 * does the token accounting of MSI events (ledger.ts): each ICP remembers whether its XISR holds
 * an MSI token, an LSI presentation or an IPI, so a reject, accept or reset moves or ends exactly
 * that token.
 *
 * It is one of the reference machine's controllers (ref-intc.ts); it has no MMIO, and its hcalls
 * and RTAS calls check themselves whether it is the active controller.
 */
import * as H from '../spapr/hcall.ts';
import { OV5_XIVE_LEGACY } from '../spapr/cas.ts';
import type { TraceEvent } from '../trace/events.ts';
import type { Effects } from './effects.ts';
import type { Ledger } from './ledger.ts';
import type { GuestDrivers, HcallAnswer, LoadResult, RefIntc, RefPlatform } from './ref-intc.ts';

export const ICS_BASE = 0x1000;
export const ICS_N = 0x1000;
export const XICS_IPI = 2;
export const ST_ASSERTED = 0x01;
export const ST_SENT = 0x02;
export const ST_REJECTED = 0x04;
export const ST_MASKED_PENDING = 0x08;
export const FL_LSI = 0x1;
export const FL_MSI = 0x2;

/** What an ICP's XISR holds, for the accounting. */
const enum Tok {
  None,
  Msi,
  Lsi,
  Ipi,
}

export interface RefIcp {
  readonly cpuIndex: number;
  readonly server: number;
  xirr: number;
  pp: number;
  mfrr: number;
  /** The XISR came from the ICS (QEMU keeps the owner pointer; not cleared by reset). */
  owner: boolean;
  output: boolean;
  tok: Tok;
}

/** The XICS hcalls (docs/xics.md §4). */
const XICS_HCALLS: ReadonlySet<number> = new Set([H.H_EOI, H.H_CPPR, H.H_IPI, H.H_IPOLL, H.H_XIRR, H.H_XIRR_X]);
/** The XICS RTAS calls (docs/xics.md §5) and the tokens the machine gives them. */
const XICS_RTAS: Readonly<Record<string, number>> = { 'ibm,set-xive': 0x200a, 'ibm,get-xive': 0x200b, 'ibm,int-off': 0x200c, 'ibm,int-on': 0x200d };

export class RefXics implements RefIntc {
  readonly name = 'xics';
  readonly casMode = OV5_XIVE_LEGACY;
  readonly rtasTokens = XICS_RTAS;
  readonly server = new Uint32Array(ICS_N);
  readonly prio = new Uint8Array(ICS_N).fill(0xff);
  readonly saved = new Uint8Array(ICS_N).fill(0xff);
  readonly status = new Uint8Array(ICS_N);
  readonly flags = new Uint8Array(ICS_N);
  /** ICPs in CPU order. */
  readonly icps: RefIcp[] = [];
  private readonly byServer = new Map<number, RefIcp>();
  /** LSIs the guest accepted and has not EOI'd yet (their SENT flag is legitimately set). */
  readonly lsiInService = new Set<number>();

  constructor(
    private readonly fx: Effects,
    private readonly led: Ledger,
    private readonly platform: RefPlatform,
  ) {}

  private ev(e: TraceEvent): void {
    this.fx.xicsEvents.push(e);
  }

  icpOf(v: number): RefIcp | undefined {
    return this.byServer.get(v);
  }

  addCpu(v: number): void {
    const icp: RefIcp = { cpuIndex: v, server: v, xirr: 0, pp: 0xff, mfrr: 0xff, owner: false, output: false, tok: Tok.None };
    this.icps.push(icp);
    this.byServer.set(v, icp);
  }

  // ---- ICS side -------------------------------------------------------------------------------
  private lsiSource(s: number): boolean {
    return (this.flags[s]! & FL_LSI) !== 0;
  }

  private setStatus(s: number, st: number): void {
    const old = this.status[s]!;
    if ((old & ST_REJECTED) !== 0) this.led.xRejected--;
    if ((old & ST_MASKED_PENDING) !== 0) this.led.xMaskedPending--;
    if ((st & ST_REJECTED) !== 0) this.led.xRejected++;
    if ((st & ST_MASKED_PENDING) !== 0) this.led.xMaskedPending++;
    if ((st & ST_SENT) === 0) this.lsiInService.delete(s);
    this.status[s] = st;
    this.fx.touchedIcs.add(s);
  }

  /** §3.2, with the token the rejected presentation carried. */
  private reject(irq: number, tok: Tok): void {
    const s = irq - ICS_BASE;
    this.ev({ name: 'xics_ics_reject', nr: irq, srcno: s });
    this.led.xicsRejects++;
    const f = this.flags[s]!;
    if ((f & FL_MSI) !== 0) {
      if ((this.status[s]! & ST_REJECTED) !== 0) {
        if (tok === Tok.Msi) this.led.xMerged++;
      } else {
        // An LSI presentation rejected to a source since reclaimed as MSI becomes an MSI event.
        if (tok !== Tok.Msi) this.led.msiFromKindChange++;
        this.setStatus(s, this.status[s]! | ST_REJECTED);
      }
    } else if ((f & FL_LSI) !== 0) {
      if (tok === Tok.Msi) this.led.xDropKindChanged++;
      this.setStatus(s, this.status[s]! & ~ST_SENT);
    } else if (tok === Tok.Msi) {
      this.led.xDropUnclaimed++;
    }
  }

  /** §3.1: the presentation attempt of source `s` at its server. */
  private deliver(s: number): void {
    const irq = ICS_BASE + s;
    const server = this.server[s]!;
    const prio = this.prio[s]!;
    const tok = this.lsiSource(s) ? Tok.Lsi : Tok.Msi;
    this.ev({ name: 'xics_icp_irq', server, nr: irq, priority: prio });
    this.led.xicsDeliveries++;
    const icp = this.byServer.get(server);
    if (icp === undefined) {
      // Unreachable while vCPUs are never removed (set-xive checks the server).
      this.reject(irq, tok);
      return;
    }
    this.fx.touchedCpu.add(icp.server);
    const xisr = icp.xirr & 0xff_ffff;
    if (prio >= icp.xirr >>> 24 || (xisr !== 0 && icp.pp <= prio)) {
      this.reject(irq, tok);
      return;
    }
    if (xisr !== 0 && icp.owner) {
      const displaced = icp.tok;
      this.clearXisrToken(icp);
      this.reject(xisr, displaced);
      icp.owner = false;
    } else {
      this.clearXisrToken(icp);
    }
    icp.xirr = ((icp.xirr & 0xff00_0000) | irq) >>> 0;
    icp.owner = true;
    icp.pp = prio;
    icp.tok = tok;
    if (tok === Tok.Msi) this.led.xInXisr++;
    else this.led.lsiDelivered++;
    this.ev({ name: 'xics_icp_raise', xirr: icp.xirr, pendingPriority: icp.pp });
    icp.output = true;
  }

  /** The XISR stops holding its token (moved elsewhere by the caller, or dropped). */
  private clearXisrToken(icp: RefIcp): void {
    if (icp.tok === Tok.Msi) this.led.xInXisr--;
    icp.tok = Tok.None;
  }

  private resendLsi(s: number): void {
    const st = this.status[s]!;
    if (this.prio[s] !== 0xff && (st & ST_ASSERTED) !== 0 && (st & ST_SENT) === 0) {
      this.setStatus(s, st | ST_SENT);
      this.deliver(s);
    }
  }

  /** ICS_RESEND (§3.5): every source in ascending order; the walk sees rejections made during it. */
  private icsResend(): void {
    for (let s = 0; s < ICS_N; s++) {
      if (this.lsiSource(s)) {
        this.resendLsi(s);
      } else if ((this.status[s]! & ST_REJECTED) !== 0) {
        this.setStatus(s, this.status[s]! & ~ST_REJECTED);
        if (this.prio[s] !== 0xff) this.deliver(s);
        else this.led.xDropMaskedAtResend++;
      }
    }
  }

  /** Device input of IRQ `irq` (an ICS source number plus ICS_BASE). */
  setIrq(irq: number, level: boolean): void {
    const s = irq - ICS_BASE;
    if (this.lsiSource(s)) {
      this.ev({ name: 'xics_ics_set_irq_lsi', srcno: s, nr: irq });
      this.setStatus(s, level ? this.status[s]! | ST_ASSERTED : this.status[s]! & ~ST_ASSERTED);
      this.resendLsi(s);
      return;
    }
    this.ev({ name: 'xics_ics_set_irq_msi', srcno: s, nr: irq });
    if (!level) return;
    this.led.msiRaised++;
    if (this.prio[s] === 0xff) {
      if ((this.status[s]! & ST_MASKED_PENDING) !== 0) this.led.xMerged++;
      this.setStatus(s, this.status[s]! | ST_MASKED_PENDING);
      this.ev({ name: 'xics_masked_pending' });
    } else {
      this.deliver(s);
    }
  }

  /** §3.11. */
  private writeXive(s: number, server: number, prio: number, saved: number): void {
    this.server[s] = server;
    this.prio[s] = prio;
    this.saved[s] = saved;
    this.fx.touchedIcs.add(s);
    this.ev({ name: 'xics_ics_write_xive', nr: ICS_BASE + s, srcno: s, server, priority: prio });
    if (this.lsiSource(s)) {
      this.resendLsi(s);
    } else if ((this.status[s]! & ST_MASKED_PENDING) !== 0 && prio !== 0xff) {
      this.setStatus(s, this.status[s]! & ~ST_MASKED_PENDING);
      this.deliver(s);
    }
  }

  claim(irq: number, lsi: boolean): boolean {
    const s = irq - ICS_BASE;
    if ((this.flags[s]! & 3) !== 0) return false;
    this.flags[s] = lsi ? FL_LSI : FL_MSI;
    this.fx.touchedIcs.add(s);
    return true;
  }

  free(irq: number): void {
    const s = irq - ICS_BASE;
    if ((this.status[s]! & ST_REJECTED) !== 0) this.led.xDropFreed++;
    if ((this.status[s]! & ST_MASKED_PENDING) !== 0) this.led.xDropFreed++;
    this.setStatus(s, 0);
    this.server[s] = 0;
    this.prio[s] = 0;
    this.saved[s] = 0;
    this.flags[s] = 0;
  }

  reset(): void {
    this.fx.full = true;
    for (let s = 0; s < ICS_N; s++) {
      const st = this.status[s]!;
      if ((st & ST_REJECTED) !== 0) this.led.xDropReset++;
      if ((st & ST_MASKED_PENDING) !== 0) this.led.xDropReset++;
      if (st !== 0) this.setStatus(s, 0);
    }
    this.server.fill(0);
    this.prio.fill(0xff);
    this.saved.fill(0xff);
    for (const icp of this.icps) this.resetIcp(icp);
  }

  private resetIcp(icp: RefIcp): void {
    if (icp.tok === Tok.Msi) this.led.xDropReset++;
    this.clearXisrToken(icp);
    icp.xirr = 0;
    icp.pp = 0xff;
    icp.mfrr = 0xff;
    icp.output = false;
  }

  // ---- ICP side -------------------------------------------------------------------------------
  /** §3.3. */
  private checkIpi(icp: RefIcp): void {
    this.fx.touchedCpu.add(icp.server);
    const xisr = icp.xirr & 0xff_ffff;
    if (xisr !== 0 && icp.pp <= icp.mfrr) return;
    this.ev({ name: 'xics_icp_check_ipi', server: icp.cpuIndex, mfrr: icp.mfrr });
    const displaced = icp.tok;
    this.clearXisrToken(icp);
    if (xisr !== 0 && icp.owner) this.reject(xisr, displaced);
    icp.xirr = ((icp.xirr & 0xff00_0000) | XICS_IPI) >>> 0;
    icp.pp = icp.mfrr;
    icp.owner = false;
    icp.tok = Tok.Ipi;
    icp.output = true;
    this.led.ipiPresented++;
  }

  private icpResend(icp: RefIcp): void {
    if (icp.mfrr < icp.xirr >>> 24) this.checkIpi(icp);
    this.icsResend();
  }

  /** §3.6. */
  private setCppr(icp: RefIcp, cppr: number): void {
    this.fx.touchedCpu.add(icp.server);
    const old = icp.xirr >>> 24;
    icp.xirr = ((icp.xirr & 0xff_ffff) | (cppr << 24)) >>> 0;
    if (cppr < old) {
      const xisr = icp.xirr & 0xff_ffff;
      if (xisr !== 0 && cppr <= icp.pp) {
        const tok = icp.tok;
        this.clearXisrToken(icp);
        icp.xirr = (icp.xirr & 0xff00_0000) >>> 0;
        icp.pp = 0xff;
        icp.output = false;
        if (icp.owner) {
          this.reject(xisr, tok);
          icp.owner = false;
        }
      }
    } else if ((icp.xirr & 0xff_ffff) === 0) {
      this.icpResend(icp);
    }
  }

  /** §3.4. */
  private setMfrr(icp: RefIcp, mfrr: number): void {
    this.fx.touchedCpu.add(icp.server);
    icp.mfrr = mfrr;
    if (mfrr < icp.xirr >>> 24) this.checkIpi(icp);
  }

  /** §3.7. */
  private accept(icp: RefIcp): number {
    this.fx.touchedCpu.add(icp.server);
    const ret = icp.xirr;
    icp.output = false;
    const xisr = ret & 0xff_ffff;
    if (icp.tok === Tok.Msi) this.led.xAccepted++;
    else if (icp.tok === Tok.Lsi) {
      this.led.lsiAccepted++;
      this.lsiInService.add(xisr - ICS_BASE);
    } else if (icp.tok === Tok.Ipi) this.led.ipiAccepted++;
    this.clearXisrToken(icp);
    icp.xirr = (icp.pp << 24) >>> 0;
    icp.pp = 0xff;
    icp.owner = false;
    this.ev({ name: 'xics_icp_accept', oldXirr: ret, newXirr: icp.xirr });
    return ret;
  }

  /** §3.9. */
  private eoi(icp: RefIcp, x: number): void {
    this.fx.touchedCpu.add(icp.server);
    icp.xirr = ((icp.xirr & 0xff_ffff) | (x & 0xff00_0000)) >>> 0;
    this.ev({ name: 'xics_icp_eoi', server: icp.cpuIndex, xirr: x, newXirr: icp.xirr });
    const irq = x & 0xff_ffff;
    if (irq >= ICS_BASE && irq < ICS_BASE + ICS_N) {
      this.ev({ name: 'xics_ics_eoi', nr: irq });
      const s = irq - ICS_BASE;
      if (this.lsiSource(s)) this.setStatus(s, this.status[s]! & ~ST_SENT);
    }
    if ((icp.xirr & 0xff_ffff) === 0) this.icpResend(icp);
  }

  // ---- guest interface (§4, §5) ---------------------------------------------------------------
  handlesHcall(opcode: number): boolean {
    return XICS_HCALLS.has(opcode);
  }

  /** One XICS hcall by vCPU `v`. */
  hcall(v: number, opcode: number, a: bigint[]): HcallAnswer {
    const r = this.hcallInner(v, opcode, a, this.platform.isActive(this));
    return { ret: r.ret, ticks: r.ticks === true };
  }

  /** `active`: emulated XICS is the active controller. */
  private hcallInner(v: number, opcode: number, a: bigint[], active: boolean): { ret: number; ticks?: boolean } {
    const server = (r: bigint) => {
      const n = Number(r & 0xffff_ffffn) | 0;
      return n < 0 ? undefined : this.byServer.get(n);
    };
    switch (opcode) {
      case H.H_CPPR:
        if (!active) return { ret: H.H_HARDWARE };
        this.setCppr(this.byServer.get(v)!, Number(a[0]! & 0xffn));
        return { ret: H.H_SUCCESS };
      case H.H_EOI:
        if (!active) return { ret: H.H_HARDWARE };
        this.eoi(this.byServer.get(v)!, Number(a[0]! & 0xffff_ffffn));
        return { ret: H.H_SUCCESS };
      case H.H_IPI: {
        const icp = server(a[0]!);
        if (!active) return { ret: H.H_HARDWARE };
        if (icp === undefined) return { ret: H.H_PARAMETER };
        this.setMfrr(icp, Number(a[1]! & 0xffn));
        return { ret: H.H_SUCCESS };
      }
      case H.H_IPOLL: {
        const icp = server(a[0]!);
        if (!active) return { ret: H.H_HARDWARE };
        if (icp === undefined) return { ret: H.H_PARAMETER };
        a[0] = BigInt(icp.xirr);
        a[1] = BigInt(icp.mfrr);
        return { ret: H.H_SUCCESS };
      }
      case H.H_XIRR:
      case H.H_XIRR_X: {
        // The accept happens before the "emulated XICS" check: a refused call has still taken it.
        const x = this.accept(this.byServer.get(v)!);
        if (!active) return { ret: H.H_HARDWARE };
        a[0] = BigInt(x);
        return { ret: H.H_SUCCESS, ticks: opcode === H.H_XIRR_X };
      }
      default:
        return { ret: H.H_FUNCTION };
    }
  }

  /** One RTAS call (by name); returns the return words, status first. */
  rtas(name: string, args: readonly number[], nret: number): number[] {
    if (!this.platform.isActive(this)) return [-1];
    const wantArgs = name === 'ibm,set-xive' ? 3 : 1;
    const wantRets = name === 'ibm,get-xive' ? 3 : 1;
    if (args.length !== wantArgs || nret !== wantRets) return [-3];
    const irq = args[0]!;
    if (irq < ICS_BASE || irq >= ICS_BASE + ICS_N) return [-3];
    const s = irq - ICS_BASE;
    switch (name) {
      case 'ibm,set-xive': {
        const server = args[1]!;
        const prio = args[2]!;
        if ((server | 0) < 0 || !this.byServer.has(server) || prio > 0xff) return [-3];
        this.writeXive(s, server, prio, prio);
        return [0];
      }
      case 'ibm,get-xive':
        return [0, this.server[s]!, this.prio[s]!];
      case 'ibm,int-off':
        this.writeXive(s, this.server[s]!, 0xff, this.prio[s]!);
        return [0];
      default:
        this.writeXive(s, this.server[s]!, this.saved[s]!, this.saved[s]!);
        return [0];
    }
  }

  /** The ICS flags of a free source say neither LSI nor MSI. */
  isLsi(irq: number): boolean {
    return this.lsiSource(irq - ICS_BASE);
  }

  // ---- no MMIO: the ICS and ICPs are reached through hcalls and RTAS only -------------------
  mmioLoad(_v: number, _addr: number, _size: number): LoadResult {
    return { lo: 0, hi: 0 };
  }

  mmioStore(_v: number, _addr: number, _size: number, _lo: number, _hi: number): void {}

  mmioIsPerCpu(_addr: number): boolean {
    return false;
  }

  driveGuest<T>(drivers: GuestDrivers<T>): T {
    return drivers.xics();
  }

  /**
   * After a snapshot is loaded: the ICP owner is not migrated and is derived from the XISR
   * (a source number of the ICS has one); then, if `resend`, QEMU's post-load resend runs on
   * every ICP in vCPU order.
   */
  postLoad(resend: boolean): void {
    for (const icp of this.icps) {
      const xisr = icp.xirr & 0xff_ffff;
      icp.owner = xisr >= ICS_BASE && xisr < ICS_BASE + ICS_N;
    }
    if (resend) for (const icp of this.icps) this.icpResend(icp);
  }

  /** MSI tokens held right now, counted over the whole state (the ledger keeps them incrementally). */
  countHeld(): { xisr: number; rejected: number; maskedPending: number } {
    let rejected = 0;
    let maskedPending = 0;
    for (let s = 0; s < ICS_N; s++) {
      if ((this.status[s]! & ST_REJECTED) !== 0) rejected++;
      if ((this.status[s]! & ST_MASKED_PENDING) !== 0) maskedPending++;
    }
    let xisr = 0;
    for (const icp of this.icps) if (icp.tok === Tok.Msi) xisr++;
    return { xisr, rejected, maskedPending };
  }

  /** Is `irq` in some ICP's XISR? */
  presented(irq: number): boolean {
    for (const icp of this.icps) if ((icp.xirr & 0xff_ffff) === irq) return true;
    return false;
  }
}
