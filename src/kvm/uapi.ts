/**
 * Constants of the Linux KVM user API (uAPI) that the device-control interface of this model
 * follows, named as in the uAPI: device types, capability numbers, attribute groups and word
 * layouts of the in-kernel XICS device and of the XIVE native device, ONE_REG register ids and
 * field positions, KVM_IRQ_LINE levels, the ioctl numbers a powerpc host uses, and the errno
 * values (the functions of src/kvm return them negated, as the kernel's handlers do).
 *
 * Values are those of Linux 6.1 (`include/uapi/linux/kvm.h`, `arch/powerpc/include/uapi/asm/kvm.h`,
 * `include/uapi/asm-generic/errno-base.h`, `errno.h`).
 *
 * Fields of the data words: the uAPI gives some as a shift and a mask of the field in place
 * (XIVE source and EQ words), others as a shift and a right-aligned mask (XICS source word,
 * ICP_STATE). Both are kept as the uAPI spells them; for the latter, the in-place masks
 * (`_FIELD`) are derived here, so that every field is read and written with getField64n /
 * setField64n (base/bits.ts) through one in-place mask. Bits are numbered from the least
 * significant (bit 0), as in the uAPI.
 *
 * Byte order: the uAPI's data words are native-endian. Every buffer of this API is laid out as on
 * a little-endian powerpc64 (ppc64le) host, the usual KVM host: a u32/u64 field is stored least
 * significant byte first. The one exception is VP_STATE word 0, which the kernel itself keeps as
 * the thread context's big-endian memory image (see KVM_REG_PPC_VP_STATE).
 *
 * Acronyms: XICS = the PAPR legacy interrupt controller (ICS = source controller, ICP = presenter,
 * XIRR/XISR/CPPR/MFRR = its registers, PPRI = pending priority), XIVE = POWER9 interrupt
 * controller (EQ = event queue, EISN = the number a source writes into its EQ, VP = virtual
 * processor, TIMA = thread interrupt management area, ESB = event state buffer pages), GSI =
 * global system interrupt number.
 */

// ---- Device types (enum kvm_device_type) ---------------------------------------------------------
export const KVM_DEV_TYPE_FSL_MPIC_20 = 1;
export const KVM_DEV_TYPE_FSL_MPIC_42 = 2;
export const KVM_DEV_TYPE_XICS = 3;
export const KVM_DEV_TYPE_VFIO = 4;
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
export const KVM_DEV_TYPE_FLIC = 6;
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
export const KVM_DEV_TYPE_XIVE = 9;
export const KVM_DEV_TYPE_ARM_PV_TIME = 10;
export const KVM_DEV_TYPE_MAX = 11;

/** struct kvm_create_device flags: only test whether the type is supported. */
export const KVM_CREATE_DEVICE_TEST = 1;

// ---- Capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) -----------------------------------------
export const KVM_CAP_ENABLE_CAP = 54;
export const KVM_CAP_ONE_REG = 70;
export const KVM_CAP_DEVICE_CTRL = 89;
export const KVM_CAP_IRQ_MPIC = 90;
export const KVM_CAP_PPC_RTAS = 91;
export const KVM_CAP_IRQ_XICS = 92;
export const KVM_CAP_PPC_IRQ_XIVE = 169;

// ---- KVM_IRQ_LINE levels ------------------------------------------------------------------------
export const KVM_INTERRUPT_SET = 0xffff_ffff;
export const KVM_INTERRUPT_UNSET = 0xffff_fffe;
export const KVM_INTERRUPT_SET_LEVEL = 0xffff_fffd;

// ---- XICS device (KVM_DEV_TYPE_XICS) --------------------------------------------------------------
export const KVM_DEV_XICS_GRP_SOURCES = 1;
export const KVM_DEV_XICS_GRP_CTRL = 2;
export const KVM_DEV_XICS_NR_SERVERS = 1;

/** The 64-bit per-source word of KVM_DEV_XICS_GRP_SOURCES. */
export const KVM_XICS_DESTINATION_SHIFT = 0n;
export const KVM_XICS_DESTINATION_MASK = 0xffff_ffffn;
export const KVM_XICS_PRIORITY_SHIFT = 32n;
export const KVM_XICS_PRIORITY_MASK = 0xffn;
export const KVM_XICS_LEVEL_SENSITIVE = 1n << 40n;
export const KVM_XICS_MASKED = 1n << 41n;
export const KVM_XICS_PENDING = 1n << 42n;
export const KVM_XICS_PRESENTED = 1n << 43n;
export const KVM_XICS_QUEUED = 1n << 44n;
export const KVM_XICS_DESTINATION_FIELD = KVM_XICS_DESTINATION_MASK << KVM_XICS_DESTINATION_SHIFT;
export const KVM_XICS_PRIORITY_FIELD = KVM_XICS_PRIORITY_MASK << KVM_XICS_PRIORITY_SHIFT;

/** In-kernel XICS source numbers: 16 ≤ n < 0x100000 (0 = none, 2 = IPI), blocks of 1024. */
export const KVMPPC_XICS_FIRST_IRQ = 16;
export const KVMPPC_XICS_NR_IRQS = 0x10_0000;
export const KVMPPC_XICS_ICS_SHIFT = 10;
/** XISR value of an IPI. */
export const XICS_IPI = 2;

// ---- XIVE native device (KVM_DEV_TYPE_XIVE) --------------------------------------------------------
export const KVM_DEV_XIVE_GRP_CTRL = 1;
export const KVM_DEV_XIVE_RESET = 1;
export const KVM_DEV_XIVE_EQ_SYNC = 2;
export const KVM_DEV_XIVE_NR_SERVERS = 3;
export const KVM_DEV_XIVE_GRP_SOURCE = 2;
export const KVM_DEV_XIVE_GRP_SOURCE_CONFIG = 3;
export const KVM_DEV_XIVE_GRP_EQ_CONFIG = 4;
export const KVM_DEV_XIVE_GRP_SOURCE_SYNC = 5;

/** KVM_DEV_XIVE_GRP_SOURCE word. */
export const KVM_XIVE_LEVEL_SENSITIVE = 1n << 0n;
export const KVM_XIVE_LEVEL_ASSERTED = 1n << 1n;

/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word. */
export const KVM_XIVE_SOURCE_PRIORITY_SHIFT = 0n;
export const KVM_XIVE_SOURCE_PRIORITY_MASK = 0x7n;
export const KVM_XIVE_SOURCE_SERVER_SHIFT = 3n;
export const KVM_XIVE_SOURCE_SERVER_MASK = 0xffff_fff8n;
export const KVM_XIVE_SOURCE_MASKED_SHIFT = 32n;
export const KVM_XIVE_SOURCE_MASKED_MASK = 0x1_0000_0000n;
export const KVM_XIVE_SOURCE_EISN_SHIFT = 33n;
export const KVM_XIVE_SOURCE_EISN_MASK = 0xffff_fffe_0000_0000n;

/** EQ identifier (the attr of KVM_DEV_XIVE_GRP_EQ_CONFIG). */
export const KVM_XIVE_EQ_PRIORITY_SHIFT = 0n;
export const KVM_XIVE_EQ_PRIORITY_MASK = 0x7n;
export const KVM_XIVE_EQ_SERVER_SHIFT = 3n;
export const KVM_XIVE_EQ_SERVER_MASK = 0xffff_fff8n;

/** struct kvm_ppc_xive_eq: flags u32 @0, qshift u32 @4, qaddr u64 @8, qtoggle u32 @16, qindex u32 @20, pad[40]. */
export const KVM_PPC_XIVE_EQ_SIZE = 64;
export const KVM_XIVE_EQ_ALWAYS_NOTIFY = 0x1;

/** mmap page offsets of the XIVE device fd (in host pages; 64 KiB pages on a ppc64le host). */
export const KVM_XIVE_TIMA_PAGE_OFFSET = 0;
export const KVM_XIVE_ESB_PAGE_OFFSET = 4;

/** XIVE native source numbers: 0 ≤ n < 0x100000, blocks of 1024. */
export const KVMPPC_XIVE_FIRST_IRQ = 0;
export const KVMPPC_XIVE_NR_IRQS = 0x10_0000;
/** Host page size assumed for the device mappings (QEMU assumes it too). */
export const KVM_XIVE_PAGE_SHIFT = 16;

// ---- ONE_REG ----------------------------------------------------------------------------------------
export const KVM_REG_PPC = 0x1000_0000_0000_0000n;
export const KVM_REG_SIZE_SHIFT = 52n;
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n;
export const KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000n;
/** Size of union kvmppc_one_reg: a register id with a larger size is refused (EINVAL). */
export const KVMPPC_ONE_REG_MAX_BYTES = 16;

/** XICS presenter state: CPPR 63..56, XISR 55..32, MFRR 31..24, PPRI 23..16. */
export const KVM_REG_PPC_ICP_STATE = KVM_REG_PPC | KVM_REG_SIZE_U64 | 0x8cn;
export const KVM_REG_PPC_ICP_CPPR_SHIFT = 56n;
export const KVM_REG_PPC_ICP_CPPR_MASK = 0xffn;
export const KVM_REG_PPC_ICP_XISR_SHIFT = 32n;
export const KVM_REG_PPC_ICP_XISR_MASK = 0xff_ffffn;
export const KVM_REG_PPC_ICP_MFRR_SHIFT = 24n;
export const KVM_REG_PPC_ICP_MFRR_MASK = 0xffn;
export const KVM_REG_PPC_ICP_PPRI_SHIFT = 16n;
export const KVM_REG_PPC_ICP_PPRI_MASK = 0xffn;
export const KVM_REG_PPC_ICP_CPPR_FIELD = KVM_REG_PPC_ICP_CPPR_MASK << KVM_REG_PPC_ICP_CPPR_SHIFT;
export const KVM_REG_PPC_ICP_XISR_FIELD = KVM_REG_PPC_ICP_XISR_MASK << KVM_REG_PPC_ICP_XISR_SHIFT;
export const KVM_REG_PPC_ICP_MFRR_FIELD = KVM_REG_PPC_ICP_MFRR_MASK << KVM_REG_PPC_ICP_MFRR_SHIFT;
export const KVM_REG_PPC_ICP_PPRI_FIELD = KVM_REG_PPC_ICP_PPRI_MASK << KVM_REG_PPC_ICP_PPRI_SHIFT;

/**
 * XIVE VP state, two u64: [0] = the OS ring's TIMA words 0 and 1 as they sit in memory (bytes
 * NSR, CPPR, IPB, LSMFB, ACK#, INC, AGE, PIPR in that order, whatever the host byte order);
 * [1] = unused (0 on get, ignored on set).
 */
export const KVM_REG_PPC_VP_STATE = KVM_REG_PPC | KVM_REG_SIZE_U128 | 0x8dn;

// ---- Host limits (kernel configuration: NR_CPUS = 2048, MAX_SMT_THREADS = 8) ----------------------------
export const KVM_MAX_VCPUS = 2048;
export const KVM_MAX_VCPU_IDS = 8 * 2048;

// ---- RTAS tokens handled in-kernel (KVM_PPC_RTAS_DEFINE_TOKEN) ----------------------------------------
export const KVM_RTAS_NAME_BYTES = 120;
export const KVM_RTAS_IN_KERNEL_NAMES: readonly string[] = ['ibm,set-xive', 'ibm,get-xive', 'ibm,int-off', 'ibm,int-on'];

// ---- ioctl numbers on a powerpc host (3 direction bits at bit 29: NONE 1, READ 2, WRITE 4) ----------------
export const KVM_CHECK_EXTENSION = 0x2000_ae03;
export const KVM_IRQ_LINE = 0x8008_ae61;
export const KVM_ENABLE_CAP = 0x8068_aea3;
export const KVM_GET_ONE_REG = 0x8010_aeab;
export const KVM_SET_ONE_REG = 0x8010_aeac;
export const KVM_PPC_RTAS_DEFINE_TOKEN = 0x8080_aeac;
export const KVM_CREATE_DEVICE = 0xc00c_aee0;
export const KVM_SET_DEVICE_ATTR = 0x8018_aee1;
export const KVM_GET_DEVICE_ATTR = 0x8018_aee2;
export const KVM_HAS_DEVICE_ATTR = 0x8018_aee3;

// ---- errno (Linux); API functions return the negated value ----------------------------------------------
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOTTY = 25;
export const ENOSPC = 28;

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, 'EPERM'],
  [ENOENT, 'ENOENT'],
  [EIO, 'EIO'],
  [ENXIO, 'ENXIO'],
  [E2BIG, 'E2BIG'],
  [EBADF, 'EBADF'],
  [ENOMEM, 'ENOMEM'],
  [EFAULT, 'EFAULT'],
  [EBUSY, 'EBUSY'],
  [EEXIST, 'EEXIST'],
  [ENODEV, 'ENODEV'],
  [EINVAL, 'EINVAL'],
  [ENOTTY, 'ENOTTY'],
  [ENOSPC, 'ENOSPC'],
]);

/** "0", "-EINVAL", … for messages and test output. */
export function errnoName(ret: number): string {
  if (ret === 0) return '0';
  const n = ERRNO_NAMES.get(-ret);
  return n === undefined ? String(ret) : `-${n}`;
}
