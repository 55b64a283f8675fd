/**
 * The PAPR XICS guest interface of QEMU 7.2's pseries: the "hcall-interrupt" hypercalls that
 * drive a vCPU's ICP (interrupt presentation controller) — H_CPPR, H_EOI, H_IPI, H_IPOLL,
 * H_XIRR, H_XIRR_X — and the RTAS calls that configure ICS (interrupt source controller)
 * entries — ibm,set-xive, ibm,get-xive, ibm,int-off, ibm,int-on. Every check, its order and
 * every status code follow QEMU 7.2; guest input never throws.
 */
import type { Ics } from '../xics/ics.ts';
import type { Icp } from '../xics/icp.ts';
import { XiveUsageError } from '../base/errors.ts';
import { H_CPPR, H_EOI, H_FUNCTION, H_HARDWARE, H_IPI, H_IPOLL, H_PARAMETER, H_SUCCESS, H_XIRR, H_XIRR_X } from './hcall.ts';

export { H_CPPR, H_EOI, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X };


/** The XICS hcall opcodes. */
export const XICS_HCALLS: readonly number[] = [H_EOI, H_CPPR, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X];

/** RTAS status: success. */
export const RTAS_OUT_SUCCESS = 0;
/** RTAS status: hardware error (no ICS, or XICS not in use). */
export const RTAS_OUT_HW_ERROR = -1;
/** RTAS status: a bad parameter (unknown source, server, priority, or argument count). */
export const RTAS_OUT_PARAM_ERROR = -3;

/** RTAS tokens QEMU 7.2 advertises in /rtas for the XICS calls. */
export const XICS_RTAS_TOKENS: Readonly<Record<XicsRtasName, number>> = {
  'ibm,set-xive': 0x200a,
  'ibm,get-xive': 0x200b,
  'ibm,int-off': 0x200c,
  'ibm,int-on': 0x200d,
};

/** The XICS RTAS calls. */
export type XicsRtasName = 'ibm,set-xive' | 'ibm,get-xive' | 'ibm,int-off' | 'ibm,int-on';

/** What the XICS hcalls and RTAS calls need from the machine. */
export interface XicsHcallContext {
  /** The machine's ICS; null when it has none (RTAS then answers a hardware error). */
  readonly ics: Ics | null;
  /** ICP of the calling vCPU (by cpu_index). Every vCPU of an XICS machine has one. */
  icpOfCpu(cpuIndex: number): Icp | null;
  /** ICP of the vCPU with this id (server number), or null when no vCPU has it. */
  icpByServer(server: number): Icp | null;
  /** False when CAS selected XIVE or the in-kernel irqchip is used: every call then fails. */
  emulatedXicsActive(): boolean;
  /** Host cycle counter returned by H_XIRR_X (QEMU: cpu_get_host_ticks). */
  hostTicks(): bigint;
  /** QEMU's error_report (stderr); the text carries no newline. */
  errorReport?(message: string): void;
}

const M64 = 0xffff_ffff_ffff_ffffn;

/** QEMU's guard, named after the C function that failed it. */
function guard(ctx: XicsHcallContext, func: string): boolean {
  if (ctx.emulatedXicsActive()) return true;
  ctx.errorReport?.(`pseries: ${func} must only be called for emulated XICS`);
  return false;
}

function callerIcp(ctx: XicsHcallContext, cpuIndex: number): Icp {
  const icp = ctx.icpOfCpu(cpuIndex);
  if (icp === null) throw new XiveUsageError(`vCPU ${cpuIndex} has no ICP; XICS hcalls need one per vCPU`);
  return icp;
}

/** A server argument as QEMU reads it: a target_ulong converted to a C int (low 32 bits, signed). */
function serverArg(ctx: XicsHcallContext, r: bigint): Icp | null {
  const server = Number(r & 0xffff_ffffn) | 0;
  return server < 0 ? null : ctx.icpByServer(server);
}

export function isXicsHcall(opcode: number): boolean {
  return XICS_HCALLS.includes(opcode);
}

/**
 * Runs one XICS hcall made by vCPU `cpuIndex`. `regs` are R4..R9 (unsigned 64-bit values);
 * outputs are written into them only on H_SUCCESS. Returns R3. Opcodes that are not XICS
 * hcalls return H_FUNCTION (the machine does not register them in ic-mode=xive).
 */
export function xicsHcall(ctx: XicsHcallContext, cpuIndex: number, opcode: number, regs: bigint[]): number {
  const a0 = regs[0] ?? 0n;
  switch (opcode) {
    case H_CPPR: {
      if (!guard(ctx, 'h_cppr')) return H_HARDWARE;
      callerIcp(ctx, cpuIndex).setCppr(Number(a0 & 0xffn));
      return H_SUCCESS;
    }
    case H_EOI: {
      if (!guard(ctx, 'h_eoi')) return H_HARDWARE;
      callerIcp(ctx, cpuIndex).eoi(Number(a0 & 0xffff_ffffn));
      return H_SUCCESS;
    }
    case H_IPI: {
      const icp = serverArg(ctx, a0);
      if (!guard(ctx, 'h_ipi')) return H_HARDWARE;
      if (icp === null) return H_PARAMETER;
      icp.setMfrr(Number((regs[1] ?? 0n) & 0xffn));
      return H_SUCCESS;
    }
    case H_IPOLL: {
      const icp = serverArg(ctx, a0);
      if (!guard(ctx, 'h_ipoll')) return H_HARDWARE;
      if (icp === null) return H_PARAMETER;
      regs[0] = BigInt(icp.xirr);
      regs[1] = BigInt(icp.mfrr);
      return H_SUCCESS;
    }
    case H_XIRR: {
      // The accept happens before the guard: a refused call has still taken the interrupt.
      const xirr = callerIcp(ctx, cpuIndex).accept();
      if (!guard(ctx, 'h_xirr')) return H_HARDWARE;
      regs[0] = BigInt(xirr);
      return H_SUCCESS;
    }
    case H_XIRR_X: {
      const xirr = callerIcp(ctx, cpuIndex).accept();
      if (!guard(ctx, 'h_xirr_x')) return H_HARDWARE;
      regs[0] = BigInt(xirr);
      regs[1] = ctx.hostTicks() & M64;
      return H_SUCCESS;
    }
    default:
      return H_FUNCTION;
  }
}

export function isXicsRtas(name: string): name is XicsRtasName {
  return Object.prototype.hasOwnProperty.call(XICS_RTAS_TOKENS, name);
}

/**
 * Runs one XICS RTAS call. `args` are the nargs argument words (u32), `nret` the return-word
 * count the guest declared. Returns the words QEMU stores from rets[0] on, status first as a
 * signed RTAS_OUT_* value (the caller stores every word as u32). On any error only the status
 * is returned — and QEMU stores it even when nret is 0.
 */
export function xicsRtas(ctx: XicsHcallContext, name: string, args: readonly number[], nret: number): number[] {
  if (!isXicsRtas(name)) throw new XiveUsageError(`${JSON.stringify(name)} is not an XICS RTAS call; expected one of ${Object.keys(XICS_RTAS_TOKENS).join(', ')}`);
  for (const w of args) if (!isU32(w)) throw new XiveUsageError(`RTAS argument words are 32-bit unsigned integers, got ${w}`);
  if (!isU32(nret)) throw new XiveUsageError(`nret is a 32-bit unsigned integer, got ${nret}`);
  const nargs = args.length;
  const arg = (i: number): number => args[i]!;
  const wantArgs = name === 'ibm,set-xive' ? 3 : 1;
  const wantRets = name === 'ibm,get-xive' ? 3 : 1;
  if (!guard(ctx, RTAS_FUNC[name])) return [RTAS_OUT_HW_ERROR];
  if (nargs !== wantArgs || nret !== wantRets) return [RTAS_OUT_PARAM_ERROR];
  const ics = ctx.ics;
  if (ics === null) return [RTAS_OUT_HW_ERROR];
  const irq = arg(0);
  if (!ics.validIrq(irq)) return [RTAS_OUT_PARAM_ERROR];
  const srcno = irq - ics.offset;
  switch (name) {
    case 'ibm,set-xive': {
      const server = arg(1);
      const priority = arg(2);
      // The server is looked up as a C int: ids with bit 31 set never exist.
      if ((server | 0) < 0 || ctx.icpByServer(server) === null || priority > 0xff) return [RTAS_OUT_PARAM_ERROR];
      ics.writeXive(srcno, server, priority, priority);
      return [RTAS_OUT_SUCCESS];
    }
    case 'ibm,get-xive':
      // The current priority: 0xFF while masked by int-off, not the saved one.
      return [RTAS_OUT_SUCCESS, ics.server[srcno]!, ics.priority[srcno]!];
    case 'ibm,int-off':
      ics.writeXive(srcno, ics.server[srcno]!, 0xff, ics.priority[srcno]!);
      return [RTAS_OUT_SUCCESS];
    case 'ibm,int-on':
      ics.writeXive(srcno, ics.server[srcno]!, ics.savedPriority[srcno]!, ics.savedPriority[srcno]!);
      return [RTAS_OUT_SUCCESS];
  }
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

const RTAS_FUNC: Readonly<Record<XicsRtasName, string>> = {
  'ibm,set-xive': 'rtas_set_xive',
  'ibm,get-xive': 'rtas_get_xive',
  'ibm,int-off': 'rtas_int_off',
  'ibm,int-on': 'rtas_int_on',
};
