/* SPDX-License-Identifier: MIT */
// State the core keeps for every backend: the kernel's environment, per-CPU facts, interrupt
// handlers and counters. Backends read it; only the core writes the environment.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::core {

// The kernel's environment as given to pvops_init (zeroed callbacks replaced by safe defaults).
void InstallEnv(const pvops_env& env);
const pvops_env& Env();
uint32_t ThisCpu();
uint64_t VirtToPhys(const void* va);
// PVOPS_ENV_KERNEL_OWNS_APIC: the library leaves TPR, the spurious vector and the LVT alone.
bool KernelOwnsApic();
void* PhysToVirt(uint64_t pa);  // nullptr when unmapped

// What the loader mapped before the kernel had page tables of its own (Xen PV: the bootstrap
// region, pfn N at va + N pages, whose page tables are table_frames frames from table_pfn),
// and how many pages of memory it gave. Set by the backend that knows it; zero elsewhere. The
// direct-map helper reaches the running top-level table through it, keeps those frames
// read-only, and maps `pages` when the kernel asks for all of memory.
struct LoaderMapping {
  uint64_t va, bytes, table_pfn, table_frames, pages;
};
extern LoaderMapping g_loader_mapping;

// Per-CPU facts the backends share: the core's part of each CPU's area (core/cpu_area.h).
struct PerCpu {
  uint32_t apic_id;
  uint32_t online;  // set by pvops_cpu_online
  // The one-shot timer armed on this CPU (core/oneshot.h): 0 = none.
  uint64_t oneshot_deadline;
  uint32_t oneshot_early;  // early interrupts since it was armed
  uint8_t oneshot_vector;
  // The suspend's rendezvous (core/move.cc): where this CPU is in it, and the status of its
  // release (while parked) or of its online again (once it rejoined).
  uint8_t park_state;
  int32_t park_status;
  uint32_t park_seq;  // the release sequence it parked under
};
// `cpu`'s facts, for reading; a CPU without an area reads as offline.
const PerCpu& Cpu(uint32_t cpu);
// `cpu`'s facts, for its own set-up; nullptr when it has no area.
PerCpu* CpuRecord(uint32_t cpu);
uint32_t OnlineCpuCount();

// Vectors the library itself uses; the kernel routes them to pvops_handle_interrupt.
inline constexpr uint8_t kVectorTlbFlush = 0xfd;
inline constexpr uint8_t kVectorPark = PVOPS_VECTOR_PARK;
inline constexpr uint8_t kVectorSpurious = 0xff;

struct IrqHandler {
  pvops_irq_handler fn;
  void* ctx;
};
[[nodiscard]] pvops_status SetIrqHandler(uint8_t vector, pvops_irq_handler fn, void* ctx);
IrqHandler GetIrqHandler(uint8_t vector);

// Counters: what the backends did (hypercalls issued, exits avoided). A list of them, names
// (static strings) beside values; pvops_get_counters lists the shared ones below, then each
// backend's own (Backend::counters) in backend id order. Names and that order are ABI.
struct CounterGroup {
  const char* const* names;
  uint64_t* values;
  uint32_t count;
};

// A counter list named by an enum class that ends in kCount: the shared one below, or a
// backend's own, declared with the backend. The values live here, one array per enum.
template <typename Id>
class CounterSet {
 public:
  template <size_t N>
  constexpr explicit CounterSet(const char* const (&names)[N]) : group_{names, values_, N} {
    static_assert(N == static_cast<size_t>(Id::kCount), "one name per counter");
  }
  // Static and inline: counting is one locked add in the caller, not a call.
  static void Count(Id c, uint64_t n = 1) {
    __atomic_fetch_add(&values_[static_cast<uint32_t>(c)], n, __ATOMIC_RELAXED);
  }
  // Where the count lives, for code the patcher writes that counts inline.
  static constexpr const uint64_t* Address(Id c) { return &values_[static_cast<uint32_t>(c)]; }
  uint64_t Value(Id c) const {
    return __atomic_load_n(&group_.values[static_cast<uint32_t>(c)], __ATOMIC_RELAXED);
  }
  constexpr CounterGroup group() const { return group_; }

 private:
  static inline uint64_t values_[static_cast<size_t>(Id::kCount)];
  CounterGroup group_;
};

// The counters any backend (or the hardware layer) may count.
enum class Counter : uint32_t {
  kHypercalls,
  kIpisSent,
  kIpiHypercalls,
  kTlbFlushRemote,
  kTlbFlushHypercalls,
  kTlbFlushPreemptedSkipped,
  kTlbFlushRemoteCalls,  // a kernel's remote flush that asked the hypervisor (flush_tlb_remote)
  kPvEoiFast,
  kPvEoiSlow,
  kPteUpdates,
  kLazyBatches,
  kLazyBatchedUpdates,
  kLockWaits,
  kLockKicks,
  kTimerArms,
  kTimerEarlyRearms,  // a one-shot interrupt came before clock_ns reached its deadline
  kClockReads,
  kClockRetries,
  kCount
};
inline void Count(Counter c, uint64_t n = 1) { CounterSet<Counter>::Count(c, n); }
uint64_t CounterValue(Counter c);

#ifdef PVOPS_SIM_CPU
// Host tests only (no kernel calls it, so the freestanding build leaves it out): forget CPUs,
// handlers and counters between cases.
void ResetForTest();
#endif

}  // namespace pvops::core
