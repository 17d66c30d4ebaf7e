// SPDX-License-Identifier: MIT
// What a boot loader or Xen hands the kernel at entry. Xen PV: start_info (every field, the
// command line, the p2m list, the m2p window and CR3 it must agree with, the shared_info frame
// and its clock) through the whole PV init against the host tests' simulated Xen, whose
// answers the input may replace. PVH: hvm_start_info's magic and rsdp_paddr, and the ACPI
// tables behind it as far as the PM timer. Whatever the values, pvops_init returns with a
// working table, and a start_info it accepts is one Xen's layout allows.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "fake_xen.h"
#include "fuzz_machine.h"
#include "hw/acpi_pm_timer.h"
// After xen.h (it pins the interface version).
#include <xen/arch-x86/hvm/start_info.h>

namespace {

using pvops::fuzz::KeepOrFuzz;

constexpr uint64_t kPvhInfoPage = 1, kRsdpPage = 2, kRootPage = 3, kFadtPage = 4;

class StartInfoFuzz : public pvops::fuzz::FixtureMachine<pvops::test::XenPvTest> {
 public:
  void Run(FuzzedDataProvider& in) {
    if (in.ConsumeBool())
      RunPv(in);
    else
      RunPvh(in);
  }

 private:
  uint64_t GuestVa(uint64_t offset) { return reinterpret_cast<uintptr_t>(Page(0)) + offset; }

  void RunPv(FuzzedDataProvider& in) {
    using namespace pvops;
    start_info& si = StartInfo();
    if (in.ConsumeBool()) {
      const std::vector<char> magic = in.ConsumeBytes<char>(sizeof(si.magic));
      if (!magic.empty()) memcpy(si.magic, magic.data(), magic.size());
    }
    KeepOrFuzz(in, si.nr_pages);
    KeepOrFuzz(in, si.shared_info);
    KeepOrFuzz(in, si.flags);
    KeepOrFuzz(in, si.nr_pt_frames);
    KeepOrFuzz(in, si.mfn_list);
    // Anywhere in or just below guest memory: the kernel's virt_to_phys knows guest memory only,
    // so a pt_base outside it could not pass for the kernel's own table.
    if (in.ConsumeBool())
      si.mfn_list = GuestVa(in.ConsumeIntegralInRange<uint64_t>(0, test::kGuestPages * 4096)) -
                    in.ConsumeIntegralInRange<uint64_t>(0, 8192);
    if (in.ConsumeBool())
      si.pt_base = GuestVa(in.ConsumeIntegralInRange<uint64_t>(0, test::kGuestPages * 4096 - 8));
    if (in.ConsumeBool()) {
      const std::vector<uint8_t> cmdline = in.ConsumeBytes<uint8_t>(sizeof(si.cmd_line));
      if (!cmdline.empty()) memcpy(si.cmd_line, cmdline.data(), cmdline.size());
    }
    for (int i = in.ConsumeIntegralInRange(0, 4); i > 0; --i)
      P2m()[in.ConsumeIntegralInRange<uint64_t>(0, test::kGuestPages - 1)] =
          in.ConsumeIntegral<xen_pfn_t>();
    for (int i = in.ConsumeIntegralInRange(0, 4); i > 0; --i)
      m2p_[in.ConsumeIntegralInRange<size_t>(0, m2p_.size() - 1)] =
          in.ConsumeIntegral<xen_ulong_t>();
    KeepOrFuzz(in, machphys_.v_start);
    KeepOrFuzz(in, machphys_.v_end);
    KeepOrFuzz(in, machphys_.max_mfn);
    if (in.ConsumeBool()) sim_.SetCr3(in.ConsumeIntegral<uint64_t>());
    vcpu_time_info& t = Shared().vcpu_info[0].time;
    KeepOrFuzz(in, t.version);
    KeepOrFuzz(in, t.tsc_to_system_mul);
    KeepOrFuzz(in, t.tsc_shift);
    KeepOrFuzz(in, t.flags);
    // Zeros (and an input used up) keep the simulated Xen's own page and answers.
    fill_page_ = !in.ConsumeBool();
    answer_ = [&in](const test::XenCall&) -> int64_t {
      if (!in.ConsumeBool()) return kFallThrough;
      return in.ConsumeIntegral<int64_t>();
    };

    // The C entry points a kernel calls before pvops_init.
    const char* problem = pvops_xen_pv_start_info_problem(&si);
    const char* cmdline = pvops_xen_pv_cmdline(&si);
    if (cmdline[0] != '\0') {
      if (cmdline != reinterpret_cast<const char*>(si.cmd_line)) __builtin_trap();
      if (memchr(si.cmd_line, 0, sizeof(si.cmd_line)) == nullptr) __builtin_trap();
    }
    // A copy: the boot may write guest memory where the input put start_info's references.
    const start_info given = si;

    if (BootPv() != PVOPS_OK) __builtin_trap();  // a usable env is never refused
    const pvops_info* info = pvops_get_info();
    if (info->backend != PVOPS_BACKEND_XEN) return;
    // Accepted: Xen's start-of-day layout holds (xen.h), checked here apart from the library.
    const uint64_t si_va = reinterpret_cast<uintptr_t>(&si);
    if (problem != nullptr || strncmp(given.magic, "xen-3.0-x86_64", 14) != 0 ||
        given.nr_pages == 0 || given.shared_info % 4096 != 0 || given.pt_base % 4096 != 0 ||
        given.pt_base <= si_va || given.mfn_list < GuestVa(0) ||
        given.mfn_list + given.nr_pages * sizeof(xen_pfn_t) > si_va)
      __builtin_trap();
    (void)pvops_clock_ns();
    (void)pvops_phys_to_machine(in.ConsumeIntegral<uint64_t>());
    (void)pvops_machine_to_phys(in.ConsumeIntegral<uint64_t>());
    if (in.ConsumeBool()) (void)OnlineCpu(1);
  }

  // An ACPI table of the input's bytes at `page`, optionally with its signature and length made
  // right, so the input can get past each check in turn; returns its length.
  uint32_t FillTable(FuzzedDataProvider& in, uint64_t page, const char* signature) {
    uint8_t* p = Page(page);
    const std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 512));
    if (!bytes.empty()) memcpy(p, bytes.data(), bytes.size());
    if (in.ConsumeBool()) memcpy(p, signature, strlen(signature));
    const auto length = static_cast<uint32_t>(bytes.size());
    if (in.ConsumeBool()) memcpy(p + 4, &length, 4);
    return length;
  }
  // Optionally the checksum at `at` that makes the first `length` bytes of `page` sum to zero.
  void FixChecksum(FuzzedDataProvider& in, uint64_t page, size_t at, uint32_t length) {
    if (!in.ConsumeBool()) return;
    uint8_t* p = Page(page);
    p[at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    p[at] = static_cast<uint8_t>(-sum);
  }

  void RunPvh(FuzzedDataProvider& in) {
    using namespace pvops;
    auto& start = *reinterpret_cast<hvm_start_info*>(Page(kPvhInfoPage));
    start.magic = in.ConsumeBool() ? XEN_HVM_START_MAGIC_VALUE : in.ConsumeIntegral<uint32_t>();
    start.version = in.ConsumeIntegral<uint32_t>();
    start.flags = in.ConsumeIntegral<uint32_t>();
    start.nr_modules = in.ConsumeIntegral<uint32_t>();
    start.modlist_paddr = in.ConsumeIntegral<uint64_t>();
    start.cmdline_paddr = in.ConsumeIntegral<uint64_t>();
    start.rsdp_paddr = in.ConsumeBool() ? kRsdpPage * 4096 : in.ConsumeIntegral<uint64_t>();
    // The FADT; the root table (RSDT or XSDT), whose first entry may name it; the RSDP (ACPI
    // 1.0, or 2.0 with its length and extended checksum), which may name the root.
    FixChecksum(in, kFadtPage, 9, FillTable(in, kFadtPage, "FACP"));
    const uint32_t root_length = FillTable(in, kRootPage, in.ConsumeBool() ? "XSDT" : "RSDT");
    const uint64_t fadt = kFadtPage * 4096;
    if (in.ConsumeBool()) memcpy(Page(kRootPage) + 36, &fadt, in.ConsumeBool() ? 8 : 4);
    FixChecksum(in, kRootPage, 9, root_length);
    (void)FillTable(in, kRsdpPage, "RSD PTR ");
    uint8_t* rsdp = Page(kRsdpPage);
    const uint64_t root = kRootPage * 4096;
    if (in.ConsumeBool()) memcpy(rsdp + 16, &root, 4);
    if (in.ConsumeBool()) memcpy(rsdp + 24, &root, 8);
    const bool v2 = in.ConsumeBool();
    if (v2) {
      const uint32_t v2_length = 36;
      rsdp[15] = 2;
      memcpy(rsdp + 20, &v2_length, 4);
    }
    FixChecksum(in, kRsdpPage, 8, 20);
    if (v2) FixChecksum(in, kRsdpPage, 32, 36);

    const pvops_env env = sim::MakeEnv(nullptr, PVOPS_ENTRY_PVH, &start);
    if (pvops_init(&env) != PVOPS_OK) __builtin_trap();
    hw::PmTimerPort port{};
    if (hw::FindPmTimer(&port) == PVOPS_OK &&
        (port.port == 0 || port.port > 0xfffc ||
         (port.mask != 0xffffffu && port.mask != 0xffffffffu)))
      __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pvops::fuzz::RunOnFreshMachine<StartInfoFuzz>(data, size);
}
