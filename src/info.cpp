#include "humpty/humpty.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace humpty {

const char* version() {
  return "0.1.0";
}
const char* kernel_description() {
  return kernel_name();
}
int hardware_threads() {
  return ThreadPool::hardware_threads();
}

}  // namespace humpty
