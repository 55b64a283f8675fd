/**
 * The operations a fuzz run performs, as plain data: what a guest does (hcalls, RTAS calls,
 * MMIO loads and stores, reading its event queue, CAS), what devices and the platform do (input
 * levels, MSIs, IRQ claims, CPU hotplug, reset) and host operations from the pluggable list
 * (host-ops.ts). Keeping them as data makes a failing run replayable and shrinkable, and lets a
 * reproduction be printed as a short program against the public machine API.
 */
import { HCALL_NAMES } from '../spapr/hcall.ts';

export type Op =
  | { k: 'hcall'; vcpu: number; opcode: number; args: bigint[]; pr: boolean }
  | { k: 'rtas'; vcpu: number; call: string | number; args: number[]; nret: number }
  | { k: 'load'; vcpu: number; addr: number; size: number }
  | { k: 'store'; vcpu: number; addr: number; size: number; lo: number; hi: number }
  /** The guest reads up to `max` entries of its event queue (vCPU, priority) from its RAM. */
  | { k: 'eq-pop'; vcpu: number; prio: number; max: number }
  | { k: 'irq'; irq: number; level: boolean }
  | { k: 'msi'; irq: number }
  | { k: 'cas'; byte: number }
  | { k: 'reset' }
  | { k: 'plug'; id: number }
  | { k: 'claim'; irq: number; lsi: boolean }
  | { k: 'free'; irq: number }
  /** A host operation of the pluggable list; `args` is whatever that operation recorded. */
  | { k: 'host'; name: string; args: unknown };

export type OpKind = Op['k'];

function h(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

function hcallName(opcode: number): string {
  return HCALL_NAMES[opcode] ?? h(opcode);
}

/** One line describing the operation (failure reports, logs). */
export function describeOp(op: Op, host?: (op: Extract<Op, { k: 'host' }>) => string): string {
  switch (op.k) {
    case 'hcall':
      return `vCPU ${op.vcpu}: ${hcallName(op.opcode)}(${op.args.map(h).join(', ')})${op.pr ? ' with MSR[PR]=1' : ''}`;
    case 'rtas':
      return `vCPU ${op.vcpu}: RTAS ${typeof op.call === 'string' ? op.call : h(op.call)}(${op.args.map(h).join(', ')}) nret=${op.nret}`;
    case 'load':
      return `vCPU ${op.vcpu}: ${op.size}-byte load @${h(op.addr)}`;
    case 'store':
      return `vCPU ${op.vcpu}: ${op.size}-byte store @${h(op.addr)} value ${op.size === 8 ? h((BigInt(op.hi >>> 0) << 32n) | BigInt(op.lo >>> 0)) : h(op.lo >>> 0)}`;
    case 'eq-pop':
      return `vCPU ${op.vcpu}: read up to ${op.max} entries of its priority ${op.prio} event queue`;
    case 'irq':
      return `device: IRQ ${h(op.irq)} level ${op.level ? 1 : 0}`;
    case 'msi':
      return `device: MSI ${h(op.irq)}`;
    case 'cas':
      return `guest: CAS with option vector 5 byte 23 = ${h(op.byte)}`;
    case 'reset':
      return 'machine reset';
    case 'plug':
      return `hotplug vCPU ${op.id}`;
    case 'claim':
      return `claim IRQ ${h(op.irq)} as ${op.lsi ? 'LSI' : 'MSI'}`;
    case 'free':
      return `free IRQ ${h(op.irq)}`;
    case 'host':
      return host !== undefined ? host(op) : `host ${op.name} ${JSON.stringify(op.args, (_k, v) => (typeof v === 'bigint' ? h(v) : v))}`;
  }
}

/**
 * The operation as TypeScript against the public API (`m` is the SpaprMachine). Event-queue
 * reads only load guest RAM; they are shown as the loads the guest makes.
 */
export function opToCode(op: Op, host?: (op: Extract<Op, { k: 'host' }>) => string): string {
  switch (op.k) {
    case 'hcall':
      return `m.hcall(${op.vcpu}, ${h(op.opcode)} /* ${hcallName(op.opcode)} */, [${op.args.map((a) => `${h(a)}n`).join(', ')}]${op.pr ? ', true' : ''});`;
    case 'rtas':
      return `m.rtas(${op.vcpu}, ${typeof op.call === 'string' ? `'${op.call}'` : h(op.call)}, [${op.args.map(h).join(', ')}], ${op.nret});`;
    case 'load':
      return `m.mmioRead(${op.vcpu}, ${h(op.addr)}, ${op.size});`;
    case 'store':
      return `m.mmioWrite(${op.vcpu}, ${h(op.addr)}, ${op.size}, ${h(op.lo >>> 0)}, ${h(op.hi >>> 0)});`;
    case 'eq-pop':
      return `// vCPU ${op.vcpu} reads up to ${op.max} entries of its priority ${op.prio} event queue (m.memory.read32)`;
    case 'irq':
      return `m.setIrq(${h(op.irq)}, ${op.level});`;
    case 'msi':
      return `m.pulseMsi(${h(op.irq)});`;
    case 'cas':
      return `m.cas(${h(op.byte)});`;
    case 'reset':
      return 'm.reset();';
    case 'plug':
      return `m.plugCpu(${op.id});`;
    case 'claim':
      return `m.claimIrq(${h(op.irq)}, ${op.lsi});`;
    case 'free':
      return `m.freeIrq(${h(op.irq)});`;
    case 'host':
      return host !== undefined ? host(op) : `// host operation ${op.name}`;
  }
}
