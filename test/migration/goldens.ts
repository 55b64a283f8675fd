/**
 * The golden snapshot states: how each file in test/fixtures/snapshots/ was produced. Used by
 * make-goldens.ts to write them (once per format version) and by golden.test.ts for what the
 * restored machine must show. A golden file is never regenerated after it is committed: it is
 * there to prove that snapshots written by this version keep loading in later ones.
 */
import { SpaprMachine } from '../../src/spapr/machine.ts';
import { XiveGuest } from '../../src/guest/ops-xive.ts';
import { corpusMachine } from './helpers.ts';
import { capture } from '../support/captures.ts';

export interface GoldenSpec {
  /** File stem: NAME.snap and NAME.pic. */
  name: string;
  description: string;
  includeMemory: boolean;
  /** Port levels after the restore, "vcpu:INT HINT" per vCPU. */
  lines: string;
  build(): SpaprMachine;
}

export const GOLDENS_V1: readonly GoldenSpec[] = [
  {
    name: 'v1-xive-smp2',
    description: 'qemu/xive-smp2.trace replayed to its end (ic-mode=xive, 2 vCPUs), with guest RAM',
    includeMemory: true,
    lines: '0:00 1:00',
    build: () => corpusMachine(capture('xive-smp2')),
  },
  {
    name: 'v1-xics-smp2',
    description: 'qemu/xics-smp2.trace replayed to its end (ic-mode=xics, 2 vCPUs), no RAM',
    includeMemory: false,
    lines: '0:00 1:00',
    build: () => corpusMachine(capture('xics-smp2')),
  },
  {
    name: 'v1-dual-xive',
    description: 'qemu-extra/dual-xive.trace replayed to its end (ic-mode=dual, XIVE negotiated), with guest RAM',
    includeMemory: true,
    lines: '0:00 1:00',
    build: () => corpusMachine(capture('dual-xive')),
  },
  {
    name: 'v1-xive-hotplug',
    description: 'qemu-extra/xive-hotplug.trace replayed to its end (2 vCPUs + vCPU 2 hot-plugged, max-cpus 4), with guest RAM',
    includeMemory: true,
    lines: '0:00 1:00 2:00',
    build: () => corpusMachine(capture('xive-hotplug')),
  },
  {
    name: 'v1-xive-pending',
    description: 'reference guest driver on ic-mode=xive, 3 vCPUs: IPIs to vCPUs 1 and 2, an LSI asserted, an MSI sent twice, nothing handled (INT raised on every vCPU)',
    includeMemory: true,
    lines: '0:10 1:10 2:10',
    build: () => {
      const m = new SpaprMachine({ smp: 3, icMode: 'xive' });
      const g = new XiveGuest(m);
      g.boot();
      m.claimIrq(0x1300, false);
      g.configureSource(0x1300, 0);
      g.configureSource(0x1200, 2);
      g.sendIpi(0, 1);
      g.sendIpi(1, 2);
      g.deviceLsi(0x1200, true);
      g.deviceMsi(0x1300);
      g.deviceMsi(0x1300);
      m.msi.alloc(1, false);
      return m;
    },
  },
  {
    name: 'v1-xics-pending',
    description: 'ic-mode=dual negotiated XICS, 2 vCPUs: MSI 0x1000 pending on vCPU 1 (INT raised), MSI 0x1001 rejected by vCPU 0 then retargeted to vCPU 1, LSI 0x1200 asserted and masked; the restore resends',
    includeMemory: false,
    lines: '0:00 1:10',
    build: () => {
      const m = new SpaprMachine({ smp: 2, icMode: 'dual' });
      m.cas(0);
      m.hcall(1, 0x68, [0xffn]); // H_CPPR(0xff) on vCPU 1; vCPU 0 stays at CPPR 0
      m.rtas(0, 'ibm,set-xive', [0x1000, 1, 5], 1);
      m.pulseMsi(0x1000);
      m.rtas(0, 'ibm,set-xive', [0x1001, 0, 4], 1);
      m.pulseMsi(0x1001);
      m.rtas(0, 'ibm,set-xive', [0x1001, 1, 6], 1);
      m.setIrq(0x1200, true);
      return m;
    },
  },
];
