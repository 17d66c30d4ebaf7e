// SPDX-License-Identifier: MIT
// Suspend and resume on the simulated CPU: a machine whose personality (bare metal or KVM)
// a scripted mover switches when the guest says "ready" on the move port, as pvops-vmm does
// between VMs. The parked CPUs' spin needs a second thread, which the simulation has not: a
// parked CPU's rest (core::FinishParkForTest) runs when the boot CPU waits for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/kvm_para.h>
#include <pvops/move.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "bare_metal_machine.h"
#include "core/move.h"
#include "core/runtime.h"
#include "core/xen_public.h"

namespace pvops::test {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kKvmFeatures = (1u << KVM_FEATURE_CLOCKSOURCE2) |
                                  (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |
                                  (1u << KVM_FEATURE_PV_SEND_IPI);
constexpr uint32_t kMul = 0x80000000;  // 2 GHz as kvmclock encodes it
constexpr uint8_t kRequestVector = 0x4a;
constexpr uint8_t kTestVector = 0x50;
constexpr uint64_t kPauseNs = 250'000'000;
// The guest's own time the mover lets the TSC count across a hop: 3 ms at the sim's 2 GHz.
constexpr uint64_t kOwnTscCycles = 6'000'000;
constexpr uint64_t kOwnNs = 3'000'000;
constexpr uint64_t kMailboxPhys = 0x7000;
constexpr uint32_t kKvmMsrs[] = {MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN};

enum class Personality { kBareMetal, kKvm };

uint32_t g_hits;
void CountHit(uint8_t, void*) { ++g_hits; }

class MoveTest : public BareMetalMachineTest {
 protected:
  MoveTest() {
    model_.hypervisor_bit = true;
    g_hits = 0;
    sim_.HandleMsrs(
        MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_PV_EOI_EN,
        [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; },
        [this](uint32_t msr, uint64_t value) { return WriteKvmMsr(msr, value); });
    sim_.SetHypercallHandler(arch::HypercallInsn::kVmcall,
                             [this](arch::HypercallRegs& r) { KvmHypercall(r); });
    sim_.HandlePorts(
        PVOPS_MOVE_PORT, PVOPS_MOVE_PORT + 3,
        [this](uint16_t, uint8_t) { return mover_ ? PVOPS_MOVE_PORT_MAGIC : 0xffffffffu; },
        [this](uint16_t, uint8_t, uint32_t value) { OnPortWrite(value); });
    sim_.MapPhys(kMailboxPhys, &mailbox_, PVOPS_PAGE_SIZE);
    // The boot CPU's waits are where the other CPUs make progress.
    sim_.OnPause([this] { RunOtherCpus(); });
  }

  void Become(Personality p) {
    personality_ = p;
    sim_.EraseCpuid(0x40000000);
    sim_.EraseCpuid(0x40000001);
    if (p == Personality::kKvm) {
      sim_.SetHypervisorLeaf(0x40000000, 0x40000001, std::string_view(KVM_SIGNATURE, 12));
      sim_.SetCpuid(0x40000001, {kKvmFeatures, 0, 0, 0});
    }
  }

  void BootAs(Personality p, uint32_t cpus = 2) {
    Become(p);
    Boot();
    OnlineCpus(cpus);
    sim_.SetInterruptsEnabled(true);
    Mark();
  }

  bool WriteKvmMsr(uint32_t msr, uint64_t value) {
    if (personality_ != Personality::kKvm) return false;  // a new VM without KVM's MSRs
    if (refuse_zero_on_cpu_ == static_cast<int>(sim_.current_cpu()) && value == 0) return false;
    // A vCPU whose CPUID withholds the feature: KVM faults every write, turning off included.
    for (const auto& [refused, cpu] : refused_on_cpu_)
      if (refused == msr && cpu == sim_.current_cpu()) return false;
    if (msr == MSR_KVM_SYSTEM_TIME_NEW && (value & KVM_MSR_ENABLED) != 0) {
      auto* t = static_cast<vcpu_time_info*>(sim_.GuestMemory(value & ~uint64_t{1}));
      t->tsc_timestamp = sim_.tsc();
      t->system_time = kvmclock_from_tsc_ ? sim_.tsc() / 2 : system_time_at_registration_;
      t->tsc_to_system_mul = kMul;
      t->tsc_shift = 0;
      t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
      t->version = 2;
    }
    return true;
  }

  void KvmHypercall(arch::HypercallRegs& r) {
    if (r.rax == KVM_HC_SEND_IPI) {
      const uint64_t bits[2] = {r.rbx, r.rcx};
      for (uint32_t i = 0; i < 128; ++i)
        if ((bits[i / 64] >> (i % 64)) & 1)
          ipis_.push_back({static_cast<uint32_t>(r.rdx + i), static_cast<uint8_t>(r.rsi)});
      r.rax = 0;
      return;
    }
    r.rax = static_cast<uint64_t>(-KVM_ENOSYS);
  }

  // The mover: on "ready" the VM is rebuilt with the next personality and the pause written.
  void OnPortWrite(uint32_t value) {
    port_writes_.push_back(value);
    if (value != PVOPS_MOVE_PORT_READY || mailbox_.magic != PVOPS_MOVE_PORT_MAGIC) return;
    Become(next_);
    mailbox_.pause_ns = pause_ns_;
    mailbox_.hops = ++hops_;
    // A mover restores the TSC: it counts the guest's own time around the `out`, not the pause.
    sim_.AdvanceTsc(kOwnTscCycles);
  }

  // Interrupts the other CPUs have pending (IPIs sent, not yet taken), then what a parked CPU
  // does once the boot CPU lets it go.
  void RunOtherCpus() {
    if (sim_.current_cpu() != 0) return;
    if (deliver_ipis_) {
      while (!ipis_.empty()) {
        const auto [cpu, vector] = ipis_.front();
        ipis_.pop_front();
        sim_.RunOnCpu(cpu, [vector = vector] { pvops_handle_interrupt(vector); });
      }
    }
    for (uint32_t cpu = 1; cpu < sim::kMaxCpus; ++cpu)
      sim_.RunOnCpu(cpu, [] { (void)core::FinishParkForTest(); });
  }

  // The values written to `msr` by `cpu`, in order.
  // The values written to `msr` by `cpu` since Mark(), in order.
  std::vector<uint64_t> WritesOn(uint32_t cpu, uint32_t msr) const {
    std::vector<uint64_t> out;
    const std::vector<sim::MsrAccess>& log = sim_.msr_log();
    for (size_t i = mark_; i < log.size(); ++i) {
      const sim::MsrAccess& a = log[i];
      if (a.write && !a.faulted && a.cpu == cpu && a.msr == msr) out.push_back(a.value);
    }
    return out;
  }
  void Mark() { mark_ = sim_.msr_log().size(); }
  size_t mark_ = 0;

  const pvops_info& Info() const { return *pvops_get_info(); }

  Personality personality_ = Personality::kBareMetal;
  Personality next_ = Personality::kBareMetal;
  bool mover_ = true;
  bool deliver_ipis_ = true;
  int refuse_zero_on_cpu_ = -1;
  std::vector<std::pair<uint32_t, uint32_t>> refused_on_cpu_;  // (MSR, CPU)
  uint64_t pause_ns_ = kPauseNs;
  uint64_t hops_ = 0;
  uint64_t system_time_at_registration_ = 5'000'000;
  // KVM's master clock: every registration continues one line, TSC / 2 at the sim's 2 GHz.
  bool kvmclock_from_tsc_ = false;
  std::deque<std::pair<uint32_t, uint8_t>> ipis_;
  std::vector<uint32_t> port_writes_;
  alignas(PVOPS_PAGE_SIZE) pvops_move_mailbox mailbox_{};
};

TEST_F(MoveTest, NoMoverAnswersThePortSoRegisteringIsUnsupported) {
  mover_ = false;
  BootAs(Personality::kKvm, 1);
  EXPECT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_ERR_UNSUPPORTED);
  EXPECT_TRUE(port_writes_.empty()) << "nothing is registered with no one";
  EXPECT_EQ(mailbox_.magic, 0u);
  EXPECT_EQ(pvops_move_ask(), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_move_pending(), 0);
}

TEST_F(MoveTest, XenPvNeverTouchesThePort) {
  Become(Personality::kBareMetal);
  env_ = sim::MakeEnv(nullptr, PVOPS_ENTRY_XEN_PV);
  ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  sim_.ClearLogs();
  EXPECT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_suspend(), PVOPS_ERR_UNSUPPORTED);
  EXPECT_THAT(Info().move_reason, HasSubstr("Xen PV"));
  EXPECT_TRUE(sim_.port_log().empty()) << "ring 3: a port access would fault";
}

TEST_F(MoveTest, RegisteringFillsTheMailboxAndWritesItsAddress) {
  BootAs(Personality::kKvm, 1);
  EXPECT_EQ(pvops_move_register(
                reinterpret_cast<pvops_move_mailbox*>(reinterpret_cast<char*>(&mailbox_) + 8),
                kRequestVector),
            PVOPS_ERR_INVALID)
      << "not page aligned";
  EXPECT_EQ(pvops_move_register(&mailbox_, PVOPS_VECTOR_PARK), PVOPS_ERR_INVALID);
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  EXPECT_EQ(mailbox_.magic, PVOPS_MOVE_PORT_MAGIC);
  EXPECT_EQ(mailbox_.version, PVOPS_MOVE_MAILBOX_VERSION);
  EXPECT_EQ(mailbox_.vector, kRequestVector);
  EXPECT_EQ(port_writes_, std::vector<uint32_t>{uint32_t(sim_.VirtToPhys(&mailbox_))});
  // The request: only the protocol's value counts, whether the vector came or not.
  EXPECT_EQ(pvops_move_pending(), 0);
  mailbox_.request = 7;
  pvops_handle_interrupt(kRequestVector);
  EXPECT_EQ(pvops_move_pending(), 0) << "request 7 is no request";
  mailbox_.request = PVOPS_MOVE_REQUEST_MOVE;
  pvops_handle_interrupt(kRequestVector);
  EXPECT_EQ(pvops_move_pending(), 1);
  ASSERT_EQ(pvops_move_ask(), PVOPS_OK);
  EXPECT_EQ(port_writes_.back(), PVOPS_MOVE_PORT_ASK);
  EXPECT_EQ(pvops_move_plan_done(), 0);
  mailbox_.plan_done = 1;
  EXPECT_EQ(pvops_move_plan_done(), 1);
}

TEST_F(MoveTest, KvmToBareMetalReleasesEveryMsrOnEveryCpuAndChoosesAgain) {
  BootAs(Personality::kKvm, 2);
  ASSERT_EQ(Info().backend, PVOPS_BACKEND_KVM);
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  ASSERT_EQ(pvops_register_handler(kTestVector, CountHit, nullptr), PVOPS_OK);
  const uint64_t ipis_before = pvops_get_counter("ipis_sent");
  mailbox_.request = PVOPS_MOVE_REQUEST_MOVE;
  next_ = Personality::kBareMetal;

  const uint64_t before = pvops_clock_ns();
  ASSERT_EQ(pvops_suspend(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(port_writes_.back(), PVOPS_MOVE_PORT_READY);
  EXPECT_EQ(mailbox_.request, PVOPS_MOVE_REQUEST_NONE) << "the guest clears the request";
  EXPECT_FALSE(sim_.interrupts_enabled()) << "suspend returns with interrupts off";
  EXPECT_EQ(Info().move_state, uint32_t{PVOPS_MOVE_SUSPENDED});
  // Each CPU turned off, on itself, each MSR it had turned on at boot.
  for (uint32_t cpu = 0; cpu < 2; ++cpu)
    for (uint32_t msr : kKvmMsrs)
      EXPECT_EQ(WritesOn(cpu, msr), std::vector<uint64_t>{0})
          << "cpu " << cpu << " msr " << std::hex << msr;

  ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
  EXPECT_TRUE(sim_.interrupts_enabled());
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_NATIVE) << Info().reason;
  EXPECT_EQ(Info().previous_backend, PVOPS_BACKEND_KVM);
  EXPECT_EQ(Info().moves, 1u);
  EXPECT_EQ(Info().resumes, 1u);
  EXPECT_EQ(Info().move_state, uint32_t{PVOPS_MOVE_RUNNING});
  EXPECT_EQ(Info().abi_version, PVOPS_ABI_VERSION);
  EXPECT_EQ(core::Cpu(1).online, 1u);
  // The clock: on from the last reading plus the guest's own time and the mover's pause.
  EXPECT_GE(Info().move_last_ns, before);
  EXPECT_EQ(Info().move_pause_ns, kPauseNs);
  EXPECT_GE(Info().move_own_ns, kOwnNs) << "the TSC's cycles across the hop at 2 GHz";
  EXPECT_LT(Info().move_own_ns, kOwnNs + 1'000'000);
  EXPECT_EQ(Info().move_first_ns, Info().move_last_ns + Info().move_own_ns + kPauseNs);
  const uint64_t after = pvops_clock_ns();
  EXPECT_GE(after, Info().move_first_ns);
  EXPECT_LT(after, Info().move_first_ns + 50'000'000) << "no more than the resume's own time";
  EXPECT_GE(pvops_clock_ns(), after);
  // Handlers and counters stayed; the native IPI reaches CPU 1's handler.
  DeliverIpisAtOnce();
  pvops_cpuset one;
  pvops_cpuset_clear(&one);
  pvops_cpuset_add(&one, 1);
  ASSERT_EQ(pvops_send_ipi(&one, kTestVector), PVOPS_OK);
  EXPECT_EQ(g_hits, 1u);
  EXPECT_EQ(pvops_get_counter("ipis_sent"), ipis_before + 2)
      << "the park IPI on KVM, the test's after: one count across both backends";
}

TEST_F(MoveTest, BareMetalToKvmRegistersOnEveryCpuAndReArmsTheTimer) {
  BootAs(Personality::kBareMetal, 2);
  ASSERT_EQ(Info().backend, PVOPS_BACKEND_NATIVE);
  DeliverIpisAtOnce();  // native IPIs go through the LAPIC
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  ASSERT_EQ(pvops_register_handler(kTestVector, CountHit, nullptr), PVOPS_OK);
  const uint64_t deadline = pvops_clock_ns() + 10'000'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, kTestVector), PVOPS_OK);
  const uint64_t arms = pvops_get_counter("timer_arms");
  next_ = Personality::kKvm;
  ASSERT_EQ(pvops_suspend(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(core::Cpu(0).oneshot_deadline, deadline) << "kept across the gap";
  ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_KVM) << Info().reason;
  EXPECT_EQ(Info().previous_backend, PVOPS_BACKEND_NATIVE);
  for (uint32_t cpu = 0; cpu < 2; ++cpu) {
    const std::vector<uint64_t> w = WritesOn(cpu, MSR_KVM_SYSTEM_TIME_NEW);
    ASSERT_FALSE(w.empty()) << "cpu " << cpu;
    EXPECT_EQ(w.back() & KVM_MSR_ENABLED, 1u);
  }
  EXPECT_EQ(pvops_get_counter("timer_arms"), arms + 1) << "armed again on the new backend";
  EXPECT_EQ(core::Cpu(0).oneshot_deadline, deadline) << "for the same deadline";
  EXPECT_EQ(core::Cpu(0).oneshot_vector, kTestVector);
  // Early on the new device: armed again, the handler waits.
  pvops_handle_interrupt(kTestVector);
  EXPECT_EQ(g_hits, 0u);
  sim_.AdvanceTsc(2 * 10'000'000'000ull);
  pvops_handle_interrupt(kTestVector);
  EXPECT_EQ(g_hits, 1u) << "once, at its deadline";
}

TEST_F(MoveTest, AClockThatRestartsLowerIsCarriedForward) {
  BootAs(Personality::kKvm, 1);
  sim_.AdvanceTsc(20'000'000'000ull);  // 10 s of kvmclock on the first VM
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  next_ = Personality::kKvm;
  system_time_at_registration_ = 1000;  // the new VM's kvmclock starts near 0
  ASSERT_EQ(pvops_suspend(), PVOPS_OK);
  ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_KVM);
  EXPECT_GT(Info().move_last_ns, 10'000'000'000ull);
  const uint64_t first = pvops_clock_ns();
  EXPECT_GE(first, Info().move_last_ns + kOwnNs + kPauseNs);
  EXPECT_LT(first, Info().move_last_ns + kOwnNs + kPauseNs + 50'000'000);
  sim_.AdvanceTsc(2'000'000);  // 1 ms
  EXPECT_GE(pvops_clock_ns(), first + 1'000'000);
  EXPECT_FALSE(core::ClockOffsetCarried() == false);
  pvops_user_clock page{};
  EXPECT_EQ(pvops_get_user_clock(&page), PVOPS_ERR_UNSUPPORTED) << "the page lacks the offset";
}

TEST_F(MoveTest, AnImplausiblePauseIsTakenAsZeroWithAReason) {
  BootAs(Personality::kKvm, 1);
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  pause_ns_ = PVOPS_MOVE_MAX_PAUSE_NS + 1;
  next_ = Personality::kKvm;
  ASSERT_EQ(pvops_suspend(), PVOPS_OK);
  ASSERT_EQ(pvops_resume(), PVOPS_OK);
  EXPECT_EQ(Info().move_pause_ns, 0u);
  EXPECT_EQ(Info().move_first_ns, Info().move_last_ns + Info().move_own_ns);
  EXPECT_THAT(Info().move_reason, HasSubstr("implausible: 0 used"));
  EXPECT_GE(pvops_clock_ns(), Info().move_last_ns);
}

TEST_F(MoveTest, HopsThatDisagreeAreNotedNotBelieved) {
  BootAs(Personality::kKvm, 1);
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  hops_ = 41;
  next_ = Personality::kKvm;
  ASSERT_EQ(pvops_suspend(), PVOPS_OK);
  ASSERT_EQ(pvops_resume(), PVOPS_OK);
  EXPECT_EQ(Info().moves, 1u);
  EXPECT_THAT(Info().move_reason, HasSubstr("mailbox hops 42, expected 1"));
}

TEST_F(MoveTest, ACpuThatDoesNotParkFailsTheSuspendOnTheOldBackend) {
  BootAs(Personality::kKvm, 2);
  deliver_ipis_ = false;  // CPU 1 never takes the park IPI
  const auto clock_op = pvops_table.time.clock_ns;
  const uint64_t start = sim_.tsc();
  EXPECT_EQ(pvops_suspend(), PVOPS_ERR_TIMEOUT);
  EXPECT_THAT(Info().move_reason, HasSubstr("cpu 1 did not park within 1 s"));
  EXPECT_LT(sim_.tsc() - start, 2 * 2'000'000'000ull) << "bounded by the 1 s deadline";
  EXPECT_TRUE(sim_.interrupts_enabled());
  EXPECT_EQ(pvops_table.time.clock_ns, clock_op) << "still KVM's table";
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_KVM);
  for (uint32_t msr : kKvmMsrs) EXPECT_TRUE(WritesOn(0, msr).empty()) << "cpu 0 kept it";
  // The IPI arriving late finds parking closed: CPU 1 keeps its registrations.
  deliver_ipis_ = true;
  RunOtherCpus();
  for (uint32_t msr : kKvmMsrs) EXPECT_TRUE(WritesOn(1, msr).empty());
  EXPECT_EQ(pvops_resume(), PVOPS_ERR_INVALID) << "nothing to resume from";
}

TEST_F(MoveTest, AFailedReleaseOnACpuBringsItBackOnTheOldBackend) {
  BootAs(Personality::kKvm, 2);
  refuse_zero_on_cpu_ = 1;
  EXPECT_EQ(pvops_suspend(), PVOPS_ERR_FAULT);
  EXPECT_THAT(Info().move_reason, HasSubstr("cpu 1 release: "));
  EXPECT_THAT(Info().move_reason, HasSubstr("0x4b564d01 refused 0"));
  // CPU 1 ran its online again on KVM: registered afresh.
  const std::vector<uint64_t> again = WritesOn(1, MSR_KVM_SYSTEM_TIME_NEW);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0] & KVM_MSR_ENABLED, 1u);
  EXPECT_TRUE(WritesOn(0, MSR_KVM_SYSTEM_TIME_NEW).empty()) << "the boot CPU never let go";
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_KVM);
}

// A CPU that was refused features at cpu_init never took them, so suspend has nothing of them
// to release there: writing 0 to an MSR that vCPU refuses would fail the whole suspend.
TEST_F(MoveTest, ACpuRefusedFeaturesAtOnlineReleasesOnlyWhatItTook) {
  refused_on_cpu_ = {{MSR_KVM_SYSTEM_TIME_NEW, 1}, {MSR_KVM_PV_EOI_EN, 1}};
  BootAs(Personality::kKvm, 2);
  ASSERT_EQ(Info().backend, PVOPS_BACKEND_KVM);
  ASSERT_THAT(std::string(Info().notes), HasSubstr("cpu 1 kvmclock: fault"));
  ASSERT_EQ(pvops_move_register(&mailbox_, kRequestVector), PVOPS_OK);
  mailbox_.request = PVOPS_MOVE_REQUEST_MOVE;
  next_ = Personality::kBareMetal;
  ASSERT_EQ(pvops_suspend(), PVOPS_OK) << Info().move_reason;
  for (uint32_t msr : kKvmMsrs)
    EXPECT_EQ(WritesOn(0, msr), std::vector<uint64_t>{0}) << "cpu 0 msr " << std::hex << msr;
  EXPECT_EQ(WritesOn(1, MSR_KVM_STEAL_TIME), std::vector<uint64_t>{0}) << "taken, so released";
  // The sim's log holds the faulted attempts too: none was made on CPU 1.
  size_t attempts = 0;
  for (size_t i = mark_; i < sim_.msr_log().size(); ++i) {
    const sim::MsrAccess& a = sim_.msr_log()[i];
    if (a.write && a.cpu == 1 && (a.msr == MSR_KVM_SYSTEM_TIME_NEW || a.msr == MSR_KVM_PV_EOI_EN))
      ++attempts;
  }
  EXPECT_EQ(attempts, 0u);
  ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_NATIVE) << Info().reason;
}

TEST_F(MoveTest, WithoutAMoverTheCycleResumesOnTheSameHypervisor) {
  mover_ = false;
  BootAs(Personality::kKvm, 2);
  ASSERT_EQ(pvops_suspend(), PVOPS_OK);
  EXPECT_TRUE(port_writes_.empty());
  ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_KVM);
  EXPECT_EQ(Info().previous_backend, PVOPS_BACKEND_KVM);
  EXPECT_EQ(Info().moves, 0u);
  EXPECT_EQ(Info().resumes, 1u);
  EXPECT_EQ(Info().move_pause_ns, 0u);
  EXPECT_THAT(Info().move_reason, HasSubstr("no mover: same VM, pause 0"));
  for (uint32_t cpu = 0; cpu < 2; ++cpu) {
    const std::vector<uint64_t> w = WritesOn(cpu, MSR_KVM_SYSTEM_TIME_NEW);
    ASSERT_GE(w.size(), 2u) << "off, then on: cpu " << cpu;
    EXPECT_EQ(w.front(), 0u);
    EXPECT_EQ(w.back() & KVM_MSR_ENABLED, 1u);
  }
  EXPECT_EQ(pvops_suspend(), PVOPS_OK) << "and again";
  EXPECT_EQ(pvops_suspend(), PVOPS_ERR_INVALID) << "once before each resume";
  EXPECT_EQ(pvops_resume(), PVOPS_OK);
  EXPECT_EQ(Info().resumes, 2u);
}

TEST_F(MoveTest, AVcpuStoppedAnywhereInAHopNeitherLosesNorGainsTime) {
  // On one VM with one continuous kvmclock line, the clock must move across a hop exactly as
  // the TSC does, wherever the host stops the vCPU: here once, for 20 ms, at each rdtsc in turn.
  mover_ = false;
  kvmclock_from_tsc_ = true;
  BootAs(Personality::kKvm, 1);
  constexpr uint64_t kStopTicks = 40'000'000;
  for (uint32_t stop_at = 1;; ++stop_at) {
    ASSERT_LT(stop_at, 1000u) << "a hop without an end to its rdtsc reads";
    uint32_t seen = 0;
    sim_.OnRdtsc([&] {
      if (++seen == stop_at) sim_.AdvanceTsc(kStopTicks);
    });
    const uint64_t clock_before = pvops_clock_ns();
    const uint64_t tsc_before = sim_.tsc();
    ASSERT_EQ(pvops_suspend(), PVOPS_OK);
    ASSERT_EQ(pvops_resume(), PVOPS_OK) << Info().move_reason;
    const uint64_t clock_after = pvops_clock_ns();
    const uint64_t tsc_after = sim_.tsc();
    sim_.OnRdtsc(nullptr);
    const auto moved_ns = static_cast<int64_t>(clock_after - clock_before);
    const auto real_ns = static_cast<int64_t>((tsc_after - tsc_before) / 2);
    EXPECT_LT(moved_ns > real_ns ? moved_ns - real_ns : real_ns - moved_ns, 100'000)
        << "moved " << moved_ns << " ns, the TSC says " << real_ns << ": stopped at rdtsc "
        << stop_at << " of " << seen;
    if (stop_at > seen) break;
  }
}

}  // namespace
}  // namespace pvops::test
