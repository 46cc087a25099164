/**
 * WebAssembly text of the GEMM kernels lonas runs on the wasm backend's heap: C = A B for
 * row-major B and C, and A read through two strides, so A or A-transposed is the same call.
 *
 *   panel4x8 / panel1x8: R rows of C, `tiles` blocks of 8 columns, with 2 x R f32x4
 *                        accumulators held in registers while walking k (no packing).
 *   edge:                any block, one element at a time (leftover columns).
 *
 * All pointers and strides are in bytes. Generated rather than hand-written so the register
 * tile is one template.
 */

const PARAMS = '(param $a i32) (param $ars i32) (param $acs i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $k i32)';

function panel(rows) {
  const acc = (r, v) => `$c${r}_${v}`;
  const lines = [`(func (export "panel${rows}x8") ${PARAMS} (param $tiles i32)`];
  lines.push('(local $t i32) (local $p i32) (local $bp i32) (local $cp i32) (local $x v128) (local $b0 v128) (local $b1 v128)');
  for (let r = 0; r < rows; r++) lines.push(`(local $ap${r} i32) (local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`);
  lines.push('(block $done (loop $tile');
  lines.push('  (br_if $done (i32.ge_u (local.get $t) (local.get $tiles)))');
  for (let r = 0; r < rows; r++) {
    lines.push(`  (local.set ${acc(r, 0)} (v128.const i32x4 0 0 0 0)) (local.set ${acc(r, 1)} (v128.const i32x4 0 0 0 0))`);
    lines.push(`  (local.set $ap${r} (i32.add (local.get $a) (i32.mul (local.get $ars) (i32.const ${r}))))`);
  }
  lines.push('  (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $t) (i32.const 5))))');
  lines.push('  (local.set $p (i32.const 0))');
  lines.push('  (block $kdone (loop $kloop');
  lines.push('    (br_if $kdone (i32.ge_u (local.get $p) (local.get $k)))');
  lines.push('    (local.set $b0 (v128.load (local.get $bp))) (local.set $b1 (v128.load offset=16 (local.get $bp)))');
  for (let r = 0; r < rows; r++) {
    lines.push(`    (local.set $x (v128.load32_splat (local.get $ap${r})))`);
    for (const v of [0, 1]) {
      lines.push(`    (local.set ${acc(r, v)} (f32x4.add (local.get ${acc(r, v)}) (f32x4.mul (local.get $x) (local.get $b${v}))))`);
    }
    lines.push(`    (local.set $ap${r} (i32.add (local.get $ap${r}) (local.get $acs)))`);
  }
  lines.push('    (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))');
  lines.push('    (local.set $p (i32.add (local.get $p) (i32.const 1)))');
  lines.push('    (br $kloop)))');
  lines.push('  (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $t) (i32.const 5))))');
  for (let r = 0; r < rows; r++) {
    lines.push(`  (v128.store (local.get $cp) (local.get ${acc(r, 0)})) (v128.store offset=16 (local.get $cp) (local.get ${acc(r, 1)}))`);
    lines.push('  (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))');
  }
  lines.push('  (local.set $t (i32.add (local.get $t) (i32.const 1)))');
  lines.push('  (br $tile)))');
  lines.push(')');
  return lines.join('\n');
}

const edge = `(func (export "edge") ${PARAMS} (param $rows i32) (param $cols i32)
  (local $i i32) (local $j i32) (local $p i32) (local $ap i32) (local $bp i32) (local $sum f32)
  (block $idone (loop $iloop
    (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
    (local.set $j (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
      (local.set $sum (f32.const 0))
      (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ars))))
      (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $p (i32.const 0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $bp)))))
        (local.set $ap (i32.add (local.get $ap) (local.get $acs)))
        (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $ploop)))
      (f32.store
        (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2))))
        (local.get $sum))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $jloop)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $iloop)))
)`;

/** The whole module; it computes in the memory it imports (the tfjs wasm heap). */
function gemmWat() {
  return ['(module', '(import "env" "memory" (memory 1))', panel(4), panel(1), edge, ')'].join('\n');
}

module.exports = { gemmWat };
