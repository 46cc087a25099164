// Fused multi-head attention and its gradient on host arrays, for training and scoring: per
// (batch, head) the scores, softmax and products run on OpenBLAS over the projections' own layout
// [batch, time, heads * headDim] (strided views, no head transposes), and the probabilities live
// only in a [queries, keys] scratch: the backward recomputes them instead of keeping
// [batch, heads, queries, keys] maps across the step.
#include <napi.h>
#include "fast-exp.h"
#include "lanes.h"
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

// Query rows go in blocks, and a block multiplies only by the keys up to the last one any of its
// rows sees: keys the mask hides (MASKED, -1e9) past a row's last visible key have probability 0
// in float, so causal attention does about half the work.
constexpr int64_t kBlock = 32;

int64_t Blocks(const Dims& d) { return (d.queries + kBlock - 1) / kBlock; }

// For each (batch, query block), how many keys its rows need: up to the last key a row's mask
// leaves visible (above -1e8), all keys for a row that sees none (it softmaxes uniformly).
std::vector<int64_t> KeySpans(const Dims& d, const Bias& bias) {
  std::vector<int64_t> spans(d.batch * Blocks(d), bias.mask == nullptr ? d.keys : 0);
  if (bias.mask == nullptr) return spans;
  for (int64_t b = 0; b < d.batch; b++) {
    for (int64_t i = 0; i < d.queries; i++) {
      const float* row = bias.mask + (b * d.queries + i) * d.keys;
      int64_t last = d.keys - 1;
      while (last >= 0 && row[last] <= -1e8f) last--;
      int64_t& span = spans[b * Blocks(d) + i / kBlock];
      span = std::max(span, last < 0 ? d.keys : last + 1);
    }
  }
  return spans;
}

// One block of query rows of a (batch, query head), and the keys it needs.
struct Block {
  int64_t b, h, kvHead, first, rows, keys;
};

// p[rows, keys] = softmax(scale q k^T + bias) for the block; rounding as tfjs's composition:
// (q k^T) * scale, then + bias (the mask plus slope * position, summed first).
__attribute__((always_inline)) inline void Probabilities(const Dims& d, const HeadsView& q, const HeadsView& k,
                                                        const Bias& bias, const Block& at, float* p) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, at.rows, at.keys, d.headDim, 1.0f,
              q.At(at.b, at.h) + at.first * q.rowStride, q.rowStride, k.At(at.b, at.kvHead), k.rowStride, 0.0f, p,
              at.keys);
  for (int64_t i = 0; i < at.rows; i++) {
    float* row = p + i * at.keys;
    const float* mask = bias.mask == nullptr ? nullptr : bias.mask + (at.b * d.queries + at.first + i) * d.keys;
    const float* positions = bias.slopes == nullptr ? nullptr : bias.keyPositions + at.b * d.keys;
    if (positions != nullptr && mask != nullptr) {
      for (int64_t j = 0; j < at.keys; j++) row[j] = row[j] * d.scale + (mask[j] + bias.slopes[at.h] * positions[j]);
    } else if (positions != nullptr) {
      for (int64_t j = 0; j < at.keys; j++) row[j] = row[j] * d.scale + bias.slopes[at.h] * positions[j];
    } else if (mask != nullptr) {
      for (int64_t j = 0; j < at.keys; j++) row[j] = row[j] * d.scale + mask[j];
    } else {
      for (int64_t j = 0; j < at.keys; j++) row[j] = row[j] * d.scale;
    }
    // FastExp is 0 where a masked key's score falls.
    const float max = RowMax(row, at.keys);
    for (int64_t j = 0; j < at.keys; j++) row[j] = FastExp(row[j] - max);
    const float inverse = static_cast<float>(1 / RowSum(row, at.keys));
    for (int64_t j = 0; j < at.keys; j++) row[j] *= inverse;
  }
}

// Calls body(block) for every query block of every (batch, query head), heads of a key/value
// head in a row.
template <typename Body>
void ForEachBlock(const Dims& d, const Bias& bias, Body body) {
  const std::vector<int64_t> spans = KeySpans(d, bias);
  for (int64_t b = 0; b < d.batch; b++) {
    for (int64_t h = 0; h < d.heads; h++) {
      for (int64_t block = 0; block < Blocks(d); block++) {
        const int64_t first = block * kBlock;
        body(Block{b, h, h / (d.heads / d.kvHeads), first, std::min(kBlock, d.queries - first),
                   spans[b * Blocks(d) + block]});
      }
    }
  }
}

// attention(shape, scale, q, k, v, mask, slopes, keyPositions, out): out = softmax(scale q k^T +
// bias) v per (batch, head); shape is [batch, heads, kvHeads, queries, keys, headDim], q and out
// views of `heads` heads over `queries` rows, k and v of `kvHeads` heads over `keys` rows.
LONAS_VECTOR_CLONES Napi::Value Attention(const Napi::CallbackInfo& info) {
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
  std::vector<float> p(kBlock * d.keys);
  ForEachBlock(d, bias, [&](const Block& at) {
    Probabilities(d, q, k, bias, at, p.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, at.rows, d.headDim, at.keys, 1.0f, p.data(), at.keys,
                v.At(at.b, at.kvHead), v.rowStride, 0.0f, out.At(at.b, at.h) + at.first * out.rowStride,
                out.rowStride);
  });
  return env.Undefined();
}

// attentionGrad(shape, scale, q, k, v, mask, slopes, keyPositions, dOut, dq, dk, dv): attention's
// gradients into dq, dk and dv (views as q, k, v), recomputing the probabilities P per block:
// dV = P^T dO, dP = dO v^T, dS = scale P (dP - rowsum(dP P)), dQ = dS k, dK = dS^T q; dk and dv
// sum over the blocks and over the query heads that share a key/value head.
LONAS_VECTOR_CLONES Napi::Value AttentionGrad(const Napi::CallbackInfo& info) {
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
  for (int64_t b = 0; b < d.batch; b++) {
    for (int64_t head = 0; head < d.kvHeads; head++) {
      for (int64_t t = 0; t < d.keys; t++) {
        std::fill_n(dk.At(b, head) + t * dk.rowStride, d.headDim, 0.0f);
        std::fill_n(dv.At(b, head) + t * dv.rowStride, d.headDim, 0.0f);
      }
    }
  }
  std::vector<float> p(kBlock * d.keys), dp(kBlock * d.keys);
  ForEachBlock(d, bias, [&](const Block& at) {
    Probabilities(d, q, k, bias, at, p.data());
    const float* qRows = q.At(at.b, at.h) + at.first * q.rowStride;
    const float* dOutRows = dOut.At(at.b, at.h) + at.first * dOut.rowStride;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, at.keys, d.headDim, at.rows, 1.0f, p.data(), at.keys,
                dOutRows, dOut.rowStride, 1.0f, dv.At(at.b, at.kvHead), dv.rowStride);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, at.rows, at.keys, d.headDim, 1.0f, dOutRows,
                dOut.rowStride, v.At(at.b, at.kvHead), v.rowStride, 0.0f, dp.data(), at.keys);
    for (int64_t i = 0; i < at.rows; i++) {
      const float* pRow = p.data() + i * at.keys;
      float* dRow = dp.data() + i * at.keys;
      const float dot = static_cast<float>(RowDot(dRow, pRow, at.keys));
      for (int64_t j = 0; j < at.keys; j++) dRow[j] = d.scale * pRow[j] * (dRow[j] - dot);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, at.rows, d.headDim, at.keys, 1.0f, dp.data(), at.keys,
                k.At(at.b, at.kvHead), k.rowStride, 0.0f, dq.At(at.b, at.h) + at.first * dq.rowStride, dq.rowStride);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, at.keys, d.headDim, at.rows, 1.0f, dp.data(), at.keys,
                qRows, q.rowStride, 1.0f, dk.At(at.b, at.kvHead), dk.rowStride);
  });
  return env.Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionGrad", Napi::Function::New(env, AttentionGrad));
}
