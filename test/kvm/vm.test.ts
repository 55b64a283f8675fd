/**
 * VM-level calls of the KVM-style API: capabilities (reported and switched off), device creation
 * and release, vCPU connection through KVM_ENABLE_CAP, the generic ONE_REG rules, KVM_IRQ_LINE,
 * in-kernel RTAS tokens, and host misuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { KvmVm } from '../../src/kvm/device.ts';
import { XiveUsageError } from '../../src/base/errors.ts';
import { U, device, expectFails, expectRc, getU64, icpWord, rig, u64 } from './helpers.ts';
import { modelState } from '../support/state.ts';

const dual = (smp = 2) => new SpaprMachine({ smp, icMode: 'dual' });

test('KVM_CHECK_EXTENSION reports what a Book3S-64 host with both controllers reports', () => {
  const vm = new KvmVm(dual());
  for (const cap of [U.KVM_CAP_ENABLE_CAP, U.KVM_CAP_ONE_REG, U.KVM_CAP_DEVICE_CTRL, U.KVM_CAP_PPC_RTAS, U.KVM_CAP_IRQ_XICS, U.KVM_CAP_PPC_IRQ_XIVE]) {
    assert.equal(vm.checkExtension(cap), 1, `cap ${cap}`);
  }
  assert.equal(vm.checkExtension(U.KVM_CAP_IRQ_MPIC), 0);
  assert.equal(vm.checkExtension(0), 0);
  assert.equal(vm.checkExtension(100000), 0);
});

test('the capabilities follow the controllers the machine has', () => {
  const xics = new KvmVm(new SpaprMachine({ smp: 1, icMode: 'xics' }));
  assert.equal(xics.checkExtension(U.KVM_CAP_IRQ_XICS), 1);
  assert.equal(xics.checkExtension(U.KVM_CAP_PPC_IRQ_XIVE), 0);
  expectRc(xics.createDevice('xive'), -U.ENODEV);
  expectRc(xics.createDevice(U.KVM_DEV_TYPE_XIVE, true), -U.ENODEV);
  const xive = new KvmVm(new SpaprMachine({ smp: 1, icMode: 'xive' }));
  assert.equal(xive.checkExtension(U.KVM_CAP_IRQ_XICS), 0);
  assert.equal(xive.checkExtension(U.KVM_CAP_PPC_IRQ_XIVE), 1);
  expectRc(xive.createDevice('xics'), -U.ENODEV);
  expectRc(xive.createDevice(U.KVM_DEV_TYPE_XICS, true), -U.ENODEV);
});

test('KVM_CREATE_DEVICE: unregistered types are ENODEV, test mode creates nothing', () => {
  const vm = new KvmVm(dual());
  for (const t of [0, U.KVM_DEV_TYPE_FSL_MPIC_20, U.KVM_DEV_TYPE_FSL_MPIC_42, U.KVM_DEV_TYPE_VFIO, U.KVM_DEV_TYPE_FLIC, U.KVM_DEV_TYPE_ARM_PV_TIME, U.KVM_DEV_TYPE_MAX, 0xffff_ffff]) {
    expectRc(vm.createDevice(t), -U.ENODEV, `type ${t}`);
    expectRc(vm.createDevice(t, true), -U.ENODEV, `type ${t} (test)`);
  }
  expectRc(vm.createDevice('xics', true), 0);
  expectRc(vm.createDevice(U.KVM_DEV_TYPE_XIVE, true), 0);
  assert.equal(vm.device, null);
  const d = device(vm.createDevice(U.KVM_DEV_TYPE_XICS));
  assert.equal(d.type, U.KVM_DEV_TYPE_XICS);
  assert.equal(d.name, 'kvm-xics');
  assert.equal(vm.device, d);
  // The test flag answers before the create hook, so an existing device does not matter.
  expectRc(vm.createDevice('xive', true), 0);
});

test('one interrupt-controller device per VM: EEXIST until it is closed', () => {
  const m = dual();
  const vm = new KvmVm(m);
  const xics = device(vm.createDevice('xics'));
  expectRc(vm.createDevice('xics'), -U.EEXIST);
  expectRc(vm.createDevice('xive'), -U.EEXIST);
  expectRc(vm.connectVcpu(0, xics), 0);
  expectRc(xics.close(), 0);
  assert.equal(xics.closed, true);
  assert.equal(vm.device, null);
  assert.equal(vm.connectionOf(0), null, 'closing the device disconnects its vCPUs');
  const xive = device(vm.createDevice('xive'));
  assert.equal(xive.name, 'kvm-xive-native');
  expectRc(vm.connectVcpu(0, xive), 0);
  expectRc(xive.close(), 0);
  expectRc(xive.close(), -U.EBADF);
  device(vm.createDevice('xics'));
});

test('a closed device fd answers EBADF to everything', () => {
  const { vm, dev } = rig('xive');
  const before = modelState(vm.machine);
  expectRc(dev.close(), 0);
  expectRc(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, 1n), -U.EBADF);
  expectRc(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, 0n, new Uint8Array(64)), -U.EBADF);
  expectRc(dev.hasAttr(U.KVM_DEV_XIVE_GRP_CTRL, 1n), -U.EBADF);
  expectRc(dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 2) as number, -U.EBADF);
  expectRc(dev.close(), -U.EBADF);
  expectRc(vm.connectVcpu(0, dev), -U.EBADF);
  assert.equal(modelState(vm.machine), before);
});

test('a mapping holds the device: it is released only when the last mapping goes', () => {
  const { vm, dev } = rig('xive', { icMode: 'dual' });
  const esb = dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET, 4);
  assert.ok(typeof esb !== 'number' && esb.kind === 'esb');
  expectRc(dev.close(), 0);
  // The file is still referenced: the VM still has its device and its connections.
  expectRc(vm.createDevice('xics'), -U.EEXIST);
  assert.notEqual(vm.connectionOf(0), null);
  assert.equal(esb.load(0x1_0000 + 0x800), 1n, 'the ESB page still works (IPI 0 is off)');
  esb.unmap();
  assert.equal(vm.connectionOf(0), null);
  device(vm.createDevice('xics'));
});

test('KVM_ENABLE_CAP(KVM_CAP_IRQ_XICS): every error in the kernel order', () => {
  const m = dual(3);
  const vm = new KvmVm(m);
  const other = new KvmVm(dual(3));
  const foreign = device(other.createDevice('xics'));
  const dev = device(vm.createDevice('xics'));
  const cap = U.KVM_CAP_IRQ_XICS;
  expectRc(vm.enableVcpuCap(0, cap, { flags: 1, device: dev }), -U.EINVAL);
  expectRc(vm.enableVcpuCap(0, 12345, { device: dev }), -U.EINVAL);
  expectRc(vm.enableVcpuCap(0, cap, { device: null }), -U.EBADF);
  expectRc(vm.enableVcpuCap(0, cap, {}), -U.EBADF);
  expectRc(vm.enableVcpuCap(0, cap, { device: foreign }), -U.EPERM);
  const fake = { ...dev, type: 3, setAttr: () => 0 } as unknown as typeof dev;
  expectRc(vm.enableVcpuCap(0, cap, { device: fake }), -U.EPERM, 'not a KVM device');
  expectRc(vm.enableVcpuCap(0, cap, { device: dev }), 0);
  assert.deepEqual(vm.connectionOf(0), { device: dev, server: 0 });
  expectRc(vm.enableVcpuCap(0, cap, { device: dev }), -U.EBUSY);
  expectRc(vm.enableVcpuCap(1, cap, { device: dev, server: 0 }), -U.EEXIST);
  expectRc(vm.enableVcpuCap(1, cap, { device: dev, server: 2 }), -U.EINVAL, 'the model ties servers to vCPU ids');
  expectRc(vm.connectVcpu(1, dev), 0);
  // A XICS device with the XIVE capability: wrong device type.
  expectRc(vm.enableVcpuCap(2, U.KVM_CAP_PPC_IRQ_XIVE, { device: dev }), -U.EPERM);
});

test('KVM_ENABLE_CAP(KVM_CAP_PPC_IRQ_XIVE): every error in the kernel order', () => {
  const m = dual(3);
  const vm = new KvmVm(m);
  const other = new KvmVm(dual(3));
  const foreign = device(other.createDevice('xive'));
  const dev = device(vm.createDevice('xive'));
  const cap = U.KVM_CAP_PPC_IRQ_XIVE;
  expectRc(vm.enableVcpuCap(0, cap, { flags: 2, device: dev }), -U.EINVAL);
  expectRc(vm.enableVcpuCap(0, cap, { device: null }), -U.EBADF);
  expectRc(vm.enableVcpuCap(0, cap, { device: foreign }), -U.EPERM);
  expectRc(vm.enableVcpuCap(0, U.KVM_CAP_IRQ_XICS, { device: dev }), -U.EPERM, 'XIVE device, XICS capability');
  // NR_SERVERS 1: server 1 is out of range; the VP block is not allocated by that failure.
  expectRc(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_NR_SERVERS), new Uint8Array([1, 0, 0, 0])), 0);
  expectRc(vm.enableVcpuCap(1, cap, { device: dev }), -U.EINVAL);
  expectRc(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_NR_SERVERS), new Uint8Array([3, 0, 0, 0])), 0);
  expectRc(vm.enableVcpuCap(0, cap, { device: dev }), 0);
  expectRc(vm.enableVcpuCap(0, cap, { device: dev }), -U.EBUSY);
  expectRc(vm.enableVcpuCap(1, cap, { device: dev, server: 0 }), -U.EEXIST);
  expectRc(vm.enableVcpuCap(1, cap, { device: dev, server: 2 }), -U.EINVAL);
  expectRc(vm.connectVcpu(1, dev), 0);
  // The first connection allocated the VP block: NR_SERVERS is frozen.
  expectRc(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_NR_SERVERS), new Uint8Array([8, 0, 0, 0])), -U.EBUSY);
  // On a host without native XIVE an open fd gets ENXIO before any device check.
  const xicsOnly = new KvmVm(new SpaprMachine({ smp: 1, icMode: 'xics' }));
  const x = device(xicsOnly.createDevice('xics'));
  expectRc(xicsOnly.enableVcpuCap(0, cap, { device: x }), -U.ENXIO);
  expectRc(xicsOnly.enableVcpuCap(0, cap, { device: null }), -U.EBADF);
});

test('KVM_CAP_IRQ_XICS switched off: no XICS device, connect EINVAL, ICP_STATE unknown, no in-kernel RTAS', () => {
  const m = dual();
  const vm = new KvmVm(m);
  expectRc(vm.disableCap(U.KVM_CAP_IRQ_XICS), 0);
  expectRc(vm.disableCap(U.KVM_CAP_IRQ_XICS), 0);
  assert.equal(vm.checkExtension(U.KVM_CAP_IRQ_XICS), 0);
  expectRc(vm.createDevice('xics'), -U.ENODEV);
  expectRc(vm.createDevice(U.KVM_DEV_TYPE_XICS, true), -U.ENODEV);
  const xive = device(vm.createDevice('xive'));
  expectRc(vm.enableVcpuCap(0, U.KVM_CAP_IRQ_XICS, { device: xive }), -U.EINVAL);
  expectRc(vm.connectVcpu(0, xive), 0);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, new Uint8Array(8)), -U.EINVAL);
  expectRc(vm.setOneReg(0, U.KVM_REG_PPC_ICP_STATE, u64(0n)), -U.EINVAL);
  expectRc(vm.rtasDefineToken('ibm,set-xive', 0x200an), -U.ENOENT);
  expectRc(vm.enableHostCap(U.KVM_CAP_IRQ_XICS), 0);
  assert.equal(vm.checkExtension(U.KVM_CAP_IRQ_XICS), 1);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, new Uint8Array(8)), 0);
});

test('KVM_CAP_PPC_IRQ_XIVE switched off: no XIVE device, connect ENXIO, VP_STATE ENXIO', () => {
  const m = dual();
  const vm = new KvmVm(m);
  expectRc(vm.disableCap(U.KVM_CAP_PPC_IRQ_XIVE), 0);
  assert.equal(vm.checkExtension(U.KVM_CAP_PPC_IRQ_XIVE), 0);
  expectRc(vm.createDevice('xive'), -U.ENODEV);
  expectRc(vm.createDevice(U.KVM_DEV_TYPE_XIVE, true), -U.ENODEV);
  const xics = device(vm.createDevice('xics'));
  expectRc(vm.enableVcpuCap(0, U.KVM_CAP_PPC_IRQ_XIVE, { device: xics }), -U.ENXIO);
  expectRc(vm.connectVcpu(0, xics), 0);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)), -U.ENXIO);
  expectRc(vm.setOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)), -U.ENXIO);
});

test('capability switches: only the two host-dependent ones, and not under a live device', () => {
  const vm = new KvmVm(dual());
  for (const cap of [U.KVM_CAP_ONE_REG, U.KVM_CAP_DEVICE_CTRL, U.KVM_CAP_ENABLE_CAP, 5]) {
    expectRc(vm.disableCap(cap), -U.EINVAL);
    expectRc(vm.enableHostCap(cap), -U.EINVAL);
  }
  const d = device(vm.createDevice('xics'));
  expectRc(vm.disableCap(U.KVM_CAP_IRQ_XICS), -U.EBUSY);
  expectRc(vm.disableCap(U.KVM_CAP_PPC_IRQ_XIVE), 0);
  d.close();
  expectRc(vm.disableCap(U.KVM_CAP_IRQ_XICS), 0);
});

test('ONE_REG: size and id checks come first, EFAULT where the kernel copies', () => {
  const { vm } = rig('xics');
  const big = new Uint8Array(256);
  const unknown = U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x1n;
  const u256 = U.KVM_REG_PPC | 0x0050_0000_0000_0000n | 0x8cn;
  expectRc(vm.getOneReg(0, unknown, big), -U.EINVAL);
  expectRc(vm.setOneReg(0, unknown, big), -U.EINVAL);
  expectRc(vm.getOneReg(0, u256, big), -U.EINVAL, 'larger than union kvmppc_one_reg');
  expectRc(vm.setOneReg(0, u256, big), -U.EINVAL);
  // SET copies the value in before it looks the register up; GET copies out last.
  expectRc(vm.setOneReg(0, unknown, new Uint8Array(7)), -U.EFAULT);
  expectRc(vm.getOneReg(0, unknown, new Uint8Array(7)), -U.EINVAL);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, new Uint8Array(7)), -U.EFAULT);
  expectRc(vm.setOneReg(0, U.KVM_REG_PPC_ICP_STATE, new Uint8Array(7)), -U.EFAULT);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)), -U.ENXIO);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(15)), -U.ENXIO, 'ENXIO before the copy-out');
  expectRc(vm.setOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(15)), -U.EFAULT, 'EFAULT before the lookup');
});

test('ONE_REG on a vCPU not connected: ENXIO; ICP_STATE of a XIVE vCPU: 0 / ENOENT', () => {
  const m = dual();
  const vm = new KvmVm(m);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, new Uint8Array(8)), -U.ENXIO);
  expectRc(vm.setOneReg(0, U.KVM_REG_PPC_ICP_STATE, u64(icpWord(0xff, 0, 0xff, 0xff))), -U.ENXIO);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)), -U.ENXIO);
  const xive = device(vm.createDevice('xive'));
  expectRc(vm.connectVcpu(0, xive), 0);
  const buf = new Uint8Array(8).fill(0xaa);
  expectRc(vm.getOneReg(0, U.KVM_REG_PPC_ICP_STATE, buf), 0);
  assert.equal(getU64(buf), 0n, 'no ICP: the legacy implementation reads 0');
  expectFails(m, -U.ENOENT, () => vm.setOneReg(0, U.KVM_REG_PPC_ICP_STATE, u64(icpWord(0xff, 0, 0xff, 0xff))));
});

test('KVM_IRQ_LINE: ENXIO without a device; levels; sources that do not exist are ignored', () => {
  const m = new SpaprMachine({ smp: 1, icMode: 'xics' });
  const vm = new KvmVm(m);
  expectRc(vm.irqLine(0x1200, 1), -U.ENXIO);
  const dev = device(vm.createDevice('xics'));
  expectRc(vm.connectVcpu(0, dev), 0);
  const ics = m.xics!.ics;
  const lsi = 0x1200 - ics.offset;
  for (const [level, up] of [
    [U.KVM_INTERRUPT_SET_LEVEL, true],
    [U.KVM_INTERRUPT_UNSET, false],
    [1, true],
    [0, false],
    [U.KVM_INTERRUPT_SET, true],
    [0, false],
    [7, true],
  ] as const) {
    expectRc(vm.irqLine(0x1200, level), 0);
    assert.equal((ics.status[lsi]! & 1) !== 0, up, `level 0x${level.toString(16)}`);
  }
  for (const irq of [0, 2, 16, 0xfff, 0x1500, 0x2000, 0xf_ffff, 0xffff_ffff]) {
    const before = modelState(m);
    expectRc(vm.irqLine(irq, U.KVM_INTERRUPT_SET), 0, `irq 0x${irq.toString(16)}`);
    assert.equal(modelState(m), before);
  }
});

test('KVM_PPC_RTAS_DEFINE_TOKEN: define, EEXIST on a taken token, ENOENT on a foreign name, undefine', () => {
  const vm = new KvmVm(dual());
  expectRc(vm.rtasDefineToken('ibm,set-xive', 0x200an), 0);
  expectRc(vm.rtasDefineToken('ibm,get-xive', 0x200an), -U.EEXIST);
  expectRc(vm.rtasDefineToken('ibm,get-xive', 0x200bn), 0);
  expectRc(vm.rtasDefineToken('ibm,os-term', 0x2001n), -U.ENOENT);
  expectRc(vm.rtasDefineToken('ibm,int-off\0junk', 0x200cn), 0, 'the name is a C string');
  assert.equal(vm.rtasToken('ibm,int-off'), 0x200cn);
  assert.equal(vm.rtasToken('ibm,set-xive'), 0x200an);
  expectRc(vm.rtasDefineToken('ibm,set-xive', 0n), 0);
  assert.equal(vm.rtasToken('ibm,set-xive'), null);
  expectRc(vm.rtasDefineToken('no-such-call', 0n), 0, 'undefining never fails');
  expectRc(vm.rtasDefineToken('ibm,int-on', 0x200an), 0, 'the token is free again');
  expectRc(vm.disableCap(U.KVM_CAP_IRQ_XICS), -U.EBUSY);
});

test('host misuse (not part of the KVM contract) throws XiveUsageError', () => {
  const { vm, dev } = rig('xive');
  const bad: (() => unknown)[] = [
    () => vm.createDevice('mpic' as 'xics'),
    () => vm.createDevice(-1),
    () => vm.createDevice(1.5),
    () => dev.setAttr(1, 1 as unknown as bigint),
    () => dev.setAttr(-1, 1n),
    () => dev.setAttr(1, -1n),
    () => dev.setAttr(1, 1n << 64n),
    () => dev.getAttr(4, 0n, [0, 0] as unknown as Uint8Array),
    () => dev.hasAttr(2 ** 32, 0n),
    () => dev.mmap(-1, 1),
    () => vm.getOneReg(7, U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)),
    () => vm.getOneReg(0, 5 as unknown as bigint, new Uint8Array(16)),
    () => vm.setOneReg(0, U.KVM_REG_PPC_VP_STATE, null as unknown as Uint8Array),
    () => vm.irqLine(-1, 1),
    () => vm.irqLine(0x1000, 2 ** 32),
    () => vm.checkExtension(0.5),
    () => vm.enableVcpuCap(0, U.KVM_CAP_IRQ_XICS, { device: 3 as unknown as null }),
    () => vm.enableVcpuCap(0, U.KVM_CAP_IRQ_XICS, { server: -2 }),
    () => vm.rtasDefineToken('ibm,int-on', 5 as unknown as bigint),
  ];
  for (const f of bad) assert.throws(f, XiveUsageError);
});

test('a hot-plugged vCPU is connected on its own and reaches its state words', () => {
  for (const kind of ['xics', 'xive'] as const) {
    const { m, vm, dev } = rig(kind, { smp: 1, maxCpus: 2 });
    m.plugCpu(1);
    expectRc(vm.getOneReg(1, kind === 'xics' ? U.KVM_REG_PPC_ICP_STATE : U.KVM_REG_PPC_VP_STATE, new Uint8Array(16)), -U.ENXIO, kind);
    expectRc(vm.connectVcpu(1, dev), 0, kind);
    if (kind === 'xics') {
      expectRc(vm.setOneReg(1, U.KVM_REG_PPC_ICP_STATE, u64(icpWord(0xff, 0, 0xff, 0xff))), 0);
      assert.equal(m.xics!.icpOfCpu(1)!.cppr, 0xff);
    } else {
      const eq = new Uint8Array(64);
      new DataView(eq.buffer).setUint32(0, 1, true);
      new DataView(eq.buffer).setUint32(4, 16, true);
      new DataView(eq.buffer).setBigUint64(8, 0x60_0000n, true);
      new DataView(eq.buffer).setUint32(16, 1, true);
      expectRc(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, (1n << 3n) | 5n, eq), 0);
      assert.equal(m.xive!.router.endValid(1 * 8 + 5), true);
    }
  }
});
