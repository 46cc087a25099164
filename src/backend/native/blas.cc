// lonas's optional native addon: OpenBLAS's matrix products here, float32 elementwise kernels in
// elementwise.cc, fused norms and activations with their gradients in fused.cc. The matrix product is: OpenBLAS's sgemm over tensors that stay where tfjs
// keeps them (views on the wasm heap, or the cpu backend's arrays). No copies: the JS side
// passes typed-array views and element offsets, and C is written in place.
#include <napi.h>
#include <cblas.h>
#include <climits>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void InitElementwise(Napi::Env env, Napi::Object exports);  // elementwise.cc
void InitAttention(Napi::Env env, Napi::Object exports);    // attention.cc
void InitFused(Napi::Env env, Napi::Object exports);        // fused.cc

namespace {

// sgemmBatch(transA, transB, m, n, k, a, b, c, aOffsets, bOffsets, cOffsets):
// for every i, C_i[m, n] = op(A_i) op(B_i), with A_i at a[aOffsets[i]] (row-major, [m, k] or
// [k, m] when transposed), B_i at b[bOffsets[i]] ([k, n] or [n, k]) and C_i at c[cOffsets[i]].
Napi::Value SgemmBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11) {
    Napi::TypeError::New(env, "sgemmBatch takes 11 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const bool transA = info[0].As<Napi::Boolean>().Value();
  const bool transB = info[1].As<Napi::Boolean>().Value();
  const int m = info[2].As<Napi::Number>().Int32Value();
  const int n = info[3].As<Napi::Number>().Int32Value();
  const int k = info[4].As<Napi::Number>().Int32Value();
  Napi::Float32Array a = info[5].As<Napi::Float32Array>();
  Napi::Float32Array b = info[6].As<Napi::Float32Array>();
  Napi::Float32Array c = info[7].As<Napi::Float32Array>();
  const Napi::Int32Array aOffsets = info[8].As<Napi::Int32Array>();
  const Napi::Int32Array bOffsets = info[9].As<Napi::Int32Array>();
  const Napi::Int32Array cOffsets = info[10].As<Napi::Int32Array>();
  const size_t batch = cOffsets.ElementLength();
  if (aOffsets.ElementLength() != batch || bOffsets.ElementLength() != batch) {
    Napi::RangeError::New(env, "sgemmBatch: offset arrays differ in length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t aSize = static_cast<size_t>(m) * k, bSize = static_cast<size_t>(k) * n,
               cSize = static_cast<size_t>(m) * n;
  for (size_t i = 0; i < batch; i++) {
    if (aOffsets[i] < 0 || bOffsets[i] < 0 || cOffsets[i] < 0 ||
        aOffsets[i] + aSize > a.ElementLength() || bOffsets[i] + bSize > b.ElementLength() ||
        cOffsets[i] + cSize > c.ElementLength()) {
      Napi::RangeError::New(env, "sgemmBatch: an operand lies outside its array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  float* aData = a.Data();
  float* bData = b.Data();
  float* cData = c.Data();
  for (size_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, aData + aOffsets[i], transA ? m : k, bData + bOffsets[i], transB ? k : n, 0.0f,
                cData + cOffsets[i], n);
  }
  return env.Undefined();
}

// sgemm(m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, beta, transposeB): one
// row-major C[m, n] = A[m, k] op(B) + beta C, B stored [k, n] (or [n, k] and transposed), each
// operand a strided block of its array (a slice of a weight, a sub-matrix of an activation), so
// host decoding and elastic layers multiply by a subnetwork's slice of a weight without copying it.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 14) {
    Napi::TypeError::New(env, "sgemm takes 14 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int m = info[0].As<Napi::Number>().Int32Value();
  const int n = info[1].As<Napi::Number>().Int32Value();
  const int k = info[2].As<Napi::Number>().Int32Value();
  struct Operand {
    Napi::Float32Array array;
    int64_t offset, ld, rows, columns;
  };
  const auto operand = [&](int at, int64_t rows, int64_t columns) {
    return Operand{info[at].As<Napi::Float32Array>(), info[at + 1].As<Napi::Number>().Int64Value(),
                   info[at + 2].As<Napi::Number>().Int64Value(), rows, columns};
  };
  const bool transposeB = info[13].As<Napi::Boolean>().Value();
  Operand a = operand(3, m, k), b = transposeB ? operand(6, n, k) : operand(6, k, n), c = operand(9, m, n);
  const float beta = info[12].As<Napi::Number>().FloatValue();
  if (m < 0 || n < 0 || k < 0) {
    Napi::RangeError::New(env, "sgemm: a negative dimension").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (const Operand* o : {&a, &b, &c}) {
    const bool fits = o->offset >= 0 && o->ld >= o->columns && o->ld >= 1 && o->ld <= INT_MAX &&
                      (o->rows == 0 || o->offset + (o->rows - 1) * o->ld + o->columns <=
                                           static_cast<int64_t>(o->array.ElementLength()));
    if (!fits) {
      Napi::RangeError::New(env, "sgemm: an operand lies outside its array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (m > 0 && n > 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                a.array.Data() + a.offset, a.ld,
                b.array.Data() + b.offset, b.ld, beta, c.array.Data() + c.offset, c.ld);
  }
  return env.Undefined();
}

// retainFreedMemory(): glibc serves every allocation from its heap (no mmap per large block)
// and keeps what is freed for the next one. The cpu backend allocates a fresh array per kernel
// output; with mmap each 64 MiB logits tensor came back as new pages, and first-touch page faults
// cost more than the arithmetic. Resident memory then stays at its peak, which the run has anyway.
// Elsewhere than glibc it does nothing and says so (false).
Napi::Value RetainFreedMemory(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 &&
                  mallopt(M_TOP_PAD, 256 << 20) == 1;
#else
  const bool ok = false;
#endif
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

Napi::Value Config(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_config());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemmBatch", Napi::Function::New(env, SgemmBatch));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("retainFreedMemory", Napi::Function::New(env, RetainFreedMemory));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("config", Napi::Function::New(env, Config));
  InitElementwise(env, exports);
  InitAttention(env, exports);
  InitFused(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lonas_blas, Init)
