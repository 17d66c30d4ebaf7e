// SPDX-License-Identifier: MIT
#include "suite/mmu_scratch.h"

#include "kernel/layout.h"

namespace guest::suite {

DataPage* Scratch::NewPage(uint64_t tag) {
  if (page_count_ == kMaxPages) return nullptr;
  void* page = AllocPage();
  if (page == nullptr) return nullptr;
  auto* words = static_cast<uint64_t*>(page);
  words[0] = tag;
  words[511] = ~tag;
  pages_[page_count_] = DataPage{page, VirtToPhys(page), tag};
  return &pages_[page_count_++];
}

TablePath* Scratch::NewPath(uint64_t root, uint64_t va, bool live, pvops::Status* status) {
  if (path_count_ == kMaxPaths) {
    *status = PVOPS_ERR_NO_RESOURCE;
    return nullptr;
  }
  TablePath* path = &paths_[path_count_];
  live_[path_count_] = live;
  ++path_count_;  // counted even on failure: a partial path still owns its tables
  *status = BuildPath(root, va, path);
  return status->ok() ? path : nullptr;
}

void Scratch::AlsoFlushOnRelease(const pvops::CpuSet& cpus) {
  remote_ = cpus;
  has_remote_ = true;
}

pvops::Status Scratch::Release() {
  pvops::Status first = PVOPS_OK;
  while (path_count_ > 0) {
    --path_count_;
    const pvops::Status st = TearDownPath(&paths_[path_count_], live_[path_count_]);
    if (!st.ok() && first.ok()) first = st;
  }
  if (has_remote_) {
    const pvops::Status st = pvops::FlushTlbMulti(remote_);
    if (!st.ok() && first.ok()) first = st;
    has_remote_ = false;
  }
  while (page_count_ > 0) FreePage(pages_[--page_count_].page);
  return first;
}

}  // namespace guest::suite
