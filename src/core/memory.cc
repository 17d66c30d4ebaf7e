// SPDX-License-Identifier: MIT
// pvops_memory_*: the chosen backend's memory reservation, where it has one.
#include "core/backend.h"

namespace pvops::core {
namespace {

const MemoryOps* Ops() { return BackendById(g_info.backend).memory; }

}  // namespace
}  // namespace pvops::core

extern "C" pvops_status pvops_memory_release(const uint64_t* pfns, uint32_t n) {
  const pvops::core::MemoryOps* ops = pvops::core::Ops();
  if (ops == nullptr) return PVOPS_ERR_UNSUPPORTED;
  if (pfns == nullptr && n != 0) return PVOPS_ERR_INVALID;
  return n == 0 ? PVOPS_OK : ops->release(pfns, n);
}

extern "C" pvops_status pvops_memory_populate(const uint64_t* pfns, uint32_t n) {
  const pvops::core::MemoryOps* ops = pvops::core::Ops();
  if (ops == nullptr) return PVOPS_ERR_UNSUPPORTED;
  if (pfns == nullptr && n != 0) return PVOPS_ERR_INVALID;
  return n == 0 ? PVOPS_OK : ops->populate(pfns, n);
}

extern "C" pvops_status pvops_memory_reservation(uint64_t* pages) {
  const pvops::core::MemoryOps* ops = pvops::core::Ops();
  if (ops == nullptr) return PVOPS_ERR_UNSUPPORTED;
  return pages == nullptr ? PVOPS_ERR_INVALID : ops->reservation(pages);
}
