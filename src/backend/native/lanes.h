// Vector width for the addon's loops. GCC keeps a plain max or sum loop in order (it may not
// reorder float arithmetic without -ffast-math), one element at a time; the reductions here run
// eight independent lanes, which it vectorizes, and the max is exact in any order. The sums are
// in double, which also leaves their rounding far below float's.
//
// LONAS_VECTOR_CLONES compiles a function twice, for AVX2 with FMA (x86-64-v3) and for the
// x86-64 baseline, and the loader picks the one the CPU runs: the addon is built once and may run
// on another CPU than its builder's. Other compilers and CPUs get the baseline build.
#ifndef LONAS_LANES_H_
#define LONAS_LANES_H_

#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define LONAS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LONAS_VECTOR_CLONES
#endif

constexpr int kLanes = 8;

__attribute__((always_inline)) inline float RowMax(const float* x, int64_t n) {
  float lanes[kLanes];
  for (int l = 0; l < kLanes; l++) lanes[l] = -INFINITY;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; l++) lanes[l] = x[j + l] > lanes[l] ? x[j + l] : lanes[l];
  }
  float max = -INFINITY;
  for (int l = 0; l < kLanes; l++) max = lanes[l] > max ? lanes[l] : max;
  for (; j < n; j++) max = x[j] > max ? x[j] : max;
  return max;
}

// The sum of x[j] * y[j] in double (y null: of x[j]).
__attribute__((always_inline)) inline double RowDot(const float* x, const float* y, int64_t n) {
  double lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; l++) {
      lanes[l] += y == nullptr ? static_cast<double>(x[j + l]) : static_cast<double>(x[j + l]) * y[j + l];
    }
  }
  double total = 0;
  for (int l = 0; l < kLanes; l++) total += lanes[l];
  for (; j < n; j++) total += y == nullptr ? static_cast<double>(x[j]) : static_cast<double>(x[j]) * y[j];
  return total;
}

__attribute__((always_inline)) inline double RowSum(const float* x, int64_t n) { return RowDot(x, nullptr, n); }

#endif  // LONAS_LANES_H_
