/* SPDX-License-Identifier: MIT */
// The pages and page-table paths one mmu case uses, given back on every exit path.
#pragma once

#include <stdint.h>

#include <pvops/pvops.hpp>

#include "kernel/paging.h"

namespace guest::suite {

inline constexpr uint32_t kLazyBatchPages = 64;

// A page whose first and last words carry a tag, so a read shows which frame a VA maps.
struct DataPage {
  void* page;
  uint64_t phys;
  uint64_t tag;
};

// Release() reports the library's ReleasePt status; the destructor releases whatever a failing
// case left behind.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { (void)Release(); }

  // A pool page tagged with `tag`; nullptr when the pool or this scratch is full.
  DataPage* NewPage(uint64_t tag);
  // Builds the path for `va` under `root`; `live`: root is the current address space.
  TablePath* NewPath(uint64_t root, uint64_t va, bool live, pvops::Status* status);
  // Also flush these CPUs when tearing down: they may cache the case's translations.
  void AlsoFlushOnRelease(const pvops::CpuSet& cpus);
  pvops::Status Release();

 private:
  static constexpr uint32_t kMaxPages = kLazyBatchPages + 2;  // the biggest case's need
  static constexpr uint32_t kMaxPaths = 2;
  DataPage pages_[kMaxPages];
  uint32_t page_count_ = 0;
  TablePath paths_[kMaxPaths];
  bool live_[kMaxPaths] = {};
  uint32_t path_count_ = 0;
  pvops::CpuSet remote_;
  bool has_remote_ = false;
};

}  // namespace guest::suite
