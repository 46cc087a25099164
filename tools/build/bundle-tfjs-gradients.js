/**
 * tfjs-core's CommonJS entry registers no gradients (the @tensorflow/tfjs umbrella bundles
 * them, which this project does not install), and its gradient sources are extension-less ES
 * modules Node cannot load. This bundles them into one CommonJS file at install time
 * (`npm ci` runs it as `prepare`). The copy registers into tfjs's global registries, so it
 * serves the single tfjs-core the project uses.
 */
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..', '..');
const outfile = path.join(root, 'build', 'tfjs-gradients.js');
esbuild.buildSync({
  entryPoints: [require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile,
  logLevel: 'warning',
});
process.stdout.write(`bundled tfjs-core gradients into ${path.relative(root, outfile)}\n`);
