/**
 * The XICS device of the KVM-style API (KVM_DEV_TYPE_XICS, "kvm-xics"): the machine's emulated
 * XICS reached with the attribute words of Linux's in-kernel XICS — one 64-bit word per source
 * in group KVM_DEV_XICS_GRP_SOURCES — and the presenter state word KVM_REG_PPC_ICP_STATE.
 *
 * It behaves as the legacy software implementation (book3s_xics.c) does at its interface: the
 * same checks in the same order and the same errno values; group KVM_DEV_XICS_GRP_CTRL does not
 * exist (ENXIO), as on that implementation. Sources are QEMU's ICS range 0x1000..0x1FFF, i.e.
 * the kernel's 1024-source blocks 4..7; other blocks never exist. A source "exists" (kernel
 * flag) exactly when the model's ICS has it claimed; SET claims it.
 *
 * The kernel keeps P/Q bits where QEMU's emulated ICS keeps ASSERTED/SENT/REJECTED/
 * MASKED_PENDING status bits, so the word is mapped on meaning, and losslessly for every state
 * the emulation reaches (a GET followed by a SET restores the same status byte):
 *
 *   LSI:  PENDING ⇔ ASSERTED (line level); PRESENTED ⇔ SENT (presented, no EOI yet).
 *   MSI:  REJECTED (awaiting resend, still in flight)        → PENDING | PRESENTED
 *         MASKED_PENDING (fired while masked)                → PENDING
 *         both                                               → PENDING | PRESENTED | QUEUED
 *   Status bits 0x10/0x20 (QEMU's mirrors of P and Q) add PRESENTED / QUEUED.
 *
 * On SET, a PENDING source that is not masked is offered to its presenter at once (the kernel
 * does the same); a masked MSI keeps the latch the table above gives; QUEUED without PENDING is
 * one more event still owed: it becomes MASKED_PENDING when masked, REJECTED (retried at the
 * next resend) otherwise. The displaced XISR of an ICP_STATE set is not rejected (kernel rule:
 * userspace makes sources consistent, before or after).
 *
 * ICS = interrupt source controller, ICP = presenter, XIRR/XISR/CPPR/MFRR/PPRI: see uapi.ts.
 */
import * as U from './uapi.ts';
import { KvmDeviceBase, readU64, writeU64 } from './common.ts';
import {
  XICS_FLAGS_IRQ_LSI,
  XICS_FLAGS_IRQ_MSI,
  XICS_STATUS_ASSERTED,
  XICS_STATUS_MASKED_PENDING,
  XICS_STATUS_PRESENTED,
  XICS_STATUS_QUEUED,
  XICS_STATUS_REJECTED,
  XICS_STATUS_SENT,
  type Ics,
} from '../xics/ics.ts';
import { XIRR_CPPR, XIRR_XISR, type Icp } from '../xics/icp.ts';
import { getField64n, setField, setField64n } from '../base/bits.ts';

/**
 * The in-kernel XICS device (KVM_DEV_TYPE_XICS) over the machine's emulated XICS: source words, ICP
 * state, vCPU connection.
 */
export class KvmXicsDevice extends KvmDeviceBase {
  readonly type = U.KVM_DEV_TYPE_XICS;
  readonly name = 'kvm-xics';

  private get ics(): Ics {
    return this.machine.xics!.ics;
  }

  protected doHasAttr(group: number, attr: bigint): number {
    if (group === U.KVM_DEV_XICS_GRP_SOURCES && attr >= BigInt(U.KVMPPC_XICS_FIRST_IRQ) && attr < BigInt(U.KVMPPC_XICS_NR_IRQS)) return 0;
    return -U.ENXIO;
  }

  protected doGetAttr(group: number, attr: bigint, data: Uint8Array): number {
    if (group !== U.KVM_DEV_XICS_GRP_SOURCES) return -U.ENXIO;
    const ics = this.ics;
    // No block, or a block the model does not have: ENOENT, as for a source never set.
    if (attr >= BigInt(U.KVMPPC_XICS_NR_IRQS) || !ics.validIrq(Number(attr))) return -U.ENOENT;
    const srcno = Number(attr) - ics.offset;
    if (!ics.isClaimed(srcno)) return -U.ENOENT;
    const word = xicsSourceWord(ics, srcno);
    if (data.length < 8) return -U.EFAULT;
    writeU64(data, 0, word);
    return 0;
  }

  protected doSetAttr(group: number, attr: bigint, data: Uint8Array): number {
    if (group !== U.KVM_DEV_XICS_GRP_SOURCES) return -U.ENXIO;
    if (attr < BigInt(U.KVMPPC_XICS_FIRST_IRQ) || attr >= BigInt(U.KVMPPC_XICS_NR_IRQS)) return -U.ENOENT;
    const ics = this.ics;
    // The kernel would allocate a new block here; the model's ICS is fixed, so the allocation fails.
    if (!ics.validIrq(Number(attr))) return -U.ENOMEM;
    if (data.length < 8) return -U.EFAULT;
    const val = readU64(data, 0);
    const server = Number(getField64n(U.KVM_XICS_DESTINATION_FIELD, val));
    const priority = Number(getField64n(U.KVM_XICS_PRIORITY_FIELD, val));
    if (priority !== 0xff && this.host.vcpuOfServer(this, server) < 0) return -U.EINVAL;
    loadXicsSource(ics, Number(attr) - ics.offset, val);
    return 0;
  }

  /**
   * KVM_CAP_IRQ_XICS connect, after the generic checks: EEXIST when the server is taken.
   *
   * @internal Called by KvmVm when a vCPU connects.
   */
  connectCheck(vcpu: number, server: number): number {
    if (this.host.vcpuOfServer(this, server) >= 0) return -U.EEXIST;
    // The model numbers presenters by vCPU id, as QEMU's pseries does (it always passes the id).
    if (server !== vcpu) return -U.EINVAL;
    return 0;
  }
}

/** The KVM_DEV_XICS_GRP_SOURCES word of a (claimed) source of the model's ICS. */
export function xicsSourceWord(ics: Ics, srcno: number): bigint {
  const prio = ics.priority[srcno]!;
  const st = ics.status[srcno]!;
  let w = setField64n(U.KVM_XICS_DESTINATION_FIELD, 0n, BigInt(ics.server[srcno]!));
  // Masked: the word carries the saved priority, as ibm,int-on will restore it.
  if (prio === 0xff) w = setField64n(U.KVM_XICS_PRIORITY_FIELD, w | U.KVM_XICS_MASKED, BigInt(ics.savedPriority[srcno]!));
  else w = setField64n(U.KVM_XICS_PRIORITY_FIELD, w, BigInt(prio));
  if (ics.isLsi(srcno)) {
    w |= U.KVM_XICS_LEVEL_SENSITIVE;
    if ((st & XICS_STATUS_ASSERTED) !== 0) w |= U.KVM_XICS_PENDING;
    if ((st & XICS_STATUS_SENT) !== 0) w |= U.KVM_XICS_PRESENTED;
  } else {
    const rejected = (st & XICS_STATUS_REJECTED) !== 0;
    const latched = (st & XICS_STATUS_MASKED_PENDING) !== 0;
    if (rejected && latched) w |= U.KVM_XICS_PENDING | U.KVM_XICS_PRESENTED | U.KVM_XICS_QUEUED;
    else if (rejected) w |= U.KVM_XICS_PENDING | U.KVM_XICS_PRESENTED;
    else if (latched) w |= U.KVM_XICS_PENDING;
  }
  if ((st & XICS_STATUS_PRESENTED) !== 0) w |= U.KVM_XICS_PRESENTED;
  if ((st & XICS_STATUS_QUEUED) !== 0) w |= U.KVM_XICS_QUEUED;
  return w;
}

/** Writes a source word into the model's ICS (already validated), then offers it if PENDING. */
function loadXicsSource(ics: Ics, srcno: number, val: bigint): void {
  const saved = Number(getField64n(U.KVM_XICS_PRIORITY_FIELD, val));
  const prio = (val & U.KVM_XICS_MASKED) !== 0n ? 0xff : saved;
  const lsi = (val & U.KVM_XICS_LEVEL_SENSITIVE) !== 0n;
  const pending = (val & U.KVM_XICS_PENDING) !== 0n;
  const presented = (val & U.KVM_XICS_PRESENTED) !== 0n;
  const queued = (val & U.KVM_XICS_QUEUED) !== 0n;
  let status = 0;
  let offer = false;
  if (lsi) {
    if (pending) status |= XICS_STATUS_ASSERTED;
    if (presented) status |= XICS_STATUS_SENT;
    offer = pending && !presented && prio !== 0xff;
  } else if (prio === 0xff) {
    if (queued) status = pending ? XICS_STATUS_REJECTED | XICS_STATUS_MASKED_PENDING : XICS_STATUS_MASKED_PENDING;
    else if (pending) status = presented ? XICS_STATUS_REJECTED : XICS_STATUS_MASKED_PENDING;
  } else if (pending) {
    offer = true;
  } else if (queued) {
    status = XICS_STATUS_REJECTED;
  }
  ics.server[srcno] = Number(getField64n(U.KVM_XICS_DESTINATION_FIELD, val));
  ics.savedPriority[srcno] = saved;
  ics.priority[srcno] = prio;
  ics.flags[srcno] = lsi ? XICS_FLAGS_IRQ_LSI : XICS_FLAGS_IRQ_MSI;
  ics.status[srcno] = status;
  // The model's input path is the delivery attempt: an LSI with ASSERTED and not SENT is sent,
  // an unmasked MSI is presented; a refusal leaves it REJECTED (MSI) or not SENT (LSI).
  if (offer) ics.setIrq(srcno, true);
}

// ---- KVM_REG_PPC_ICP_STATE ---------------------------------------------------------------------------

/** The ICP_STATE word of a presenter (0 when the vCPU has none, as the kernel answers). */
export function icpStateWord(icp: Icp | null): bigint {
  if (icp === null) return 0n;
  let w = setField64n(U.KVM_REG_PPC_ICP_CPPR_FIELD, 0n, BigInt(icp.cppr));
  w = setField64n(U.KVM_REG_PPC_ICP_XISR_FIELD, w, BigInt(icp.xisr));
  w = setField64n(U.KVM_REG_PPC_ICP_MFRR_FIELD, w, BigInt(icp.mfrr));
  return setField64n(U.KVM_REG_PPC_ICP_PPRI_FIELD, w, BigInt(icp.pendingPriority));
}

/**
 * Replaces the presenter state with `val` after the kernel's consistency checks (EINVAL): no
 * XISR → PPRI 0xFF; IPI → PPRI = MFRR < CPPR; a source → PPRI below MFRR and CPPR, and the
 * source's ICS block must exist.
 */
export function setIcpState(ics: Ics, icp: Icp, val: bigint): number {
  const cppr = Number(getField64n(U.KVM_REG_PPC_ICP_CPPR_FIELD, val));
  const xisr = Number(getField64n(U.KVM_REG_PPC_ICP_XISR_FIELD, val));
  const mfrr = Number(getField64n(U.KVM_REG_PPC_ICP_MFRR_FIELD, val));
  const ppri = Number(getField64n(U.KVM_REG_PPC_ICP_PPRI_FIELD, val));
  if (xisr === 0) {
    if (ppri !== 0xff) return -U.EINVAL;
  } else if (xisr === U.XICS_IPI) {
    if (ppri !== mfrr || ppri >= cppr) return -U.EINVAL;
  } else {
    if (ppri >= mfrr || ppri >= cppr) return -U.EINVAL;
    if (!ics.validIrq(xisr)) return -U.EINVAL;
  }
  const cpprOnly = setField(XIRR_CPPR, 0, cppr);
  if (xisr === 0 || xisr === U.XICS_IPI) {
    icp.setState(setField(XIRR_XISR, cpprOnly, xisr) >>> 0, ppri, mfrr);
  } else {
    // Through the presentation path, so the ICP knows which ICS owns its XISR (what the kernel
    // finds from the number when it later displaces it). PPRI < CPPR: it is always taken.
    icp.setState(cpprOnly >>> 0, 0xff, mfrr);
    icp.present(ics, xisr, ppri);
  }
  return 0;
}
