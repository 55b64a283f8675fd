/**
 * Checkpoints of a running demo: the machine's snapshot (interrupt state + guest RAM), the
 * reference guest driver's own state (its queue positions, toggles, CPPR stacks, counters) and
 * the workload's progress, in one byte string that can go to a file or over a socket. A run
 * resumed from it continues exactly where it stopped: no interrupt lost, none counted twice.
 *
 * The driver state is serialised generically (the data fields of the guest core and of its
 * controller operations, through the core's checkpoint hooks, with shared objects kept shared),
 * so both drivers are covered without each keeping a hand-written codec in step.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { captureSnapshot, restoreSnapshot } from '../migration/snapshot.ts';
import { BINDING_FIELDS, type ReferenceGuest } from './driver.ts';
import { XiveGuest } from './ops-xive.ts';
import { XicsGuest } from './ops-xics.ts';

const MAGIC = 'XIVEDEMO';
const VERSION = 1;

/** The drivers a checkpoint can hold, by the kind it records. */
const DRIVERS = { xive: XiveGuest, xics: XicsGuest } as const;
type DriverKind = keyof typeof DRIVERS;

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

/** Where a workload stands: what a resumed run needs to go on with the same schedule. */
export interface WorkloadProgress {
  events: number;
  done: number;
  batch: number;
  step: number;
  seed: number;
}

// ---- generic object graph codec ---------------------------------------------------------------

type Encoded = null | boolean | number | string | Encoded[] | { [k: string]: Encoded };

function encodeGraph(root: object, skip: ReadonlySet<string>): Encoded {
  const ids = new Map<object, number>();
  const enc = (v: unknown): Encoded => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return Number.isFinite(v) ? v : { $num: String(v) };
    if (typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'bigint') return { $big: v.toString() };
    if (typeof v === 'function') return null;
    if (typeof v !== 'object') throw new CheckpointError(`cannot save a ${typeof v}`);
    const seen = ids.get(v);
    if (seen !== undefined) return { $ref: seen };
    const id = ids.size;
    ids.set(v, id);
    if (Array.isArray(v)) return { $id: id, $arr: v.map(enc) };
    if (v instanceof Map) return { $id: id, $map: [...v.entries()].map(([k, x]) => [enc(k), enc(x)]) };
    if (v instanceof Set) return { $id: id, $set: [...v].map(enc) };
    const out: { [k: string]: Encoded } = {};
    for (const [k, x] of Object.entries(v)) if (!skip.has(k) && typeof x !== 'function') out[k] = enc(x);
    return { $id: id, $obj: out };
  };
  return enc(root);
}

function decodeGraph(data: Encoded): unknown {
  const byId = new Map<number, unknown>();
  const dec = (v: Encoded): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) throw new CheckpointError('malformed driver state');
    if ('$num' in v) return Number(v.$num);
    if ('$big' in v) return BigInt(v.$big as string);
    if ('$ref' in v) {
      if (!byId.has(v.$ref as number)) throw new CheckpointError('malformed driver state (dangling reference)');
      return byId.get(v.$ref as number);
    }
    const id = v.$id as number;
    if ('$arr' in v) {
      const a: unknown[] = [];
      byId.set(id, a);
      for (const x of v.$arr as Encoded[]) a.push(dec(x));
      return a;
    }
    if ('$map' in v) {
      const m = new Map<unknown, unknown>();
      byId.set(id, m);
      for (const [k, x] of v.$map as [Encoded, Encoded][]) m.set(dec(k), dec(x));
      return m;
    }
    if ('$set' in v) {
      const s = new Set<unknown>();
      byId.set(id, s);
      for (const x of v.$set as Encoded[]) s.add(dec(x));
      return s;
    }
    const o: Record<string, unknown> = {};
    byId.set(id, o);
    for (const [k, x] of Object.entries(v.$obj as Record<string, Encoded>)) o[k] = dec(x);
    return o;
  };
  return dec(data);
}

// ---- checkpoint ---------------------------------------------------------------------------------

/** Writes a checkpoint of a quiescent demo (between two workload batches). */
export function writeCheckpoint(machine: SpaprMachine, guest: ReferenceGuest, progress: WorkloadProgress): Uint8Array {
  const kind = (Object.keys(DRIVERS) as DriverKind[]).find((k) => guest instanceof DRIVERS[k]);
  if (kind === undefined) throw new CheckpointError('only the reference guest drivers can be checkpointed');
  const state = (guest as XiveGuest | XicsGuest).checkpointState();
  const head = new TextEncoder().encode(JSON.stringify({ version: VERSION, kind, progress, guest: encodeGraph(state, BINDING_FIELDS) }));
  const snap = captureSnapshot(machine, { includeMemory: true });
  const out = new Uint8Array(MAGIC.length + 4 + head.length + snap.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, head.length, true);
  out.set(head, MAGIC.length + 4);
  out.set(snap, MAGIC.length + 4 + head.length);
  return out;
}

/** Reads a checkpoint back into a new machine and a driver bound to it. */
export function readCheckpoint(bytes: Uint8Array): { machine: SpaprMachine; guest: ReferenceGuest; progress: WorkloadProgress } {
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    throw new CheckpointError('not a demo checkpoint (bad magic)');
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length, true);
  if (MAGIC.length + 4 + n > bytes.length) throw new CheckpointError('demo checkpoint is truncated');
  let head: { version: number; kind: DriverKind; progress: WorkloadProgress; guest: Encoded };
  try {
    head = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + n)));
  } catch {
    throw new CheckpointError('demo checkpoint header is damaged');
  }
  if (head.version !== VERSION) throw new CheckpointError(`demo checkpoint version ${head.version} is not known (this build reads ${VERSION})`);
  const Driver = Object.hasOwn(DRIVERS, head.kind) ? DRIVERS[head.kind] : undefined;
  if (Driver === undefined) throw new CheckpointError(`demo checkpoint holds an unknown guest driver '${String(head.kind)}'`);
  const state = decodeGraph(head.guest);
  if (!Array.isArray(state) || state.length !== 2) throw new CheckpointError('malformed driver state');
  const machine = restoreSnapshot(bytes.subarray(MAGIC.length + 4 + n), { postLoadResend: false });
  const guest = new Driver(machine);
  // The fresh driver brings the closures and the bindings; the saved data replaces the rest.
  guest.resumeState(state[0] as Record<string, unknown>, state[1] as Record<string, unknown>);
  return { machine, guest, progress: head.progress };
}
