/* SPDX-License-Identifier: MIT */
// Timing an op's variants (table, patched, raw, ...) so that their ratio repeats under TCG:
//  - a sample times a batch of ops, long enough to span kMinStepsPerSample steps of the TSC
//    (whose reading moves in steps of tens of cycles), the batch chosen per op and variant by a
//    calibration pass that asks for twice that (a sample may run faster later);
//  - the variants take turns in rounds, kSamplesPerRound samples each, one sample of each in
//    turn (round r starts at variant r mod n), so that drift of the host hits all alike;
//  - a variant's figure is the median of its round medians; their min and max are its spread;
//  - then each variant runs kCountedSamples batches on its own between two reads of the
//    counters (the library's, KVM's exits): its counts per op.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

#include "bench/kvm_exit_counter.h"
#include "bench/raw_insns.h"
#include "bench/sample_stats.h"

namespace guest::bench {

inline constexpr uint32_t kRounds = 21;
inline constexpr uint32_t kSamplesPerRound = 48;
inline constexpr uint32_t kCountedSamples = 4 * kSamplesPerRound;
inline constexpr uint32_t kMaxVariants = 4;

// The TSC's resolution as the sampler sees it (the smallest move between back-to-back reads;
// TCG's TSC moves in steps): measured once, before any op.
uint64_t MeasureTscStep();
uint64_t TscStep();

// Every counter the library keeps, at one moment.
struct LibraryCounters {
  uint32_t count;
  pvops_counter values[PVOPS_MAX_COUNTERS];
  static LibraryCounters Now();
};

// What the counters moved by across a variant's sample sets, summed over its rounds.
struct CounterTotals {
  uint32_t windows;
  uint32_t count;  // the library's counters, in pvops_get_counters order
  const char* names[PVOPS_MAX_COUNTERS];
  uint64_t library[PVOPS_MAX_COUNTERS];
  bool kvm_counted;
  uint64_t kvm_exits, kvm_hypercalls;  // net of the reads' own exits
};

// Probes the KVM stats port and measures its own overhead, once.
void InitCounters();
bool KvmCounted();

// One way of doing an op: `time_batch` runs `body` `batch` times between two TSC reads (the
// body inlined into that loop, so every variant has the same loop around it).
struct Variant {
  const char* name;  // table, patched, raw, exiting
  const char* what;  // what one op is
  uint64_t (*time_batch)(const void* body, uint32_t batch, uint32_t seq);
  const void* body;
};

template <typename Body>
uint64_t TimeBatch(const void* body, uint32_t batch, uint32_t seq) {
  const Body& op = *static_cast<const Body*>(body);
  const uint64_t start = ReadTsc();
#pragma clang loop unroll(disable)
  for (uint32_t i = 0; i < batch; ++i) op(seq + i);
  return ReadTsc() - start;
}

// `body(seq)` does one op; seq counts ops over the whole run (the PTE ops alternate on it).
// The body must outlive the measurement.
template <typename Body>
Variant MakeVariant(const char* name, const char* what, const Body& body) {
  return Variant{name, what, &TimeBatch<Body>, &body};
}

struct VariantResult {
  uint32_t batch;
  uint64_t calibration_cycles;      // what one batch took when the calibration chose it
  uint64_t round_medians[kRounds];  // TSC cycles of the median batch of each round
  CounterTotals counters;           // over kCountedSamples batches
};

struct OpResult {
  uint32_t variants;
  VariantResult results[kMaxVariants];
};

// Calibrates the batch, runs kRounds rounds of every variant, then counts; `out` is large.
void Measure(const Variant* variants, uint32_t count, OpResult* out);

}  // namespace guest::bench
