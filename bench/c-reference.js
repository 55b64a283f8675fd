/**
 * The C reference of the cycle benchmark (bench/xive_cycle.c): compiled with `gcc -O2` into a
 * temporary directory (never into the tree) and run at each size, best of its runs. Without gcc,
 * or when the source is missing, the report says why instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
/** The C source to build: `explicit` when given (null if it does not exist), else bench/xive_cycle.c. */
export function findCSource(explicit) {
    if (explicit !== undefined)
        return existsSync(explicit) ? explicit : null;
    const p = fileURLToPath(new URL('xive_cycle.c', import.meta.url));
    return existsSync(p) ? p : null;
}
export function runCReference(source, sizes, cycles, runs, log) {
    if (source === null)
        return { ref: null, reason: 'C reference source not found (bench/xive_cycle.c)' };
    const version = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
    if (version.error !== undefined || version.status !== 0)
        return { ref: null, reason: 'gcc is not installed (or not on PATH)' };
    const dir = mkdtempSync(join(tmpdir(), 'xive-bench-'));
    try {
        const exe = join(dir, 'xive_cycle');
        const cc = spawnSync('gcc', ['-O2', '-o', exe, source], { encoding: 'utf8' });
        if (cc.status !== 0)
            return { ref: null, reason: `gcc -O2 failed: ${(cc.stderr || cc.error?.message || '').split('\n')[0]}` };
        const results = [];
        for (const size of sizes) {
            let best = Infinity;
            for (let r = 0; r < runs; r++) {
                const run = spawnSync(exe, [String(size.sources), String(size.vcpus), String(cycles)], { encoding: 'utf8' });
                if (run.status !== 0)
                    return { ref: null, reason: `the C reference failed: ${(run.stderr || '').split('\n')[0]}` };
                const line = run.stdout.trim().split('\n').pop() ?? '';
                const ns = JSON.parse(line).cycle_ns;
                best = Math.min(best, ns);
            }
            results.push({ sources: size.sources, vcpus: size.vcpus, cycle_ns: best, cycles });
            log(`C reference  ${String(size.sources).padStart(7)} sources ${String(size.vcpus).padStart(4)} vCPUs  ${best.toFixed(2)} ns/cycle`);
        }
        return { ref: { compiler: version.stdout.split('\n')[0], source, results }, reason: null };
    }
    finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
//# sourceMappingURL=c-reference.js.map