// The playground's Web Worker: the whole model (src/web/worker.ts and everything below it),
// bundled into dist/web/worker.js by scripts/build-web.mjs. `xive serve` does not use it.
import { listen } from '../src/web/worker.ts';

listen(self);
