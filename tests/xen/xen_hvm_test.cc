// SPDX-License-Identifier: MIT
// Xen HVM/PVH: the hypercall page through the MSR CPUID leaf base+2 names (vmcall/vmmcall by
// vendor when refused), shared_info placed by XENMEM_add_to_physmap, events on the callback
// vector (HVM_PARAM_CALLBACK_IRQ, vector type) with no LAPIC EOI owed for it, native paging.
#include <gtest/gtest.h>

#include <string.h>

#include "core/xen_public.h"  // first: pins the interface version (pvclock flags)

#include <xen/arch-x86/cpuid.h>
#include <xen/errno.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/hvm/params.h>
#include <xen/version.h>

#include "core/pvclock.h"
#include "core/runtime.h"
#include "fake_xen.h"
#include "hw/lapic.h"

namespace pvops::test {
namespace {

constexpr uint32_t kBase = 0x40000000;
constexpr uint32_t kHypercallMsr = 0x40000000;
constexpr uint8_t kVector = 0x40;

uint32_t g_hits;
void Count(uint8_t, void*) { ++g_hits; }

class XenHvmTest : public XenPvTest {
 protected:
  XenHvmTest() {
    hvm_ = true;
    fill_page_ = false;
    model_.hypervisor_bit = true;
    sim::LoadCpuModel(sim_, model_);
    sim_.SetHypervisorLeaf(kBase, kBase + 4, "XenVMMXenVMM");
    sim_.SetCpuid(kBase + 1, {kXenVersion, 0, 0, 0});
    sim_.SetCpuid(kBase + 2, {1, kHypercallMsr, 0, 0});
    sim_.SetCpuid(kBase + 4, {XEN_HVM_CPUID_VCPU_ID_PRESENT, 0, 0, 0});
    features_ = 1u << XENFEAT_hvm_callback_vector;
    sim_.HandleMsrs(kHypercallMsr, kHypercallMsr, nullptr, [this](uint32_t, uint64_t value) {
      if (!accept_msr_) return false;
      msr_writes_.push_back(value);
      if (fill_on_msr_) FillHvmStubs();
      return true;
    });
    g_hits = 0;
  }

  pvops_status BootHvm() {
    env_ = sim::MakeEnv(nullptr, PVOPS_ENTRY_PVH, nullptr);
    return pvops_init(&env_);
  }

  // Xen's HVM stubs: mov $nr, %eax; vmcall; ret (vmx_init_hypercall_page).
  void FillHvmStubs() {
    unsigned char* page = const_cast<unsigned char*>(pvops_xen_hypercall_page);
    asm("" : "+r"(page));
    for (uint32_t nr = 0; nr < 128; ++nr) {
      const unsigned char stub[9] = {
          0xb8, static_cast<unsigned char>(nr), 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3};
      memcpy(page + nr * 32, stub, sizeof(stub));
    }
  }

  bool accept_msr_ = true;
  bool fill_on_msr_ = true;
  std::vector<uint64_t> msr_writes_;
};

TEST_F(XenHvmTest, BootRegistersThePageAndReportsTheHvmPaths) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  const pvops_info& info = *pvops_get_info();
  ASSERT_EQ(info.backend, PVOPS_BACKEND_XEN) << info.fallback;
  EXPECT_EQ(info.entry, PVOPS_ENTRY_PVH);
  EXPECT_EQ(info.version, kXenVersion);
  EXPECT_EQ(info.features[3], PVOPS_XEN_MODE_HVM_PAGE);
  EXPECT_EQ(info.features[2], PVOPS_XEN_PATH_PVCLOCK | PVOPS_XEN_PATH_RUNSTATE |
                                  PVOPS_XEN_PATH_EVENTS | PVOPS_XEN_PATH_CALLBACK_VECTOR);
  EXPECT_NE(strstr(info.reason, "Xen 4.17 HVM/PVH, hypercall page"), nullptr) << info.reason;
  EXPECT_EQ(EmptySlotOf(pvops_table), "");
  ASSERT_EQ(msr_writes_.size(), 1u);
  EXPECT_EQ(msr_writes_[0], sim_.VirtToPhys(pvops_xen_hypercall_page));
  // Every call went through the page, none by a bare vmcall.
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall), 0u);
  EXPECT_GT(sim_.exits(sim::Exit::kStubCall), 0u);

  EXPECT_EQ(physmap_gpfns_, std::vector<uint64_t>{sim_.VirtToPhys(xen::SharedInfoPage()) >> 12});
  ASSERT_EQ(hvm_params_.size(), 1u);
  EXPECT_EQ(hvm_params_[0].first, uint32_t{HVM_PARAM_CALLBACK_IRQ});
  EXPECT_EQ(hvm_params_[0].second,
            (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | PVOPS_XEN_HVM_CALLBACK_VECTOR);
  // Paging stays native: a PTE write is a memory write.
  pvops_pte entry = 0;
  pvops_set_pte(&entry, 0x5003);
  EXPECT_EQ(entry, 0x5003u);
  EXPECT_EQ(pvops_phys_to_machine(0x5000), 0x5000u);
}

TEST_F(XenHvmTest, EventsArriveOnTheCallbackVectorWithoutALapicEoi) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  ASSERT_EQ(pvops_register_handler(kVector, Count, nullptr), PVOPS_OK);
  EXPECT_EQ(pvops_register_handler(PVOPS_XEN_HVM_CALLBACK_VECTOR, Count, nullptr),
            PVOPS_ERR_INVALID)
      << "the callback vector carries every event: the library's";
  sim_.SetInterruptsEnabled(true);
  const uint32_t eois = lapic_.eoi_count(0);
  pvops_cpuset self;
  pvops_cpuset_clear(&self);
  pvops_cpuset_add(&self, 0);
  ASSERT_EQ(pvops_send_ipi(&self, kVector), PVOPS_OK);
  EXPECT_EQ(g_hits, 1u) << "Xen raised the callback vector on its way back";
  EXPECT_EQ(lapic_.eoi_count(0), eois) << "Xen injected it directly: no EOI owed";
  EXPECT_EQ(Vcpu(0).evtchn_upcall_pending, 0);
  // An interrupt that did come through the LAPIC still gets its EOI.
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), eois + 1);
}

TEST_F(XenHvmTest, AnUnfilledPageFallsBackToVmmcallOnAmd) {
  fill_on_msr_ = false;  // the MSR is Xen's, but the page stays int3
  sim_.SetCpuid(0, {0x16, 0x68747541, 0x444d4163, 0x69746e65});  // AuthenticAMD
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  ASSERT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_XEN);
  EXPECT_EQ(pvops_get_info()->features[3], PVOPS_XEN_MODE_HVM_DIRECT);
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u) << "nothing may jump into the unfilled page";
  EXPECT_GT(sim_.exits(sim::Exit::kVmmcall), 0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 0u);
  int64_t result = 0;
  ASSERT_EQ(pvops_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0, &result),
            PVOPS_OK);
  EXPECT_EQ(result, int64_t{kXenVersion});
}

// The raw op is the one for the way in init chose: the page's stub, or vmcall on Intel when
// the page stayed unfilled; every accepted call counts once.
TEST_F(XenHvmTest, TheRawOpEntersTheWayInitChose) {
  sim_.SetCpuid(0, {0x16, 0x756e6547, 0x6c65746e, 0x49656e69});  // GenuineIntel
  for (const bool filled : {true, false}) {
    SCOPED_TRACE(filled ? "page" : "vmcall");
    fill_on_msr_ = filled;
    ASSERT_EQ(BootHvm(), PVOPS_OK);
    ASSERT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_XEN);
    EXPECT_EQ(pvops_get_info()->features[3],
              filled ? PVOPS_XEN_MODE_HVM_PAGE : PVOPS_XEN_MODE_HVM_DIRECT);
    sim_.ClearLogs();
    calls_.clear();
    const uint64_t hypercalls = core::CounterValue(core::Counter::kHypercalls);
    int64_t result = 0;
    ASSERT_EQ(pvops_hypercall(99, 1, 2, 3, 4, 5, &result), PVOPS_OK);
    EXPECT_EQ(result, -XEN_ENOSYS);
    ASSERT_EQ(calls_.size(), 1u);
    EXPECT_EQ(calls_[0].nr, 99u);
    EXPECT_EQ(calls_[0].args[0], 1u);
    EXPECT_EQ(calls_[0].args[3], 4u) << "the fourth argument travels in r10";
    EXPECT_EQ(calls_[0].args[4], 5u) << "the fifth in r8";
    ASSERT_EQ(sim_.hypercalls().size(), 1u);
    EXPECT_EQ(sim_.hypercalls()[0].kind, filled ? sim::Exit::kStubCall : sim::Exit::kVmcall);
    EXPECT_EQ(core::CounterValue(core::Counter::kHypercalls), hypercalls + 1);
    EXPECT_EQ(pvops_hypercall(__HYPERVISOR_iret, 0, 0, 0, 0, 0, &result), PVOPS_ERR_INVALID);
    EXPECT_EQ(pvops_hypercall(128, 0, 0, 0, 0, 0, &result), PVOPS_ERR_INVALID);
    EXPECT_EQ(sim_.hypercalls().size(), 1u) << "refused before anything enters Xen";
    EXPECT_EQ(core::CounterValue(core::Counter::kHypercalls), hypercalls + 1);
    // Int3 again, so that the next boot finds the page as Xen leaves it unfilled (the asm
    // hides the page's const-ness, as in FillHvmStubs).
    unsigned char* page = const_cast<unsigned char*>(pvops_xen_hypercall_page);
    asm("" : "+r"(page));
    memset(page, 0xcc, 4096);
  }
}

TEST_F(XenHvmTest, NoPageOrARefusedMsrKeepsTheBackendOut) {
  // Nothing then shows a Xen that would answer a bare vmcall: no instruction is tried.
  sim_.SetCpuid(kBase + 2, {0, kHypercallMsr, 0, 0});
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE);
  EXPECT_NE(strstr(pvops_get_info()->fallback, "offers no hypercall page"), nullptr);
  sim_.SetCpuid(kBase + 2, {1, kHypercallMsr, 0, 0});
  accept_msr_ = false;
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE);
  EXPECT_NE(strstr(pvops_get_info()->fallback, "refused the page"), nullptr)
      << pvops_get_info()->fallback;
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall) +
                sim_.exits(sim::Exit::kStubCall),
            0u);
}

TEST_F(XenHvmTest, WithoutTheCallbackVectorEventsStayNative) {
  features_ = 0;
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  const pvops_info& info = *pvops_get_info();
  ASSERT_EQ(info.backend, PVOPS_BACKEND_XEN);
  EXPECT_EQ(info.features[2], PVOPS_XEN_PATH_PVCLOCK | PVOPS_XEN_PATH_RUNSTATE);
  EXPECT_NE(strstr(info.notes, "XENFEAT_hvm_callback_vector"), nullptr) << info.notes;
  EXPECT_TRUE(hvm_params_.empty());
  EXPECT_EQ(pvops_table.irq.send_ipi, hw::LapicSendIpi);
}

extern "C" void FakeHvmApEntry(uint32_t) {}

TEST_F(XenHvmTest, StartCpuHandsXenALongModeContext) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  sim_.SetCr4(0x6a0);              // PAE | PGE | OSFXSR | OSXMMEXCPT
  sim_.SetMsr(0xc0000080, 0xd01);  // SCE | LME | LMA | NXE
  const pvops_cpu_start start{0x8000, FakeHvmApEntry, 0x7000'0000'8000, 0x1000};
  // The APIC ID is not used: Xen names vCPUs by number (and gives vCPU 1 APIC ID 2).
  ASSERT_EQ(pvops_start_cpu(1, 7, &start), PVOPS_OK);
  const auto init = CallsTo(__HYPERVISOR_vcpu_op);
  ASSERT_EQ(vcpus_up_, std::vector<uint32_t>{1});
  bool saw_initialise = false;
  for (const XenCall& c : init) saw_initialise |= c.args[0] == VCPUOP_initialise && c.args[1] == 1;
  EXPECT_TRUE(saw_initialise);
  ASSERT_EQ(hvm_contexts_.size(), 1u);
  const vcpu_hvm_context& ctx = hvm_contexts_[0];
  EXPECT_EQ(ctx.mode, uint32_t{VCPU_HVM_MODE_64B});
  EXPECT_EQ(ctx.cpu_regs.x86_64.rip, reinterpret_cast<uintptr_t>(&FakeHvmApEntry));
  EXPECT_EQ(ctx.cpu_regs.x86_64.rsp, start.stack_top - 8);
  EXPECT_EQ(ctx.cpu_regs.x86_64.rdi, 1u);
  EXPECT_EQ(ctx.cpu_regs.x86_64.rflags & (1u << 9), 0u) << "interrupts off";
  EXPECT_EQ(ctx.cpu_regs.x86_64.cr3, 0x1000u) << "guest-physical: HVM paging is the guest's";
  EXPECT_EQ(ctx.cpu_regs.x86_64.cr4, 0x6a0u);
  EXPECT_EQ(ctx.cpu_regs.x86_64.efer, 0xd01u);
  EXPECT_NE(ctx.cpu_regs.x86_64.cr0 & 0x80000001u, 0u);
  EXPECT_EQ(pvops_start_cpu(0, 0, &start), PVOPS_ERR_INVALID);
}

// vcpu_info time tuples as Xen 4.17 wrote them for a PVH dom0 under TCG (figures from the
// xen-pvh environment, see its README): Xen emulates the TSC there (no reliable host TSC), and
// stamps the tuples with the guest TSC of its last calibration, which came before the vCPU's
// TSC reset: tsc_timestamp is negative (mod 2^64). TSC_STABLE keeps the core's cross-CPU clamp
// (shared by every test in this binary) out of the exact figures; Xen sent flags 0.
constexpr uint64_t kPvhTsc = 353'100'566;
constexpr uint64_t kPvhClockAtThatTsc = 1'138'919'924;  // both vCPUs' tuples agree on it
void StampLikePvhDom0(vcpu_time_info& t, uint64_t system_time, int64_t tsc_timestamp) {
  t.version = 2;
  t.system_time = system_time;
  t.tsc_timestamp = static_cast<uint64_t>(tsc_timestamp);
  t.tsc_to_system_mul = 3'181'458'434;  // with shift -1: 2.7 GHz
  t.tsc_shift = -1;
  t.flags = XEN_PVCLOCK_TSC_STABLE_BIT;
}

TEST_F(XenHvmTest, ATupleStampedBeforeTheTscsZeroStillRuns) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  StampLikePvhDom0(Vcpu(0).time, 962'081'103, -124'364'075);
  StampLikePvhDom0(Vcpu(1).time, 989'531'063, -50'249'211);
  sim_.SetTsc(kPvhTsc);
  // Taken as unsigned, the stamp looked ahead of the TSC and the clock stood at system_time
  // (176 ms behind here; envs/xen-pvh/README.md) until Xen re-stamped the tuple.
  // (The simulated TSC moves a little with every read: within 1 us.)
  EXPECT_NEAR(static_cast<double>(pvops_clock_ns()), kPvhClockAtThatTsc, 1000);
  EXPECT_NEAR(static_cast<double>(core::PvclockRead(&Vcpu(1).time)), kPvhClockAtThatTsc, 1000);
  sim_.AdvanceTsc(2'700'000);  // 1 ms
  EXPECT_NEAR(static_cast<double>(pvops_clock_ns()), kPvhClockAtThatTsc + 1e6, 1000);
  // A TSC truly behind its stamp (by a little) reads as the stamp, not as ~2^64 ticks later.
  Vcpu(0).time.version = 4;
  Vcpu(0).time.tsc_timestamp = sim_.tsc() + 100'000;
  EXPECT_EQ(pvops_clock_ns(), Vcpu(0).time.system_time);
}

TEST_F(XenHvmTest, TheOneShotFiresOnTimeFromATupleStampedBeforeTheTscsZero) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  ASSERT_EQ(pvops_register_handler(kVector, Count, nullptr), PVOPS_OK);
  sim_.SetInterruptsEnabled(true);
  StampLikePvhDom0(Vcpu(0).time, 962'081'103, -124'364'075);
  sim_.SetTsc(kPvhTsc);
  const uint64_t deadline = pvops_clock_ns() + 5'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, kVector), PVOPS_OK);
  EXPECT_EQ(singleshots_.back().second, deadline);
  sim_.AdvanceTsc(5 * 2'700'000);  // 5 ms later Xen's timer fires
  RaiseEvent(PortOf(FakePort::kVirq, 0, VIRQ_TIMER));
  DeliverUpcalls(0);
  EXPECT_EQ(g_hits, 1u) << "the clock shows the deadline: the handler runs";
  EXPECT_EQ(singleshots_.size(), 1u) << "no re-arm: the event was not early by this clock";
}

TEST_F(XenHvmTest, AVersionThatDisagreesWithCpuidIsRefused) {
  sim_.SetCpuid(kBase + 1, {0x00040010, 0, 0, 0});
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE);
  EXPECT_NE(strstr(pvops_get_info()->fallback, "disagrees with CPUID"), nullptr)
      << pvops_get_info()->fallback;
}

// The per-CPU rule (core/backend.h): a vCPU whose clock tuple Xen left unfilled still comes up,
// reads the boot CPU's tuple (one clock for all), and still gets its events and runstate area.
TEST_F(XenHvmTest, ACpuWhoseTupleIsUnfilledReadsTheBootCpusAndKeepsItsEvents) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  sim_.SetCpuid(kBase + 4, {XEN_HVM_CPUID_VCPU_ID_PRESENT, 1, 0, 0});  // CPU 1 is vCPU 1
  Vcpu(1).time = vcpu_time_info{};
  ASSERT_EQ(OnlineCpu(1), PVOPS_OK);
  const char* notes = pvops_get_info()->notes;
  EXPECT_NE(strstr(notes, "cpu 1 xen clock: "), nullptr) << notes;
  // The fake's boot tuple: system time = TSC / 2, stamped at TSC 0.
  sim_.SetTsc(4'000'000'000);
  uint64_t ns = 0;
  sim_.RunOnCpu(1, [&] { ns = pvops_clock_ns(); });
  EXPECT_GE(ns, 2'000'000'000u);
  EXPECT_LE(ns, 2'000'001'000u);
  EXPECT_NE(PortOf(FakePort::kVirq, 1, VIRQ_TIMER), 0u) << "its timer port, bound all the same";
  EXPECT_EQ(runstate_areas_.count(1), 1u);
}

// Events refused on one vCPU: that CPU's timer and the IPIs sent to it take the LAPIC (HVM's
// native path), and what comes after the events (the runstate area) is still registered.
TEST_F(XenHvmTest, ACpuWhoseEventsAreRefusedTakesTheLapicForItsTimerAndIpis) {
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  sim_.SetCpuid(kBase + 4, {XEN_HVM_CPUID_VCPU_ID_PRESENT, 1, 0, 0});
  answer_ = [](const XenCall& call) -> int64_t {
    if (call.nr == __HYPERVISOR_event_channel_op && call.args[0] == EVTCHNOP_bind_virq &&
        reinterpret_cast<const evtchn_bind_virq*>(call.args[1])->vcpu == 1)
      return -XEN_ENOSPC;
    return kFallThrough;
  };
  ASSERT_EQ(OnlineCpu(1), PVOPS_OK);
  const char* notes = pvops_get_info()->notes;
  EXPECT_NE(strstr(notes, "cpu 1 events: "), nullptr) << notes;
  EXPECT_EQ(runstate_areas_.count(1), 1u) << "a feature after the refused one";

  singleshots_.clear();
  pvops_status armed = PVOPS_ERR_INVALID;
  sim_.RunOnCpu(1, [&] { armed = pvops_timer_oneshot(pvops_clock_ns() + 5'000'000, kVector); });
  EXPECT_EQ(armed, PVOPS_OK);
  EXPECT_TRUE(singleshots_.empty()) << "not Xen's singleshot timer";
  EXPECT_EQ(lapic_.lvt_timer(1) & 0xff, kVector);
  EXPECT_NE(lapic_.timer_initial_count(1), 0u);

  QueueIpis();
  sent_ports_.clear();
  pvops_cpuset one;
  pvops_cpuset_clear(&one);
  pvops_cpuset_add(&one, 1);
  ASSERT_EQ(pvops_send_ipi(&one, kVector), PVOPS_OK);
  EXPECT_TRUE(sent_ports_.empty()) << "no event channel for CPU 1";
  ASSERT_EQ(queued_.size(), 1u);
  EXPECT_EQ(queued_[0].destination, 1u);
  EXPECT_EQ(queued_[0].vector(), kVector);
}

// Garbage from Xen: a positive answer where every op answers 0, and a "negative errno" below
// Xen's range (even INT64_MIN, which has no signed negation), are errors with their status.
TEST_F(XenHvmTest, AnAnswerOutsideXensRangeIsAnError) {
  EXPECT_EQ(xen::StatusFromXen(0), PVOPS_OK);
  EXPECT_EQ(xen::StatusFromXen(-XEN_EINVAL), PVOPS_ERR_INVALID);
  EXPECT_EQ(xen::StatusFromXen(1), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(xen::StatusFromXen(INT64_MAX), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(xen::StatusFromXen(-5000), PVOPS_ERR_HYPERVISOR);
  EXPECT_EQ(xen::StatusFromXen(INT64_MIN), PVOPS_ERR_HYPERVISOR);

  // XENMEM_add_to_physmap answering 1 left shared_info unmapped behind a Xen clock.
  answer_ = [](const XenCall& call) -> int64_t {
    return call.nr == __HYPERVISOR_memory_op && call.args[0] == XENMEM_add_to_physmap
               ? 1
               : kFallThrough;
  };
  ASSERT_EQ(BootHvm(), PVOPS_OK);
  const pvops_info& info = *pvops_get_info();
  ASSERT_EQ(info.backend, PVOPS_BACKEND_XEN) << info.fallback;
  EXPECT_EQ(info.features[2] & PVOPS_XEN_PATH_PVCLOCK, 0u);
  EXPECT_NE(strstr(info.notes, "XENMEM_add_to_physmap(shared_info) failed"), nullptr) << info.notes;
  EXPECT_NE(pvops_table.time.wall_clock, xen::WallClock);
  EXPECT_NE(pvops_table.time.clock_ns, xen::ClockNs);
  pvops_wall_clock wall{};
  (void)pvops_get_wall_clock(&wall);  // reads no shared_info (it faulted here on a null one)
}

}  // namespace
}  // namespace pvops::test
