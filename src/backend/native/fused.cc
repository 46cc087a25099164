// Fused forms of the norms and activations of a transformer layer, each with its own gradient,
// over float32 arrays the JS side reads in place (src/nn/host-fused.ts). tfjs composes each from
// five to ten kernels, every one a pass over the tensor, and its gradient keeps their
// intermediates; these are one pass each way and the backward needs only the inputs. The norms'
// weights and biases are frozen (only LoRA and saved linear layers train), so they get no
// gradient. Row statistics are summed in double; an output may be its input's array. Rotary
// embeddings' rotation is here too, its gradient the opposite rotation.
#include <napi.h>
#include <cmath>
#include "fast-exp.h"
#include "lanes.h"

namespace {

bool Check(Napi::Env env, bool ok, const char* message) {
  if (!ok) Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  return ok;
}

int64_t Length(const Napi::Float32Array& array) { return static_cast<int64_t>(array.ElementLength()); }

// A row's mean (zero where the norm does not centre, RMSNorm) and r = 1 / sqrt(var + eps), var
// the mean square about that mean.
template <bool Centre>
void RowStatistics(const float* x, int64_t width, double eps, double* mean, double* r) {
  double sum = 0;
  if (Centre) {
    for (int64_t j = 0; j < width; j++) sum += x[j];
  }
  const double m = Centre ? sum / width : 0;
  double squares = 0;
  for (int64_t j = 0; j < width; j++) squares += (x[j] - m) * (x[j] - m);
  *mean = m;
  *r = 1 / std::sqrt(squares / width + eps);
}

// layerNorm(x, width, weight, bias, eps, out): out = (x - mean) r weight + bias over each row;
// rmsNorm(x, width, weight, eps, out): out = x r weight.
template <bool Centre>
Napi::Value Norm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int at = Centre ? 1 : 0;  // rmsNorm has no bias argument
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), weight = info[2].As<Napi::Float32Array>();
  Napi::Float32Array out = info[4 + at].As<Napi::Float32Array>();
  const int64_t width = info[1].As<Napi::Number>().Int64Value();
  const double eps = info[3 + at].As<Napi::Number>().DoubleValue();
  const float* b = nullptr;
  bool ok = width > 0 && Length(x) % width == 0 && Length(weight) == width && Length(out) == Length(x);
  if (Centre) {
    Napi::Float32Array bias = info[3].As<Napi::Float32Array>();
    ok = ok && Length(bias) == width;
    b = bias.Data();
  }
  if (!Check(env, ok,
             Centre ? "layerNorm: x is not rows of width, or weight, bias or out does not match it"
                    : "rmsNorm: x is not rows of width, or weight or out does not match it")) {
    return env.Undefined();
  }
  const float* w = weight.Data();
  for (int64_t row = 0; row < Length(x) / width; row++) {
    const float* xs = x.Data() + row * width;
    float* ys = out.Data() + row * width;
    double mean, r;
    RowStatistics<Centre>(xs, width, eps, &mean, &r);
    for (int64_t j = 0; j < width; j++) {
      const double y = (xs[j] - mean) * r * w[j];
      ys[j] = static_cast<float>(Centre ? y + b[j] : y);
    }
  }
  return env.Undefined();
}

// layerNormGrad / rmsNormGrad(x, dy, width, weight, eps, dx): with xhat = (x - mean) r and
// g = dy weight, dx = r (g - mean(g) - xhat mean(g xhat)); RMSNorm drops mean(g), for its mean
// is not subtracted.
template <bool Centre>
Napi::Value NormGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), dy = info[1].As<Napi::Float32Array>();
  Napi::Float32Array weight = info[3].As<Napi::Float32Array>(), dx = info[5].As<Napi::Float32Array>();
  const int64_t width = info[2].As<Napi::Number>().Int64Value();
  const double eps = info[4].As<Napi::Number>().DoubleValue();
  const bool ok = width > 0 && Length(x) % width == 0 && Length(weight) == width && Length(dy) == Length(x) &&
                  Length(dx) == Length(x);
  if (!Check(env, ok,
             Centre ? "layerNormGrad: x is not rows of width, or weight, dy or dx does not match it"
                    : "rmsNormGrad: x is not rows of width, or weight, dy or dx does not match it")) {
    return env.Undefined();
  }
  const float* w = weight.Data();
  for (int64_t row = 0; row < Length(x) / width; row++) {
    const float* xs = x.Data() + row * width;
    const float* gs = dy.Data() + row * width;
    float* out = dx.Data() + row * width;
    double mean, r;
    RowStatistics<Centre>(xs, width, eps, &mean, &r);
    double gSum = 0, gxSum = 0;
    for (int64_t j = 0; j < width; j++) {
      const double g = static_cast<double>(gs[j]) * w[j];
      gSum += g;
      gxSum += g * (xs[j] - mean) * r;
    }
    const double gMean = Centre ? gSum / width : 0, gxMean = gxSum / width;
    for (int64_t j = 0; j < width; j++) {
      const double g = static_cast<double>(gs[j]) * w[j];
      out[j] = static_cast<float>(r * (g - gMean - (xs[j] - mean) * r * gxMean));
    }
  }
  return env.Undefined();
}

__attribute__((always_inline)) inline float Sigmoid(float x) { return 1 / (1 + FastExp(-x)); }

// swiglu(gate, up, out): out = silu(gate) up, silu(g) = g sigmoid(g).
LONAS_VECTOR_CLONES Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array gate = info[0].As<Napi::Float32Array>(), up = info[1].As<Napi::Float32Array>();
  Napi::Float32Array out = info[2].As<Napi::Float32Array>();
  if (!Check(env, Length(up) == Length(gate) && Length(out) == Length(gate),
             "swiglu: gate, up and out differ in length")) {
    return env.Undefined();
  }
  const float *g = gate.Data(), *u = up.Data();
  float* y = out.Data();
  for (int64_t i = 0; i < Length(gate); i++) y[i] = g[i] * Sigmoid(g[i]) * u[i];
  return env.Undefined();
}

// swigluGrad(gate, up, dy, dGate, dUp): dUp = dy silu(gate), dGate = dy up silu'(gate), where
// silu'(g) = s (1 + g (1 - s)) with s = sigmoid(g).
LONAS_VECTOR_CLONES Napi::Value SwigluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array gate = info[0].As<Napi::Float32Array>(), up = info[1].As<Napi::Float32Array>();
  Napi::Float32Array dy = info[2].As<Napi::Float32Array>(), dGate = info[3].As<Napi::Float32Array>();
  Napi::Float32Array dUp = info[4].As<Napi::Float32Array>();
  const int64_t n = Length(gate);
  if (!Check(env, Length(up) == n && Length(dy) == n && Length(dGate) == n && Length(dUp) == n,
             "swigluGrad: gate, up, dy, dGate and dUp differ in length")) {
    return env.Undefined();
  }
  const float *gs = gate.Data(), *us = up.Data(), *ds = dy.Data();
  float *dg = dGate.Data(), *du = dUp.Data();
  for (int64_t i = 0; i < n; i++) {
    const float g = gs[i], s = Sigmoid(g);
    dg[i] = ds[i] * us[i] * s * (1 + g * (1 - s));
    du[i] = ds[i] * g * s;
  }
  return env.Undefined();
}

constexpr float kSqrtHalf = 0.70710678118654752f;       // 1 / sqrt(2)
constexpr float kSqrtTwoOverPi = 0.7978845608028654f;   // sqrt(2 / pi), the tanh form's scale
constexpr float kInvSqrtTwoPi = 0.39894228040143268f;   // 1 / sqrt(2 pi), the normal density's
constexpr float kCubic = 0.044715f;

// erf(x) as tfjs's Erf kernel computes it (Abramowitz and Stegun 7.1.26, absolute error under
// 1.5e-7), at a fraction of glibc's erff's cost; its exp(-x^2) is also GELU's derivative's.
__attribute__((always_inline)) inline float Erf(float x, float* gauss) {
  const float v = std::fabs(x), t = 1 / (1 + 0.3275911f * v);
  *gauss = FastExp(-v * v);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float erf = 1 - poly * *gauss;
  return std::copysign(erf, x);
}

// tanh from one exp, at a fraction of glibc's tanhf's cost (absolute error about a float's ulp at 1).
__attribute__((always_inline)) inline float Tanh(float u) { return 1 - 2 / (1 + FastExp(2 * u)); }

// GELU and its derivative at x: the exact form x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2,
// or the tanh form x (1 + tanh(u)) / 2 with u = sqrt(2 / pi) (x + 0.044715 x^3).
__attribute__((always_inline)) inline float Gelu(float x, bool tanh) {
  if (tanh) return 0.5f * x * (1 + Tanh(kSqrtTwoOverPi * x * (1 + kCubic * x * x)));
  float gauss;
  return 0.5f * x * (1 + Erf(x * kSqrtHalf, &gauss));
}

__attribute__((always_inline)) inline float GeluDerivative(float x, bool tanh) {
  if (tanh) {
    const float t = Tanh(kSqrtTwoOverPi * x * (1 + kCubic * x * x));
    return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * kSqrtTwoOverPi * (1 + 3 * kCubic * x * x);
  }
  float gauss;  // exp(-x^2 / 2)
  return 0.5f * (1 + Erf(x * kSqrtHalf, &gauss)) + x * kInvSqrtTwoPi * gauss;
}

// gelu(x, tanh, out): out = GELU(x), the tanh form where `tanh`.
LONAS_VECTOR_CLONES Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), out = info[2].As<Napi::Float32Array>();
  if (!Check(env, Length(out) == Length(x), "gelu: x and out differ in length")) return env.Undefined();
  const float* xs = x.Data();
  float* y = out.Data();
  const int64_t n = Length(x);
  // One loop per form, with the length hoisted, so that each vectorizes.
  if (info[1].As<Napi::Boolean>().Value()) {
    for (int64_t i = 0; i < n; i++) y[i] = Gelu(xs[i], true);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = Gelu(xs[i], false);
  }
  return env.Undefined();
}

// geluGrad(x, tanh, dy, dx): dx = dy GELU'(x).
LONAS_VECTOR_CLONES Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), dy = info[2].As<Napi::Float32Array>();
  Napi::Float32Array dx = info[3].As<Napi::Float32Array>();
  if (!Check(env, Length(dy) == Length(x) && Length(dx) == Length(x), "geluGrad: x, dy and dx differ in length")) {
    return env.Undefined();
  }
  const float *xs = x.Data(), *ds = dy.Data();
  float* out = dx.Data();
  const int64_t n = Length(x);
  if (info[1].As<Napi::Boolean>().Value()) {
    for (int64_t i = 0; i < n; i++) out[i] = ds[i] * GeluDerivative(xs[i], true);
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = ds[i] * GeluDerivative(xs[i], false);
  }
  return env.Undefined();
}

// rotary(x, width, headDim, cos, sin, positions, sign, out): each head of each row of x [rows,
// width] rotated by angle sign * theta(positions[row]) into out (which may be x): with c and s the
// position's row of the [maxPositions, headDim] tables, the head's halves x1, x2 become
// x1 c - x2 s and x2 c + x1 s. The rotation's transpose, its gradient, is sign -1.
LONAS_VECTOR_CLONES Napi::Value Rotary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), cosTable = info[3].As<Napi::Float32Array>();
  Napi::Float32Array sinTable = info[4].As<Napi::Float32Array>(), out = info[7].As<Napi::Float32Array>();
  Napi::Int32Array positions = info[5].As<Napi::Int32Array>();
  const int64_t width = info[1].As<Napi::Number>().Int64Value(), headDim = info[2].As<Napi::Number>().Int64Value();
  const float sign = info[6].As<Napi::Number>().FloatValue();
  const int64_t rows = static_cast<int64_t>(positions.ElementLength());
  bool ok = headDim > 0 && headDim % 2 == 0 && width % headDim == 0 && Length(x) == rows * width &&
            Length(out) == Length(x) && Length(cosTable) == Length(sinTable) && Length(cosTable) % headDim == 0;
  const int64_t maxPositions = ok ? Length(cosTable) / headDim : 0;
  for (int64_t r = 0; ok && r < rows; r++) ok = positions[r] >= 0 && positions[r] < maxPositions;
  if (!Check(env, ok,
             "rotary: x is not [positions, width] with width a multiple of an even headDim, out or the tables do "
             "not match, or a position is outside the tables")) {
    return env.Undefined();
  }
  const int64_t half = headDim / 2;
  for (int64_t r = 0; r < rows; r++) {
    const float* c = cosTable.Data() + positions[r] * headDim;
    const float* s = sinTable.Data() + positions[r] * headDim;
    for (int64_t start = r * width; start < (r + 1) * width; start += headDim) {
      const float* x1 = x.Data() + start;
      const float* x2 = x1 + half;
      float* y1 = out.Data() + start;
      float* y2 = y1 + half;
      for (int64_t j = 0; j < half; j++) {
        const float a = x1[j], b = x2[j], sj = sign * s[j];
        y1[j] = a * c[j] - b * sj;
        y2[j] = b * c[j] + a * sj;
      }
    }
  }
  return env.Undefined();
}

}  // namespace

void InitFused(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, Norm<true>));
  exports.Set("layerNormGrad", Napi::Function::New(env, NormGrad<true>));
  exports.Set("rmsNorm", Napi::Function::New(env, Norm<false>));
  exports.Set("rmsNormGrad", Napi::Function::New(env, NormGrad<false>));
  exports.Set("swiglu", Napi::Function::New(env, Swiglu));
  exports.Set("swigluGrad", Napi::Function::New(env, SwigluGrad));
  exports.Set("gelu", Napi::Function::New(env, GeluForward));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
  exports.Set("rotary", Napi::Function::New(env, Rotary));
}
