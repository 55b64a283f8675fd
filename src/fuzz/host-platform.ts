/**
 * Host operations of the fuzzer over the platform modules (host-operation.ts has the interface):
 *
 * - snapshot + restore (src/migration): capture the machine and continue on a brand-new machine
 *   restored from the bytes, or load the bytes back into the same machine (with or without
 *   QEMU's XICS post-load resend). The guest-visible state must come back as it was, except what
 *   the migration stream does not carry (the ICP owner, derived again from the XISR) and what
 *   the post-load resend presents; the reference applies exactly those.
 * - damaged snapshots: flipped, truncated, extended, foreign or self-contradicting snapshots
 *   must be refused with a SnapshotError and leave the machine untouched.
 * - the KVM-style device-control API (src/kvm): on a fresh VM over the machine, create the
 *   device of a random type, then attribute and ONE_REG calls with unknown groups, attributes out
 *   of range, short buffers and data the kernel refuses (servers with no connected vCPU,
 *   priority 7, sources never made valid), plus reads. Every call must return the errno
 *   docs/kvm-device-api.md gives (§1.3, §5, §6, §7, §10), and none may change the machine.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { captureSnapshot, encodeState, restoreInto, restoreSnapshot, SnapshotError } from '../migration/snapshot.ts';
import { decodeSnapshot } from '../migration/restore.ts';
import type { ConfigState, SpaprState } from '../spapr/machine-state.ts';
import { OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import { SpaprMachine as Machine } from '../spapr/machine.ts';
import { KvmVm, type KvmDevice } from '../kvm/device.ts';
import * as U from '../kvm/uapi.ts';
import type { HostContext, HostOperation } from './host-operation.ts';
import type { RefMachine } from './reference.ts';
import type { Rng } from './rng.ts';

// ---- snapshot + restore ---------------------------------------------------------------------------

type RestoreMode = 'new-machine' | 'into-same' | 'into-same-resend';

interface SnapshotArgs {
  mode: RestoreMode;
}

export const snapshotRestore: HostOperation = {
  name: 'snapshot-restore',
  perMille: 0.5,
  generate: (_ctx, rng) => ({ mode: rng.pick<RestoreMode>(['new-machine', 'new-machine', 'into-same', 'into-same-resend']) }) satisfies SnapshotArgs,
  apply(ctx, raw) {
    const { mode } = raw as SnapshotArgs;
    // Guest RAM goes along: the event queues live there.
    const bytes = captureSnapshot(ctx.machine, { includeMemory: true });
    if (mode === 'new-machine') return { machine: restoreSnapshot(bytes, { postLoadResend: false }), problem: null };
    restoreInto(ctx.machine, bytes, { postLoadResend: mode === 'into-same-resend' });
    return { problem: null };
  },
  mirror(ref: RefMachine, raw) {
    const { mode } = raw as SnapshotArgs;
    ref.postLoad(mode === 'into-same-resend');
  },
  describe: (raw) => `host: snapshot, then restore (${(raw as SnapshotArgs).mode})`,
  code(raw) {
    const { mode } = raw as SnapshotArgs;
    if (mode === 'new-machine') return 'm = restoreSnapshot(captureSnapshot(m, { includeMemory: true }), { postLoadResend: false });';
    return `restoreInto(m, captureSnapshot(m, { includeMemory: true }), { postLoadResend: ${mode === 'into-same-resend'} });`;
  },
};

type Damage = 'flip' | 'truncate' | 'extend' | 'garbage' | 'empty' | 'foreign-shape' | 'bad-vcpus' | 'bad-ram-size' | 'xive-on-xics';

interface DamageArgs {
  damage: Damage;
  at: number;
  value: number;
}

/** Bytes of a snapshot of this machine, damaged as `a` says (null: damage not applicable). */
function damagedSnapshot(m: SpaprMachine, a: DamageArgs): Uint8Array | null {
  const good = captureSnapshot(m);
  switch (a.damage) {
    case 'flip': {
      const b = good.slice();
      const i = a.at % b.length;
      b[i] = b[i]! ^ (1 + (a.value % 255));
      return b;
    }
    case 'truncate':
      return good.slice(0, a.at % good.length);
    case 'extend':
      return Uint8Array.from([...good, a.value & 0xff]);
    case 'garbage':
      return Uint8Array.from({ length: 16 + (a.at % 64) }, (_, i) => (a.value * (i + 1) * 2654435761) >>> 24);
    case 'empty':
      return new Uint8Array(0);
    case 'foreign-shape': {
      // A perfectly good snapshot of a machine with one more possible vCPU.
      const other = new Machine({ smp: m.smp, maxCpus: Math.min(m.maxCpus + 1, 4096), icMode: m.icMode });
      if (other.maxCpus === m.maxCpus) return null;
      return captureSnapshot(other);
    }
    default: {
      // Well-formed bytes (good checksum) whose contents contradict themselves.
      const d = decodeSnapshot(good);
      const s = d.state;
      const config = s.machine.get('config') as ConfigState;
      if (a.damage === 'bad-vcpus') config.vcpus = [...config.vcpus].reverse().concat([0]);
      else if (a.damage === 'bad-ram-size') s.ram = { ramSize: config.ramSize + 0x10000, blockShift: 12, blocks: [] };
      else {
        // XIVE negotiated on a machine that has no XIVE.
        if (m.xive !== null) return null;
        (s.machine.get('spapr') as SpaprState).ov5Cas[OV5_INT_CTRL_BYTE] = OV5_XIVE_EXPLOIT;
      }
      return encodeState(s);
    }
  }
}

export const badSnapshot: HostOperation = {
  name: 'bad-snapshot',
  perMille: 0.5,
  generate: (_ctx, rng) =>
    ({
      damage: rng.pick<Damage>(['flip', 'flip', 'truncate', 'extend', 'garbage', 'empty', 'foreign-shape', 'bad-vcpus', 'bad-ram-size', 'xive-on-xics']),
      at: rng.u32(),
      value: rng.u32(),
    }) satisfies DamageArgs,
  apply(ctx, raw) {
    const a = raw as DamageArgs;
    const bytes = damagedSnapshot(ctx.machine, a);
    if (bytes === null) return { problem: null };
    try {
      restoreInto(ctx.machine, bytes);
    } catch (e) {
      if (e instanceof SnapshotError && !e.message.includes('\n')) return { problem: null };
      return { problem: `a ${a.damage} snapshot was refused with ${(e as Error).name}: ${(e as Error).message}; expected a one-line SnapshotError` };
    }
    return { problem: `a ${a.damage} snapshot was accepted` };
  },
  describe: (raw) => `host: restore a damaged snapshot (${(raw as DamageArgs).damage})`,
  code: (raw) => `// restoreInto(m, <snapshot damaged: ${(raw as DamageArgs).damage}>) must throw SnapshotError`,
};

// ---- device-control API ---------------------------------------------------------------------------------

type KvmCall =
  | { k: 'set'; group: number; attr: bigint; len: number; word: bigint }
  | { k: 'get'; group: number; attr: bigint; len: number; word: bigint }
  | { k: 'has'; group: number; attr: bigint }
  | { k: 'get-one-reg'; vcpu: number; id: bigint; len: number }
  | { k: 'set-one-reg'; vcpu: number; id: bigint; len: number }
  | { k: 'irq-line'; irq: number; level: number }
  | { k: 'connect'; vcpu: number; cap: number; flags: number; noDevice: boolean };

interface KvmArgs {
  type: number;
  calls: KvmCall[];
  /** Close the device, then repeat the first call: -EBADF. */
  closeFirst: boolean;
}

const GROUPS = [0, 1, 2, 3, 4, 5, 6, 7, 0xffff_ffff];
const ONE_REG_IDS = [U.KVM_REG_PPC_ICP_STATE, U.KVM_REG_PPC_VP_STATE, U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x1n, U.KVM_REG_PPC | 0x00a0_0000_0000_0000n | 0x8cn];

function pickAttr(rng: Rng, ref: RefMachine): bigint {
  return rng.pick<() => bigint>([
    () => BigInt(rng.int(16)),
    () => BigInt(0x1000 + rng.int(0x1000)),
    () => BigInt(rng.int(ref.cfg.maxCpus)),
    () => BigInt(0x2000 + rng.int(0x1000)),
    () => BigInt(0x10_0000 + rng.int(4)),
    () => BigInt(rng.int(0x10_0000)),
    () => rng.u64(),
    () => BigInt(rng.int(64)),
  ])();
}

/**
 * A data word the kernel refuses on a VM with no vCPU connected (see expectedErrno): an XICS
 * source with a real priority, a XIVE source config with priority 7 or unmasked, an EQ.
 */
function pickWord(rng: Rng): bigint {
  const w = rng.u64();
  // XICS: priority field (bits 39..32) never 0xFF. XIVE SOURCE_CONFIG: masked only with priority 7.
  let v = (w & ~(0xffn << 32n)) | (BigInt(rng.int(0xff)) << 32n);
  if ((v & U.KVM_XIVE_SOURCE_MASKED_MASK) !== 0n) v |= 7n;
  return v;
}

function generateKvm(ctx: HostContext, rng: Rng): KvmArgs {
  const ref = ctx.ref;
  const type = rng.pick([U.KVM_DEV_TYPE_XICS, U.KVM_DEV_TYPE_XIVE, U.KVM_DEV_TYPE_XICS, U.KVM_DEV_TYPE_XIVE, 0, 1, 4, 10, 11, 0xffff_ffff]);
  const calls: KvmCall[] = [];
  const n = rng.range(1, 8);
  for (let i = 0; i < n; i++) {
    const r = rng.int(12);
    const group = rng.chance(0.8) ? rng.range(1, 5) : rng.pick(GROUPS);
    if (r < 5) calls.push({ k: 'set', group, attr: pickAttr(rng, ref), len: rng.pick([8, 8, 8, 64, 64, 4, 0, 7]), word: pickWord(rng) });
    else if (r < 7) calls.push({ k: 'get', group, attr: pickAttr(rng, ref), len: rng.pick([8, 64, 0, 4]), word: 0n });
    else if (r < 8) calls.push({ k: 'has', group, attr: pickAttr(rng, ref) });
    else if (r < 10) calls.push({ k: rng.chance(0.5) ? 'get-one-reg' : 'set-one-reg', vcpu: rng.pick(ref.vcpus), id: rng.pick(ONE_REG_IDS), len: rng.pick([8, 16, 4, 0]) } as KvmCall);
    else if (r < 11) calls.push({ k: 'irq-line', irq: rng.pick([0x1000, 0x1200, 0, 5]), level: rng.pick([0, 1, U.KVM_INTERRUPT_SET, U.KVM_INTERRUPT_UNSET]) });
    else calls.push({ k: 'connect', vcpu: rng.pick(ref.vcpus), cap: rng.pick([U.KVM_CAP_IRQ_XICS, U.KVM_CAP_PPC_IRQ_XIVE, 0, 7]), flags: rng.pick([1, 2, 0]), noDevice: rng.chance(0.5) });
  }
  return { type, calls, closeFirst: rng.chance(0.2) };
}

/** Does the kernel's 1024-source block of `lisn` hold a valid source (a fresh XIVE device)? */
function xiveBlockExists(ref: RefMachine, lisn: number): boolean {
  const x = ref.xive!;
  const b = lisn >>> 10;
  for (let i = b << 10; i < Math.min(0x2000, (b + 1) << 10); i++) if ((x.easHi[i]! & 0x8000_0000) !== 0) return true;
  return false;
}

/**
 * The answer docs/kvm-device-api.md gives to a call on a device just created, with no vCPU connected
 * (ENOMEM where the kernel would have to allocate a source block outside the machine's range:
 * the model's documented choice). null: the call is not one this generator makes.
 */
function expectedErrno(ref: RefMachine, type: number, c: KvmCall, deviceOpen: boolean): number | null {
  if (c.k === 'irq-line') return deviceOpen ? null : -U.ENXIO;
  if (c.k === 'connect') {
    if (c.flags !== 0) return -U.EINVAL;
    const known = c.cap === U.KVM_CAP_IRQ_XICS || c.cap === U.KVM_CAP_PPC_IRQ_XIVE;
    if (!known) return -U.EINVAL;
    return c.noDevice || !deviceOpen ? -U.EBADF : null;
  }
  if (c.k === 'get-one-reg' || c.k === 'set-one-reg') {
    const size = 2 ** Number((c.id & U.KVM_REG_SIZE_MASK) >> U.KVM_REG_SIZE_SHIFT);
    if (size > 16) return -U.EINVAL;
    if (c.k === 'set-one-reg' && c.len < size) return -U.EFAULT;
    if (c.id === U.KVM_REG_PPC_ICP_STATE || c.id === U.KVM_REG_PPC_VP_STATE) return -U.ENXIO; // no vCPU connected
    return -U.EINVAL;
  }
  if (!deviceOpen) return -U.EBADF;
  const { group, attr } = c;
  if (type === U.KVM_DEV_TYPE_XICS) {
    const inRange = attr >= 16n && attr < 0x10_0000n;
    if (c.k === 'has') return group === U.KVM_DEV_XICS_GRP_SOURCES && inRange ? 0 : -U.ENXIO;
    if (group !== U.KVM_DEV_XICS_GRP_SOURCES) return -U.ENXIO;
    const inIcs = attr >= 0x1000n && attr < 0x2000n;
    if (c.k === 'get') {
      if (!inIcs || (ref.xics!.flags[Number(attr) - 0x1000]! & 3) === 0) return -U.ENOENT;
      return c.len < 8 ? -U.EFAULT : 0;
    }
    if (!inRange) return -U.ENOENT;
    if (!inIcs) return -U.ENOMEM;
    if (c.len < 8) return -U.EFAULT;
    return -U.EINVAL; // a priority other than 0xFF for a server no vCPU is connected as
  }
  // XIVE native
  const lisnOk = attr < 0x10_0000n;
  if (c.k === 'has') {
    if (group === U.KVM_DEV_XIVE_GRP_CTRL) return attr === 1n || attr === 2n || attr === 3n ? 0 : -U.ENXIO;
    if (group === U.KVM_DEV_XIVE_GRP_SOURCE || group === U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG || group === U.KVM_DEV_XIVE_GRP_SOURCE_SYNC) return lisnOk ? 0 : -U.ENXIO;
    return group === U.KVM_DEV_XIVE_GRP_EQ_CONFIG ? 0 : -U.ENXIO;
  }
  if (c.k === 'get') return group === U.KVM_DEV_XIVE_GRP_EQ_CONFIG ? -U.ENOENT : -U.ENXIO;
  const valid = (): number => {
    if (attr >= 0x2000n || !xiveBlockExists(ref, Number(attr))) return -U.ENOENT;
    return (ref.xive!.easHi[Number(attr)]! & 0x8000_0000) !== 0 ? 0 : -U.EINVAL;
  };
  switch (group) {
    case U.KVM_DEV_XIVE_GRP_CTRL:
      if (attr === 2n) return 0;
      if (attr === 3n) {
        if (c.len < 4) return -U.EFAULT;
        const n = Number(c.word & 0xffff_ffffn);
        return n === 0 || n > U.KVM_MAX_VCPU_IDS ? -U.EINVAL : 0;
      }
      return attr === 1n ? null : -U.ENXIO;
    case U.KVM_DEV_XIVE_GRP_SOURCE:
      if (!lisnOk) return -U.E2BIG;
      if (attr >= 0x2000n) return -U.ENOMEM;
      return c.len < 8 ? -U.EFAULT : null;
    case U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG: {
      const v = valid();
      if (v !== 0) return v;
      if (c.len < 8) return -U.EFAULT;
      const prio = Number(c.word & 7n);
      if (prio === 7) return -U.EINVAL;
      const x = ref.xive!;
      const n = Number(attr);
      const server = Number((c.word >> 3n) & 0x1fff_ffffn);
      const eisn = Number((c.word >> 33n) & 0x7fff_ffffn);
      // A request equal to the active routing changes nothing and succeeds.
      if ((x.easLo[n]! & 0x8000_0000) === 0 && (x.easHi[n]! & 0xff_ffff) === server * 8 + prio && (x.easLo[n]! & 0x7fff_ffff) === eisn) return 0;
      if ((c.word & U.KVM_XIVE_SOURCE_MASKED_MASK) !== 0n) return null;
      return -U.EINVAL; // no vCPU connected with that server
    }
    case U.KVM_DEV_XIVE_GRP_EQ_CONFIG:
      return c.len < U.KVM_PPC_XIVE_EQ_SIZE ? -U.EFAULT : -U.ENOENT;
    case U.KVM_DEV_XIVE_GRP_SOURCE_SYNC:
      return valid();
    default:
      return -U.ENXIO;
  }
}

function runKvmCall(vm: KvmVm, dev: KvmDevice | null, c: KvmCall): number {
  const buf = (len: number, word: bigint) => {
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    if (len >= 8) v.setBigUint64(0, word, true);
    else if (len >= 4) v.setUint32(0, Number(word & 0xffff_ffffn), true);
    return b;
  };
  switch (c.k) {
    case 'set':
      return dev!.setAttr(c.group, c.attr, buf(c.len, c.word));
    case 'get':
      return dev!.getAttr(c.group, c.attr, buf(c.len, 0n));
    case 'has':
      return dev!.hasAttr(c.group, c.attr);
    case 'get-one-reg':
      return vm.getOneReg(c.vcpu, c.id, new Uint8Array(c.len));
    case 'set-one-reg':
      return vm.setOneReg(c.vcpu, c.id, new Uint8Array(c.len));
    case 'irq-line':
      return vm.irqLine(c.irq, c.level);
    case 'connect':
      return vm.enableVcpuCap(c.vcpu, c.cap, { flags: c.flags, device: c.noDevice ? null : dev });
  }
}

export const kvmDeviceAttrs: HostOperation = {
  name: 'kvm-device-control',
  perMille: 1,
  generate: generateKvm,
  apply(ctx, raw) {
    const a = raw as KvmArgs;
    const ref = ctx.ref;
    const vm = new KvmVm(ctx.machine);
    const registered = (a.type === U.KVM_DEV_TYPE_XICS && ref.xics !== null) || (a.type === U.KVM_DEV_TYPE_XIVE && ref.xive !== null);
    if (vm.createDevice(a.type, true) !== (registered ? 0 : -U.ENODEV)) return { problem: `KVM_CREATE_DEVICE(type ${a.type}, TEST) answered ${String(vm.createDevice(a.type, true))}` };
    const made = vm.createDevice(a.type);
    if (!registered) {
      if (made !== -U.ENODEV) return { problem: `KVM_CREATE_DEVICE of type ${a.type}, not registered here, answered ${typeof made === 'number' ? made : 'a device'}; expected -ENODEV` };
    } else if (typeof made === 'number') {
      return { problem: `KVM_CREATE_DEVICE of type ${a.type} failed with ${made}` };
    }
    const dev = typeof made === 'number' ? null : made;
    if (dev !== null && vm.createDevice(a.type) !== -U.EEXIST) return { problem: 'a second KVM_CREATE_DEVICE did not answer -EEXIST' };
    if (dev !== null && a.closeFirst && dev.close() !== 0) return { problem: 'close() of an open device failed' };
    const open = dev !== null && !dev.closed;
    for (const c of a.calls) {
      const usesDevice = c.k === 'set' || c.k === 'get' || c.k === 'has';
      if (usesDevice && dev === null) continue;
      const want = expectedErrno(ref, a.type, c, open);
      if (want === null) continue; // a call that could change state or that no rule predicts here
      const got = runKvmCall(vm, dev, c);
      if (got !== want) return { problem: `${describeCall(c)} on ${open ? 'an open' : 'a closed or absent'} ${a.type === U.KVM_DEV_TYPE_XIVE ? 'XIVE' : 'XICS'} device answered ${got}, the spec gives ${want}` };
    }
    if (dev !== null && !dev.closed && dev.close() !== 0) return { problem: 'close() failed' };
    if (dev !== null && dev.close() !== -U.EBADF) return { problem: 'a second close() did not answer -EBADF' };
    return { problem: null };
  },
  describe: (raw) => {
    const a = raw as KvmArgs;
    return `host: device-control API, device type ${a.type}${a.closeFirst ? ' (closed first)' : ''}: ${a.calls.map(describeCall).join('; ')}`;
  },
  code: (raw) => `// new KvmVm(m): ${kvmDeviceAttrs.describe!(raw)}`,
};

function describeCall(c: KvmCall): string {
  switch (c.k) {
    case 'set':
    case 'get':
      return `${c.k.toUpperCase()}_DEVICE_ATTR(group ${c.group}, attr 0x${c.attr.toString(16)}, ${c.len}-byte data${c.k === 'set' ? ` 0x${c.word.toString(16)}` : ''})`;
    case 'has':
      return `HAS_DEVICE_ATTR(group ${c.group}, attr 0x${c.attr.toString(16)})`;
    case 'get-one-reg':
    case 'set-one-reg':
      return `${c.k === 'get-one-reg' ? 'GET' : 'SET'}_ONE_REG(vCPU ${c.vcpu}, id 0x${c.id.toString(16)}, ${c.len} bytes)`;
    case 'irq-line':
      return `IRQ_LINE(0x${c.irq.toString(16)}, ${c.level})`;
    case 'connect':
      return `ENABLE_CAP(vCPU ${c.vcpu}, cap ${c.cap}, flags ${c.flags}${c.noDevice ? ', no device' : ''})`;
  }
}

/** The host operations over the migration and device-control modules. */
export function platformHostOps(): HostOperation[] {
  return [snapshotRestore, badSnapshot, kvmDeviceAttrs];
}
