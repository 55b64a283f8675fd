/**
 * Clock port: the model's only source of time. The one reading the platform takes from the
 * host is the cycle counter H_XIRR_X returns (QEMU: cpu_get_host_ticks). The model never reads a
 * real clock itself, so a run is reproducible; a host that wants wall-clock ticks plugs in a
 * clock that reads one.
 */

/**
 * The model's only source of time (the host tick count H_XIRR_X returns); plug in a clock to get
 * real ticks.
 */
export interface Clock {
  /** The host's cycle counter, an unsigned 64-bit value. */
  hostTicks(): bigint;
}

/** A clock that moves only when told to (the default: every run sees the same ticks). */
export class ManualClock implements Clock {
  private ticks = 0n;

  hostTicks(): bigint {
    return this.ticks;
  }

  /** Moves the counter forward by `n` ticks (wrapping at 2^64). */
  advance(n: bigint): void {
    this.ticks = BigInt.asUintN(64, this.ticks + n);
  }
}
