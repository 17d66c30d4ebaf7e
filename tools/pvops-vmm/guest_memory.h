/* SPDX-License-Identifier: MIT */
// The L2 guest's RAM: one anonymous mapping that KVM sees as guest-physical 0..size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pvops::vmm {

class GuestMemory {
 public:
  explicit GuestMemory(uint64_t size_bytes);
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  uint64_t size() const { return size_; }
  uint8_t* host_base() const { return base_; }

  // The bytes at [gpa, gpa+length); throws VmmError when that is not all RAM.
  std::span<uint8_t> At(uint64_t gpa, uint64_t length);
  // The same for an address the guest named: nullopt, not an exception, when it is not RAM.
  std::optional<std::span<uint8_t>> TryAt(uint64_t gpa, uint64_t length);

 private:
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace pvops::vmm
