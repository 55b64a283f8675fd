/**
 * Machines for the tests: a pseries machine with its sPAPR interrupt controller before the guest
 * negotiated anything at CAS (client-architecture-support), and one whose guest chose XIVE.
 */
import assert from 'node:assert/strict';
import { SpaprMachine, type MachineOptions } from '../../src/spapr/machine.ts';

/** Guest RAM of a machine built without a memory (1 GiB). */
export const RAM_SIZE = 1 << 30;

/** A fresh xive-mode machine (2 vCPUs by default), not yet negotiated. */
export function freshMachine(opts: Partial<MachineOptions> = {}): SpaprMachine {
  return new SpaprMachine({ smp: 2, icMode: 'xive', ...opts });
}

/** A machine whose guest negotiated XIVE exploitation at CAS. */
export function negotiatedMachine(opts: Partial<MachineOptions> = {}): SpaprMachine {
  const m = freshMachine(opts);
  const out = m.cas(0x40);
  assert.equal(out.ok, true);
  return m;
}
