/**
 * Writes the golden snapshots of the current format version into test/fixtures/snapshots/:
 *
 *   node --import tsx test/migration/make-goldens.ts --write
 *
 * Without --write it only reports what it would write. It refuses to overwrite an existing
 * golden: those files pin what older builds wrote and must keep loading unchanged. The expected
 * `info pic` is taken from the source machine after QEMU's post-load applied in place, not from
 * a restore, so the golden test checks the restore against an independent expectation.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { captureSnapshot } from '../../src/migration/snapshot.ts';
import { infoPic } from '../../src/monitor/info-pic.ts';
import { GOLDENS_V1 } from './goldens.ts';
import { GOLDEN_DIR, qemuPostLoadInPlace } from './helpers.ts';
import { portLevels } from '../support/state.ts';

const write = process.argv.includes('--write');
for (const g of GOLDENS_V1) {
  const snap = new URL(`${g.name}.snap`, GOLDEN_DIR);
  const pic = new URL(`${g.name}.pic`, GOLDEN_DIR);
  if (existsSync(snap)) {
    console.log(`${g.name}: exists, kept`);
    continue;
  }
  const m = g.build();
  const bytes = captureSnapshot(m, { includeMemory: g.includeMemory });
  qemuPostLoadInPlace(m);
  const lines = portLevels(m);
  if (lines !== g.lines) throw new Error(`${g.name}: lines ${lines}, the spec says ${g.lines}`);
  console.log(`${g.name}: ${bytes.length} bytes, lines ${lines}${write ? '' : ' (dry run)'}`);
  if (write) {
    writeFileSync(snap, bytes);
    writeFileSync(pic, infoPic(m));
  }
}
