// SPDX-License-Identifier: MIT
// pvops.hpp - the C++ face of the pvops ABI: typed inline wrappers over the same table as
// pvops.h. Freestanding-safe: no exceptions, no heap, only <pvops/pvops.h>.
#pragma once

#include <pvops/pvops.h>

namespace pvops {

// A status that names itself; converts from the C status and is cheap to pass around.
class [[nodiscard]] Status {
 public:
  constexpr Status(pvops_status code = PVOPS_OK) : code_(code) {}  // NOLINT: implicit by design
  constexpr bool ok() const { return code_ == PVOPS_OK; }
  constexpr pvops_status code() const { return code_; }
  const char* name() const { return pvops_status_name(code_); }
  constexpr bool operator==(const Status&) const = default;

 private:
  pvops_status code_;
};

enum class Backend : uint32_t {
  kNative = PVOPS_BACKEND_NATIVE,
  kKvm = PVOPS_BACKEND_KVM,
  kXen = PVOPS_BACKEND_XEN,
  kHyperV = PVOPS_BACKEND_HYPERV,
  kVmi = PVOPS_BACKEND_VMI,
};

class CpuSet {
 public:
  constexpr CpuSet() : set_{} {}
  static CpuSet Only(uint32_t cpu) {
    CpuSet s;
    s.Add(cpu);
    return s;
  }
  void Add(uint32_t cpu) { pvops_cpuset_add(&set_, cpu); }
  bool Has(uint32_t cpu) const { return pvops_cpuset_has(&set_, cpu) != 0; }
  const pvops_cpuset* raw() const { return &set_; }
  pvops_cpuset* raw() { return &set_; }

 private:
  pvops_cpuset set_;
};

// Interrupts off for a scope, restored as they were (nests).
class IrqSave {
 public:
  IrqSave() : flags_(pvops_irq_save()) {}
  ~IrqSave() { pvops_restore_flags(flags_); }
  IrqSave(const IrqSave&) = delete;
  IrqSave& operator=(const IrqSave&) = delete;

 private:
  uint64_t flags_;
};

// Lazy MMU mode for a scope: updates inside are batched and issued at the end.
class LazyMmu {
 public:
  LazyMmu() { pvops_lazy_mmu_begin(); }
  ~LazyMmu() { pvops_lazy_mmu_end(); }
  LazyMmu(const LazyMmu&) = delete;
  LazyMmu& operator=(const LazyMmu&) = delete;
};

inline pvops_cpuid_regs Cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  pvops_cpuid_regs r;
  pvops_cpuid(leaf, subleaf, &r);
  return r;
}
inline uint64_t ReadMsr(uint32_t msr) { return pvops_read_msr(msr); }
inline void WriteMsr(uint32_t msr, uint64_t value) { pvops_write_msr(msr, value); }
inline Status ReadMsrSafe(uint32_t msr, uint64_t* value) { return pvops_read_msr_safe(msr, value); }
inline Status WriteMsrSafe(uint32_t msr, uint64_t value) {
  return pvops_write_msr_safe(msr, value);
}
inline void IoDelay() { pvops_io_delay(); }
inline void Halt() { pvops_halt(); }
inline void SafeHalt() { pvops_safe_halt(); }

inline uint64_t SaveFlags() { return pvops_save_flags(); }
inline void RestoreFlags(uint64_t flags) { pvops_restore_flags(flags); }
inline bool IrqsEnabled() { return (pvops_save_flags() & (1u << 9)) != 0; }
inline void IrqDisable() { pvops_irq_disable(); }
inline void IrqEnable() { pvops_irq_enable(); }
inline void Eoi() { pvops_eoi(); }
inline Status SendIpi(const CpuSet& cpus, uint8_t vector) {
  return pvops_send_ipi(cpus.raw(), vector);
}
inline Status TimerOneshot(uint64_t deadline_ns, uint8_t vector) {
  return pvops_timer_oneshot(deadline_ns, vector);
}
inline Status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx = nullptr) {
  return pvops_register_handler(vector, handler, ctx);
}

inline uint64_t ReadCr3() { return pvops_read_cr3(); }
inline void WriteCr3(uint64_t cr3) { pvops_write_cr3(cr3); }
inline void SetPte(pvops_pte* ptep, pvops_pte value) { pvops_set_pte(ptep, value); }
inline void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value) {
  pvops_update_pte(ptep, va, value);
}
inline pvops_pte ReadPte(const pvops_pte* ptep) { return pvops_read_pte(ptep); }
inline Status AllocPt(uint64_t pfn, uint32_t level) { return pvops_alloc_pt(pfn, level); }
inline Status ReleasePt(uint64_t pfn, uint32_t level) { return pvops_release_pt(pfn, level); }
inline void FlushTlbLocal() { pvops_flush_tlb_local(); }
inline void FlushTlbOne(uint64_t va) { pvops_flush_tlb_one(va); }
inline Status FlushTlbMulti(const CpuSet& cpus, uint64_t start = 0, uint64_t end = 0) {
  return pvops_flush_tlb_multi(cpus.raw(), start, end);
}
// Leaves in *cpus the CPUs the caller must still flush itself.
inline Status FlushTlbRemote(CpuSet* cpus, uint64_t start = 0, uint64_t end = 0) {
  return pvops_flush_tlb_remote(cpus->raw(), start, end);
}
inline void LazyMmuFlush() { pvops_lazy_mmu_flush(); }
inline uint64_t PhysToMachine(uint64_t phys) { return pvops_phys_to_machine(phys); }
inline uint64_t MachineToPhys(uint64_t machine) { return pvops_machine_to_phys(machine); }

inline uint64_t ClockNs() { return pvops_clock_ns(); }
inline Status WallClock(pvops_wall_clock* out) { return pvops_get_wall_clock(out); }
inline Status UserClock(pvops_user_clock* out) { return pvops_get_user_clock(out); }
inline uint64_t TscKhz() { return pvops_tsc_khz(); }
inline uint64_t StealNs(uint32_t cpu) { return pvops_steal_ns(cpu); }

inline void LockWait(const volatile uint8_t* ptr, uint8_t value) { pvops_lock_wait(ptr, value); }
inline void LockKick(uint32_t cpu) { pvops_lock_kick(cpu); }
inline bool VcpuIsPreempted(uint32_t cpu) { return pvops_vcpu_is_preempted(cpu) != 0; }

inline Status Hypercall(uint64_t nr, int64_t* result, uint64_t a0 = 0, uint64_t a1 = 0,
                        uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0) {
  return pvops_hypercall(nr, a0, a1, a2, a3, a4, result);
}

inline void ConsoleWrite(const char* text, size_t len) { pvops_console_write(text, len); }
[[noreturn]] inline void Shutdown(uint32_t code) {
  pvops_shutdown(code);
  __builtin_unreachable();
}
inline Status StartCpu(uint32_t cpu, uint32_t apic_id, const pvops_cpu_start& start) {
  return pvops_start_cpu(cpu, apic_id, &start);
}

inline Status LoadIdt(const void* idt, uint16_t limit) { return pvops_load_idt(idt, limit); }
inline Status LoadGdt(const void* gdt, uint16_t limit, uint16_t code_selector,
                      uint16_t data_selector) {
  return pvops_load_gdt(gdt, limit, code_selector, data_selector);
}
inline Status LoadTr(uint16_t selector) { return pvops_load_tr(selector); }
inline uint64_t ReadCr2() { return pvops_read_cr2(); }

inline Status EarlyInit(uint32_t entry, const void* boot_info) {
  return pvops_early_init(entry, boot_info);
}
inline const pvops_info& Info() { return *pvops_get_info(); }
inline Backend ChosenBackend() { return static_cast<Backend>(pvops_get_info()->backend); }

}  // namespace pvops
