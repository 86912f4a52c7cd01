#pragma once
// Thread pools that LibTorch's thread setting does not reach.

namespace metaeik::core {

/// Sets OpenBLAS's own thread count where the process's BLAS is OpenBLAS (found at run time; a
/// no-op for other BLAS). Debian's LibTorch reaches OpenBLAS through libblas.so.3, so
/// torch::set_num_threads does not limit it, and its idle threads spin: on a loaded 2-core machine
/// a 1-thread FHN training ran 20× slower with OpenBLAS's default pool. Process-wide.
void set_blas_threads(int threads);

}  // namespace metaeik::core
