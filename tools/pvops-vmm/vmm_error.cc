// SPDX-License-Identifier: MIT
#include "vmm_error.h"

#include <cerrno>
#include <cstring>

namespace pvops::vmm {

void ThrowErrno(const std::string& what) {
  const int saved = errno;
  throw VmmError(what + ": " + std::strerror(saved));
}

}  // namespace pvops::vmm
