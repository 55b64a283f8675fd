/**
 * The package as its users get it: `npm pack`, then `npm install` of the tarball into an empty
 * project (offline: the package has no runtime dependency), then
 *   (a) plain Node imports the root and every subpath (ES modules, no loader) and runs the
 *       README's "Using the library" example;
 *   (b) a strict TypeScript project type-checks that example, and every subpath, against the
 *       installed declarations, with module resolution nodenext and with bundler;
 *   (c) esbuild bundles the example for the browser with no Node built-in in the graph, and
 *       tree-shakes an import of one function down to that function;
 *   (d) the installed `xive` command runs: --help, dt, a replay, serve, and bench says where the
 *       benchmarks run.
 * The suite runner builds dist/ before this file runs (scripts/run-tests.mjs).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUBPATHS = ['xive', 'xics', 'spapr', 'replay', 'migration', 'kvm'];
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const FIXTURE = join(ROOT, 'test/fixtures/qemu/xive-smp1');

/** The first ```ts block under the README's "Using the library" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Using the library$/m)[1];
  assert.ok(section !== undefined, 'README.md has a "## Using the library" section');
  const m = /^```ts\n([\s\S]*?)^```$/m.exec(section.split(/^## /m)[0]!);
  assert.ok(m !== null, 'the section has a ```ts block');
  return m[1]!;
}

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** Runs a command without blocking the event loop (the type checks run side by side). */
function runAsync(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

let tmp = '';
let project = '';
let packed: string[] = [];
const example = readmeExample();

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'xive-package-'));
  const npm = ['--cache', join(tmp, 'npm-cache'), '--no-audit', '--no-fund', '--loglevel=error'];
  // dist/ is built already: --ignore-scripts skips the prepack build.
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, ...npm], ROOT);
  const info = (JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  packed = info.files.map((f) => f.path);
  project = join(tmp, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--offline', join(tmp, info.filename), ...npm], project);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('the tarball holds the build, the page of xive serve and the docs, and no sources, tests or benchmarks', () => {
  for (const f of ['package.json', 'README.md', 'bin/xive.mjs', 'dist/cli.mjs', 'dist/index.js', 'dist/index.d.ts', 'web/index.html', 'docs/api/README.md']) {
    assert.ok(packed.includes(f), `${f} is packed`);
  }
  for (const sub of SUBPATHS) assert.ok(packed.includes(`dist/${sub}/index.d.ts`), `dist/${sub}/index.d.ts is packed`);
  const stray = packed.filter((f) => /^(src|test|bench|scripts)\//.test(f) || f === 'dist/.tsbuildinfo');
  assert.deepEqual(stray, []);
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules/xive/package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest.dependencies, undefined, 'no runtime dependency');
});

test('(a) Node imports the root and each subpath, whose bindings are the root ones, and runs the README example', async () => {
  const check = `
import * as root from 'xive';
${SUBPATHS.map((s) => `import * as ${s} from 'xive/${s}';`).join('\n')}
const subpaths = { ${SUBPATHS.join(', ')} };
for (const [name, mod] of Object.entries(subpaths)) {
  const keys = Object.keys(mod);
  if (keys.length === 0) throw new Error('xive/' + name + ' exports nothing');
  for (const k of keys) if (root[k] !== mod[k]) throw new Error('xive/' + name + ' ' + k + ' is not the root binding');
}
const m = new root.SpaprMachine({ smp: 2, icMode: 'xive' });
m.cas(0x40);
const again = migration.restoreSnapshot(migration.captureSnapshot(m));
if (root.infoPic(again) !== root.infoPic(m)) throw new Error('snapshot round trip differs');
const trace = ${JSON.stringify(readFileSync(`${FIXTURE}.trace`, 'utf8'))};
const r = replay.replayTrace(trace, { smp: 1, icMode: 'xive' });
if (r.status !== 'ok') throw new Error('replay: ' + r.status);
process.stdout.write('ok ' + Object.keys(root).length + '\\n');
`;
  writeFileSync(join(project, 'check.mjs'), check);
  const c = run(process.execPath, ['check.mjs'], project);
  assert.match(c.stdout, /^ok \d+\n$/);
  // The example may be TypeScript: esbuild strips the types, nothing else.
  writeFileSync(join(project, 'example.mjs'), (await transform(example, { loader: 'ts', format: 'esm' })).code);
  const e = run(process.execPath, ['example.mjs'], project);
  assert.match(e.stdout, /irqchip: emulated/);
});

test('(b) strict TypeScript checks the README example and each subpath against the installed types (nodenext and bundler)', async () => {
  writeFileSync(join(project, 'example.ts'), example);
  writeFileSync(
    join(project, 'subpaths.ts'),
    `${SUBPATHS.map((s) => `import * as ${s} from 'xive/${s}';`).join('\n')}
import type { MachineOptions, ReplayResult, IntcView } from 'xive';
const opts: MachineOptions = { smp: 1, icMode: 'xics' };
const machine: spapr.SpaprMachine = new spapr.SpaprMachine(opts);
const result: ReplayResult = replay.replayTrace('', { smp: 1, icMode: 'xive' });
const view: IntcView | null = null;
const bytes: Uint8Array = migration.captureSnapshot(machine);
const vm = new kvm.KvmVm(machine);
export const all = [xive.pqTrigger(0), xics.XICS_IRQ_BASE, result.eventsChecked, view, bytes.length, vm];
`,
  );
  // No Node types: the library's declarations must stand without them (browser projects have
  // none); the one Node global the example prints with is declared here.
  writeFileSync(join(project, 'process.d.ts'), 'declare const process: { stdout: { write(s: string): boolean } };\n');
  const base = {
    strict: true,
    target: 'ES2022',
    lib: ['ES2022'],
    types: [],
    noEmit: true,
    skipLibCheck: false,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
  };
  const configs = {
    'tsconfig.nodenext.json': { ...base, module: 'nodenext', moduleResolution: 'nodenext' },
    // The declarations themselves were checked once (skipLibCheck false) above.
    'tsconfig.bundler.json': { ...base, module: 'preserve', moduleResolution: 'bundler', skipLibCheck: true },
  };
  for (const [name, compilerOptions] of Object.entries(configs)) {
    writeFileSync(join(project, name), JSON.stringify({ compilerOptions, files: ['process.d.ts', 'example.ts', 'subpaths.ts'] }));
  }
  const results = await Promise.all(Object.keys(configs).map((c) => runAsync(process.execPath, [TSC, '-p', c], project)));
  results.forEach((r, i) => assert.equal(r.code, 0, `tsc -p ${Object.keys(configs)[i]}:\n${r.out}`));
});

test('(c) esbuild bundles the README example for the browser: no Node built-in in the graph; one import keeps one function', async () => {
  writeFileSync(join(project, 'example.ts'), example);
  const r = await build({ absWorkingDir: project, entryPoints: ['example.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const builtins = new Set(builtinModules);
  const nodeImports = Object.entries(r.metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.path.startsWith('node:') || builtins.has(i.path)).map((i) => `${file} imports ${i.path}`),
  );
  assert.deepEqual(nodeImports, []);
  assert.ok(Object.keys(r.metafile.inputs).some((f) => f.startsWith('node_modules/xive/dist/')), 'the installed package is what was bundled');
  writeFileSync(join(project, 'one.ts'), "import { pqTrigger } from 'xive';\nexport const pq = pqTrigger(0);\n");
  const one = await build({ absWorkingDir: project, entryPoints: ['one.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const kept = Object.values(one.metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([f, i]) => f.startsWith('node_modules/xive/') && i.bytesInOutput > 0).map(([f]) => f));
  assert.deepEqual(kept, ['node_modules/xive/dist/xive/esb.js'], 'sideEffects: false lets the bundler drop every other module');
});

test('(d) the installed xive command: --help, dt, a replay, serve; bench says the benchmarks run from a checkout', async () => {
  const xive = join(project, 'node_modules/.bin/xive');
  const help = run(xive, ['--help'], project);
  assert.match(help.stdout, /^Usage: xive <command>/m);
  const dt = run(xive, ['dt', '--ic-mode', 'xive', '--smp', '2'], project);
  assert.match(dt.stdout, /interrupt-controller@/);
  const replay = run(xive, ['replay', `${FIXTURE}.trace`, '--smp', '1', '--ic-mode', 'xive', '--expect-pic', `${FIXTURE}.pic`], project);
  assert.match(replay.stdout, /info pic matches .*\nno divergence\n$/);
  const bench = spawnSync(xive, ['bench', '--quick'], { cwd: project, encoding: 'utf8' });
  assert.equal(bench.status, 2);
  assert.equal(bench.stdout, '');
  assert.match(bench.stderr, /^xive bench: the benchmarks run from a checkout of the repository .*\n$/);

  const serve = spawn(xive, ['serve', '--port', '0'], { cwd: project });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve.on('close', (code) => reject(new Error(`xive serve ended (${code}): ${out}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
  } finally {
    serve.kill();
  }
});
