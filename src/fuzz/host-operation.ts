/**
 * The interface of a fuzzer host operation: something the embedding program (not the guest)
 * does to the machine — misuse of the machine API, snapshot and restore, the device-control API
 * of an in-kernel controller. Each one chooses its concrete arguments with the run's generator
 * (so a run stays reproducible from its seed), applies them to the machine, says whether every
 * answer was one the spec allows, and tells the reference model about any change of
 * guest-visible state. The built-in operations are in host-ops.ts and host-platform.ts.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { RefMachine } from './reference.ts';
import type { Rng } from './rng.ts';

export interface HostContext {
  readonly machine: SpaprMachine;
  readonly ref: RefMachine;
}

export interface HostResult {
  /** The machine to continue with (a restore may build a new one); the same one otherwise. */
  machine?: SpaprMachine;
  /** An answer the spec does not allow, or a state the operation should not have produced. */
  problem: string | null;
}

export interface HostOperation {
  /** Unique name (shown in reports and reproductions). */
  readonly name: string;
  /** Expected applications per 1000 fuzz operations. */
  readonly perMille: number;
  /** Concrete arguments for one application (plain data, recorded in the run). */
  generate(ctx: HostContext, rng: Rng): unknown;
  /** Performs it; must not throw (an exception escaping is reported as a failure). */
  apply(ctx: HostContext, args: unknown): HostResult;
  /** The effect on guest-visible state, applied to the reference. Absent: no change allowed. */
  mirror?(ref: RefMachine, args: unknown): void;
  describe?(args: unknown): string;
  /** TypeScript of the operation for a reproduction (`m` is the machine). */
  code?(args: unknown): string;
}
