#pragma once
// Internal to metapinn/: what the vectorised spline kernels (spline_kernels.cpp, spline_fused.cpp)
// share. METAEIK_SIMD_CLONES compiles a loop for AVX-512 and AVX2 + FMA as well as the baseline
// x86-64, picked at load time by the CPU (GCC function multiversioning).

// The vector helpers pass 32- and 64-byte vectors by value; they are inlined, so GCC's note that the
// ABI of such calls differs between the clones does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define METAEIK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define METAEIK_SIMD_CLONES
#endif
