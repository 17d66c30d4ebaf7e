// Printing what the bench measured: one `bench:` line per (op, impl) and one TAP line per op.
#pragma once

#include <stdint.h>

#include "bench/sampler.h"
#include "suite/framework.h"

namespace guest::bench {

class BenchReport {
 public:
  // One measurement. `what` says exactly what one sample timed; `ops_per_sample` is how many
  // updates one sample holds (64 for the PTE batches), printed so readers can divide.
  void Line(const char* op, const char* impl, const char* what, const Summary& summary,
            const CounterDeltas& deltas, uint32_t ops_per_sample = 1);
  // The same with `hypercalls=N hypercalls_per_op=N.NN` from the library's "hypercalls"
  // counter, printed even when it stayed at 0: for the ops that must not enter the hypervisor.
  void LineWithHypercalls(const char* op, const char* impl, const char* what,
                          const Summary& summary, const CounterDeltas& deltas);
  // A library call and its raw baseline from SamplePaired: two lines, figures per call, with
  // the batch, the TSC step and the shortest sample in steps; the library's line also carries
  // the rounds' ratio (median, range).
  void PairedLines(const char* op, const char* lib_what, const char* raw_what, const Paired& p);
  // A measurement that could not be taken here, with the reason.
  void Unavailable(const char* op, const char* impl, const char* reason);

  void Pass(const char* op);
  [[gnu::format(printf, 3, 4)]] void Fail(const char* op, const char* format, ...);
  [[gnu::format(printf, 3, 4)]] void Skip(const char* op, const char* format, ...);

  const suite::Summary& summary() const { return summary_; }

 private:
  uint32_t number_ = 0;
  suite::Summary summary_{0, 0, 0};
};

}  // namespace guest::bench
