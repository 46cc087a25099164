/**
 * Builds lonas's optional native addon (src/backend/native: OpenBLAS products, float32 cpu
 * kernels) into build/lonas_blas.node;
 * `npm ci` runs it as part of `prepare`. Without OpenBLAS's headers (Debian: libopenblas-dev), a
 * compiler or Node's headers it says so in one line and exits 0: lonas then multiplies on its
 * wasm GEMM, and an install never fails for lack of the library.
 */
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..', '..');
const source = path.join(root, 'src', 'backend', 'native');
const outfile = path.join(root, 'build', 'lonas_blas.node');

function skip(reason) {
  fs.rmSync(outfile, { force: true });
  process.stdout.write(
    `skipped the native addon: ${reason}; matmuls run on lonas's wasm GEMM, cpu kernels as tfjs ships them\n`,
  );
  process.exit(0);
}

const includeDirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/include/openblas'];
if (!includeDirs.some((dir) => fs.existsSync(path.join(dir, 'cblas.h')))) skip('no cblas.h (install libopenblas-dev)');

// Node's own headers, where the runtime was installed with them: node-gyp would otherwise download them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const build = spawnSync(
  process.execPath,
  [gyp, 'rebuild', '--silent', ...(nodedir === undefined ? [] : [`--nodedir=${nodedir}`])],
  { cwd: source, encoding: 'utf8' },
);
const built = path.join(source, 'build', 'Release', 'lonas_blas.node');
if (build.status !== 0 || !fs.existsSync(built)) {
  const lines = `${build.stderr ?? ''}${build.stdout ?? ''}`.trim().split('\n');
  const errors = lines.filter((line) => /error/i.test(line));
  skip(`node-gyp failed (${(errors.length > 0 ? errors : lines).slice(0, 3).join(' | ') || build.error?.message})`);
}
fs.mkdirSync(path.dirname(outfile), { recursive: true });
fs.copyFileSync(built, `${outfile}.tmp`);
fs.renameSync(`${outfile}.tmp`, outfile);
process.stdout.write(`built ${path.relative(root, outfile)} (OpenBLAS products, native cpu kernels)\n`);
