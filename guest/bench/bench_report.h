/* SPDX-License-Identifier: MIT */
// Printing what the bench measured: one `bench:` line per (op, variant) and one TAP line per op.
#pragma once

#include <stdint.h>

#include "bench/sampler.h"
#include "suite/framework.h"

namespace guest::bench {

class BenchReport {
 public:
  // The batch the calibration chose per variant and what one batch took (batch:cycles).
  void Calibration(const char* op, const Variant* variants, const OpResult& result);
  // Variant `index` of `result`. `site` (may be null) says what the variant's call sites became;
  // `updates_per_op` is how many updates one op holds (64 for the PTE batches).
  void Line(const char* op, const Variant& variant, const OpResult& result, uint32_t index,
            const char* site = nullptr, uint32_t updates_per_op = 1);
  // Every variant of `result` in order, none with a site.
  void Lines(const char* op, const Variant* variants, const OpResult& result,
             uint32_t updates_per_op = 1);
  // A measurement that could not be taken here, with the reason.
  void Unavailable(const char* op, const char* variant, const char* reason);

  void Pass(const char* op);
  [[gnu::format(printf, 3, 4)]] void Fail(const char* op, const char* format, ...);
  [[gnu::format(printf, 3, 4)]] void Skip(const char* op, const char* format, ...);

  const suite::Summary& summary() const { return summary_; }

 private:
  uint32_t number_ = 0;
  suite::Summary summary_{0, 0, 0};
};

}  // namespace guest::bench
