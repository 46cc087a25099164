import * as fs from 'fs';
import * as path from 'path';

/** Walks up from this file to the lonas package root (same answer from src/ under jest and from dist/). */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'lonas') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the lonas package root above ${__dirname}`);
  }
}

/** Written by tools/build/bundle-tfjs-gradients.js when the project is installed. */
export const gradientsBundlePath = path.join(packageRoot(), 'build', 'tfjs-gradients.js');

let registered = false;

/** Registers tfjs-core's gradient functions (needed by tf.grad and every optimizer). */
export function registerGradients(): void {
  if (registered) return;
  if (!fs.existsSync(gradientsBundlePath)) {
    throw new Error(
      `${gradientsBundlePath} is missing: it is built when lonas is installed; run 'npm run prepare' to build it`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a generated file, found at run time
  require(gradientsBundlePath);
  registered = true;
}
