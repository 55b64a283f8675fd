/**
 * `info pic`: the monitor's dump of the machine's interrupt controller, byte-identical to QEMU
 * 7.2's pseries output for the same state. The active controller prints its own part; the
 * machine adds the irqchip line.
 */
import type { SpaprMachine } from '../spapr/machine.ts';

/** The whole `info pic` text, with the trailing newline. */
export function infoPic(m: SpaprMachine): string {
  return m.infoPic();
}
