// SPDX-License-Identifier: MIT
#include "guest_memory.h"

#include <sys/mman.h>

#include "absl/strings/str_format.h"
#include "vmm_error.h"

namespace pvops::vmm {

GuestMemory::GuestMemory(uint64_t size_bytes) : size_(size_bytes) {
  // MAP_NORESERVE: pages the guest never touches cost the L1 nothing.
  void* mapping = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED)
    ThrowErrno(absl::StrFormat("mmap of %u bytes of guest RAM", size_bytes));
  base_ = static_cast<uint8_t*>(mapping);
}

GuestMemory::~GuestMemory() { munmap(base_, size_); }

std::optional<std::span<uint8_t>> GuestMemory::TryAt(uint64_t gpa, uint64_t length) {
  if (gpa > size_ || length > size_ - gpa) return std::nullopt;
  return std::span<uint8_t>(base_ + gpa, static_cast<size_t>(length));
}

std::span<uint8_t> GuestMemory::At(uint64_t gpa, uint64_t length) {
  if (gpa > size_ || length > size_ - gpa) {
    throw VmmError(absl::StrFormat("guest range [%#x, %#x) lies outside the %#x bytes of RAM", gpa,
                                   gpa + length, size_));
  }
  return {base_ + gpa, static_cast<size_t>(length)};
}

}  // namespace pvops::vmm
