/** Assembles the GEMM kernels (tools/build/gemm-wat.js) into build/gemm.wasm; `npm ci` runs it as part of `prepare`. */
const fs = require('fs');
const path = require('path');
const { gemmWat } = require('./gemm-wat');

const root = path.resolve(__dirname, '..', '..');
const outfile = path.join(root, 'build', 'gemm.wasm');

require('wabt')().then((wabt) => {
  const module = wabt.parseWat('gemm.wat', gemmWat(), { simd: true });
  module.validate();
  const { buffer } = module.toBinary({});
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  fs.writeFileSync(`${outfile}.tmp`, buffer);
  fs.renameSync(`${outfile}.tmp`, outfile);
  process.stdout.write(`assembled ${path.relative(root, outfile)} (${buffer.length} bytes)\n`);
});
