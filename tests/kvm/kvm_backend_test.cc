// SPDX-License-Identifier: MIT
// The KVM backend's logic on a simulated CPU with a scripted KVM: the MSRs it registers, the
// hypercalls it makes and when it leaves a path native. A scripted KVM answers the way the
// kernel's arch/x86/kvm does for these calls; the real answers are checked by the kvm
// environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/kvm_para.h>

#include <string>
#include <vector>

#include "backends/kvm/kvm.h"
#include "bare_metal_machine.h"
#include "core/cpu_area.h"

namespace pvops::test {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kAllFeatures =
    (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
    (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |
    (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_TLB_FLUSH) |
    (1u << KVM_FEATURE_PV_SEND_IPI) | (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
// A 2 GHz TSC as KVM encodes it: ns = ticks * 2^31 >> 32.
constexpr uint32_t kMul = 0x80000000;
constexpr uint64_t kSystemTimeAtRegistration = 5'000'000;

struct KvmHypercall {
  uint32_t cpu;
  uint64_t nr, a0, a1, a2, a3;
};

class KvmBackendTest : public BareMetalMachineTest {
 protected:
  KvmBackendTest() { model_.hypervisor_bit = true; }

  // Describes KVM (features offered, vendor) and runs pvops_init on CPU 0.
  void BootKvm(uint32_t features = kAllFeatures, bool amd = true, uint32_t base = 0x40000000) {
    sim::LoadCpuModel(sim_, model_);
    if (amd) sim_.SetCpuid(0, {model_.max_basic_leaf, 0x68747541, 0x444d4163, 0x69746e65});
    sim_.SetHypervisorLeaf(base, base + 1, std::string_view(KVM_SIGNATURE, 12));
    sim_.SetCpuid(base + 1, {features, 0, 0, 0});
    sim_.HandleMsrs(
        MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_PV_EOI_EN,
        [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; },
        [this](uint32_t msr, uint64_t value) { return WriteKvmMsr(msr, value); });
    const auto answer = [this](arch::HypercallRegs& r) { AnswerHypercall(r); };
    sim_.SetHypercallHandler(arch::HypercallInsn::kVmmcall, answer);
    sim_.SetHypercallHandler(arch::HypercallInsn::kVmcall, answer);
    env_ = sim::MakeEnv();
    ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  }

  bool WriteKvmMsr(uint32_t msr, uint64_t value) {
    if ((offered_ & OfferedFor(msr)) == 0) return false;  // KVM enforces the CPUID it gave
    for (const auto& [refused_msr, cpu] : refused_)
      if (refused_msr == msr && cpu == sim_.current_cpu()) return false;
    msr_writes_.push_back({msr, value});
    void* area = sim_.GuestMemory(value & ~uint64_t{KVM_MSR_ENABLED});
    if (msr == MSR_KVM_SYSTEM_TIME_NEW && (value & KVM_MSR_ENABLED) != 0 && fill_clock_) {
      auto* t = static_cast<vcpu_time_info*>(area);
      t->tsc_timestamp = sim_.tsc();
      t->system_time = kSystemTimeAtRegistration;
      t->tsc_to_system_mul = kMul;
      t->tsc_shift = 0;
      t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
      t->version = 2;
    }
    if (msr == MSR_KVM_WALL_CLOCK_NEW) {
      auto* wc = static_cast<kvm::WallClockRecord*>(area);
      wc->sec = 1'700'000'000;
      wc->nsec = 999'000'000;
      wc->version = 2;
    }
    return true;
  }

  uint32_t OfferedFor(uint32_t msr) const {
    switch (msr) {
      case MSR_KVM_WALL_CLOCK_NEW:
      case MSR_KVM_SYSTEM_TIME_NEW: return 1u << KVM_FEATURE_CLOCKSOURCE2;
      case MSR_KVM_STEAL_TIME: return 1u << KVM_FEATURE_STEAL_TIME;
      case MSR_KVM_PV_EOI_EN: return 1u << KVM_FEATURE_PV_EOI;
    }
    return 0;
  }

  void AnswerHypercall(arch::HypercallRegs& r) {
    hypercalls_.push_back({sim_.current_cpu(), r.rax, r.rbx, r.rcx, r.rdx, r.rsi});
    if (r.rax == KVM_HC_SEND_IPI) {
      const uint64_t bits[2] = {r.rbx, r.rcx};
      const uint64_t min_id = r.rdx;
      const uint8_t vector = static_cast<uint8_t>(r.rsi);
      r.rax =
          send_ipi_answer_.value_or(__builtin_popcountll(bits[0]) + __builtin_popcountll(bits[1]));
      // APIC ID == CPU index in these machines unless a test renumbers them.
      if (deliver_sent_ipis_) {
        for (uint32_t i = 0; i < 128; ++i)
          if ((bits[i / 64] >> (i % 64)) & 1)
            sim_.RunOnCpu(static_cast<uint32_t>(min_id + i),
                          [&] { pvops_handle_interrupt(vector); });
      }
    } else if (r.rax == KVM_HC_KICK_CPU || r.rax == KVM_HC_VAPIC_POLL_IRQ)
      r.rax = 0;
    else
      r.rax = static_cast<uint64_t>(-KVM_ENOSYS);
  }

  std::vector<KvmHypercall> HypercallsNumbered(uint64_t nr) const {
    std::vector<KvmHypercall> out;
    for (const KvmHypercall& h : hypercalls_)
      if (h.nr == nr) out.push_back(h);
    return out;
  }

  std::optional<uint64_t> LastMsrWrite(uint32_t msr) const {
    std::optional<uint64_t> value;
    for (const auto& [m, v] : msr_writes_)
      if (m == msr) value = v;
    return value;
  }

  std::optional<uint64_t> FirstMsrWrite(uint32_t msr) const {
    for (const auto& [m, v] : msr_writes_)
      if (m == msr) return v;
    return std::nullopt;
  }

  // A vCPU that refuses one MSR write, as a KVM short of memory for that vCPU does.
  void RefuseOnCpu(uint32_t msr, uint32_t cpu) { refused_.push_back({msr, cpu}); }

  // CPU 1 with an area, online: what its cpu_init returned.
  pvops_status OnlineCpu1() {
    void* area = NewCpuArea();
    EXPECT_EQ(pvops_set_cpu_area(1, area), PVOPS_OK);
    pvops_status st = PVOPS_ERR_INVALID;
    sim_.RunOnCpu(1, [&] { st = pvops_cpu_online(1); });
    return st;
  }

  uint32_t offered_ = kAllFeatures;
  std::vector<std::pair<uint32_t, uint32_t>> refused_;  // (MSR, CPU)
  bool fill_clock_ = true;
  bool deliver_sent_ipis_ = false;
  std::optional<uint64_t> send_ipi_answer_;  // KVM_HC_SEND_IPI's rax, when a test picks it
  std::vector<std::pair<uint32_t, uint64_t>> msr_writes_;
  std::vector<KvmHypercall> hypercalls_;
};

TEST_F(KvmBackendTest, ChosenWithItsFeatureWordsAndVmmcallOnAmd) {
  BootKvm();
  const pvops_info& info = *pvops_get_info();
  EXPECT_EQ(info.backend, uint32_t{PVOPS_BACKEND_KVM});
  EXPECT_EQ(info.features[0], kAllFeatures);
  EXPECT_EQ(info.features[3], 1u);  // vmmcall
  EXPECT_EQ(EmptySlotOf(pvops_table), "");
  int64_t result = -1;
  EXPECT_EQ(pvops_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, 0);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmmcall), 1u);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 0u);
}

TEST_F(KvmBackendTest, IntelGetsVmcall) {
  BootKvm(kAllFeatures, /*amd=*/false);
  int64_t result = -1;
  ASSERT_EQ(pvops_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 1u);
  EXPECT_EQ(pvops_get_info()->features[3], 0u);
}

TEST_F(KvmBackendTest, RawHypercallReturnsKvmsAnswerAndRefusesAFifthArgument) {
  BootKvm();
  int64_t result = 0;
  EXPECT_EQ(pvops_hypercall(999, 1, 2, 3, 4, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, -KVM_ENOSYS);
  EXPECT_EQ(hypercalls_.back().a3, 4u);
  EXPECT_EQ(pvops_hypercall(999, 1, 2, 3, 4, 5, &result), PVOPS_ERR_INVALID);
}

TEST_F(KvmBackendTest, KvmclockIsRegisteredPerCpuAndDrivesTheClock) {
  BootKvm();
  const auto reg = LastMsrWrite(MSR_KVM_SYSTEM_TIME_NEW);
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(*reg & KVM_MSR_ENABLED, 1u);
  EXPECT_EQ(*reg & ~uint64_t{1}, sim_.VirtToPhys(kvm::Clock(0)));
  EXPECT_EQ(pvops_tsc_khz(), 2'000'000u);
  // 2000 ticks at 2 GHz are 1000 ns past the registration's system time.
  const uint64_t t0 = kvm::Clock(0)->tsc_timestamp;
  sim_.SetTsc(t0 + 2000);
  sim_.SetTicksPerInstruction(0);
  EXPECT_EQ(pvops_clock_ns(), kSystemTimeAtRegistration + 1000);
}

// A secondary CPU's areas are its part of the area the kernel handed over, registered by
// physical address on that CPU: the address the kernel mapped the area at, plus the part's
// place in the layout.
TEST_F(KvmBackendTest, ASecondaryRegistersItsAreasInsideTheAreaTheKernelGave) {
  BootKvm();
  constexpr uint64_t kAreaPhys = 0x7654'3000;
  void* area = NewCpuArea();
  sim_.MapPhys(kAreaPhys, area, PVOPS_CPU_AREA_SIZE);
  ASSERT_EQ(pvops_set_cpu_area(1, area), PVOPS_OK);
  msr_writes_.clear();
  sim_.RunOnCpu(1, [] { ASSERT_EQ(pvops_cpu_online(1), PVOPS_OK); });
  const uint64_t part = kAreaPhys + offsetof(core::CpuArea, kvm);
  EXPECT_EQ(LastMsrWrite(MSR_KVM_SYSTEM_TIME_NEW),
            part + offsetof(kvm::CpuPart, clock) + KVM_MSR_ENABLED);
  EXPECT_EQ(LastMsrWrite(MSR_KVM_STEAL_TIME),
            part + offsetof(kvm::CpuPart, steal) + KVM_MSR_ENABLED);
  EXPECT_EQ(LastMsrWrite(MSR_KVM_PV_EOI_EN),
            part + offsetof(kvm::CpuPart, pv_eoi) + KVM_MSR_ENABLED);
  // CPU 1 now reads its own tuple, which the fixture's KVM filled at registration.
  sim_.SetTicksPerInstruction(0);
  uint64_t ns = 0;
  sim_.RunOnCpu(1, [&] {
    sim_.SetTsc(kvm::Clock(1)->tsc_timestamp + 4000);
    ns = pvops_clock_ns();
  });
  EXPECT_EQ(ns, kSystemTimeAtRegistration + 2000);
}

// One vCPU refusing its kvmclock must not leave it reading a tuple KVM never filled. The clock
// is one for all CPUs (a TSC clock on one CPU would disagree with the others by the whole
// uptime), so that CPU reads the boot CPU's tuple, as the vDSO does from every CPU; its other
// areas still register, the CPU comes up, and the info names it.
TEST_F(KvmBackendTest, ASecondaryRefusingKvmclockReadsTheBootCpusTuple) {
  BootKvm();
  RefuseOnCpu(MSR_KVM_SYSTEM_TIME_NEW, 1);
  msr_writes_.clear();
  EXPECT_EQ(OnlineCpu1(), PVOPS_OK);
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_SYSTEM_TIME_NEW).has_value());
  EXPECT_EQ(LastMsrWrite(MSR_KVM_STEAL_TIME),
            sim_.VirtToPhys(&kvm::Part(1)->steal) + KVM_MSR_ENABLED);
  EXPECT_EQ(LastMsrWrite(MSR_KVM_PV_EOI_EN),
            sim_.VirtToPhys(&kvm::Part(1)->pv_eoi) + KVM_MSR_ENABLED);
  // 4000 ticks at 2 GHz past the boot CPU's registration, on both CPUs.
  sim_.SetTicksPerInstruction(0);
  sim_.SetTsc(kvm::Clock(0)->tsc_timestamp + 4000);
  uint64_t on_cpu1 = 0;
  sim_.RunOnCpu(1, [&] { on_cpu1 = pvops_clock_ns(); });
  EXPECT_EQ(on_cpu1, kSystemTimeAtRegistration + 2000);
  EXPECT_EQ(pvops_clock_ns(), kSystemTimeAtRegistration + 2000);
  EXPECT_THAT(std::string(pvops_get_info()->notes), HasSubstr("cpu 1 kvmclock: fault"));
}

// Steal time and PV EOI mix across CPUs: the one refusing them takes the native path for each
// (no steal, never preempted, the APIC's EOI), the others keep theirs.
TEST_F(KvmBackendTest, ASecondaryRefusingStealTimeAndPvEoiGoesNativeForThem) {
  BootKvm();
  RefuseOnCpu(MSR_KVM_STEAL_TIME, 1);
  RefuseOnCpu(MSR_KVM_PV_EOI_EN, 1);
  msr_writes_.clear();
  EXPECT_EQ(OnlineCpu1(), PVOPS_OK);
  EXPECT_EQ(LastMsrWrite(MSR_KVM_SYSTEM_TIME_NEW),
            sim_.VirtToPhys(kvm::Clock(1)) + KVM_MSR_ENABLED);
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_STEAL_TIME).has_value());
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_PV_EOI_EN).has_value());
  EXPECT_EQ(pvops_steal_ns(1), 0u);
  EXPECT_EQ(pvops_vcpu_is_preempted(1), 0);
  sim_.RunOnCpu(1, [] { pvops_eoi(); });
  EXPECT_EQ(lapic_.eoi_count(1), 1u);
  // CPU 0 keeps PV EOI: KVM's bit still spares it the APIC.
  kvm::Part(0)->pv_eoi = KVM_PV_EOI_ENABLED;
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 0u);
  const std::string notes = pvops_get_info()->notes;
  EXPECT_THAT(notes, HasSubstr("cpu 1 steal time: fault"));
  EXPECT_THAT(notes, HasSubstr("cpu 1 PV EOI: fault"));
}

// A CPU whose area never came stays out of KVM's reach: nothing registered, a clear status.
TEST_F(KvmBackendTest, ASecondaryWithoutAnAreaRegistersNothing) {
  BootKvm();
  msr_writes_.clear();
  pvops_status st = PVOPS_OK;
  sim_.RunOnCpu(1, [&] { st = pvops_cpu_online(1); });
  EXPECT_EQ(st, PVOPS_ERR_NO_CPU_AREA);
  EXPECT_TRUE(msr_writes_.empty());
  EXPECT_EQ(pvops_table.platform.cpu_init(1), PVOPS_ERR_NO_CPU_AREA);
  EXPECT_EQ(pvops_steal_ns(1), 0u);
  EXPECT_EQ(pvops_vcpu_is_preempted(1), 0);
}

TEST_F(KvmBackendTest, AnUnfilledKvmclockIsRefusedAndTheTscClockKept) {
  fill_clock_ = false;  // KVM ignored the MSR write: version stays 0
  BootKvm();
  const pvops_info& info = *pvops_get_info();
  EXPECT_EQ(info.backend, uint32_t{PVOPS_BACKEND_KVM});
  EXPECT_THAT(std::string(info.notes), HasSubstr("kvmclock refused (bad-data)"));
  EXPECT_EQ(info.features[2] & (1u << KVM_FEATURE_CLOCKSOURCE2), 0u);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);  // the native rate from CPUID 0x15
}

TEST_F(KvmBackendTest, WallClockIsKvmsBootTimePlusSystemTime) {
  BootKvm();
  sim_.SetTicksPerInstruction(0);
  sim_.SetTsc(kvm::Clock(0)->tsc_timestamp + 4000);  // system time + 2000 ns
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  // 999'000'000 ns + 5'002'000 ns carries one second.
  EXPECT_EQ(wc.sec, 1'700'000'001u);
  EXPECT_EQ(wc.nsec, 4'002'000u);
}

// The page a kernel may map for its vDSO: CPU 0's tuple at offset 0 of a page that holds only
// clock tuples, exactly where KVM was told to write it.
TEST_F(KvmBackendTest, UserClockIsCpu0sTupleAtTheStartOfAClockOnlyPage) {
  BootKvm();
  OnlineCpus(2);
  pvops_user_clock clock{};
  ASSERT_EQ(pvops_get_user_clock(&clock), PVOPS_OK);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_PVCLOCK});
  EXPECT_EQ(clock.stable, 1u);  // the fixture's KVM sets the stable bit
  EXPECT_EQ(reinterpret_cast<uintptr_t>(clock.page) % PVOPS_PAGE_SIZE, 0u);
  EXPECT_EQ(clock.page, static_cast<const void*>(kvm::Clock(0)));
  EXPECT_EQ(clock.page_phys, sim_.VirtToPhys(kvm::Clock(0)));
  // The boot CPU registered first.
  EXPECT_EQ(clock.page_phys,
            FirstMsrWrite(MSR_KVM_SYSTEM_TIME_NEW).value_or(0) & ~uint64_t{KVM_MSR_ENABLED});
  // Nothing else of the library's shares the page: CPU 1's tuple and every CPU's area (steal
  // time, PV EOI, the other parts) lie outside it.
  const auto page = reinterpret_cast<uintptr_t>(clock.page);
  const auto outside = [page](const void* p, size_t size) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    return at + size <= page || at >= page + PVOPS_PAGE_SIZE;
  };
  EXPECT_TRUE(outside(kvm::Clock(1), sizeof(vcpu_time_info)));
  for (uint32_t cpu = 0; cpu < 2; ++cpu)
    EXPECT_TRUE(outside(core::AreaOf(cpu), sizeof(core::CpuArea))) << cpu;
}

TEST_F(KvmBackendTest, UserClockSaysUnstableWithoutTheStableBit) {
  BootKvm();
  kvm::Clock(0)->flags = 0;  // KVM cleared it: the host's TSC is not stable across CPUs
  pvops_user_clock clock{};
  ASSERT_EQ(pvops_get_user_clock(&clock), PVOPS_OK);
  EXPECT_EQ(clock.stable, 0u);
}

TEST_F(KvmBackendTest, NoUserClockWithoutKvmclock) {
  fill_clock_ = false;  // kvmclock refused: the backend runs on the TSC
  BootKvm();
  pvops_user_clock clock{};
  clock.kind = 99;
  EXPECT_EQ(pvops_get_user_clock(&clock), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_NONE});
  EXPECT_EQ(clock.page, nullptr);
}

TEST_F(KvmBackendTest, UserClockRefusesATupleKvmLeftOddForever) {
  BootKvm();
  kvm::Clock(0)->version = 3;  // an update that never ends
  pvops_user_clock clock{};
  EXPECT_EQ(pvops_get_user_clock(&clock), PVOPS_ERR_BUSY);
  EXPECT_EQ(clock.page, nullptr);
  EXPECT_EQ(pvops_get_user_clock(nullptr), PVOPS_ERR_INVALID);
}

TEST_F(KvmBackendTest, WithheldFeaturesLeaveTheirPathsNative) {
  offered_ = (1u << KVM_FEATURE_NOP_IO_DELAY);
  BootKvm(offered_);
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_SYSTEM_TIME_NEW).has_value());
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_PV_EOI_EN).has_value());
  EXPECT_FALSE(LastMsrWrite(MSR_KVM_STEAL_TIME).has_value());
  EXPECT_EQ(pvops_get_info()->features[2], offered_);
  // EOI is the APIC's, IPIs go through the ICR, not KVM_HC_SEND_IPI.
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  OnlineCpus(2);
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  pvops_cpuset_add(&cpus, 1);
  ASSERT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_OK);
  EXPECT_TRUE(HypercallsNumbered(KVM_HC_SEND_IPI).empty());
  ASSERT_EQ(lapic_.sent().size(), 1u);
  EXPECT_EQ(lapic_.sent()[0].destination, 1u);
}

TEST_F(KvmBackendTest, NopIoDelayTouchesNoPort) {
  BootKvm();
  sim_.ResetExits();
  pvops_io_delay();
  EXPECT_EQ(sim_.exits(sim::Exit::kPortOut), 0u);
}

TEST_F(KvmBackendTest, SendIpiPacksApicIdsInto128BitWindows) {
  BootKvm();
  lapic_.SetApicId(1, 1);
  lapic_.SetApicId(2, 2);
  lapic_.SetApicId(3, 200);  // beyond the first window
  OnlineCpus(4);
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  for (uint32_t cpu : {1u, 2u, 3u}) pvops_cpuset_add(&cpus, cpu);
  ASSERT_EQ(pvops_send_ipi(&cpus, 0xf2), PVOPS_OK);
  const auto sends = HypercallsNumbered(KVM_HC_SEND_IPI);
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[0].a0, 0b11u);  // APIC IDs 1 and 2 from min 1
  EXPECT_EQ(sends[0].a1, 0u);
  EXPECT_EQ(sends[0].a2, 1u);
  EXPECT_EQ(sends[0].a3, 0xf2u);  // fixed delivery: the vector alone
  EXPECT_EQ(sends[1].a0, 1u);
  EXPECT_EQ(sends[1].a2, 200u);
  EXPECT_TRUE(lapic_.sent().empty());  // no ICR write at all
}

// KVM answers how many vCPUs it reached (at most those named) or a negative KVM error:
// reaching more, or a negative value of any kind, is an error and not a success.
TEST_F(KvmBackendTest, ASendIpiAnswerOutsideKvmsRangeIsAnError) {
  BootKvm();
  OnlineCpus(3);
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  pvops_cpuset_add(&cpus, 1);
  pvops_cpuset_add(&cpus, 2);
  send_ipi_answer_ = 2;
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_OK);
  send_ipi_answer_ = 1;  // one vCPU was not reached: KVM's answer, not an error of the call
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_OK);
  send_ipi_answer_ = 3;
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_ERR_BAD_DATA);
  send_ipi_answer_ = uint64_t{1} << 40;
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_ERR_BAD_DATA);
  send_ipi_answer_ = static_cast<uint64_t>(-KVM_ENOSYS);
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_ERR_HYPERVISOR);
  send_ipi_answer_ = uint64_t{1} << 63;
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_ERR_HYPERVISOR);
}

TEST_F(KvmBackendTest, SendIpiToAnOfflineCpuIsRefused) {
  BootKvm();
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  pvops_cpuset_add(&cpus, 5);
  EXPECT_EQ(pvops_send_ipi(&cpus, 0x40), PVOPS_ERR_INVALID);
  EXPECT_TRUE(HypercallsNumbered(KVM_HC_SEND_IPI).empty());
}

TEST_F(KvmBackendTest, PvEoiSkipsTheApicWhenKvmSetTheBit) {
  BootKvm();
  const auto reg = LastMsrWrite(MSR_KVM_PV_EOI_EN);
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(*reg & ~uint64_t{1}, sim_.VirtToPhys(&kvm::Part(0)->pv_eoi));
  kvm::Part(0)->pv_eoi = KVM_PV_EOI_ENABLED;  // KVM injected an interrupt it can end itself
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 0u);
  EXPECT_EQ(kvm::Part(0)->pv_eoi, 0u);
  pvops_eoi();  // the bit is gone: the APIC must hear this one
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
}

TEST_F(KvmBackendTest, StealTimeAreaIs64ByteAlignedAndReadUnderItsVersion) {
  BootKvm();
  const auto reg = LastMsrWrite(MSR_KVM_STEAL_TIME);
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(*reg & 63, uint64_t{KVM_MSR_ENABLED});
  kvm::Part(0)->steal.steal = 12345;
  kvm::Part(0)->steal.version = 4;
  EXPECT_EQ(pvops_steal_ns(0), 12345u);
}

TEST_F(KvmBackendTest, SettingACpuUpAgainKeepsItsStealCount) {
  BootKvm();
  kvm::Part(0)->steal.steal = 777;
  kvm::Part(0)->steal.version = 2;
  ASSERT_EQ(pvops_cpu_online(0), PVOPS_OK);
  EXPECT_EQ(pvops_steal_ns(0), 777u) << "a steal clock must never go back";
  EXPECT_EQ(*LastMsrWrite(MSR_KVM_STEAL_TIME) & ~uint64_t{63},
            sim_.VirtToPhys(&kvm::Part(0)->steal));
}

TEST_F(KvmBackendTest, PvTlbFlushFlagsAPreemptedVcpuInsteadOfInterruptingIt) {
  BootKvm();
  OnlineCpus(3);
  QueueIpis();
  kvm::Part(1)->steal.preempted = KVM_VCPU_PREEMPTED;
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  pvops_cpuset_add(&cpus, 1);
  ASSERT_EQ(pvops_flush_tlb_multi(&cpus, 0, 0), PVOPS_OK);
  EXPECT_EQ(kvm::Part(1)->steal.preempted, KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB);
  EXPECT_TRUE(lapic_.sent().empty());
  EXPECT_EQ(core::CounterValue(core::Counter::kTlbFlushPreemptedSkipped), 1u);
  EXPECT_TRUE(pvops_vcpu_is_preempted(1));
  EXPECT_FALSE(pvops_vcpu_is_preempted(2));
}

TEST_F(KvmBackendTest, RemoteFlushLeavesTheKernelOnlyTheVcpusThatAreRunning) {
  BootKvm();
  OnlineCpus(4);
  QueueIpis();
  kvm::Part(1)->steal.preempted = KVM_VCPU_PREEMPTED;
  kvm::Part(3)->steal.preempted = KVM_VCPU_PREEMPTED;
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  for (uint32_t cpu : {0u, 1u, 2u}) pvops_cpuset_add(&cpus, cpu);
  sim_.ResetExits();
  ASSERT_EQ(pvops_flush_tlb_remote(&cpus, 0, 0), PVOPS_OK);
  // CPU 1 flushes on its next entry; CPU 0 (the caller) and CPU 2 (running) are left to the
  // kernel's IPIs; CPU 3 was not asked and is not flagged.
  EXPECT_FALSE(pvops_cpuset_has(&cpus, 1));
  EXPECT_TRUE(pvops_cpuset_has(&cpus, 0));
  EXPECT_TRUE(pvops_cpuset_has(&cpus, 2));
  EXPECT_EQ(kvm::Part(1)->steal.preempted, KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB);
  EXPECT_EQ(kvm::Part(3)->steal.preempted, KVM_VCPU_PREEMPTED);
  EXPECT_TRUE(lapic_.sent().empty());
  EXPECT_TRUE(hypercalls_.empty());
  EXPECT_EQ(core::CounterValue(core::Counter::kTlbFlushPreemptedSkipped), 1u);
  EXPECT_EQ(pvops_get_counter("tlb_flush_remote_calls"), 1u);
}

TEST_F(KvmBackendTest, PerCpuAreasDoNotWaitForTheLapic) {
  // The boot CPU's LAPIC cannot be resolved (here: IA32_APIC_BASE faults; in a kernel, its
  // xAPIC page is not mapped yet), but its kvmclock, steal time and PV EOI areas are
  // registered all the same.
  sim_.HandleMsrs(
      0x1b, 0x1b, [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; },
      [](uint32_t, uint64_t) { return false; });
  BootKvm();
  EXPECT_THAT(std::string(pvops_get_info()->notes), HasSubstr("boot CPU set-up: unsupported"));
  EXPECT_TRUE(LastMsrWrite(MSR_KVM_STEAL_TIME).has_value());
  EXPECT_TRUE(LastMsrWrite(MSR_KVM_PV_EOI_EN).has_value());
  EXPECT_EQ(pvops_tsc_khz(), 2'000'000u);
}

TEST_F(KvmBackendTest, ParavirtBitsNameTheOpsKvmTookOver) {
  BootKvm();
  EXPECT_EQ(pvops_get_info()->paravirt,
            uint32_t{PVOPS_PV_IO_DELAY | PVOPS_PV_EOI | PVOPS_PV_SEND_IPI | PVOPS_PV_TLB_FLUSH |
                     PVOPS_PV_CLOCK | PVOPS_PV_WALL_CLOCK | PVOPS_PV_TSC_KHZ | PVOPS_PV_STEAL |
                     PVOPS_PV_LOCK | PVOPS_PV_PREEMPTED});
}

TEST_F(KvmBackendTest, WithheldFeaturesLeaveNoParavirtBitButTheirOwn) {
  offered_ = (1u << KVM_FEATURE_NOP_IO_DELAY);
  BootKvm(offered_);
  EXPECT_EQ(pvops_get_info()->paravirt, uint32_t{PVOPS_PV_IO_DELAY});
}

TEST_F(KvmBackendTest, PvTlbFlushInterruptsARunningVcpu) {
  BootKvm();
  OnlineCpus(2);
  deliver_sent_ipis_ = true;
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  pvops_cpuset_add(&cpus, 1);
  sim_.ResetExits();
  ASSERT_EQ(pvops_flush_tlb_multi(&cpus, 0, 0), PVOPS_OK);
  // The shootdown IPI went out by KVM_HC_SEND_IPI (PV send-IPI is on) and CPU 1 flushed.
  const auto sends = HypercallsNumbered(KVM_HC_SEND_IPI);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].a0, 1u);  // APIC ID 1 as bit 0 of the window starting at 1
  EXPECT_EQ(sends[0].a2, 1u);
  EXPECT_EQ(sends[0].a3, core::kVectorTlbFlush);
  EXPECT_EQ(kvm::Part(1)->steal.preempted, 0u);
  EXPECT_EQ(core::CounterValue(core::Counter::kTlbFlushRemote), 1u);
}

TEST_F(KvmBackendTest, KickIsKvmHcKickCpuWithTheApicId) {
  BootKvm();
  lapic_.SetApicId(1, 7);
  OnlineCpus(2);
  pvops_lock_kick(1);
  const auto kicks = HypercallsNumbered(KVM_HC_KICK_CPU);
  ASSERT_EQ(kicks.size(), 1u);
  EXPECT_EQ(kicks[0].a0, 0u);
  EXPECT_EQ(kicks[0].a1, 7u);
}

TEST_F(KvmBackendTest, WaitHaltsOnlyWhileTheValueStillMatches) {
  BootKvm();
  volatile uint8_t lock_byte = 1;
  sim_.SetInterruptsEnabled(true);
  sim_.ResetExits();
  pvops_lock_wait(&lock_byte, 0);  // already changed: no halt
  EXPECT_EQ(sim_.exits(sim::Exit::kHlt), 0u);
  pvops_lock_wait(&lock_byte, 1);  // matches: halt until kicked
  EXPECT_EQ(sim_.exits(sim::Exit::kHlt), 1u);
  EXPECT_TRUE(sim_.interrupts_enabled());  // restored as they were
}

TEST_F(KvmBackendTest, KvmBehindHyperVLeavesIsFoundAt0x40000100) {
  sim_.SetHypervisorLeaf(0x40000000, 0x40000005, "Microsoft Hv");
  sim_.SetCpuid(0x40000001, {0x31237648, 0, 0, 0});
  BootKvm(kAllFeatures, true, 0x40000100);
  const pvops_info& info = *pvops_get_info();
  EXPECT_EQ(info.backend, uint32_t{PVOPS_BACKEND_KVM});
  EXPECT_EQ(info.base_leaf, 0x40000100u);
  EXPECT_EQ(info.features[0], kAllFeatures);  // read from base + 1, not 0x40000001
}

}  // namespace
}  // namespace pvops::test

namespace pvops::test {
namespace {

TEST(FeatureWordNames, EachBackendNamesTheWordsItFills) {
  EXPECT_STREQ(pvops_feature_word_name(PVOPS_BACKEND_KVM, 0), "features");
  EXPECT_STREQ(pvops_feature_word_name(PVOPS_BACKEND_KVM, 1), "hints");
  EXPECT_STREQ(pvops_feature_word_name(PVOPS_BACKEND_HYPERV, 0), "privileges");
  EXPECT_EQ(pvops_feature_word_name(PVOPS_BACKEND_NATIVE, 0), nullptr);  // native fills none
  EXPECT_EQ(pvops_feature_word_name(PVOPS_BACKEND_KVM, 4), nullptr);
  EXPECT_EQ(pvops_feature_word_name(PVOPS_BACKEND_COUNT, 0), nullptr);
}

}  // namespace
}  // namespace pvops::test

namespace pvops::test {
namespace {

TEST_F(KvmBackendTest, CountersAreFoundByName) {
  BootKvm();
  const uint64_t before = pvops_get_counter("hypercalls");
  int64_t result = 0;
  ASSERT_EQ(pvops_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(pvops_get_counter("hypercalls"), before + 1);
  EXPECT_EQ(pvops_get_counter("no_such_counter"), 0u);
  EXPECT_EQ(pvops_get_counter(nullptr), 0u);
  pvops_counter all[PVOPS_MAX_COUNTERS];
  EXPECT_LE(pvops_get_counters(all, PVOPS_MAX_COUNTERS), PVOPS_MAX_COUNTERS);
}

}  // namespace
}  // namespace pvops::test
