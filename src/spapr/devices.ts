/**
 * The devices of a pseries machine that own interrupts and exist without being asked for (QEMU
 * creates them even with -nodefaults): the RTAS event sources (EPOW, environmental and power
 * warnings, and, from pseries-2.8 on, a separate hotplug source), the VIO (virtual I/O) bus
 * devices (one console "vty" per -serial, then the NVRAM), and the PCI host bridges (the default
 * one, index 0, then each -device spapr-pci-host-bridge in command-line order), with the IRQ
 * numbers each one claims at machine construction, in QEMU's creation order.
 *
 * Numbering (docs/configurations.md, "PHBs and MSIs"): fixed numbers from pseries-3.1 on (EPOW
 * 0x1000, hotplug 0x1001, VIO 0x1100 + the low byte of the device's reg, PHB LSIs 0x1200 +
 * 4 * index + pin); on pseries-3.0 and older each device takes the first free number of the ICS
 * in creation order. Also here: the /event-sources and /vdevice nodes of the device tree.
 */
import { MachineConfigError, type MachineConfig } from './machine-config.ts';
import { legacyFindFree, pciLsiIrq, SPAPR_IRQ_EPOW, SPAPR_IRQ_HOTPLUG, SPAPR_IRQ_VIO, SPAPR_XIRQ_BASE } from './irq-map.ts';
import { PCI_NUM_PINS, SpaprPhb } from './phb.ts';
import { propEmpty, propString, propU32, type DeviceTree } from './fdt.ts';

/** An RTAS event source: its device-tree node name and its IRQ. */
export interface EventSource {
  readonly name: 'epow-events' | 'hot-plug-events';
  readonly irq: number;
}

/** A VIO device: what its /vdevice node shows. */
export interface VioDevice {
  readonly kind: 'vty' | 'nvram';
  readonly reg: number;
  readonly irq: number;
}

/** First reg QEMU gives the VIO devices it numbers itself. */
export const SPAPR_VIO_REG_BASE = 0x71000000;
/** Size of the NVRAM without a backing drive (its #bytes). */
export const SPAPR_NVRAM_SIZE = 0x10000;
/** Most -serial consoles QEMU takes. */
export const MAX_SERIAL_PORTS = 4;

const VIO_NODE: Readonly<Record<VioDevice['kind'], { type: string; compatible: string }>> = {
  vty: { type: 'serial', compatible: 'hvterm1' },
  nvram: { type: 'nvram', compatible: 'qemu,spapr-nvram' },
};

/** The machine side the devices claim their interrupts from. */
export interface DeviceIrqHost {
  readonly config: MachineConfig;
  /** Size of the device range (the ICS the legacy search walks). */
  readonly nrXirqs: number;
  claimIrq(irq: number, lsi: boolean): boolean;
  isClaimed(irq: number): boolean;
}

export class SpaprDevices {
  readonly eventSources: EventSource[] = [];
  readonly vio: VioDevice[] = [];
  /** In creation order: the default PHB first. */
  readonly phbs: SpaprPhb[] = [];

  /** The PHB of that index, or null. */
  phb(index: number): SpaprPhb | null {
    return this.phbs.find((p) => p.index === index) ?? null;
  }

  /**
   * Creates QEMU's default devices on `host`, claiming their interrupts in QEMU's order:
   * event sources, `vtys` consoles, the NVRAM, then the PHBs of the configuration. A number
   * that cannot be had is QEMU's startup failure (MachineConfigError).
   */
  createDefaults(host: DeviceIrqHost, vtys: number): void {
    const cfg = host.config;
    if (!Number.isInteger(vtys) || vtys < 0 || vtys > MAX_SERIAL_PORTS) throw new MachineConfigError(`vtys must be an integer in 0..${MAX_SERIAL_PORTS}, got ${vtys}`);
    const legacy = cfg.legacyIrqAllocation;
    // The number a device gets: its fixed one, or the first free one on legacy machines.
    const take = (fixed: number, lsi: boolean, what: string): number => {
      let irq = fixed;
      if (legacy) {
        const s = legacyFindFree(host.nrXirqs, 1, false, (n) => !host.isClaimed(SPAPR_XIRQ_BASE + n));
        if (s < 0) throw new MachineConfigError(`${what}can't find a free 1-IRQ block`);
        irq = SPAPR_XIRQ_BASE + s;
      }
      if (!host.claimIrq(irq, lsi)) throw new MachineConfigError(`${what}IRQ ${irq} is not free`);
      return irq;
    };

    this.eventSources.push({ name: 'epow-events', irq: take(SPAPR_IRQ_EPOW, false, '') });
    if (cfg.type.modernHotplugEvents) this.eventSources.push({ name: 'hot-plug-events', irq: take(SPAPR_IRQ_HOTPLUG, false, '') });

    const kinds: VioDevice['kind'][] = [...new Array<'vty'>(vtys).fill('vty'), 'nvram'];
    kinds.forEach((kind, i) => {
      const reg = SPAPR_VIO_REG_BASE + i;
      this.vio.push({ kind, reg, irq: take(SPAPR_IRQ_VIO | (reg & 0xff), false, '') });
    });

    for (const p of cfg.phbs) {
      const lsis: number[] = [];
      for (let pin = 0; pin < PCI_NUM_PINS; pin++) lsis.push(take(pciLsiIrq(p.index, pin), true, "can't allocate LSIs: "));
      this.phbs.push(new SpaprPhb(p.index, p.id, lsis));
    }
  }

  /** `/event-sources`: one child per source with its interrupt, and the ranges they cover. */
  eventSourcesDt(tree: DeviceTree): void {
    if (this.eventSources.length === 0) return;
    const n = tree.root.prependChild('event-sources');
    const ranges: number[] = [];
    for (const s of this.eventSources) {
      n.prependChild(s.name).prependProp('interrupts', propU32(s.irq, 0));
      ranges.push(s.irq, 1);
    }
    n.prependProp('interrupt-controller', propEmpty());
    n.prependProp('#interrupt-cells', propU32(2));
    n.prependProp('interrupt-ranges', propU32(...ranges));
  }

  /** `/vdevice`: the VIO bus node and one node per device, sorted by reg. */
  vdeviceDt(tree: DeviceTree): void {
    if (this.vio.length === 0) return;
    const n = tree.root.prependChild('vdevice');
    n.prependProp('device_type', propString('vdevice'));
    n.prependProp('compatible', propString('IBM,vdevice'));
    n.prependProp('#address-cells', propU32(1));
    n.prependProp('#size-cells', propU32(0));
    n.prependProp('#interrupt-cells', propU32(2));
    n.prependProp('interrupt-controller', propEmpty());
    // Nodes are prepended, so the last reg goes first.
    const sorted = this.vio.slice().sort((a, b) => b.reg - a.reg);
    for (const d of sorted) {
      const c = n.prependChild(`${d.kind}@${d.reg.toString(16)}`);
      c.prependProp('reg', propU32(d.reg));
      c.prependProp('device_type', propString(VIO_NODE[d.kind].type));
      c.prependProp('compatible', propString(VIO_NODE[d.kind].compatible));
      c.prependProp('interrupts', propU32(d.irq, 0));
      if (d.kind === 'nvram') c.prependProp('#bytes', propU32(SPAPR_NVRAM_SIZE));
    }
  }
}
