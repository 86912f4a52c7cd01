#include "core/threads.hpp"

#include <dlfcn.h>

namespace metaeik::core {

void set_blas_threads(int threads) {
  using Setter = void (*)(int);
  if (auto set = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

}  // namespace metaeik::core
