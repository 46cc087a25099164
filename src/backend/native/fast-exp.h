// exp in float as straight-line arithmetic, so that the loops of softmax, the fused loss, SiLU and
// GELU vectorize (the addon builds with -fno-trapping-math, which lets GCC turn the clamps into
// selects): glibc's expf is a call per element, and takes a slow path below and above the floats'
// range. Cephes's expf: n = round(x / ln 2), a degree-6 polynomial on x - n ln 2, scaled by 2^n
// through the exponent bits. Within 1 ulp of expf; 0 below -87.3, +inf above 88.7.
#ifndef LONAS_FAST_EXP_H_
#define LONAS_FAST_EXP_H_

#include <cstdint>
#include <cstring>

__attribute__((always_inline)) inline float FastExp(float x) {
  const float clamped = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // Rounds to an integer by adding 1.5 * 2^23, where the float spacing is 1.
  constexpr float kShift = 12582912.0f;
  const float shifted = clamped * 1.44269504088896341f + kShift;
  int32_t n;
  std::memcpy(&n, &shifted, sizeof n);
  n -= 0x4B400000;  // kShift's bits
  const float whole = shifted - kShift;
  const float r = clamped - whole * 0.693359375f - whole * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  bits += n * (1 << 23);
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return x < -87.3f ? 0.0f : (x > 88.7f ? __builtin_inff() : result);
}

#endif  // LONAS_FAST_EXP_H_
