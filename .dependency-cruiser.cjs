/**
 * Layer rules of the source tree, checked by the test suite (test/arch/layers.test.ts).
 *
 *   tools     cli/ web/ replay/ guest/ fuzz/ bench/        drive the model, parse, print
 *   services  kvm/ migration/ monitor/ trace-export/       built on the platform
 *   platform  spapr/                                       the pseries machine, intc interface
 *   blocks    xive/ xics/                                  one module per hardware block
 *   base      base/ ports/ trace/                          bits, errors, ports, trace events
 *
 * A module may import from its own layer and the layers below it, never above; there are no
 * import cycles (type-only imports count); nothing below the tools imports a Node.js API.
 */
const layer = (dirs) => `^src/(${dirs.join('|')})/`;
const BASE = ['base', 'ports', 'trace'];
const BLOCKS = ['xive', 'xics'];
const PLATFORM = ['spapr'];
const SERVICES = ['kvm', 'migration', 'monitor', 'trace-export'];
const TOOLS = ['cli', 'web', 'replay', 'guest', 'fuzz', 'bench'];

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make the layers meaningless.', from: {}, to: { circular: true } },
    { name: 'base-imports-only-base', severity: 'error', from: { path: layer(BASE) }, to: { path: layer([...BLOCKS, ...PLATFORM, ...SERVICES, ...TOOLS]) } },
    { name: 'blocks-import-only-base', severity: 'error', comment: 'XIVE and XICS blocks know nothing of the platform (no hcalls, no machine).', from: { path: layer(BLOCKS) }, to: { path: layer([...PLATFORM, ...SERVICES, ...TOOLS]) } },
    { name: 'xive-and-xics-are-independent', severity: 'error', from: { path: '^src/xive/' }, to: { path: '^src/xics/' } },
    { name: 'xics-and-xive-are-independent', severity: 'error', from: { path: '^src/xics/' }, to: { path: '^src/xive/' } },
    { name: 'platform-imports-no-service-or-tool', severity: 'error', from: { path: layer(PLATFORM) }, to: { path: layer([...SERVICES, ...TOOLS]) } },
    { name: 'services-import-no-tool', severity: 'error', from: { path: layer(SERVICES) }, to: { path: layer(TOOLS) } },
    {
      name: 'core-imports-no-node-api',
      severity: 'error',
      comment: 'The model runs in a browser too: only the tools may use Node.js.',
      from: { path: layer([...BASE, ...BLOCKS, ...PLATFORM, ...SERVICES]) },
      to: { dependencyTypes: ['core'] },
    },
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      comment: 'The package ships src/ built, without test/, bench/ or scripts/ (xive bench loads bench/ by path, at run time, in a checkout).',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
