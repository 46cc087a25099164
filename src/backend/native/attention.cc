// Fused multi-head attention and its gradient on host arrays, for training and scoring: per
// (batch, head) the scores, softmax and products run on OpenBLAS over the projections' own layout
// [batch, time, heads * headDim] (strided views, no head transposes), and the probabilities live
// only in a [queries, keys] scratch: the backward recomputes them instead of keeping
// [batch, heads, queries, keys] maps across the step.
#include <napi.h>
#include <cblas.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {

// Attention's sizes: query head h reads key/value head h / (heads / kvHeads) (grouped-query).
struct Dims {
  int64_t batch, heads, kvHeads, queries, keys, headDim;
  float scale;
};

// One operand: element (b, t, h, j) at data[offset + (b * time + t) * rowStride + h * headStride + j].
struct HeadsView {
  float* data;
  int64_t offset, rowStride, headStride, time;
  float* At(int64_t b, int64_t h) const { return data + offset + b * time * rowStride + h * headStride; }
};

// The additive bias: mask [batch, queries, keys] (or none), plus slope_h * keyPositions[b, k]
// where slopes are given (ALiBi).
struct Bias {
  const float* mask;
  const float* slopes;
  const float* keyPositions;
};

bool ReadView(Napi::Env env, const Napi::Value& value, int64_t time, int64_t heads, int64_t batch, int64_t headDim,
              const char* name, HeadsView* view) {
  const Napi::Object object = value.As<Napi::Object>();
  Napi::Float32Array data = object.Get("data").As<Napi::Float32Array>();
  const auto number = [&](const char* key) { return object.Get(key).As<Napi::Number>().Int64Value(); };
  *view = HeadsView{data.Data(), number("offset"), number("rowStride"), number("headStride"), time};
  const int64_t last = view->offset + (batch * time - 1) * view->rowStride + (heads - 1) * view->headStride + headDim;
  const bool ok = view->offset >= 0 && view->headStride >= headDim &&
                  view->rowStride >= (heads - 1) * view->headStride + headDim &&
                  (batch * time == 0 || last <= static_cast<int64_t>(data.ElementLength()));
  if (!ok) {
    Napi::RangeError::New(env, std::string(name) + " lies outside its array").ThrowAsJavaScriptException();
  }
  return ok;
}

// Reads (shape, scale, q, k, v, mask, slopes, keyPositions) from info[0..7]; false after throwing.
bool ReadInputs(const Napi::CallbackInfo& info, const char* function, Dims* dims, HeadsView* q, HeadsView* k,
                HeadsView* v, Bias* bias) {
  Napi::Env env = info.Env();
  const auto fail = [&](const std::string& message) {
    Napi::RangeError::New(env, std::string(function) + ": " + message).ThrowAsJavaScriptException();
    return false;
  };
  Napi::Array shape = info[0].As<Napi::Array>();
  if (shape.Length() != 6) return fail("shape is [batch, heads, kvHeads, queries, keys, headDim]");
  const auto at = [&](uint32_t i) { return shape.Get(i).As<Napi::Number>().Int64Value(); };
  *dims = Dims{at(0), at(1), at(2), at(3), at(4), at(5), info[1].As<Napi::Number>().FloatValue()};
  if (dims->batch < 0 || dims->heads < 1 || dims->kvHeads < 1 || dims->heads % dims->kvHeads != 0 ||
      dims->queries < 0 || dims->keys < 0 || dims->headDim < 1) {
    return fail("bad shape (heads must be a multiple of kvHeads)");
  }
  const std::string prefix = std::string(function) + ": ";
  if (!ReadView(env, info[2], dims->queries, dims->heads, dims->batch, dims->headDim, (prefix + "q").c_str(), q) ||
      !ReadView(env, info[3], dims->keys, dims->kvHeads, dims->batch, dims->headDim, (prefix + "k").c_str(), k) ||
      !ReadView(env, info[4], dims->keys, dims->kvHeads, dims->batch, dims->headDim, (prefix + "v").c_str(), v)) {
    return false;
  }
  Napi::Float32Array mask = info[5].As<Napi::Float32Array>(), slopes = info[6].As<Napi::Float32Array>(),
                     positions = info[7].As<Napi::Float32Array>();
  const int64_t maskSize = dims->batch * dims->queries * dims->keys;
  if (mask.ElementLength() != 0 && static_cast<int64_t>(mask.ElementLength()) != maskSize) {
    return fail("the mask is not [batch, queries, keys]");
  }
  if (slopes.ElementLength() != 0 && (static_cast<int64_t>(slopes.ElementLength()) != dims->heads ||
                                      static_cast<int64_t>(positions.ElementLength()) != dims->batch * dims->keys)) {
    return fail("ALiBi needs a slope per head and keyPositions [batch, keys]");
  }
  *bias = Bias{mask.ElementLength() == 0 ? nullptr : mask.Data(), slopes.ElementLength() == 0 ? nullptr : slopes.Data(),
               positions.ElementLength() == 0 ? nullptr : positions.Data()};
  return true;
}

// p[queries, keys] = softmax(scale q k^T + bias) for batch b, query head h; rounding as tfjs's
// composition: (q k^T) * scale, then + bias (the mask plus slope * position, summed first).
void Probabilities(const Dims& d, const HeadsView& q, const HeadsView& k, const Bias& bias, int64_t b, int64_t h,
                   float* p) {
  const int64_t kvHead = h / (d.heads / d.kvHeads);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.queries, d.keys, d.headDim, 1.0f, q.At(b, h), q.rowStride,
              k.At(b, kvHead), k.rowStride, 0.0f, p, d.keys);
  for (int64_t i = 0; i < d.queries; i++) {
    float* row = p + i * d.keys;
    const float* mask = bias.mask == nullptr ? nullptr : bias.mask + (b * d.queries + i) * d.keys;
    const float* positions = bias.slopes == nullptr ? nullptr : bias.keyPositions + b * d.keys;
    float max = -INFINITY;
    for (int64_t j = 0; j < d.keys; j++) {
      float added = 0;
      if (positions != nullptr) added = bias.slopes[h] * positions[j];
      if (mask != nullptr) added = mask[j] + added;
      row[j] = row[j] * d.scale + added;
      if (row[j] > max) max = row[j];
    }
    // expf, summed in double; below -104 it is 0 in float, and skipping it spares glibc's slow
    // underflow path on every masked key.
    double total = 0;
    for (int64_t j = 0; j < d.keys; j++) {
      const float shifted = row[j] - max;
      row[j] = shifted < -104.0f ? 0.0f : std::exp(shifted);
      total += row[j];
    }
    const float inverse = static_cast<float>(1 / total);
    for (int64_t j = 0; j < d.keys; j++) row[j] *= inverse;
  }
}

// attention(shape, scale, q, k, v, mask, slopes, keyPositions, out): out = softmax(scale q k^T +
// bias) v per (batch, head); shape is [batch, heads, kvHeads, queries, keys, headDim], q and out
// views of `heads` heads over `queries` rows, k and v of `kvHeads` heads over `keys` rows.
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    Napi::TypeError::New(env, "attention takes 9 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Dims d;
  HeadsView q, k, v, out;
  Bias bias;
  if (!ReadInputs(info, "attention", &d, &q, &k, &v, &bias) ||
      !ReadView(env, info[8], d.queries, d.heads, d.batch, d.headDim, "attention: out", &out)) {
    return env.Undefined();
  }
  if (d.queries == 0) return env.Undefined();
  std::vector<float> p(d.queries * d.keys);
  const int64_t group = d.heads / d.kvHeads;
  for (int64_t b = 0; b < d.batch; b++) {
    for (int64_t h = 0; h < d.heads; h++) {
      Probabilities(d, q, k, bias, b, h, p.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.queries, d.headDim, d.keys, 1.0f, p.data(), d.keys,
                  v.At(b, h / group), v.rowStride, 0.0f, out.At(b, h), out.rowStride);
    }
  }
  return env.Undefined();
}

// attentionGrad(shape, scale, q, k, v, mask, slopes, keyPositions, dOut, dq, dk, dv): attention's
// gradients into dq, dk and dv (views as q, k, v), recomputing the probabilities P per (batch,
// head): dV = P^T dO, dP = dO v^T, dS = scale P (dP - rowsum(dP P)), dQ = dS k, dK = dS^T q;
// dk and dv sum over the query heads that share a key/value head.
Napi::Value AttentionGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 12) {
    Napi::TypeError::New(env, "attentionGrad takes 12 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Dims d;
  HeadsView q, k, v, dOut, dq, dk, dv;
  Bias bias;
  if (!ReadInputs(info, "attentionGrad", &d, &q, &k, &v, &bias) ||
      !ReadView(env, info[8], d.queries, d.heads, d.batch, d.headDim, "attentionGrad: dOut", &dOut) ||
      !ReadView(env, info[9], d.queries, d.heads, d.batch, d.headDim, "attentionGrad: dq", &dq) ||
      !ReadView(env, info[10], d.keys, d.kvHeads, d.batch, d.headDim, "attentionGrad: dk", &dk) ||
      !ReadView(env, info[11], d.keys, d.kvHeads, d.batch, d.headDim, "attentionGrad: dv", &dv)) {
    return env.Undefined();
  }
  const int64_t group = d.heads / d.kvHeads;
  std::vector<float> p(d.queries * d.keys), dp(d.queries * d.keys);
  for (int64_t b = 0; b < d.batch; b++) {
    for (int64_t h = 0; h < d.heads; h++) {
      const int64_t kvHead = h / group;
      // The first query head of a group writes dk and dv, the others add to them.
      const float beta = h % group == 0 ? 0.0f : 1.0f;
      if (d.queries == 0) {
        if (beta == 0.0f) {
          for (int64_t t = 0; t < d.keys; t++) {
            std::fill_n(dk.At(b, kvHead) + t * dk.rowStride, d.headDim, 0.0f);
            std::fill_n(dv.At(b, kvHead) + t * dv.rowStride, d.headDim, 0.0f);
          }
        }
        continue;
      }
      Probabilities(d, q, k, bias, b, h, p.data());
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.keys, d.headDim, d.queries, 1.0f, p.data(), d.keys,
                  dOut.At(b, h), dOut.rowStride, beta, dv.At(b, kvHead), dv.rowStride);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.queries, d.keys, d.headDim, 1.0f, dOut.At(b, h),
                  dOut.rowStride, v.At(b, kvHead), v.rowStride, 0.0f, dp.data(), d.keys);
      for (int64_t i = 0; i < d.queries; i++) {
        const float* pRow = p.data() + i * d.keys;
        float* dRow = dp.data() + i * d.keys;
        double dot = 0;
        for (int64_t j = 0; j < d.keys; j++) dot += static_cast<double>(dRow[j]) * pRow[j];
        for (int64_t j = 0; j < d.keys; j++) dRow[j] = static_cast<float>(d.scale * pRow[j] * (dRow[j] - dot));
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.queries, d.headDim, d.keys, 1.0f, dp.data(), d.keys,
                  k.At(b, kvHead), k.rowStride, 0.0f, dq.At(b, h), dq.rowStride);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.keys, d.headDim, d.queries, 1.0f, dp.data(), d.keys,
                  q.At(b, h), q.rowStride, beta, dk.At(b, kvHead), dk.rowStride);
    }
  }
  return env.Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionGrad", Napi::Function::New(env, AttentionGrad));
}
