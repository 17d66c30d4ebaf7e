// SPDX-License-Identifier: MIT
// Booting through the Xen PV entry: start_info checked field by field, the hypercall page, the
// m2p window, the bootstrap region against the real CR3, and what pvops_get_info reports.
#include <gtest/gtest.h>

#include <string.h>

#include <string>

#include "fake_xen.h"

namespace pvops::test {
namespace {

class XenBootTest : public XenPvTest {
 protected:
  // Init must fail with this status, leave the native table, and say why in info.fallback.
  void ExpectRefused(pvops_status status, const char* why_part) {
    EXPECT_EQ(BootPv(), PVOPS_OK);  // pvops_init itself always leaves a working table
    const pvops_info& info = *pvops_get_info();
    EXPECT_EQ(info.backend, PVOPS_BACKEND_NATIVE);
    EXPECT_NE(strstr(info.fallback, pvops_status_name(status)), nullptr) << info.fallback;
    EXPECT_NE(strstr(info.fallback, why_part), nullptr) << info.fallback;
  }
};

TEST_F(XenBootTest, GoodStartInfoPassesEveryCheck) {
  EXPECT_EQ(pvops_xen_pv_start_info_problem(&StartInfo()), nullptr);
}

TEST_F(XenBootTest, StartInfoChecksNameTheBadField) {
  struct Case {
    const char* what;
    std::function<void(start_info&)> spoil;
    const char* expected;
  };
  const uint64_t si_va = reinterpret_cast<uintptr_t>(&StartInfo());
  const Case cases[] = {
      {"magic", [](start_info& s) { strcpy(s.magic, "xen-3.0-x86_32p"); }, "magic"},
      {"unterminated magic", [](start_info& s) { memset(s.magic, 'x', sizeof(s.magic)); }, "magic"},
      {"no pages", [](start_info& s) { s.nr_pages = 0; }, "nr_pages is 0"},
      {"too many pages", [](start_info& s) { s.nr_pages = uint64_t{1} << 31; },
       "nr_pages is above"},
      {"shared_info misaligned", [](start_info& s) { s.shared_info += 8; }, "shared_info"},
      {"mfn_list misaligned", [](start_info& s) { s.mfn_list += 4; }, "mfn_list"},
      {"mfn_list runs into start_info",
       [si_va](start_info& s) { s.mfn_list = si_va - 8 * (kGuestPages - 1); },
       "mfn_list does not end"},
      {"mfn_list past start_info", [si_va](start_info& s) { s.mfn_list = si_va + 4096; },
       "mfn_list does not end"},
      {"mfn_list wraps", [](start_info& s) { s.mfn_list = ~uint64_t{7}; }, "wraps"},
      {"no page tables", [](start_info& s) { s.nr_pt_frames = 0; }, "nr_pt_frames"},
      {"pt_base before start_info", [si_va](start_info& s) { s.pt_base = si_va - 4096; },
       "pt_base does not lie after"},
      {"pt_base misaligned", [](start_info& s) { s.pt_base += 8; }, "pt_base is not page-aligned"},
  };
  for (const Case& c : cases) {
    const start_info good = StartInfo();
    c.spoil(StartInfo());
    const char* problem = pvops_xen_pv_start_info_problem(&StartInfo());
    ASSERT_NE(problem, nullptr) << c.what;
    EXPECT_NE(strstr(problem, c.expected), nullptr) << c.what << ": " << problem;
    StartInfo() = good;
  }
  EXPECT_NE(strstr(pvops_xen_pv_start_info_problem(nullptr), "no start_info"), nullptr);
}

TEST_F(XenBootTest, CmdlineWithoutNulIsEmptyAndNoted) {
  strcpy(reinterpret_cast<char*>(StartInfo().cmd_line), "pvops=xen test=mmu.*");
  EXPECT_STREQ(pvops_xen_pv_cmdline(&StartInfo()), "pvops=xen test=mmu.*");
  memset(StartInfo().cmd_line, 'a', sizeof(StartInfo().cmd_line));
  EXPECT_STREQ(pvops_xen_pv_cmdline(&StartInfo()), "");
  // Not fatal: the library does not need it; the kernel is told in info.fallback.
  ASSERT_EQ(BootPv(), PVOPS_OK);
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_XEN);
  EXPECT_NE(strstr(pvops_get_info()->notes, "not NUL-terminated"), nullptr);
}

TEST_F(XenBootTest, TheGenericBootReaderChecksStartInfoAtThePvEntryOnly) {
  strcpy(reinterpret_cast<char*>(StartInfo().cmd_line), "pvops=xen quiet");
  const char* cmdline = nullptr;
  EXPECT_EQ(pvops_boot_cmdline(PVOPS_ENTRY_XEN_PV, &StartInfo(), &cmdline), nullptr);
  EXPECT_STREQ(cmdline, "pvops=xen quiet");

  strcpy(StartInfo().magic, "xen-3.0-x86_32p");
  const char* problem = pvops_boot_cmdline(PVOPS_ENTRY_XEN_PV, &StartInfo(), &cmdline);
  ASSERT_NE(problem, nullptr);
  EXPECT_NE(strstr(problem, "magic"), nullptr) << problem;
  EXPECT_STREQ(cmdline, "") << "nothing of a structure that failed its checks";

  problem = pvops_boot_cmdline(PVOPS_ENTRY_PVH, &StartInfo(), &cmdline);
  ASSERT_NE(problem, nullptr);
  EXPECT_NE(strstr(problem, "no boot structure at this entry"), nullptr) << problem;
  EXPECT_NE(pvops_boot_cmdline(PVOPS_ENTRY_XEN_PV, &StartInfo(), nullptr), nullptr);
}

TEST_F(XenBootTest, BootReportsXenVersionModeAndPaths) {
  ASSERT_EQ(BootPv(), PVOPS_OK);
  const pvops_info& info = *pvops_get_info();
  EXPECT_EQ(info.backend, PVOPS_BACKEND_XEN);
  EXPECT_EQ(info.entry, PVOPS_ENTRY_XEN_PV);
  EXPECT_EQ(info.version, 0x00040011u);
  EXPECT_EQ(info.features[0], features_);
  EXPECT_EQ(info.features[1], uint32_t{SIF_PRIVILEGED | SIF_INITDOMAIN});
  EXPECT_EQ(info.features[3], PVOPS_XEN_MODE_PV);
  const uint32_t all = PVOPS_XEN_PATH_PVCLOCK | PVOPS_XEN_PATH_EVENTS | PVOPS_XEN_PATH_PV_MMU |
                       PVOPS_XEN_PATH_PV_IRQ_FLAG | PVOPS_XEN_PATH_RUNSTATE |
                       PVOPS_XEN_PATH_DOM0_EXIT;
  EXPECT_EQ(info.features[2], all);
  EXPECT_NE(strstr(info.reason, "Xen 4.17 via the PV entry as dom0, 64 pages"), nullptr)
      << info.reason;
  EXPECT_EQ(EmptySlotOf(pvops_table), "");
  EXPECT_STREQ(info.fallback, "");
  EXPECT_STREQ(info.notes, "");
  // shared_info mapped at the library's page, read-write, with a local invlpg.
  ASSERT_FALSE(va_mappings_.empty());
  EXPECT_EQ(va_mappings_[0].va, reinterpret_cast<uintptr_t>(xen::SharedInfoPage()));
  EXPECT_EQ(va_mappings_[0].pte & 0x000ffffffffff000, kSharedInfoMfn << 12);
  EXPECT_EQ(va_mappings_[0].pte & 3, 3u);
  EXPECT_EQ(va_mappings_[0].flags, uint64_t{UVMF_INVLPG | UVMF_LOCAL});
  // The boot CPU: periodic timer off, VIRQ_TIMER and the kick port bound, runstate registered.
  EXPECT_EQ(periodic_stops_, std::vector<uint32_t>{0});
  EXPECT_NE(PortOf(FakePort::kVirq, 0, VIRQ_TIMER), 0u);
  EXPECT_NE(PortOf(FakePort::kIpi, 0), 0u);
  EXPECT_EQ(runstate_areas_.count(0), 1u);
  // CR3 in guest-physical form: the bootstrap L4's pfn.
  EXPECT_EQ(pvops_read_cr3(), kRootPfn * 4096);
}

TEST_F(XenBootTest, UnfilledHypercallPageFallsBackWithItsReason) {
  fill_page_ = false;
  ExpectRefused(PVOPS_ERR_UNSUPPORTED, "XEN_ELFNOTE_HYPERCALL_PAGE");
  EXPECT_TRUE(calls_.empty()) << "nothing may jump into an unfilled page";
}

TEST_F(XenBootTest, BadStartInfoFallsBackWithItsReason) {
  StartInfo().nr_pages = 0;
  ExpectRefused(PVOPS_ERR_BAD_DATA, "nr_pages is 0");
}

TEST_F(XenBootTest, MfnListBelowTheBootstrapRegionIsRefused) {
  // The region starts where pfn 0 is mapped (pt_base minus the L4's pfn): one page lower is
  // outside what Xen mapped, even though it still ends before start_info.
  StartInfo().mfn_list = reinterpret_cast<uintptr_t>(Page(0)) - 4096;
  ExpectRefused(PVOPS_ERR_BAD_DATA, "below the bootstrap region");
}

TEST_F(XenBootTest, M2pWindowOutsideXensAreaIsRefused) {
  machphys_.max_mfn = (machphys_.v_end - machphys_.v_start) / 8;  // one entry past the window
  ExpectRefused(PVOPS_ERR_BAD_DATA, "outside Xen's area");
}

TEST_F(XenBootTest, P2mNamingAFrameAboveMaxMfnIsRefused) {
  P2m()[5] = kMaxMfn + 1;
  ExpectRefused(PVOPS_ERR_BAD_DATA, "above Xen's max_mfn");
}

TEST_F(XenBootTest, P2mAndM2pThatDisagreeAreRefused) {
  m2p_[MfnOf(0)] = 3;
  ExpectRefused(PVOPS_ERR_BAD_DATA, "disagree");
}

TEST_F(XenBootTest, Cr3ThatIsNotOurFrameIsRefused) {
  sim_.SetCr3(uint64_t{0x123} << 12);  // the m2p says: no pfn of this guest
  ExpectRefused(PVOPS_ERR_BAD_DATA, "is not a frame of this guest");
}

TEST_F(XenBootTest, KernelVirtToPhysThatDisagreesWithXenIsRefused) {
  FillPvStubs();
  pvops_env env = sim::MakeEnv(nullptr, PVOPS_ENTRY_XEN_PV, &StartInfo());
  env.virt_to_phys = [](const void* va) { return uint64_t{reinterpret_cast<uintptr_t>(va)}; };
  ASSERT_EQ(pvops_init(&env), PVOPS_OK);
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE);
  EXPECT_NE(strstr(pvops_get_info()->fallback, "the kernel's virt_to_phys(pt_base)"), nullptr)
      << pvops_get_info()->fallback;
}

TEST_F(XenBootTest, UnfilledClockTupleIsRefused) {
  // Xen never wrote vCPU 0's tuple: version 0.
  answer_ = [](const XenCall& c) -> int64_t {
    if (c.nr == __HYPERVISOR_update_va_mapping &&
        ((c.args[1] >> 12) & 0xffffff) == kSharedInfoMfn) {
      auto* s = reinterpret_cast<shared_info*>(c.args[0]);
      memset(s, 0, sizeof(*s));
      return 0;
    }
    return kFallThrough;
  };
  ExpectRefused(PVOPS_ERR_BAD_DATA, "vcpu_time_info");
}

TEST_F(XenBootTest, XenVersionNonsenseIsRefused) {
  answer_ = [](const XenCall& c) -> int64_t {
    return c.nr == __HYPERVISOR_xen_version ? 0x00020000 : kFallThrough;
  };
  ExpectRefused(PVOPS_ERR_BAD_DATA, "xen_version answered 0x20000");
}

TEST_F(XenBootTest, EarlyConsoleNeedsAFilledPage) {
  pvops_xen_console_write("lost", 4);
  EXPECT_TRUE(calls_.empty());
  FillPvStubs();
  pvops_xen_console_write("seen\n", 5);
  EXPECT_EQ(console_, "seen\n");
}

}  // namespace
}  // namespace pvops::test
