/**
 * Host operations of the fuzzer, as a pluggable list (the interface is in host-operation.ts):
 * something the embedding program (not the guest) does to the machine. After a host operation
 * the engine compares the whole state with the reference: one that must not change guest state
 * (a failed attribute write, a save) is caught if it does.
 *
 * Extension point: `FuzzOptions.hostOps` takes any list of HostOperation; `defaultHostOps()`
 * returns the built-in ones. Snapshot+restore and device-control operations plug in here.
 */
import { XiveUsageError } from '../base/errors.ts';
import type { HostOperation } from './host-operation.ts';
import { platformHostOps } from './host-platform.ts';

export type { HostOperation } from './host-operation.ts';

type MisuseCall = 'hcall' | 'rtas' | 'tima-load' | 'tima-store' | 'plug' | 'claim' | 'free' | 'setIrq' | 'lineLevel';

interface MisuseArgs {
  call: MisuseCall;
  value: number;
}

const TIMA_OS_CPPR = 0x0006_0302_0318_0000 + 0x20011;
const TIMA_OS_ACK = 0x0006_0302_0318_0000 + 0x20810;
const BAD_IRQS = [0x0fff, 0x2000, -1, 4096.5, 0x7fff_ffff, Number.NaN];
/**
 * Device input outside every LISN. (An IPI LISN is accepted as device input while XIVE is active
 * — the XIVE backend checks only its own range — and refused while XICS is; QEMU asserts in
 * both cases. Not host misuse the model promises to refuse, so not generated.)
 */
const BAD_INPUTS = [0x2000, -1, 4096.5, 0x7fff_ffff, Number.NaN];

/**
 * Misuse of the machine API by the host (an unknown vCPU, an IRQ outside the device range, a
 * vCPU plugged twice): the model must refuse with XiveUsageError and change nothing.
 */
export const apiMisuse: HostOperation = {
  name: 'api-misuse',
  perMille: 1,
  generate(ctx, rng) {
    const calls: MisuseCall[] = ['hcall', 'rtas', 'tima-load', 'tima-store', 'plug', 'claim', 'free', 'setIrq', 'lineLevel'];
    const call = rng.pick(calls);
    const maxCpus = ctx.ref.cfg.maxCpus;
    const badCpus = [maxCpus, maxCpus + 7, -1, 4096, 1.5, ...Array.from({ length: maxCpus }, (_, i) => i).filter((i) => !ctx.ref.hasCpu(i))];
    let value: number;
    if (call === 'plug') value = rng.pick([...badCpus.filter((v) => !(Number.isInteger(v) && v >= 0 && v < maxCpus)), ...ctx.ref.vcpus]);
    else if (call === 'claim' || call === 'free') value = rng.pick(BAD_IRQS);
    else if (call === 'setIrq') value = rng.pick(BAD_INPUTS);
    else value = rng.pick(badCpus);
    return { call, value } satisfies MisuseArgs;
  },
  apply(ctx, raw) {
    const { call, value } = raw as MisuseArgs;
    const m = ctx.machine;
    // A TIMA access by a vCPU that does not exist only reaches a thread context (and fails)
    // while the active controller maps one there (XIVE); otherwise the address is unassigned
    // and ignored.
    const tima = call === 'tima-load' ? TIMA_OS_ACK : call === 'tima-store' ? TIMA_OS_CPPR : null;
    const expectThrow = tima === null || ctx.ref.active.mmioIsPerCpu(tima);
    try {
      switch (call) {
        case 'hcall':
          m.hcall(value, 0x3a8, [0n, 0n]);
          break;
        case 'rtas':
          m.rtas(value, 'ibm,get-xive', [0x1000], 3);
          break;
        case 'tima-load':
          m.mmioRead(value, TIMA_OS_ACK, 2);
          break;
        case 'tima-store':
          m.mmioWrite(value, TIMA_OS_CPPR, 1, 0xff);
          break;
        case 'plug':
          m.plugCpu(value);
          break;
        case 'claim':
          m.claimIrq(value, false);
          break;
        case 'free':
          m.freeIrq(value);
          break;
        case 'setIrq':
          m.setIrq(value, true);
          break;
        case 'lineLevel':
          m.lineLevel(value, 0);
          break;
      }
    } catch (e) {
      if (e instanceof XiveUsageError && expectThrow) return { problem: null };
      return { problem: `${call}(${value}) threw ${(e as Error).name}: ${(e as Error).message}${expectThrow ? '' : ' (expected no error)'}` };
    }
    return { problem: expectThrow ? `${call}(${value}) was accepted; expected XiveUsageError` : null };
  },
  describe(raw) {
    const { call, value } = raw as MisuseArgs;
    return `host misuse: ${call} with ${value}`;
  },
  code(raw) {
    const { call, value } = raw as MisuseArgs;
    return `try { /* ${call}(${value}) */ } catch { /* XiveUsageError expected */ }`;
  },
};

/**
 * The built-in host operations: API misuse, and those of host-platform.ts (snapshot + restore,
 * damaged snapshots, the device-control API).
 */
export function defaultHostOps(): HostOperation[] {
  return [apiMisuse, ...platformHostOps()];
}
