// SPDX-License-Identifier: MIT
// Detection, selection and every backend's init from whatever the hypervisor answers: CPUID
// leaves in the hypervisor range (a known signature or not), MSR reads and write refusals,
// hypercall and backdoor results. Then the ops a kernel calls first: the clock, a second CPU.
// Whatever the answers, pvops_init returns with a working table and nothing faults or hangs.
#include <stddef.h>
#include <stdint.h>

#include <array>
#include <optional>
#include <string_view>

#include "fuzz_machine.h"

namespace {

constexpr std::array<std::string_view, 6> kSignatures = {"KVMKVMKVM\0\0\0", "XenVMMXenVMM",
                                                         "Microsoft Hv",    "VMwareVMware",
                                                         "TCGTCGTCGTCG",    "bhyve bhyve "};
constexpr std::array<const char*, 7> kCmdlines = {
    nullptr, "pvops=kvm", "pvops=xen", "pvops=hyperv", "pvops=vmi", "pvops=native", "nopatch"};

struct alignas(PVOPS_PAGE_SIZE) Area {
  unsigned char bytes[PVOPS_CPU_AREA_SIZE];
};
Area g_area;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pvops;
  FuzzedDataProvider in(data, size);
  fuzz::Machine m;
  m.model.hypervisor_bit = in.ConsumeBool();
  m.model.x2apic = in.ConsumeBool();
  sim::LoadCpuModel(m.sim, m.model);

  // Up to three signature blocks (Linux looks at 0x40000000 .. 0x40010000 in 0x100 steps),
  // then leaves anywhere in the range with any registers.
  for (int block = in.ConsumeIntegralInRange(0, 3); block > 0; --block) {
    const uint32_t base = 0x40000000u + (in.ConsumeIntegralInRange<uint32_t>(0, 0x100) << 8);
    const uint32_t max_leaf = base + in.ConsumeIntegralInRange<uint32_t>(0, 0x20);
    std::string_view signature = kSignatures[in.ConsumeIntegralInRange<size_t>(0, 5)];
    m.sim.SetHypervisorLeaf(base, in.ConsumeBool() ? max_leaf : in.ConsumeIntegral<uint32_t>(),
                            signature);
  }
  for (int leaf = in.ConsumeIntegralInRange(0, 24); leaf > 0; --leaf) {
    const uint32_t number = 0x40000000u + in.ConsumeIntegralInRange<uint32_t>(0, 0x10010);
    m.sim.SetCpuid(number, {in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>(),
                            in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>()});
  }

  // Hyper-V's and KVM's MSR ranges: a read answers a value or faults, a write is taken or
  // refused, as the input says, one decision per access.
  const auto read = [&in](uint32_t) -> std::optional<uint64_t> {
    if (in.ConsumeBool()) return std::nullopt;
    return in.ConsumeIntegral<uint64_t>();
  };
  const auto write = [&in](uint32_t, uint64_t) { return !in.ConsumeBool(); };
  m.sim.HandleMsrs(0x40000000, 0x400000ff, read, write);
  m.sim.HandleMsrs(0x4b564d00, 0x4b564dff, read, write);
  m.sim.HandleMsrs(0x11, 0x12, read, write);  // KVM's old clock MSRs

  const auto answer = [&in](arch::HypercallRegs& r) {
    r.rax = in.ConsumeIntegral<uint64_t>();
    if (in.ConsumeBool()) r.rbx = in.ConsumeIntegral<uint64_t>();
    if (in.ConsumeBool()) r.rcx = in.ConsumeIntegral<uint64_t>();
    if (in.ConsumeBool()) r.rdx = in.ConsumeIntegral<uint64_t>();
  };
  m.sim.SetHypercallHandler(arch::HypercallInsn::kVmcall, answer);
  m.sim.SetHypercallHandler(arch::HypercallInsn::kVmmcall, answer);
  m.sim.SetStubHandler([&](const void*, arch::HypercallRegs& r) { answer(r); });
  m.sim.SetBackdoorHandler(answer);

  const pvops_env env =
      sim::MakeEnv(kCmdlines[in.ConsumeIntegralInRange<size_t>(0, kCmdlines.size() - 1)]);
  if (pvops_init(&env) != PVOPS_OK) __builtin_trap();  // a usable env is never refused
  const pvops_info* info = pvops_get_info();
  if (info->backend >= PVOPS_BACKEND_COUNT) __builtin_trap();

  // The first ops a kernel calls, on the boot CPU and on a second one.
  (void)pvops_table.time.clock_ns();
  (void)pvops_table.time.tsc_khz();
  (void)pvops_table.time.steal_ns(0);
  (void)pvops_table.lock.vcpu_is_preempted(0);
  __builtin_memset(&g_area, 0, sizeof(g_area));
  if (pvops_set_cpu_area(1, g_area.bytes) == PVOPS_OK) {
    m.sim.RunOnCpu(1, [] {
      (void)pvops_cpu_online(1);
      (void)pvops_table.time.clock_ns();
    });
  }
  return 0;
}
