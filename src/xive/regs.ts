/**
 * XIVE architected layouts (POWER9, XIVE v1): EAS, END, NVT words, thread-context (TIMA) ring
 * offsets and bits, ESB page offsets, PQ values. XIVE documents number bits IBM-style (bit 0 is
 * the MSB); each field is defined once, as the numeric mask of the word read big-endian, built
 * from those bit numbers (base/bits.ts), and read and written with getField / setField — or, on
 * the per-interrupt paths, with the mask and its shift constant derived below.
 *
 * Acronyms: EAS = Event Assignment Structure (LISN -> END), END = Event Notification Descriptor
 * (event queue + notification target), NVT = Notification Virtual Target, ESB = Event State
 * Buffer (the PQ bits), TIMA = Thread Interrupt Management Area, CAM = Content Addressable
 * Memory line (NVT identity of a dispatched thread), EQ = event queue, LISN = logical interrupt
 * source number, EISN = effective interrupt source number (the data a guest finds in its EQ).
 */
import {
  fieldShift,
  ppcBit32,
  ppcBit64Hi,
  ppcBit64Lo,
  ppcBit8,
  ppcBitMask32,
  ppcBitMask64Hi,
  ppcBitMask64Lo,
  ppcBitMask8,
} from '../base/bits.ts';

// ---- PQ (ESB) state bits ---------------------------------------------------------------------
/** Q bit of a PQ pair: an event arrived while one was already pending (queued). */
export const PQ_Q = 0x1;
/** P bit of a PQ pair: an event was forwarded and not yet EOIed (pending). */
export const PQ_P = 0x2;
/** PQ 00: ready, the next trigger is forwarded. */
export const PQ_RESET = 0x0;
/** PQ 01: off, the source is masked at the ESB (triggers are dropped). */
export const PQ_OFF = 0x1;
/** PQ 10: an event was forwarded; further triggers set Q. */
export const PQ_PENDING = 0x2;
/** PQ 11: forwarded, and another trigger arrived before the EOI. */
export const PQ_QUEUED = 0x3;
/**
 * Source status byte (the model's own, not architected): PQ in the two low bits, LSI input level
 * above them. This is the mask of the PQ bits.
 */
export const SRC_STATUS_PQ = PQ_P | PQ_Q;
/** Source status byte: the LSI input is asserted (level high). */
export const SRC_STATUS_ASSERTED = 0x4;

// ---- Source flags ------------------------------------------------------------------------------
/** Source flag: EOI may be done with a store at 0x400-0x7FF of the management page (not on sPAPR). */
export const SRC_FLAG_STORE_EOI = 0x2;
/** Source flag: PQ disabled, MSI triggers always forward and EOI is refused (not on sPAPR). */
export const SRC_FLAG_PQ_DISABLE = 0x4;

// ---- ESB MMIO ---------------------------------------------------------------------------------
/** ESB page shift: one 4K page per source. */
export const ESB_4K = 12;
/** ESB page shift: two 4K pages per source (trigger page, then management page). */
export const ESB_4K_2PAGE = 13;
/** ESB page shift: one 64K page per source. */
export const ESB_64K = 16;
/** ESB page shift: two 64K pages per source, the mode sPAPR uses. */
export const ESB_64K_2PAGE = 17;
/** ESB management-page load at 0x000-0x7FF: EOI; returns 1 if a notification was forwarded. */
export const ESB_LOAD_EOI = 0x000;
/** ESB management-page load at 0x800-0xBFF: returns the PQ bits, unchanged. */
export const ESB_GET = 0x800;
/** ESB management-page load at 0xC00: sets PQ to 00 and returns the old value. */
export const ESB_SET_PQ_00 = 0xc00;
/** ESB management-page load at 0xD00: sets PQ to 01 (off) and returns the old value. */
export const ESB_SET_PQ_01 = 0xd00;
/** ESB management-page load at 0xE00: sets PQ to 10 and returns the old value. */
export const ESB_SET_PQ_10 = 0xe00;
/** ESB management-page load at 0xF00: sets PQ to 11 and returns the old value. */
export const ESB_SET_PQ_11 = 0xf00;
/** The PQ value a SET_PQ load (or a store at 0xC00-0xFFF) sets: bits 8-9 of the page offset. */
export const ESB_OFFSET_PQ = 0x300;
/** Shift of {@link ESB_OFFSET_PQ}. */
export const ESB_OFFSET_PQ_SHIFT = fieldShift(ESB_OFFSET_PQ);
/** ESB management-page store at 0x000-0x3FF: trigger (as a store to the trigger page). */
export const ESB_STORE_TRIGGER = 0x000;
/** ESB management-page store at 0x400-0x7FF: EOI, when the source has {@link SRC_FLAG_STORE_EOI}. */
export const ESB_STORE_EOI = 0x400;
/** ESB management-page store at 0x800-0xBFF: inject, forward unconditionally, PQ untouched. */
export const ESB_STORE_INJECT = 0x800;

// ---- LISN (logical interrupt source number) as the router decodes it -------------------------
/** Block number of a LISN as the router decodes it (IBM bits 0-3). */
export const LISN_BLOCK = ppcBitMask32(0, 3);
/** Index of a LISN within its block (IBM bits 4-31). */
export const LISN_INDEX = ppcBitMask32(4, 31);

// ---- EAS: one 64-bit word per LISN, kept as two BE 32-bit halves (hi = IBM bits 0-31) --------
/** EAS, high word: the entry is in use (on sPAPR: the LISN is claimed). */
export const EAS_HI_VALID = ppcBit64Hi(0);
/** EAS, high word: block of the destination END. */
export const EAS_HI_END_BLOCK = ppcBitMask64Hi(4, 7);
/** EAS, high word: index of the destination END. */
export const EAS_HI_END_INDEX = ppcBitMask64Hi(8, 31);
/** EAS, low word: masked, events are dropped at the router. */
export const EAS_LO_MASKED = ppcBit64Lo(32);
/** EAS, low word: the 31-bit data written into the event queue (the guest's EISN). */
export const EAS_LO_END_DATA = ppcBitMask64Lo(33, 63);
/** Size of one EAS in bytes. */
export const EAS_BYTES = 8;

// ---- END: 8 x 32-bit BE words ------------------------------------------------------------------
/** Size of one END in 32-bit words. */
export const END_WORDS = 8;
/** Size of one END in bytes. */
export const END_BYTES = 32;
/** END word 0: the END is valid. */
export const END_W0_VALID = ppcBit32(0);
/** END word 0: write the event data into the event queue. */
export const END_W0_ENQUEUE = ppcBit32(1);
/** END word 0: notify unconditionally (without the ESn coalescing bits). */
export const END_W0_UCOND_NOTIFY = ppcBit32(2);
/** END word 0: record the priority in the NVT when no thread is dispatched. */
export const END_W0_BACKLOG = ppcBit32(3);
/** END word 0: precluded escalation control (defined, not used by the model). */
export const END_W0_PRECL_ESC_CTL = ppcBit32(4);
/** END word 0: escalation enabled. */
export const END_W0_ESCALATE_CTL = ppcBit32(5);
/** END word 0: escalate unconditionally (without the ESe coalescing bits). */
export const END_W0_UNCOND_ESCALATE = ppcBit32(6);
/** END word 0: skip the notification and go straight to escalation. */
export const END_W0_SILENT_ESCALATE = ppcBit32(7);
/** END word 0: EQ size code, 2^(QSIZE + 12) bytes, 2^(QSIZE + 10) entries. */
export const END_W0_QSIZE = ppcBitMask32(12, 15);
/** END word 0: bit owned by firmware (only displayed). */
export const END_W0_SW0 = ppcBit32(16);
/** END word 0: hardware-dependent bits (unused). */
export const END_W0_HWDEP = ppcBitMask32(24, 31);
/** END word 1: ESn, the notification ESB (a 2-bit PQ value that coalesces notifications). */
export const END_W1_ESN = ppcBitMask32(0, 1);
/** END word 1: P bit of ESn. */
export const END_W1_ESN_P = ppcBit32(0);
/** END word 1: Q bit of ESn. */
export const END_W1_ESN_Q = ppcBit32(1);
/** END word 1: ESe, the escalation ESB (a 2-bit PQ value that coalesces escalations). */
export const END_W1_ESE = ppcBitMask32(2, 3);
/** END word 1: P bit of ESe. */
export const END_W1_ESE_P = ppcBit32(2);
/** END word 1: Q bit of ESe. */
export const END_W1_ESE_Q = ppcBit32(3);
/** END word 1: the generation (toggle) bit written with the next queue entry. */
export const END_W1_GENERATION = ppcBit32(9);
/** END word 1: event queue write index, in 4-byte entries. */
export const END_W1_PAGE_OFF = ppcBitMask32(10, 31);
/** END word 2: migration register (unused). */
export const END_W2_MIGRATION_REG = ppcBitMask32(0, 3);
/** END word 2: EQ address bits 32-59 (its high 28 bits); word 3 holds the low 32 bits. */
export const END_W2_OP_DESC_HI = ppcBitMask32(4, 31);
/** END word 4: block of the escalation END. */
export const END_W4_ESC_END_BLOCK = ppcBitMask32(4, 7);
/** END word 4: index of the escalation END. */
export const END_W4_ESC_END_INDEX = ppcBitMask32(8, 31);
/** END word 5: escalation data (words 4-5 together form an EAS-shaped 64-bit word). */
export const END_W5_ESC_END_DATA = ppcBitMask32(1, 31);
/** END word 6: format, 0 = normal (word 7 in format 0), 1 = user-level EBB (format 1). */
export const END_W6_FORMAT_BIT = ppcBit32(8);
/** END word 6: block of the target NVT. */
export const END_W6_NVT_BLOCK = ppcBitMask32(9, 12);
/** END word 6: index of the target NVT (19 bits). */
export const END_W6_NVT_INDEX = ppcBitMask32(13, 31);
/** END word 7, format 0: ignore the low NVT bits (logical server; not supported). */
export const END_W7_F0_IGNORE = ppcBit32(0);
/** END word 7, format 0: block grouping (unused). */
export const END_W7_F0_BLK_GROUPING = ppcBit32(1);
/** END word 7, format 0: notification priority (0xFF: the END is masked). */
export const END_W7_F0_PRIORITY = ppcBitMask32(8, 15);
/** END word 7, format 1: wake-z (unused). */
export const END_W7_F1_WAKEZ = ppcBit32(0);
/** END word 7, format 1: logical server id of an EBB match. */
export const END_W7_F1_LOG_SERVER_ID = ppcBitMask32(1, 31);
/** END word 1 after reset: everything 0 but both ESBs off (PQ 01). */
export const END_W1_RESET = END_W1_ESN_Q | END_W1_ESE_Q;

/**
 * Shifts of the fields the per-interrupt paths (source, router, presenter, thread context, TIMA)
 * read or write, derived from the masks. getField / setField work out the shift on every call:
 * JavaScript engines do not fold constants imported from another module, and each call spends
 * part of the compiler's inlining budget, which measurably slowed the interrupt cycle. Those
 * paths therefore use the mask with its shift constant; all other code goes through the helpers.
 * (END_W4_ESC_END_BLOCK_SHIFT serves only the tests that build END words by hand.)
 */
/** Shift of {@link LISN_BLOCK}. */
export const LISN_BLOCK_SHIFT = fieldShift(LISN_BLOCK);
/** Shift of {@link EAS_HI_END_BLOCK}. */
export const EAS_HI_END_BLOCK_SHIFT = fieldShift(EAS_HI_END_BLOCK);
/** Shift of {@link END_W0_QSIZE}. */
export const END_W0_QSIZE_SHIFT = fieldShift(END_W0_QSIZE);
/** Shift of {@link END_W1_ESN}. */
export const END_W1_ESN_SHIFT = fieldShift(END_W1_ESN);
/** Shift of {@link END_W1_ESE}. */
export const END_W1_ESE_SHIFT = fieldShift(END_W1_ESE);
/** Shift of {@link END_W4_ESC_END_BLOCK}. */
export const END_W4_ESC_END_BLOCK_SHIFT = fieldShift(END_W4_ESC_END_BLOCK);
/** Shift of {@link END_W6_NVT_BLOCK}. */
export const END_W6_NVT_BLOCK_SHIFT = fieldShift(END_W6_NVT_BLOCK);
/** Shift of {@link END_W7_F0_PRIORITY}. */
export const END_W7_F0_PRIORITY_SHIFT = fieldShift(END_W7_F0_PRIORITY);

// ---- Event queue entry (one 32-bit BE word in guest memory) -------------------------------------
/** Event queue entry (one big-endian 32-bit word): the generation bit. */
export const EQ_ENTRY_GENERATION = ppcBit32(0);
/** Shift of {@link EQ_ENTRY_GENERATION}. */
export const EQ_ENTRY_GENERATION_SHIFT = fieldShift(EQ_ENTRY_GENERATION);
/** Event queue entry: the 31-bit event data (the EISN). */
export const EQ_ENTRY_DATA = ppcBitMask32(1, 31);

// ---- NVT ---------------------------------------------------------------------------------------
/** Size of one NVT in 32-bit words. */
export const NVT_WORDS = 16;
/** NVT word 0: the NVT is valid. */
export const NVT_W0_VALID = ppcBit32(0);
/** NVT word 1: block of the NVT's event queue. */
export const NVT_W1_EQ_BLOCK = ppcBitMask32(0, 3);
/** NVT word 1: index of the NVT's event queue. */
export const NVT_W1_EQ_INDEX = ppcBitMask32(4, 31);
/** NVT word 4: the pending priorities saved while no thread is dispatched (an IPB). */
export const NVT_W4_IPB = ppcBitMask32(16, 23);
/** NVT word 8: group valid. */
export const NVT_W8_GRP_VALID = ppcBit32(0);

// ---- CAM line: the NVT identity a thread context answers to (2^19 NVTs per block) ---------------
/** CAM line: block of the NVT. */
export const CAM_NVT_BLOCK = ppcBitMask32(9, 12);
/** Shift of {@link CAM_NVT_BLOCK}. */
export const CAM_NVT_BLOCK_SHIFT = fieldShift(CAM_NVT_BLOCK);
/** CAM line: index of the NVT (19 bits). */
export const CAM_NVT_INDEX = ppcBitMask32(13, 31);

// The helpers below run on every event. They read module-private copies of the fields: an
// exported constant lives in a module cell, which the engine loads and checks on every use, even
// inside its own module, while a private one is folded into the code.
const CAM_BLOCK = CAM_NVT_BLOCK;
const CAM_BLOCK_SHIFT = CAM_NVT_BLOCK_SHIFT;
const CAM_INDEX = CAM_NVT_INDEX;

/** CAM line of NVT (blk, idx); on the presenter's per-event path, hence the shift constant. */
export function camLine(blk: number, idx: number): number {
  return ((blk << CAM_BLOCK_SHIFT) & CAM_BLOCK) | (idx & CAM_INDEX);
}

// ---- Thread interrupt context: 4 rings ("quad-words") x 16 bytes -------------------------------
/** Size in bytes of one ring of a thread context. */
export const TM_RING_SIZE = 0x10;
/** Size in bytes of one thread context (4 rings). */
export const TCTX_BYTES = 0x40;
/** Offset of the USER ring (QW0) in a thread context. */
export const TM_QW0_USER = 0x00;
/** Offset of the OS ring (QW1) in a thread context. */
export const TM_QW1_OS = 0x10;
/** Offset of the hypervisor POOL ring (QW2) in a thread context. */
export const TM_QW2_HV_POOL = 0x20;
/** Offset of the hypervisor PHYS ring (QW3) in a thread context. */
export const TM_QW3_HV_PHYS = 0x30;
/** Ring byte 0: NSR, the notification source register (exception pending bits). */
export const TM_NSR = 0x0;
/** Ring byte 1: CPPR, the current processor priority. */
export const TM_CPPR = 0x1;
/** Ring byte 2: IPB, the interrupt pending buffer (bit 0x80 >> p: priority p pending). */
export const TM_IPB = 0x2;
/** Ring byte 3: LSMFB, least significant most favoured backlog (stored, not modelled). */
export const TM_LSMFB = 0x3;
/** Ring byte 4: the ACK count (stored, not modelled). */
export const TM_ACK_CNT = 0x4;
/** Ring byte 5: INC (stored, not modelled). */
export const TM_INC = 0x5;
/** Ring byte 6: AGE (stored, not modelled). */
export const TM_AGE = 0x6;
/** Ring byte 7: PIPR, the most favoured pending priority (derived from the IPB). */
export const TM_PIPR = 0x7;
/** Ring word 0 (bytes 0-3: NSR, CPPR, IPB, LSMFB). */
export const TM_WORD0 = 0x0;
/** Ring word 1 (bytes 4-7: ACK#, INC, AGE, PIPR). */
export const TM_WORD1 = 0x4;
/** Ring word 2: the valid bit and CAM line of the ring. */
export const TM_WORD2 = 0x8;
/** Ring word 3 (unused). */
export const TM_WORD3 = 0xc;
/** USER ring word 2: valid. */
export const TM_QW0W2_VU = ppcBit32(0);
/** USER ring word 2: logical server. */
export const TM_QW0W2_LOGIC_SERV = ppcBitMask32(1, 31);
/** OS ring word 2: valid (an OS context is pushed). */
export const TM_QW1W2_VO = ppcBit32(0);
/** OS ring word 2: the CAM line of the dispatched NVT. */
export const TM_QW1W2_OS_CAM = ppcBitMask32(8, 31);
/** POOL ring word 2: valid. */
export const TM_QW2W2_VP = ppcBit32(0);
/** POOL ring word 2: the CAM line of the pool. */
export const TM_QW2W2_POOL_CAM = ppcBitMask32(8, 31);
/** PHYS ring word 2: valid (the thread is enabled). */
export const TM_QW3W2_VT = ppcBit32(0);
/** PHYS ring word 2: LP bit (defined, not used). */
export const TM_QW3W2_LP = ppcBit32(6);
/** PHYS ring word 2: LE bit (defined, not used). */
export const TM_QW3W2_LE = ppcBit32(7);
/** PHYS ring word 2: T bit (defined, not used). */
export const TM_QW3W2_T = ppcBit32(31);
/** USER ring NSR: event-based branch exception pending. */
export const TM_QW0_NSR_EB = ppcBit8(0);
/** OS ring NSR: OS exception pending. */
export const TM_QW1_NSR_EO = ppcBit8(0);
/** PHYS ring NSR: the hypervisor exception field (one of the TM_QW3_NSR_HE_* values). */
export const TM_QW3_NSR_HE = ppcBitMask8(0, 1);
/** PHYS ring NSR exception field: none. */
export const TM_QW3_NSR_HE_NONE = 0;
/** PHYS ring NSR exception field: POOL ring exception. */
export const TM_QW3_NSR_HE_POOL = 1;
/** PHYS ring NSR exception field: PHYS ring exception. */
export const TM_QW3_NSR_HE_PHYS = 2;
/** PHYS ring NSR exception field: LSI exception. */
export const TM_QW3_NSR_HE_LSI = 3;
/** PHYS ring NSR: I bit. */
export const TM_QW3_NSR_I = ppcBit8(2);

// ---- TIMA pages and special operations ----------------------------------------------------------
/** Page shift of the TIMA (64K pages). */
export const TM_SHIFT = 16;
/** Page number field of an offset inside the TIMA region. */
export const TM_OFFSET_PAGE = 0x3 << TM_SHIFT;
/** TIMA page 0: the hardware view. */
export const TM_PAGE_HW = 0;
/** TIMA page 1: the hypervisor view. */
export const TM_PAGE_HV = 1;
/** TIMA page 2: the OS view (what a pseries guest maps). */
export const TM_PAGE_OS = 2;
/** TIMA page 3: the user view. */
export const TM_PAGE_USER = 3;
/** TIMA special operation 0x800: acknowledge an EBB (not implemented by QEMU 7.2). */
export const TM_SPC_ACK_EBB = 0x800;
/** TIMA special operation 0x810 (2-byte load): acknowledge the OS ring interrupt. */
export const TM_SPC_ACK_OS_REG = 0x810;
/** TIMA special operation 0x812 (1-byte store): set a pending priority in the OS ring. */
export const TM_SPC_SET_OS_PENDING = 0x812;
/** TIMA special operation 0x818 (4- or 8-byte load, HV page): pull the OS context. */
export const TM_SPC_PULL_OS_CTX = 0x818;
/** TIMA special operation 0x828 (HV page): pull the POOL context. */
export const TM_SPC_PULL_POOL_CTX = 0x828;
/** TIMA special operation 0x830 (2-byte load, HV page): acknowledge the hypervisor ring interrupt. */
export const TM_SPC_ACK_HV_REG = 0x830;
/** OS ring word 2 offset, where "push OS context" stores from the HV page go. */
export const TM_QW1_WORD2 = TM_QW1_OS + TM_WORD2;
/** PHYS ring word 2 offset. */
export const TM_QW3_WORD2 = TM_QW3_HV_PHYS + TM_WORD2;

// ---- Priorities --------------------------------------------------------------------------------
/** The least favoured priority that can be pending: 0 (most favoured) to 7. */
export const XIVE_PRIORITY_MAX = 7;
/** Priority 0xFF: a masked END or source (and, as a CPPR, the least restrictive value). */
export const PRIO_MASKED = 0xff;

const PRIORITY_MAX = XIVE_PRIORITY_MAX;

/** Priority -> IPB bit: priority 0 is 0x80, 7 is 0x01, anything above 7 has no bit. */
export function prioToIpb(prio: number): number {
  return prio > PRIORITY_MAX ? 0 : 1 << (PRIORITY_MAX - prio);
}

/** IPB -> most favoured pending priority (0xFF when nothing is pending). */
export function ipbToPipr(ipb: number): number {
  return ipb === 0 ? 0xff : Math.clz32(ipb & 0xff) - 24;
}
