{
  "targets": [
    {
      "target_name": "lonas_blas",
      "sources": ["blas.cc", "elementwise.cc", "attention.cc", "fused.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-fno-trapping-math"],
      "libraries": ["-lopenblas"]
    }
  ]
}
