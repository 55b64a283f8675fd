/**
 * The reference guest as a tool sees it: the common interface (driver.ts) and `createGuest`,
 * which picks the driver the way a Linux guest ends up with one. The caller forces the model the
 * guest asks for at CAS (`--guest xive|xics`); the machine's answer then decides which driver
 * runs (XIVE exploitation granted: the XIVE operations, otherwise XICS), exactly as Linux reads
 * the negotiated option vector. A model the machine cannot offer is refused at CAS, where QEMU
 * would stop the VM.
 *
 * Source numbers are the pseries interrupt numbers both models share (0x1000.. for devices); a
 * vCPU's IPI is keyed by the vCPU id, the number the pseries IRQ map reserves for it.
 *
 * Acronyms: CAS = client architecture support, IPI = inter-processor interrupt, XIVE/XICS = the
 * two interrupt controller models of POWER (exploitation mode and legacy).
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { platformSupportByte, type IcMode } from '../spapr/cas.ts';
import { OV5_XICS_LEGACY, OV5_XIVE_EXPLOIT, type ReferenceGuest } from './driver.ts';
import { XiveGuest, type XiveGuestOptions } from './ops-xive.ts';
import { XicsGuest, type XicsGuestOptions } from './ops-xics.ts';

export type { ReferenceGuest } from './driver.ts';

/** Which interrupt model the guest asks for at CAS. */
export type GuestMode = 'xics' | 'xive';
/** Every guest mode. */
export const GUEST_MODES: readonly GuestMode[] = ['xics', 'xive'];

/** Option vector 5 byte 23 of the platform-support property: "either model" (guest-side copy). */
const OV5_PLATFORM_EITHER = 0x80;

/**
 * The model a Linux 6.1 guest asks for on a machine of this ic-mode: XIVE whenever the platform
 * advertises it in /chosen/ibm,arch-vec-5-platform-support (dual included), unless booted with
 * xive=off.
 */
export function defaultGuestMode(icMode: IcMode): GuestMode {
  return (platformSupportByte(icMode) & (OV5_PLATFORM_EITHER | OV5_XIVE_EXPLOIT)) !== 0 ? 'xive' : 'xics';
}

/** Options of {@link createGuest}: those of the driver that is created. */
export interface CreateGuestOptions {
  xive?: XiveGuestOptions;
  xics?: XicsGuestOptions;
}

/**
 * A reference guest that asked for `mode` at CAS and got it (not booted yet: boot() brings up
 * the vCPUs). Throws when the machine refuses the mode, which QEMU answers by terminating the VM.
 */
export function createGuest(machine: SpaprMachine, mode: 'xics', opts?: CreateGuestOptions): XicsGuest;
export function createGuest(machine: SpaprMachine, mode: 'xive', opts?: CreateGuestOptions): XiveGuest;
export function createGuest(machine: SpaprMachine, mode: GuestMode, opts?: CreateGuestOptions): ReferenceGuest;
export function createGuest(machine: SpaprMachine, mode: GuestMode, opts: CreateGuestOptions = {}): ReferenceGuest {
  if (!GUEST_MODES.includes(mode)) throw new Error(`guest mode must be one of ${GUEST_MODES.join(', ')}, got ${String(mode)}`);
  const askXive = mode === 'xive';
  const out = machine.cas(askXive ? OV5_XIVE_EXPLOIT : OV5_XICS_LEGACY);
  if (!out.ok) {
    // Only a machine without the asked-for controller refuses a valid request.
    throw new Error(
      askXive
        ? 'an ic-mode=xics machine has no XIVE: use the XICS guest, or ic-mode xive or dual'
        : 'an ic-mode=xive machine has no XICS: use the XIVE guest, or ic-mode xics or dual',
    );
  }
  const g = out.xive ? new XiveGuest(machine, opts.xive) : new XicsGuest(machine, opts.xics);
  g.negotiate(out);
  return g;
}
