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
export const PQ_Q = 0x1;
export const PQ_P = 0x2;
export const PQ_RESET = 0x0; // 00: ready
export const PQ_OFF = 0x1; // 01: off (masked at the source)
export const PQ_PENDING = 0x2; // 10
export const PQ_QUEUED = 0x3; // 11
/**
 * Source status byte (the model's own, not architected): PQ in the two low bits, LSI input level
 * above them.
 */
export const SRC_STATUS_PQ = PQ_P | PQ_Q;
export const SRC_STATUS_ASSERTED = 0x4;

// ---- Source flags ------------------------------------------------------------------------------
export const SRC_FLAG_STORE_EOI = 0x2;
export const SRC_FLAG_PQ_DISABLE = 0x4;

// ---- ESB MMIO ---------------------------------------------------------------------------------
export const ESB_4K = 12;
export const ESB_4K_2PAGE = 13;
export const ESB_64K = 16;
export const ESB_64K_2PAGE = 17;
/** Loads on the management page, decoded from addr & 0xFFF. */
export const ESB_LOAD_EOI = 0x000; // 0x000-0x7FF
export const ESB_GET = 0x800; // 0x800-0xBFF
export const ESB_SET_PQ_00 = 0xc00;
export const ESB_SET_PQ_01 = 0xd00;
export const ESB_SET_PQ_10 = 0xe00;
export const ESB_SET_PQ_11 = 0xf00;
/** The PQ value a SET_PQ load (or a store at 0xC00-0xFFF) sets: bits 8-9 of the page offset. */
export const ESB_OFFSET_PQ = 0x300;
export const ESB_OFFSET_PQ_SHIFT = fieldShift(ESB_OFFSET_PQ);
/** Stores on the management page. */
export const ESB_STORE_TRIGGER = 0x000; // 0x000-0x3FF
export const ESB_STORE_EOI = 0x400; // 0x400-0x7FF
export const ESB_STORE_INJECT = 0x800; // 0x800-0xBFF

// ---- LISN (logical interrupt source number) as the router decodes it -------------------------
export const LISN_BLOCK = ppcBitMask32(0, 3);
export const LISN_INDEX = ppcBitMask32(4, 31);

// ---- EAS: one 64-bit word per LISN, kept as two BE 32-bit halves (hi = IBM bits 0-31) --------
export const EAS_HI_VALID = ppcBit64Hi(0);
export const EAS_HI_END_BLOCK = ppcBitMask64Hi(4, 7);
export const EAS_HI_END_INDEX = ppcBitMask64Hi(8, 31);
export const EAS_LO_MASKED = ppcBit64Lo(32);
export const EAS_LO_END_DATA = ppcBitMask64Lo(33, 63);
export const EAS_BYTES = 8;

// ---- END: 8 x 32-bit BE words ------------------------------------------------------------------
export const END_WORDS = 8;
export const END_BYTES = 32;
export const END_W0_VALID = ppcBit32(0);
export const END_W0_ENQUEUE = ppcBit32(1);
export const END_W0_UCOND_NOTIFY = ppcBit32(2);
export const END_W0_BACKLOG = ppcBit32(3);
export const END_W0_PRECL_ESC_CTL = ppcBit32(4);
export const END_W0_ESCALATE_CTL = ppcBit32(5);
export const END_W0_UNCOND_ESCALATE = ppcBit32(6);
export const END_W0_SILENT_ESCALATE = ppcBit32(7);
/** EQ size code: 2^(QSIZE + 12) bytes, 2^(QSIZE + 10) entries. */
export const END_W0_QSIZE = ppcBitMask32(12, 15);
export const END_W0_SW0 = ppcBit32(16);
export const END_W0_HWDEP = ppcBitMask32(24, 31);
/** ESn: the notification ESB (P, Q), and ESe: the escalation ESB, each a 2-bit PQ value. */
export const END_W1_ESN = ppcBitMask32(0, 1);
export const END_W1_ESN_P = ppcBit32(0);
export const END_W1_ESN_Q = ppcBit32(1);
export const END_W1_ESE = ppcBitMask32(2, 3);
export const END_W1_ESE_P = ppcBit32(2);
export const END_W1_ESE_Q = ppcBit32(3);
export const END_W1_GENERATION = ppcBit32(9);
export const END_W1_PAGE_OFF = ppcBitMask32(10, 31);
export const END_W2_MIGRATION_REG = ppcBitMask32(0, 3);
/** EQ address bits 32-59 (its high 28 bits); word 3 holds the low 32 bits. */
export const END_W2_OP_DESC_HI = ppcBitMask32(4, 31);
export const END_W4_ESC_END_BLOCK = ppcBitMask32(4, 7);
export const END_W4_ESC_END_INDEX = ppcBitMask32(8, 31);
export const END_W5_ESC_END_DATA = ppcBitMask32(1, 31);
export const END_W6_FORMAT_BIT = ppcBit32(8);
export const END_W6_NVT_BLOCK = ppcBitMask32(9, 12);
export const END_W6_NVT_INDEX = ppcBitMask32(13, 31);
export const END_W7_F0_IGNORE = ppcBit32(0);
export const END_W7_F0_BLK_GROUPING = ppcBit32(1);
export const END_W7_F0_PRIORITY = ppcBitMask32(8, 15);
export const END_W7_F1_WAKEZ = ppcBit32(0);
export const END_W7_F1_LOG_SERVER_ID = ppcBitMask32(1, 31);
/** END value after reset: everything 0 but both ESBs "off" (PQ 01). */
export const END_W1_RESET = END_W1_ESN_Q | END_W1_ESE_Q;

/**
 * Shifts of the fields the per-interrupt paths (source, router, presenter, thread context, TIMA)
 * read or write, derived from the masks. getField / setField work out the shift on every call:
 * JavaScript engines do not fold constants imported from another module, and each call spends
 * part of the compiler's inlining budget, which measurably slowed the interrupt cycle. Those
 * paths therefore use the mask with its shift constant; all other code goes through the helpers.
 * (END_W4_ESC_END_BLOCK_SHIFT serves only the tests that build END words by hand.)
 */
export const LISN_BLOCK_SHIFT = fieldShift(LISN_BLOCK);
export const EAS_HI_END_BLOCK_SHIFT = fieldShift(EAS_HI_END_BLOCK);
export const END_W0_QSIZE_SHIFT = fieldShift(END_W0_QSIZE);
export const END_W1_ESN_SHIFT = fieldShift(END_W1_ESN);
export const END_W1_ESE_SHIFT = fieldShift(END_W1_ESE);
export const END_W4_ESC_END_BLOCK_SHIFT = fieldShift(END_W4_ESC_END_BLOCK);
export const END_W6_NVT_BLOCK_SHIFT = fieldShift(END_W6_NVT_BLOCK);
export const END_W7_F0_PRIORITY_SHIFT = fieldShift(END_W7_F0_PRIORITY);

// ---- Event queue entry (one 32-bit BE word in guest memory) -------------------------------------
export const EQ_ENTRY_GENERATION = ppcBit32(0);
export const EQ_ENTRY_GENERATION_SHIFT = fieldShift(EQ_ENTRY_GENERATION);
export const EQ_ENTRY_DATA = ppcBitMask32(1, 31);

// ---- NVT ---------------------------------------------------------------------------------------
export const NVT_WORDS = 16;
export const NVT_W0_VALID = ppcBit32(0);
export const NVT_W1_EQ_BLOCK = ppcBitMask32(0, 3);
export const NVT_W1_EQ_INDEX = ppcBitMask32(4, 31);
export const NVT_W4_IPB = ppcBitMask32(16, 23);
export const NVT_W8_GRP_VALID = ppcBit32(0);

// ---- CAM line: the NVT identity a thread context answers to (2^19 NVTs per block) ---------------
export const CAM_NVT_BLOCK = ppcBitMask32(9, 12);
export const CAM_NVT_BLOCK_SHIFT = fieldShift(CAM_NVT_BLOCK);
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
export const TM_RING_SIZE = 0x10;
export const TCTX_BYTES = 0x40;
export const TM_QW0_USER = 0x00;
export const TM_QW1_OS = 0x10;
export const TM_QW2_HV_POOL = 0x20;
export const TM_QW3_HV_PHYS = 0x30;
/** Byte offsets inside a ring. */
export const TM_NSR = 0x0;
export const TM_CPPR = 0x1;
export const TM_IPB = 0x2;
export const TM_LSMFB = 0x3;
export const TM_ACK_CNT = 0x4;
export const TM_INC = 0x5;
export const TM_AGE = 0x6;
export const TM_PIPR = 0x7;
export const TM_WORD0 = 0x0;
export const TM_WORD1 = 0x4;
export const TM_WORD2 = 0x8;
export const TM_WORD3 = 0xc;
/** WORD2 valid bits and CAM fields. */
export const TM_QW0W2_VU = ppcBit32(0);
export const TM_QW0W2_LOGIC_SERV = ppcBitMask32(1, 31);
export const TM_QW1W2_VO = ppcBit32(0);
export const TM_QW1W2_OS_CAM = ppcBitMask32(8, 31);
export const TM_QW2W2_VP = ppcBit32(0);
export const TM_QW2W2_POOL_CAM = ppcBitMask32(8, 31);
export const TM_QW3W2_VT = ppcBit32(0);
export const TM_QW3W2_LP = ppcBit32(6);
export const TM_QW3W2_LE = ppcBit32(7);
export const TM_QW3W2_T = ppcBit32(31);
/** NSR bits (one byte). */
export const TM_QW0_NSR_EB = ppcBit8(0);
export const TM_QW1_NSR_EO = ppcBit8(0);
/** PHYS ring exception field, with its values. */
export const TM_QW3_NSR_HE = ppcBitMask8(0, 1);
export const TM_QW3_NSR_HE_NONE = 0;
export const TM_QW3_NSR_HE_POOL = 1;
export const TM_QW3_NSR_HE_PHYS = 2;
export const TM_QW3_NSR_HE_LSI = 3;
export const TM_QW3_NSR_I = ppcBit8(2);

// ---- TIMA pages and special operations ----------------------------------------------------------
export const TM_SHIFT = 16;
/** Page number field of an offset inside the TIMA region. */
export const TM_OFFSET_PAGE = 0x3 << TM_SHIFT;
export const TM_PAGE_HW = 0;
export const TM_PAGE_HV = 1;
export const TM_PAGE_OS = 2;
export const TM_PAGE_USER = 3;
/** Offsets (within a 4K pattern) of the special operations QEMU 7.2 implements. */
export const TM_SPC_ACK_EBB = 0x800;
export const TM_SPC_ACK_OS_REG = 0x810;
export const TM_SPC_SET_OS_PENDING = 0x812;
export const TM_SPC_PULL_OS_CTX = 0x818;
export const TM_SPC_PULL_POOL_CTX = 0x828;
export const TM_SPC_ACK_HV_REG = 0x830;
/** QW1 WORD2 offset, used by "push OS context" stores from the HV page. */
export const TM_QW1_WORD2 = TM_QW1_OS + TM_WORD2;
export const TM_QW3_WORD2 = TM_QW3_HV_PHYS + TM_WORD2;

// ---- Priorities --------------------------------------------------------------------------------
export const XIVE_PRIORITY_MAX = 7;
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
