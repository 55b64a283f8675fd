/**
 * The interface of a reference interrupt controller of the fuzzer: what the reference machine
 * (reference.ts) asks of its reference XIVE (ref-xive.ts) and XICS (ref-xics.ts), shaped like the
 * product's sPAPR interrupt-controller interface. The machine holds one per ic-mode (both in dual
 * mode), sends claims, frees, resets and new vCPUs to every one, device input and MMIO to the
 * active one, and each guest call to the controller that owns it; the controllers ask the
 * machine whether they are active and what CAS negotiated. Nothing else needs to know which
 * controller is which.
 */
import type { IntcName } from '../spapr/intc.ts';

/** An 8-byte MMIO value as two 32-bit halves. */
export interface LoadResult {
  lo: number;
  hi: number;
}

export interface HcallAnswer {
  /** R3. */
  ret: number;
  /** The second output register holds a host clock value (H_XIRR_X): not compared. */
  ticks: boolean;
}

/** What a reference controller may ask of the reference machine around it. */
export interface RefPlatform {
  /** Is `intc` the controller the guest currently uses? */
  isActive(intc: RefIntc): boolean;
  /** Did CAS negotiate XIVE exploitation (option vector 5 byte 23, bit 0x40)? */
  xiveNegotiated(): boolean;
}

/**
 * The generator's behaviour of a guest of each interrupt model (a Linux-like XIVE or XICS
 * driver); the active controller runs the one that talks to it.
 */
export interface GuestDrivers<T> {
  xive(): T;
  xics(): T;
}

export interface RefIntc {
  /** The name of the model's backend this controller mirrors (compared, reported). */
  readonly name: IntcName;
  /** Option vector 5 byte 23 interrupt-mode bits with which a guest selects this controller at CAS. */
  readonly casMode: number;

  // ---- every controller of the machine ---------------------------------------------------------
  /** A vCPU is created (machine init or hotplug). */
  addCpu(vcpu: number): void;
  /** Claims a device IRQ; false when it is already claimed. */
  claim(irq: number, lsi: boolean): boolean;
  free(irq: number): void;
  /** Is the device IRQ a level-sensitive source, as this controller records it? */
  isLsi(irq: number): boolean;
  /** Machine reset, and deactivation (the controller the guest leaves is reset). */
  reset(): void;
  /** After a snapshot is loaded; `resend`: QEMU's post-load resend (only ever on the active one). */
  postLoad(resend: boolean): void;

  // ---- the active controller only --------------------------------------------------------------
  /** Device input level change of a device IRQ. */
  setIrq(irq: number, level: boolean): void;
  /** MMIO load (unmapped addresses read 0). */
  mmioLoad(vcpu: number, addr: number, size: number): LoadResult;
  mmioStore(vcpu: number, addr: number, size: number, lo: number, hi: number): void;
  /**
   * Does an MMIO access at `addr` reach the context of the vCPU making it (so the machine must
   * refuse one by a vCPU that does not exist)?
   */
  mmioIsPerCpu(addr: number): boolean;
  /** Runs the generator's driver of the guest that talks to this controller. */
  driveGuest<T>(drivers: GuestDrivers<T>): T;

  // ---- guest calls this controller owns (answered whether or not it is active) ---------------
  handlesHcall(opcode: number): boolean;
  /** `regs` are R4..R9, updated in place. */
  hcall(vcpu: number, opcode: number, regs: bigint[]): HcallAnswer;
  /** RTAS calls this controller registers, by name, with their tokens. */
  readonly rtasTokens: Readonly<Record<string, number>>;
  /** An RTAS call by name (one of rtasTokens); the return words, status first. */
  rtas(name: string, args: readonly number[], nret: number): number[];
}
