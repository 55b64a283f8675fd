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
/** Device type: Freescale MPIC v2.0 (not modelled). */
export const KVM_DEV_TYPE_FSL_MPIC_20 = 1;
/** Device type: Freescale MPIC v4.2 (not modelled). */
export const KVM_DEV_TYPE_FSL_MPIC_42 = 2;
/** Device type: the in-kernel XICS (KVM_CREATE_DEVICE). */
export const KVM_DEV_TYPE_XICS = 3;
/** Device type: VFIO (not modelled). */
export const KVM_DEV_TYPE_VFIO = 4;
/** Device type: ARM GICv2 (not modelled). */
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
/** Device type: s390 floating interrupt controller (not modelled). */
export const KVM_DEV_TYPE_FLIC = 6;
/** Device type: ARM GICv3 (not modelled). */
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
/** Device type: ARM GIC ITS (not modelled). */
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
/** Device type: the XIVE native device (KVM_CREATE_DEVICE). */
export const KVM_DEV_TYPE_XIVE = 9;
/** Device type: ARM paravirtual time (not modelled). */
export const KVM_DEV_TYPE_ARM_PV_TIME = 10;
/** One past the last device type. */
export const KVM_DEV_TYPE_MAX = 11;

/** struct kvm_create_device flags: only test whether the type is supported. */
export const KVM_CREATE_DEVICE_TEST = 1;

// ---- Capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) -----------------------------------------
/** Capability: KVM_ENABLE_CAP on vCPUs. */
export const KVM_CAP_ENABLE_CAP = 54;
/** Capability: KVM_GET_ONE_REG / KVM_SET_ONE_REG. */
export const KVM_CAP_ONE_REG = 70;
/** Capability: the device-control API (KVM_CREATE_DEVICE and device attributes). */
export const KVM_CAP_DEVICE_CTRL = 89;
/** Capability: the MPIC device of Book E hosts (absent on Book3S, not modelled). */
export const KVM_CAP_IRQ_MPIC = 90;
/** Capability: RTAS calls handled in the kernel (KVM_PPC_RTAS_DEFINE_TOKEN). */
export const KVM_CAP_PPC_RTAS = 91;
/** vCPU capability: connect the vCPU to the XICS device (args: device fd, server number). */
export const KVM_CAP_IRQ_XICS = 92;
/**
 * vCPU capability: connect the vCPU to the XIVE native device (args: device fd, server number).
 */
export const KVM_CAP_PPC_IRQ_XIVE = 169;

// ---- KVM_IRQ_LINE levels ------------------------------------------------------------------------
/** KVM_IRQ_LINE level: raise (QEMU sends it on the rising edge of an MSI). */
export const KVM_INTERRUPT_SET = 0xffff_ffff;
/** KVM_IRQ_LINE level: lower (an LSI deasserted). */
export const KVM_INTERRUPT_UNSET = 0xffff_fffe;
/** KVM_IRQ_LINE level: raise (an LSI asserted). */
export const KVM_INTERRUPT_SET_LEVEL = 0xffff_fffd;

// ---- XICS device (KVM_DEV_TYPE_XICS) --------------------------------------------------------------
/** XICS attribute group: the 64-bit state word of one source (attr = source number). */
export const KVM_DEV_XICS_GRP_SOURCES = 1;
/** XICS attribute group: device controls. */
export const KVM_DEV_XICS_GRP_CTRL = 2;
/** XICS control attribute: the number of servers (a u32), set before the first vCPU connects. */
export const KVM_DEV_XICS_NR_SERVERS = 1;

/** XICS source word: shift of the destination server. */
export const KVM_XICS_DESTINATION_SHIFT = 0n;
/** XICS source word: the destination server, right-aligned. */
export const KVM_XICS_DESTINATION_MASK = 0xffff_ffffn;
/** XICS source word: shift of the priority. */
export const KVM_XICS_PRIORITY_SHIFT = 32n;
/** XICS source word: the priority, right-aligned. */
export const KVM_XICS_PRIORITY_MASK = 0xffn;
/** XICS source word: level-sensitive source (LSI). */
export const KVM_XICS_LEVEL_SENSITIVE = 1n << 40n;
/** XICS source word: masked (current priority 0xFF; the priority field holds the saved one). */
export const KVM_XICS_MASKED = 1n << 41n;
/** XICS source word: pending (LSI: line asserted; MSI: masked-pending or awaiting resend). */
export const KVM_XICS_PENDING = 1n << 42n;
/** XICS source word: presented and not yet EOIed (the P bit). */
export const KVM_XICS_PRESENTED = 1n << 43n;
/** XICS source word: queued, another MSI arrived while presented (the Q bit). */
export const KVM_XICS_QUEUED = 1n << 44n;
/**
 * XICS source word: the destination field in place ({@link KVM_XICS_DESTINATION_MASK} shifted).
 */
export const KVM_XICS_DESTINATION_FIELD = KVM_XICS_DESTINATION_MASK << KVM_XICS_DESTINATION_SHIFT;
/** XICS source word: the priority field in place ({@link KVM_XICS_PRIORITY_MASK} shifted). */
export const KVM_XICS_PRIORITY_FIELD = KVM_XICS_PRIORITY_MASK << KVM_XICS_PRIORITY_SHIFT;

/** In-kernel XICS source numbers: the first (16 ≤ n < 0x100000; 0 = none, 2 = IPI). */
export const KVMPPC_XICS_FIRST_IRQ = 16;
/** In-kernel XICS source numbers: one past the last. */
export const KVMPPC_XICS_NR_IRQS = 0x10_0000;
/** In-kernel XICS sources come in ICS blocks of 2^10 = 1024. */
export const KVMPPC_XICS_ICS_SHIFT = 10;
/** XISR value of an IPI. */
export const XICS_IPI = 2;

// ---- XIVE native device (KVM_DEV_TYPE_XIVE) --------------------------------------------------------
/** XIVE attribute group: device controls. */
export const KVM_DEV_XIVE_GRP_CTRL = 1;
/** XIVE control attribute: reset every source and queue. */
export const KVM_DEV_XIVE_RESET = 1;
/** XIVE control attribute: sync every source and queue, marking the queue pages dirty. */
export const KVM_DEV_XIVE_EQ_SYNC = 2;
/** XIVE control attribute: the number of servers (a u32), set before the first vCPU connects. */
export const KVM_DEV_XIVE_NR_SERVERS = 3;
/** XIVE attribute group: create or reset a source, left masked (attr = source number). */
export const KVM_DEV_XIVE_GRP_SOURCE = 2;
/** XIVE attribute group: the routing of a source (priority, server, masked, EISN). */
export const KVM_DEV_XIVE_GRP_SOURCE_CONFIG = 3;
/** XIVE attribute group: an event queue (attr = EQ identifier, data = struct kvm_ppc_xive_eq). */
export const KVM_DEV_XIVE_GRP_EQ_CONFIG = 4;
/** XIVE attribute group: sync a source (its events reach their queue). */
export const KVM_DEV_XIVE_GRP_SOURCE_SYNC = 5;

/** KVM_DEV_XIVE_GRP_SOURCE word: level-sensitive source (LSI). */
export const KVM_XIVE_LEVEL_SENSITIVE = 1n << 0n;
/** KVM_DEV_XIVE_GRP_SOURCE word: the LSI input is asserted. */
export const KVM_XIVE_LEVEL_ASSERTED = 1n << 1n;

/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: shift of the priority. */
export const KVM_XIVE_SOURCE_PRIORITY_SHIFT = 0n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: the priority field, in place. */
export const KVM_XIVE_SOURCE_PRIORITY_MASK = 0x7n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: shift of the server. */
export const KVM_XIVE_SOURCE_SERVER_SHIFT = 3n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: the server field, in place. */
export const KVM_XIVE_SOURCE_SERVER_MASK = 0xffff_fff8n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: shift of the masked bit. */
export const KVM_XIVE_SOURCE_MASKED_SHIFT = 32n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: the masked bit, in place. */
export const KVM_XIVE_SOURCE_MASKED_MASK = 0x1_0000_0000n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: shift of the EISN. */
export const KVM_XIVE_SOURCE_EISN_SHIFT = 33n;
/** KVM_DEV_XIVE_GRP_SOURCE_CONFIG word: the EISN field, in place. */
export const KVM_XIVE_SOURCE_EISN_MASK = 0xffff_fffe_0000_0000n;

/** EQ identifier (the attr of KVM_DEV_XIVE_GRP_EQ_CONFIG): shift of the priority. */
export const KVM_XIVE_EQ_PRIORITY_SHIFT = 0n;
/** EQ identifier: the priority field, in place. */
export const KVM_XIVE_EQ_PRIORITY_MASK = 0x7n;
/** EQ identifier: shift of the server. */
export const KVM_XIVE_EQ_SERVER_SHIFT = 3n;
/** EQ identifier: the server field, in place. */
export const KVM_XIVE_EQ_SERVER_MASK = 0xffff_fff8n;

/**
 * Size of struct kvm_ppc_xive_eq: flags u32 @0, qshift u32 @4, qaddr u64 @8, qtoggle u32 @16,
 * qindex u32 @20, pad[40].
 */
export const KVM_PPC_XIVE_EQ_SIZE = 64;
/** struct kvm_ppc_xive_eq flags: always notify (required by the kernel when a queue is set). */
export const KVM_XIVE_EQ_ALWAYS_NOTIFY = 0x1;

/** mmap page offset of the TIMA pages of the XIVE device fd (in host pages). */
export const KVM_XIVE_TIMA_PAGE_OFFSET = 0;
/**
 * mmap page offset of the ESB pages of the XIVE device fd (in host pages; 64 KiB on a ppc64le
 * host).
 */
export const KVM_XIVE_ESB_PAGE_OFFSET = 4;

/** XIVE native source numbers: the first (0 ≤ n < 0x100000, blocks of 1024). */
export const KVMPPC_XIVE_FIRST_IRQ = 0;
/** XIVE native source numbers: one past the last. */
export const KVMPPC_XIVE_NR_IRQS = 0x10_0000;
/** Host page size assumed for the device mappings (QEMU assumes it too). */
export const KVM_XIVE_PAGE_SHIFT = 16;

// ---- ONE_REG ----------------------------------------------------------------------------------------
/** ONE_REG id: the powerpc architecture bits. */
export const KVM_REG_PPC = 0x1000_0000_0000_0000n;
/** ONE_REG id: shift of the size field (log2 of the register size in bytes). */
export const KVM_REG_SIZE_SHIFT = 52n;
/** ONE_REG id: the size field, in place. */
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
/** ONE_REG id size: 8 bytes. */
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n;
/** ONE_REG id size: 16 bytes. */
export const KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000n;
/** Size of union kvmppc_one_reg: a register id with a larger size is refused (EINVAL). */
export const KVMPPC_ONE_REG_MAX_BYTES = 16;

/** XICS presenter state: CPPR 63..56, XISR 55..32, MFRR 31..24, PPRI 23..16. */
export const KVM_REG_PPC_ICP_STATE = KVM_REG_PPC | KVM_REG_SIZE_U64 | 0x8cn;
/** ICP_STATE: shift of the CPPR. */
export const KVM_REG_PPC_ICP_CPPR_SHIFT = 56n;
/** ICP_STATE: the CPPR, right-aligned. */
export const KVM_REG_PPC_ICP_CPPR_MASK = 0xffn;
/** ICP_STATE: shift of the XISR. */
export const KVM_REG_PPC_ICP_XISR_SHIFT = 32n;
/** ICP_STATE: the XISR, right-aligned. */
export const KVM_REG_PPC_ICP_XISR_MASK = 0xff_ffffn;
/** ICP_STATE: shift of the MFRR. */
export const KVM_REG_PPC_ICP_MFRR_SHIFT = 24n;
/** ICP_STATE: the MFRR, right-aligned. */
export const KVM_REG_PPC_ICP_MFRR_MASK = 0xffn;
/** ICP_STATE: shift of the pending priority. */
export const KVM_REG_PPC_ICP_PPRI_SHIFT = 16n;
/** ICP_STATE: the pending priority, right-aligned. */
export const KVM_REG_PPC_ICP_PPRI_MASK = 0xffn;
/** ICP_STATE: the CPPR field in place. */
export const KVM_REG_PPC_ICP_CPPR_FIELD = KVM_REG_PPC_ICP_CPPR_MASK << KVM_REG_PPC_ICP_CPPR_SHIFT;
/** ICP_STATE: the XISR field in place. */
export const KVM_REG_PPC_ICP_XISR_FIELD = KVM_REG_PPC_ICP_XISR_MASK << KVM_REG_PPC_ICP_XISR_SHIFT;
/** ICP_STATE: the MFRR field in place. */
export const KVM_REG_PPC_ICP_MFRR_FIELD = KVM_REG_PPC_ICP_MFRR_MASK << KVM_REG_PPC_ICP_MFRR_SHIFT;
/** ICP_STATE: the pending-priority field in place. */
export const KVM_REG_PPC_ICP_PPRI_FIELD = KVM_REG_PPC_ICP_PPRI_MASK << KVM_REG_PPC_ICP_PPRI_SHIFT;

/**
 * XIVE VP state, two u64: [0] = the OS ring's TIMA words 0 and 1 as they sit in memory (bytes
 * NSR, CPPR, IPB, LSMFB, ACK#, INC, AGE, PIPR in that order, whatever the host byte order);
 * [1] = unused (0 on get, ignored on set).
 */
export const KVM_REG_PPC_VP_STATE = KVM_REG_PPC | KVM_REG_SIZE_U128 | 0x8dn;

// ---- Host limits (kernel configuration: NR_CPUS = 2048, MAX_SMT_THREADS = 8) ----------------------------
/** Most vCPUs of one VM (the kernel's NR_CPUS = 2048). */
export const KVM_MAX_VCPUS = 2048;
/** vCPU ids are below this (NR_CPUS × MAX_SMT_THREADS = 2048 × 8). */
export const KVM_MAX_VCPU_IDS = 8 * 2048;

// ---- RTAS tokens handled in-kernel (KVM_PPC_RTAS_DEFINE_TOKEN) ----------------------------------------
/** Size of the name of struct kvm_rtas_token_args (KVM_PPC_RTAS_DEFINE_TOKEN). */
export const KVM_RTAS_NAME_BYTES = 120;
/** The RTAS calls the kernel can handle for the XICS device. */
export const KVM_RTAS_IN_KERNEL_NAMES: readonly string[] = ['ibm,set-xive', 'ibm,get-xive', 'ibm,int-off', 'ibm,int-on'];

// ---- ioctl numbers on a powerpc host (3 direction bits at bit 29: NONE 1, READ 2, WRITE 4) ----------------
/**
 * ioctl number on a powerpc host (3 direction bits at bit 29: NONE 1, READ 2, WRITE 4):
 * KVM_CHECK_EXTENSION.
 */
export const KVM_CHECK_EXTENSION = 0x2000_ae03;
/** ioctl number on a powerpc host: KVM_IRQ_LINE. */
export const KVM_IRQ_LINE = 0x8008_ae61;
/** ioctl number on a powerpc host: KVM_ENABLE_CAP. */
export const KVM_ENABLE_CAP = 0x8068_aea3;
/** ioctl number on a powerpc host: KVM_GET_ONE_REG. */
export const KVM_GET_ONE_REG = 0x8010_aeab;
/** ioctl number on a powerpc host: KVM_SET_ONE_REG. */
export const KVM_SET_ONE_REG = 0x8010_aeac;
/** ioctl number on a powerpc host: KVM_PPC_RTAS_DEFINE_TOKEN. */
export const KVM_PPC_RTAS_DEFINE_TOKEN = 0x8080_aeac;
/** ioctl number on a powerpc host: KVM_CREATE_DEVICE. */
export const KVM_CREATE_DEVICE = 0xc00c_aee0;
/** ioctl number on a powerpc host: KVM_SET_DEVICE_ATTR. */
export const KVM_SET_DEVICE_ATTR = 0x8018_aee1;
/** ioctl number on a powerpc host: KVM_GET_DEVICE_ATTR. */
export const KVM_GET_DEVICE_ATTR = 0x8018_aee2;
/** ioctl number on a powerpc host: KVM_HAS_DEVICE_ATTR. */
export const KVM_HAS_DEVICE_ATTR = 0x8018_aee3;

// ---- errno (Linux); API functions return the negated value ----------------------------------------------
/** errno: operation not permitted (the API functions return errno values negated). */
export const EPERM = 1;
/** errno: no such entry. */
export const ENOENT = 2;
/** errno: I/O error. */
export const EIO = 5;
/** errno: no such device or address. */
export const ENXIO = 6;
/** errno: argument too big. */
export const E2BIG = 7;
/** errno: bad file descriptor. */
export const EBADF = 9;
/** errno: out of memory. */
export const ENOMEM = 12;
/** errno: bad address. */
export const EFAULT = 14;
/** errno: busy. */
export const EBUSY = 16;
/** errno: already exists. */
export const EEXIST = 17;
/** errno: no such device. */
export const ENODEV = 19;
/** errno: invalid argument. */
export const EINVAL = 22;
/** errno: inappropriate ioctl (unknown capability or request). */
export const ENOTTY = 25;
/** errno: no space left. */
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
