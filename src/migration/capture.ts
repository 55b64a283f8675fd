/**
 * Source side of a migration: the machine is quiesced, its event queues synchronised, and its
 * interrupt state copied out block by block (each block saves its own; the machine lists them as
 * sections) — the same content QEMU 7.2 migrates for pseries, plus what a fresh model machine
 * needs that QEMU rebuilds from its device models instead (the LSI map, the vCPUs plugged, the
 * line levels).
 *
 * Everything is copied, never aliased: a snapshot does not change when the machine runs on.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import { SparseGuestMemory } from '../ports/memory.ts';
import { SnapshotError } from './errors.ts';
import type { RamBlock, RamState, SnapshotState } from './sections.ts';

/**
 * Page size of SparseGuestMemory.touchedPages() (memory.ts allocates 64 KiB pages). A RAM round
 * trip test would lose data if the two ever disagreed.
 */
export const SPARSE_PAGE_BYTES = 0x1_0000;
/** RAM is stored in 4 KiB blocks, all-zero blocks left out: event queues are mostly empty. */
export const RAM_BLOCK_SHIFT = 12;

/** Machines being restored right now: they are not quiescent and must not be captured. */
export const restoring = new WeakSet<SpaprMachine>();

/** Options of {@link captureSnapshot}. */
export interface CaptureOptions {
  /**
   * Also store guest RAM (needs a SparseGuestMemory). Off by default: in a real migration the
   * VMM moves guest RAM, including the event queues; this is for whole-machine checkpoints.
   */
  includeMemory?: boolean;
}

/**
 * Step 1, quiesce. KVM stops the vCPUs and masks the sources so nothing moves while the state is
 * read. The emulated model has no concurrency: a machine changes only inside one of its calls,
 * and this capture reads everything in one synchronous pass, so between calls it is stopped.
 * The one way to be inside a call is re-entry from a callback (a line port or trace sink invoked
 * by a restore that is still loading); that is refused rather than captured half-done.
 */
function quiesce(m: SpaprMachine): void {
  if (restoring.has(m)) throw new SnapshotError('unsupported', 'snapshot capture refused: the machine is still being restored (called from a port or trace callback)');
}

/**
 * Step 2, sync queues. KVM's EQ_SYNC flushes in-flight notifications and QEMU then copies each
 * queue's index and generation into END word 1. Here every enqueue updates word 1 as it writes
 * the queue entry, so the END image already holds the queue positions and nothing is in flight;
 * the PQ bytes are the sources' own state (no "stopped" PQ stash as KVM's stop handler keeps).
 */
function syncQueues(_m: SpaprMachine): void {}

/** Step 3, capture: every block's state through the machine, and guest RAM when asked. */
export function captureState(m: SpaprMachine, opts: CaptureOptions = {}): SnapshotState {
  quiesce(m);
  syncQueues(m);
  return { machine: m.saveState(), ram: opts.includeMemory === true ? captureRam(m) : null };
}

function captureRam(m: SpaprMachine): RamState {
  const mem = m.memory;
  if (!(mem instanceof SparseGuestMemory)) {
    throw new SnapshotError('unsupported', 'snapshot capture: includeMemory needs the machine to use SparseGuestMemory (other memories cannot be enumerated)');
  }
  const size = 2 ** RAM_BLOCK_SHIFT;
  if (mem.size % size !== 0) throw new SnapshotError('unsupported', `snapshot capture: guest RAM of ${mem.size} bytes is not a whole number of ${size}-byte blocks`);
  const blocks: RamBlock[] = [];
  for (const page of mem.touchedPages()) {
    for (let addr = page * SPARSE_PAGE_BYTES; addr < (page + 1) * SPARSE_PAGE_BYTES && addr < mem.size; addr += size) {
      const data = new Uint8Array(size);
      const view = new DataView(data.buffer);
      let nonZero = false;
      for (let o = 0; o < size; o += 4) {
        const w = mem.read32(addr + o);
        if (w !== 0) {
          view.setUint32(o, w, false);
          nonZero = true;
        }
      }
      if (nonZero) blocks.push({ addr, data });
    }
  }
  return { ramSize: mem.size, blockShift: RAM_BLOCK_SHIFT, blocks };
}
