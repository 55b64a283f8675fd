/**
 * Client Architecture Support (CAS) negotiation of the interrupt controller mode. The machine
 * advertises what it supports in /chosen/ibm,arch-vec-5-platform-support (option vector 5, byte
 * 23); the guest answers with its own vector 5 in the CAS call; the negotiated vector (ov5_cas)
 * decides which controller is active.
 */

import type { IntcName } from './intc.ts';

/** The machine's ic-mode option: XICS only, XIVE only, or both with the guest choosing at CAS. */
export type IcMode = 'xics' | 'xive' | 'dual';
/** Every ic-mode. */
export const IC_MODES: readonly IcMode[] = ['xics', 'xive', 'dual'];

/** The interrupt controllers a machine of each ic-mode has, in QEMU's order (XICS first). */
export const IC_MODE_BACKENDS: Readonly<Record<IcMode, readonly IntcName[]>> = {
  xics: ['xics'],
  xive: ['xive'],
  dual: ['xics', 'xive'],
};

/** Option vector 5 byte carrying the interrupt controller bits. */
export const OV5_INT_CTRL_BYTE = 23;
/** Byte 23 bit 0x80 (bit 0): the platform supports both modes; in a guest request, invalid. */
export const OV5_XIVE_EITHER = 0x80;
/** Byte 23 bit 0x40: XIVE exploitation mode (platform: XIVE only; guest: wants XIVE). */
export const OV5_XIVE_EXPLOIT = 0x40;
/** Byte 23 value 0: legacy XICS mode. */
export const OV5_XIVE_LEGACY = 0x00;

/** Byte 23 of ibm,arch-vec-5-platform-support for a machine mode. */
export function platformSupportByte(mode: IcMode): number {
  return PLATFORM_SUPPORT[mode];
}

const PLATFORM_SUPPORT: Readonly<Record<IcMode, number>> = { xics: OV5_XIVE_LEGACY, xive: OV5_XIVE_EXPLOIT, dual: OV5_XIVE_EITHER };

/**
 * The outcome of CAS: the controller the guest gets (xive true: XIVE, false: XICS), or a fatal
 * error.
 */
export type CasOutcome =
  | { ok: true; xive: boolean }
  /** QEMU terminates the VM with this message. */
  | { ok: false; fatal: string };

/**
 * Decides the outcome of a guest's CAS request (its option vector 5 byte 23) on a machine with
 * the given backends. Pure: the machine applies the result.
 */
export function negotiateIcMode(hasXics: boolean, hasXive: boolean, guestByte23: number): CasOutcome {
  if ((guestByte23 & OV5_XIVE_EITHER) !== 0) return { ok: false, fatal: 'guest requested an invalid interrupt mode' };
  const wantsXive = (guestByte23 & OV5_XIVE_EXPLOIT) !== 0;
  if (wantsXive && !hasXive) {
    return { ok: false, fatal: 'Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property' };
  }
  if (!wantsXive && !hasXics) {
    return {
      ok: false,
      fatal: "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual",
    };
  }
  return { ok: true, xive: wantsXive };
}
