/**
 * Guard rails of the source tree, run with the tests: the layer rules and "no import cycles" of
 * .dependency-cruiser.cjs (base <- blocks <- platform <- services <- tools; nothing below the
 * tools uses a Node API), no dead code (knip: unused files, exports, dependencies), and no code
 * outside the two controller backends asking which controller is active by its name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

function bin(name: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(join(ROOT, 'node_modules/.bin', name), args, { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('layers and import cycles: dependency-cruiser finds no violation', () => {
  const r = bin('depcruise', ['src', 'bench', '--output-type', 'err']);
  assert.equal(r.status, 0, r.out);
});

test('dead code: knip finds no unused file, export or dependency', () => {
  const r = bin('knip', ['--no-progress', '--no-config-hints']);
  assert.equal(r.status, 0, r.out);
});

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('at most a dozen comparisons on the controller and mode names, in option parsing and CAS', () => {
  const re = /(===|!==|==|!=)\s*['"](xive|xics|dual)['"]|['"](xive|xics|dual)['"]\s*(===|!==|==|!=)|case ['"](xive|xics|dual)['"]/;
  const hits: string[] = [];
  for (const f of sources(join(ROOT, 'src'))) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (re.test(line)) hits.push(`${f.slice(ROOT.length)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.ok(hits.length <= 12, `${hits.length} comparisons:\n${hits.join('\n')}`);
});
