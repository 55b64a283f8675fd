/**
 * XIVE architected layouts (POWER9, XIVE v1): EAS, END, NVT words, thread-context (TIMA) ring
 * offsets and bits, ESB page offsets, PQ values. XIVE documents number bits IBM-style (bit 0 is
 * the MSB); every constant here is the numeric mask of the word as read big-endian.
 *
 * Acronyms: EAS = Event Assignment Structure (LISN -> END), END = Event Notification Descriptor
 * (event queue + notification target), NVT = Notification Virtual Target, ESB = Event State
 * Buffer (the PQ bits), TIMA = Thread Interrupt Management Area, CAM = Content Addressable
 * Memory line (NVT identity of a dispatched thread), EQ = event queue, LISN = logical interrupt
 * source number, EISN = effective interrupt source number (the data a guest finds in its EQ).
 */

// ---- PQ (ESB) state bits ---------------------------------------------------------------------
export const PQ_Q = 0x1;
export const PQ_P = 0x2;
export const PQ_RESET = 0x0; // 00: ready
export const PQ_OFF = 0x1; // 01: off (masked at the source)
export const PQ_PENDING = 0x2; // 10
export const PQ_QUEUED = 0x3; // 11
/** Source status byte: PQ in bits 0-1, LSI input level in bit 2. */
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
/** Stores on the management page. */
export const ESB_STORE_TRIGGER = 0x000; // 0x000-0x3FF
export const ESB_STORE_EOI = 0x400; // 0x400-0x7FF
export const ESB_STORE_INJECT = 0x800; // 0x800-0xBFF

// ---- EAS: one 64-bit word per LISN, kept as two BE 32-bit halves (hi = IBM bits 0-31) --------
export const EAS_HI_VALID = 0x8000_0000;
export const EAS_HI_END_BLOCK = 0x0f00_0000;
export const EAS_HI_END_BLOCK_SHIFT = 24;
export const EAS_HI_END_INDEX = 0x00ff_ffff;
export const EAS_LO_MASKED = 0x8000_0000;
export const EAS_LO_END_DATA = 0x7fff_ffff;
export const EAS_BYTES = 8;

// ---- END: 8 x 32-bit BE words ------------------------------------------------------------------
export const END_WORDS = 8;
export const END_BYTES = 32;
export const END_W0_VALID = 0x8000_0000;
export const END_W0_ENQUEUE = 0x4000_0000;
export const END_W0_UCOND_NOTIFY = 0x2000_0000;
export const END_W0_BACKLOG = 0x1000_0000;
export const END_W0_PRECL_ESC_CTL = 0x0800_0000;
export const END_W0_ESCALATE_CTL = 0x0400_0000;
export const END_W0_UNCOND_ESCALATE = 0x0200_0000;
export const END_W0_SILENT_ESCALATE = 0x0100_0000;
export const END_W0_QSIZE = 0x000f_0000;
export const END_W0_QSIZE_SHIFT = 16;
export const END_W0_SW0 = 0x0000_8000;
export const END_W0_FIRMWARE = END_W0_SW0;
export const END_W0_HWDEP = 0x0000_00ff;
export const END_W1_ESN = 0xc000_0000;
export const END_W1_ESN_SHIFT = 30;
export const END_W1_ESN_P = 0x8000_0000;
export const END_W1_ESN_Q = 0x4000_0000;
export const END_W1_ESE = 0x3000_0000;
export const END_W1_ESE_SHIFT = 28;
export const END_W1_ESE_P = 0x2000_0000;
export const END_W1_ESE_Q = 0x1000_0000;
export const END_W1_GENERATION = 0x0040_0000;
export const END_W1_PAGE_OFF = 0x003f_ffff;
export const END_W2_MIGRATION_REG = 0xf000_0000;
export const END_W2_OP_DESC_HI = 0x0fff_ffff;
export const END_W4_ESC_END_BLOCK = 0x0f00_0000;
export const END_W4_ESC_END_BLOCK_SHIFT = 24;
export const END_W4_ESC_END_INDEX = 0x00ff_ffff;
export const END_W5_ESC_END_DATA = 0x7fff_ffff;
export const END_W6_FORMAT_BIT = 0x0080_0000;
export const END_W6_NVT_BLOCK = 0x0078_0000;
export const END_W6_NVT_BLOCK_SHIFT = 19;
export const END_W6_NVT_INDEX = 0x0007_ffff;
export const END_W7_F0_IGNORE = 0x8000_0000;
export const END_W7_F0_BLK_GROUPING = 0x4000_0000;
export const END_W7_F0_PRIORITY = 0x00ff_0000;
export const END_W7_F0_PRIORITY_SHIFT = 16;
export const END_W7_F1_WAKEZ = 0x8000_0000;
export const END_W7_F1_LOG_SERVER_ID = 0x7fff_ffff;
/** END value after reset: everything 0 but both ESBs "off" (PQ 01). */
export const END_W1_RESET = END_W1_ESN_Q | END_W1_ESE_Q;

// ---- NVT ---------------------------------------------------------------------------------------
export const NVT_WORDS = 16;
export const NVT_W0_VALID = 0x8000_0000;
export const NVT_W1_EQ_BLOCK = 0xf000_0000;
export const NVT_W1_EQ_INDEX = 0x0fff_ffff;
export const NVT_W4_IPB = 0x0000_ff00;
export const NVT_W4_IPB_SHIFT = 8;
export const NVT_W8_GRP_VALID = 0x8000_0000;
/** NVT index bits in a CAM line; 2^19 NVTs per block. */
export const NVT_SHIFT = 19;
export const NVT_INDEX_MASK = 0x7ffff;

export function camLine(blk: number, idx: number): number {
  return ((blk & 0xf) << NVT_SHIFT) | (idx & NVT_INDEX_MASK);
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
export const TM_QW0W2_VU = 0x8000_0000;
export const TM_QW0W2_LOGIC_SERV = 0x7fff_ffff;
export const TM_QW1W2_VO = 0x8000_0000;
export const TM_QW1W2_OS_CAM = 0x00ff_ffff;
export const TM_QW2W2_VP = 0x8000_0000;
export const TM_QW2W2_POOL_CAM = 0x00ff_ffff;
export const TM_QW3W2_VT = 0x8000_0000;
export const TM_QW3W2_LP = 0x0200_0000;
export const TM_QW3W2_LE = 0x0100_0000;
export const TM_QW3W2_T = 0x0000_0001;
/** NSR bits. */
export const TM_QW0_NSR_EB = 0x80;
export const TM_QW1_NSR_EO = 0x80;
export const TM_QW3_NSR_HE = 0xc0;
export const TM_QW3_NSR_HE_SHIFT = 6;
export const TM_QW3_NSR_HE_NONE = 0;
export const TM_QW3_NSR_HE_POOL = 1;
export const TM_QW3_NSR_HE_PHYS = 2;
export const TM_QW3_NSR_HE_LSI = 3;
export const TM_QW3_NSR_I = 0x20;

// ---- TIMA pages and special operations ----------------------------------------------------------
export const TM_SHIFT = 16;
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

/** Priority -> IPB bit: priority 0 is 0x80, 7 is 0x01, anything above 7 has no bit. */
export function prioToIpb(prio: number): number {
  return prio > XIVE_PRIORITY_MAX ? 0 : 1 << (XIVE_PRIORITY_MAX - prio);
}

/** IPB -> most favoured pending priority (0xFF when nothing is pending). */
export function ipbToPipr(ipb: number): number {
  return ipb === 0 ? 0xff : Math.clz32(ipb & 0xff) - 24;
}
