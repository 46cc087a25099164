// lonas's native float32 kernels for tfjs's cpu backend: the elementwise, reduction, softmax,
// slice and transpose work a training step is made of (their gradients are made of them too).
// tfjs's own cpu kernels are plain JavaScript that walks every element through index
// arithmetic; these run over the same arrays in C. Arithmetic is in double where tfjs's is
// (its Math.exp and friends), so results match it to the last float bit or within one ulp.
#include <napi.h>
#include <cmath>
#include <cstring>
#include <vector>
#include "fast-exp.h"
#include "lanes.h"

namespace {

using Shape = std::vector<int64_t>;

Shape ShapeOf(const Napi::Value& value) {
  Napi::Array array = value.As<Napi::Array>();
  Shape shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) shape[i] = array.Get(i).As<Napi::Number>().Int64Value();
  return shape;
}

int64_t SizeOf(const Shape& shape) {
  int64_t size = 1;
  for (int64_t d : shape) size *= d;
  return size;
}

bool Check(Napi::Env env, bool ok, const char* message) {
  if (!ok) Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  return ok;
}

enum BinaryOp { kAdd, kSub, kMul, kDiv, kSquaredDifference, kMaximum, kMinimum };

template <int Op>
inline float Apply(float a, float b) {
  if (Op == kAdd) return a + b;
  if (Op == kSub) return a - b;
  if (Op == kMul) return a * b;
  if (Op == kDiv) return a / b;
  if (Op == kSquaredDifference) return static_cast<float>((static_cast<double>(a) - b) * (static_cast<double>(a) - b));
  if (Op == kMaximum) return (a >= b || std::isnan(a)) ? a : b;
  return (a <= b || std::isnan(a)) ? a : b;
}

// out = a (op) b with numpy broadcasting: the outer axes walk an odometer, the innermost axis
// runs as one loop with each operand's step 0 (broadcast) or 1.
template <int Op>
void Broadcast(const float* a, const Shape& aStrides, const float* b, const Shape& bStrides, float* out,
               const Shape& shape) {
  const size_t rank = shape.size();
  const int64_t inner = rank == 0 ? 1 : shape[rank - 1];
  const int64_t aStep = rank == 0 ? 0 : aStrides[rank - 1], bStep = rank == 0 ? 0 : bStrides[rank - 1];
  const int64_t outer = inner == 0 ? 0 : SizeOf(shape) / inner;
  std::vector<int64_t> index(rank, 0);
  int64_t aAt = 0, bAt = 0;
  for (int64_t o = 0; o < outer; o++) {
    float* row = out + o * inner;
    if (aStep == 1 && bStep == 1) {
      for (int64_t j = 0; j < inner; j++) row[j] = Apply<Op>(a[aAt + j], b[bAt + j]);
    } else if (aStep == 1) {
      const float bv = b[bAt];
      for (int64_t j = 0; j < inner; j++) row[j] = Apply<Op>(a[aAt + j], bv);
    } else if (bStep == 1) {
      const float av = a[aAt];
      for (int64_t j = 0; j < inner; j++) row[j] = Apply<Op>(av, b[bAt + j]);
    } else {
      const float v = Apply<Op>(a[aAt], b[bAt]);
      for (int64_t j = 0; j < inner; j++) row[j] = v;
    }
    for (int64_t axis = static_cast<int64_t>(rank) - 2; axis >= 0; axis--) {
      index[axis]++;
      aAt += aStrides[axis];
      bAt += bStrides[axis];
      if (index[axis] < shape[axis]) break;
      aAt -= aStrides[axis] * shape[axis];
      bAt -= bStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
}

// Element strides of `shape` read as `outShape` (right-aligned), 0 along broadcast axes.
Shape BroadcastStrides(const Shape& shape, const Shape& outShape) {
  Shape strides(outShape.size(), 0);
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1, o = static_cast<int64_t>(outShape.size()) - 1; i >= 0;
       i--, o--) {
    strides[o] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = info[0].As<Napi::Number>().Int32Value();
  Napi::Float32Array a = info[1].As<Napi::Float32Array>(), b = info[3].As<Napi::Float32Array>(),
                     out = info[5].As<Napi::Float32Array>();
  const Shape aShape = ShapeOf(info[2]), bShape = ShapeOf(info[4]), outShape = ShapeOf(info[6]);
  if (!Check(env,
             static_cast<int64_t>(a.ElementLength()) >= SizeOf(aShape) &&
                 static_cast<int64_t>(b.ElementLength()) >= SizeOf(bShape) &&
                 static_cast<int64_t>(out.ElementLength()) >= SizeOf(outShape) && aShape.size() <= outShape.size() &&
                 bShape.size() <= outShape.size(),
             "binary: an operand is smaller than its shape")) {
    return env.Undefined();
  }
  const Shape aStrides = BroadcastStrides(aShape, outShape), bStrides = BroadcastStrides(bShape, outShape);
  const float *x = a.Data(), *y = b.Data();
  float* z = out.Data();
  switch (op) {
    case kAdd: Broadcast<kAdd>(x, aStrides, y, bStrides, z, outShape); break;
    case kSub: Broadcast<kSub>(x, aStrides, y, bStrides, z, outShape); break;
    case kMul: Broadcast<kMul>(x, aStrides, y, bStrides, z, outShape); break;
    case kDiv: Broadcast<kDiv>(x, aStrides, y, bStrides, z, outShape); break;
    case kSquaredDifference: Broadcast<kSquaredDifference>(x, aStrides, y, bStrides, z, outShape); break;
    case kMaximum: Broadcast<kMaximum>(x, aStrides, y, bStrides, z, outShape); break;
    case kMinimum: Broadcast<kMinimum>(x, aStrides, y, bStrides, z, outShape); break;
    default: Check(env, false, "binary: unknown operation");
  }
  return env.Undefined();
}

enum UnaryOp { kExp, kLog, kNeg, kSqrt, kRsqrt, kSquare, kSigmoid, kTanh, kAbs, kReciprocal };

template <int Op>
void Map(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i];
    double r;
    if (Op == kExp) r = std::exp(v);
    if (Op == kLog) r = std::log(v);
    if (Op == kNeg) r = -v;
    if (Op == kSqrt) r = std::sqrt(v);
    if (Op == kRsqrt) r = 1 / std::sqrt(v);
    if (Op == kSquare) r = static_cast<float>(x[i] * x[i]);
    if (Op == kSigmoid) r = 1 / (1 + std::exp(-v));
    if (Op == kTanh) r = std::tanh(v);
    if (Op == kAbs) r = std::fabs(v);
    if (Op == kReciprocal) r = 1 / v;
    out[i] = static_cast<float>(r);
  }
}

// unary(op, x, out)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = info[0].As<Napi::Number>().Int32Value();
  Napi::Float32Array x = info[1].As<Napi::Float32Array>(), out = info[2].As<Napi::Float32Array>();
  if (!Check(env, out.ElementLength() >= x.ElementLength(), "unary: the output is smaller than the input")) {
    return env.Undefined();
  }
  const int64_t n = x.ElementLength();
  const float* in = x.Data();
  float* o = out.Data();
  switch (op) {
    case kExp: Map<kExp>(in, o, n); break;
    case kLog: Map<kLog>(in, o, n); break;
    case kNeg: Map<kNeg>(in, o, n); break;
    case kSqrt: Map<kSqrt>(in, o, n); break;
    case kRsqrt: Map<kRsqrt>(in, o, n); break;
    case kSquare: Map<kSquare>(in, o, n); break;
    case kSigmoid: Map<kSigmoid>(in, o, n); break;
    case kTanh: Map<kTanh>(in, o, n); break;
    case kAbs: Map<kAbs>(in, o, n); break;
    case kReciprocal: Map<kReciprocal>(in, o, n); break;
    default: Check(env, false, "unary: unknown operation");
  }
  return env.Undefined();
}

enum ReduceOp { kSum, kMax, kMin };

// reduce(op, x, outer, reduced, inner, out): x seen as [outer, reduced, inner], reduced over the
// middle axis into out [outer, inner].
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = info[0].As<Napi::Number>().Int32Value();
  Napi::Float32Array x = info[1].As<Napi::Float32Array>(), out = info[5].As<Napi::Float32Array>();
  const int64_t outer = info[2].As<Napi::Number>().Int64Value(), reduced = info[3].As<Napi::Number>().Int64Value(),
                inner = info[4].As<Napi::Number>().Int64Value();
  if (!Check(env,
             static_cast<int64_t>(x.ElementLength()) >= outer * reduced * inner &&
                 static_cast<int64_t>(out.ElementLength()) >= outer * inner,
             "reduce: an operand is smaller than its shape")) {
    return env.Undefined();
  }
  const float* in = x.Data();
  float* o = out.Data();
  for (int64_t i = 0; i < outer; i++) {
    float* row = o + i * inner;
    const float* block = in + i * reduced * inner;
    if (reduced == 0) {
      for (int64_t j = 0; j < inner; j++) row[j] = op == kSum ? 0.0f : (op == kMax ? -INFINITY : INFINITY);
      continue;
    }
    if (op == kSum) {
      // In double, as tfjs's JavaScript sums are.
      std::vector<double> total(block, block + inner);
      for (int64_t r = 1; r < reduced; r++) {
        const float* next = block + r * inner;
        for (int64_t j = 0; j < inner; j++) total[j] += next[j];
      }
      for (int64_t j = 0; j < inner; j++) row[j] = static_cast<float>(total[j]);
      continue;
    }
    std::memcpy(row, block, inner * sizeof(float));
    for (int64_t r = 1; r < reduced; r++) {
      const float* next = block + r * inner;
      if (op == kMax) {
        for (int64_t j = 0; j < inner; j++)
          if (next[j] > row[j] || std::isnan(next[j])) row[j] = next[j];
      } else {
        for (int64_t j = 0; j < inner; j++)
          if (next[j] < row[j] || std::isnan(next[j])) row[j] = next[j];
      }
    }
  }
  return env.Undefined();
}

// softmax(x, rows, columns, out): over each row, exp(x - max) / sum.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), out = info[3].As<Napi::Float32Array>();
  const int64_t rows = info[1].As<Napi::Number>().Int64Value(), columns = info[2].As<Napi::Number>().Int64Value();
  if (!Check(env,
             static_cast<int64_t>(x.ElementLength()) >= rows * columns &&
                 static_cast<int64_t>(out.ElementLength()) >= rows * columns,
             "softmax: an operand is smaller than its shape")) {
    return env.Undefined();
  }
  const float* in = x.Data();
  float* o = out.Data();
  for (int64_t r = 0; r < rows; r++) {
    const float* row = in + r * columns;
    float* result = o + r * columns;
    float max = -INFINITY;
    for (int64_t j = 0; j < columns; j++)
      if (row[j] > max) max = row[j];
    double total = 0;
    for (int64_t j = 0; j < columns; j++) {
      result[j] = static_cast<float>(std::exp(static_cast<double>(row[j] - max)));
      total += result[j];
    }
    const float sum = static_cast<float>(total);
    for (int64_t j = 0; j < columns; j++) result[j] /= sum;
  }
  return env.Undefined();
}

// crossEntropy(x, rows, columns, targets, logSumExp): the sum over rows with a target >= 0 of
// logsumexp(row) - row[target], each row's logsumexp written to logSumExp [rows] (a double array)
// for the gradient. exp in float (vectorized, FastExp), summed in double.
LONAS_VECTOR_CLONES Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  const int64_t rows = info[1].As<Napi::Number>().Int64Value(), columns = info[2].As<Napi::Number>().Int64Value();
  Napi::Int32Array targetArray = info[3].As<Napi::Int32Array>();
  Napi::Float64Array logSumExpArray = info[4].As<Napi::Float64Array>();
  const int32_t* targets = targetArray.Data();
  double* logSumExp = logSumExpArray.Data();
  bool ok = static_cast<int64_t>(x.ElementLength()) >= rows * columns &&
            static_cast<int64_t>(targetArray.ElementLength()) >= rows &&
            static_cast<int64_t>(logSumExpArray.ElementLength()) >= rows;
  for (int64_t r = 0; ok && r < rows; r++) ok = targets[r] < columns;
  if (!Check(env, ok, "crossEntropy: an operand is smaller than its shape, or a target is past the columns")) {
    return env.Undefined();
  }
  double loss = 0;
  std::vector<float> exps(columns);
  for (int64_t r = 0; r < rows; r++) {
    const float* row = x.Data() + r * columns;
    if (targets[r] < 0) continue;
    const float max = RowMax(row, columns);
    for (int64_t j = 0; j < columns; j++) exps[j] = FastExp(row[j] - max);
    logSumExp[r] = max + std::log(RowSum(exps.data(), columns));
    loss += logSumExp[r] - row[targets[r]];
  }
  return Napi::Number::New(env, loss);
}

// crossEntropyGrad(x, rows, columns, targets, logSumExp, scale, grad): (softmax(row) -
// onehot(target)) * scale into grad [rows, columns] from crossEntropy's logSumExp, one exp per
// element; zeros for rows without a target.
LONAS_VECTOR_CLONES Napi::Value CrossEntropyGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), grad = info[6].As<Napi::Float32Array>();
  const int64_t rows = info[1].As<Napi::Number>().Int64Value(), columns = info[2].As<Napi::Number>().Int64Value();
  Napi::Int32Array targetArray = info[3].As<Napi::Int32Array>();
  Napi::Float64Array logSumExpArray = info[4].As<Napi::Float64Array>();
  const int32_t* targets = targetArray.Data();
  double* logSumExp = logSumExpArray.Data();
  const float scale = info[5].As<Napi::Number>().FloatValue();
  bool ok = static_cast<int64_t>(x.ElementLength()) >= rows * columns &&
            static_cast<int64_t>(targetArray.ElementLength()) >= rows &&
            static_cast<int64_t>(logSumExpArray.ElementLength()) >= rows &&
            static_cast<int64_t>(grad.ElementLength()) >= rows * columns;
  for (int64_t r = 0; ok && r < rows; r++) ok = targets[r] < columns;
  if (!Check(env, ok, "crossEntropyGrad: an operand is smaller than its shape, or a target is past the columns")) {
    return env.Undefined();
  }
  for (int64_t r = 0; r < rows; r++) {
    const float* row = x.Data() + r * columns;
    float* g = grad.Data() + r * columns;
    const int32_t target = targets[r];
    if (target < 0) {
      std::memset(g, 0, columns * sizeof(float));
      continue;
    }
    const float shift = static_cast<float>(logSumExp[r]);
    for (int64_t j = 0; j < columns; j++) g[j] = FastExp(row[j] - shift) * scale;
    g[target] -= scale;
  }
  return env.Undefined();
}

// Copies the box of `x` [shape] that starts at `begin` with size `size` into out, row by row.
// transpose is the same walk with permuted source strides.
void Gather(const float* x, const Shape& sourceStrides, int64_t start, const Shape& size, float* out) {
  const size_t rank = size.size();
  if (rank == 0) {
    out[0] = x[start];
    return;
  }
  const int64_t inner = size[rank - 1], innerStride = sourceStrides[rank - 1];
  const int64_t outer = inner == 0 ? 0 : SizeOf(size) / inner;
  std::vector<int64_t> index(rank, 0);
  int64_t at = start;
  for (int64_t o = 0; o < outer; o++) {
    float* row = out + o * inner;
    if (innerStride == 1) {
      std::memcpy(row, x + at, inner * sizeof(float));
    } else {
      for (int64_t j = 0; j < inner; j++) row[j] = x[at + j * innerStride];
    }
    for (int64_t axis = static_cast<int64_t>(rank) - 2; axis >= 0; axis--) {
      index[axis]++;
      at += sourceStrides[axis];
      if (index[axis] < size[axis]) break;
      at -= sourceStrides[axis] * size[axis];
      index[axis] = 0;
    }
  }
}

Shape StridesOf(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

// slice(x, shape, begin, size, out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), out = info[4].As<Napi::Float32Array>();
  const Shape shape = ShapeOf(info[1]), begin = ShapeOf(info[2]), size = ShapeOf(info[3]);
  bool ok = begin.size() == shape.size() && size.size() == shape.size() &&
            static_cast<int64_t>(x.ElementLength()) >= SizeOf(shape) &&
            static_cast<int64_t>(out.ElementLength()) >= SizeOf(size);
  for (size_t i = 0; ok && i < shape.size(); i++) ok = begin[i] >= 0 && size[i] >= 0 && begin[i] + size[i] <= shape[i];
  if (!Check(env, ok, "slice: the box lies outside the tensor")) return env.Undefined();
  const Shape strides = StridesOf(shape);
  int64_t start = 0;
  for (size_t i = 0; i < shape.size(); i++) start += begin[i] * strides[i];
  if (SizeOf(size) > 0) Gather(x.Data(), strides, start, size, out.Data());
  return env.Undefined();
}

// transpose(x, shape, perm, out): out's axis i is x's axis perm[i].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), out = info[3].As<Napi::Float32Array>();
  const Shape shape = ShapeOf(info[1]), perm = ShapeOf(info[2]);
  bool ok = perm.size() == shape.size() && static_cast<int64_t>(x.ElementLength()) >= SizeOf(shape) &&
            static_cast<int64_t>(out.ElementLength()) >= SizeOf(shape);
  // A permutation names every axis once; a repeated axis would walk past both arrays.
  std::vector<bool> seen(shape.size(), false);
  for (size_t i = 0; ok && i < perm.size(); i++) {
    ok = perm[i] >= 0 && perm[i] < static_cast<int64_t>(shape.size()) && !seen[perm[i]];
    if (ok) seen[perm[i]] = true;
  }
  if (!Check(env, ok, "transpose: bad permutation or operand size")) return env.Undefined();
  const Shape strides = StridesOf(shape);
  Shape size(shape.size()), sourceStrides(shape.size());
  for (size_t i = 0; i < perm.size(); i++) {
    size[i] = shape[perm[i]];
    sourceStrides[i] = strides[perm[i]];
  }
  if (SizeOf(size) > 0) Gather(x.Data(), sourceStrides, 0, size, out.Data());
  return env.Undefined();
}

// pad(x, shape, before, outShape, value, out): out filled with value, x copied in at offsets `before`.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), out = info[5].As<Napi::Float32Array>();
  const Shape shape = ShapeOf(info[1]), before = ShapeOf(info[2]), outShape = ShapeOf(info[3]);
  const float value = info[4].As<Napi::Number>().FloatValue();
  bool ok = before.size() == shape.size() && outShape.size() == shape.size() &&
            static_cast<int64_t>(x.ElementLength()) >= SizeOf(shape) &&
            static_cast<int64_t>(out.ElementLength()) >= SizeOf(outShape);
  for (size_t i = 0; ok && i < shape.size(); i++) ok = before[i] >= 0 && before[i] + shape[i] <= outShape[i];
  if (!Check(env, ok, "pad: the input does not fit the output")) return env.Undefined();
  float* o = out.Data();
  const int64_t total = SizeOf(outShape);
  for (int64_t i = 0; i < total; i++) o[i] = value;
  const size_t rank = shape.size();
  if (SizeOf(shape) == 0) return env.Undefined();
  if (rank == 0) {
    o[0] = x.Data()[0];
    return env.Undefined();
  }
  const Shape outStrides = StridesOf(outShape);
  int64_t at = 0;
  for (size_t i = 0; i < rank; i++) at += before[i] * outStrides[i];
  const int64_t inner = shape[rank - 1], outer = SizeOf(shape) / inner;
  std::vector<int64_t> index(rank, 0);
  const float* in = x.Data();
  for (int64_t r = 0; r < outer; r++) {
    std::memcpy(o + at, in + r * inner, inner * sizeof(float));
    for (int64_t axis = static_cast<int64_t>(rank) - 2; axis >= 0; axis--) {
      index[axis]++;
      at += outStrides[axis];
      if (index[axis] < shape[axis]) break;
      at -= outStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return env.Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("crossEntropyGrad", Napi::Function::New(env, CrossEntropyGrad));
}
