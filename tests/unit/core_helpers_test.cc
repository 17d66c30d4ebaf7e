// SPDX-License-Identifier: MIT
// The small shared pieces: status names, cpusets (C and C++), Reason formatting, the command
// line reader, the counters' public list.
#include <gtest/gtest.h>

#include <pvops/pvops.hpp>

#include <string>
#include <vector>

#include "backends/xen/xen_backend.h"
#include "core/cmdline.h"
#include "core/reason.h"
#include "core/runtime.h"

namespace pvops {
namespace {

TEST(StatusNames, EveryStatusHasItsName) {
  EXPECT_STREQ(pvops_status_name(PVOPS_OK), "ok");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_UNSUPPORTED), "unsupported");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_INVALID), "invalid");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_FAULT), "fault");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_DENIED), "denied");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_HYPERVISOR), "hypervisor-error");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_BAD_DATA), "bad-data");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_TIMEOUT), "timeout");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_BUSY), "busy");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_NO_RESOURCE), "no-resource");
  EXPECT_STREQ(pvops_status_name(PVOPS_ERR_NO_CPU_AREA), "no-cpu-area");
  EXPECT_STREQ(pvops_status_name(-100), "unknown-status");
  EXPECT_STREQ(pvops_status_name(1), "unknown-status");
}

TEST(StatusNames, TheCppStatusNamesItself) {
  const Status st = PVOPS_ERR_TIMEOUT;
  EXPECT_FALSE(st.ok());
  EXPECT_STREQ(st.name(), "timeout");
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status(PVOPS_ERR_FAULT), Status(PVOPS_ERR_FAULT));
}

TEST(CpuSets, AddHasAndClearOverAllWords) {
  pvops_cpuset set;
  pvops_cpuset_clear(&set);
  // The first CPU, the last of the first word, and the last of all (PVOPS_MAX_CPUS is a build
  // option, a multiple of 64: its last CPU is the top bit of the last word).
  constexpr uint32_t kLast = PVOPS_MAX_CPUS - 1;
  constexpr uint32_t kWords = PVOPS_MAX_CPUS / 64;
  for (uint32_t cpu : {0u, 63u, kLast}) pvops_cpuset_add(&set, cpu);
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    const bool in = cpu == 0 || cpu == 63 || cpu == kLast;
    EXPECT_EQ(pvops_cpuset_has(&set, cpu) != 0, in) << cpu;
  }
  EXPECT_EQ(sizeof(set.bits), kWords * 8);
  EXPECT_EQ(set.bits[0] & 1, 1u);
  EXPECT_EQ(set.bits[0] & ~uint64_t{1} & ~(uint64_t{1} << 63), 0u);
  EXPECT_EQ(set.bits[kWords - 1] >> 63, 1u);
  pvops_cpuset_clear(&set);
  for (uint64_t word : set.bits) EXPECT_EQ(word, 0u);
}

TEST(CpuSets, OutOfRangeCpusAreIgnored) {
  pvops_cpuset set;
  pvops_cpuset_clear(&set);
  pvops_cpuset_add(&set, PVOPS_MAX_CPUS);
  pvops_cpuset_add(&set, 0xffffffff);
  for (uint64_t word : set.bits) EXPECT_EQ(word, 0u);
  EXPECT_EQ(pvops_cpuset_has(&set, PVOPS_MAX_CPUS), 0);
}

TEST(CpuSets, TheCppSetWrapsTheSameBits) {
  CpuSet set = CpuSet::Only(62);
  set.Add(3);
  EXPECT_TRUE(set.Has(62));
  EXPECT_TRUE(set.Has(3));
  EXPECT_FALSE(set.Has(4));
  EXPECT_EQ(set.raw()->bits[0], (uint64_t{1} << 62) | (uint64_t{1} << 3));
  EXPECT_FALSE(CpuSet().Has(0));
}

TEST(Reasons, TextHexAndDecimal) {
  char buf[64];
  core::Reason r(buf, sizeof(buf));
  EXPECT_TRUE(r.empty());
  r.Add("base ").AddHex(0x40000100).Add(" n=").AddDec(0).Add(" ").AddHex(0);
  EXPECT_STREQ(r.c_str(), "base 0x40000100 n=0 0x0");
  r.Clear();
  r.AddDec(18446744073709551615u).Add(" ").AddHex(0xffffffffffffffff);
  EXPECT_STREQ(r.c_str(), "18446744073709551615 0xffffffffffffffff");
  EXPECT_FALSE(r.empty());
}

TEST(Reasons, TruncateAtTheBufferAndStayTerminated) {
  char buf[8];
  core::Reason r(buf, sizeof(buf));
  r.Add("abcdef").AddHex(0x1234);
  EXPECT_STREQ(r.c_str(), "abcdef0");
  r.Add("more");
  EXPECT_STREQ(r.c_str(), "abcdef0");
  r.Add(nullptr);
  EXPECT_STREQ(r.c_str(), "abcdef0");
}

TEST(Reasons, AZeroSizedReasonIsANoOp) {
  core::Reason r(nullptr, 0);
  r.Add("anything").AddDec(5);
  EXPECT_TRUE(r.empty());
}

TEST(Strings, CopyAndCompare) {
  char buf[4];
  EXPECT_EQ(core::CopyString(buf, sizeof(buf), "hello"), 3u);
  EXPECT_STREQ(buf, "hel");
  EXPECT_EQ(core::CopyString(buf, sizeof(buf), nullptr), 0u);
  EXPECT_STREQ(buf, "");
  EXPECT_TRUE(core::StringsEqual("kvm", "kvm"));
  EXPECT_FALSE(core::StringsEqual("kvm", "kvmx"));
  EXPECT_FALSE(core::StringsEqual("kv", "kvm"));
}

TEST(Cmdline, LastValueWinsAndPrefixesDoNotMatch) {
  char out[16];
  EXPECT_TRUE(core::CmdlineValue("pvops=kvm quiet pvops=xen", "pvops", out, sizeof(out)));
  EXPECT_STREQ(out, "xen");
  EXPECT_FALSE(core::CmdlineValue("mypvops=kvm pvopsx=1 pvops", "pvops", out, sizeof(out)));
  EXPECT_FALSE(core::CmdlineValue(nullptr, "pvops", out, sizeof(out)));
  EXPECT_TRUE(core::CmdlineValue("\tpvops=verylongbackendname", "pvops", out, 5));
  EXPECT_STREQ(out, "very");
  EXPECT_TRUE(core::CmdlineValue("pvops=", "pvops", out, sizeof(out)));
  EXPECT_STREQ(out, "");
}

// The names and their order are ABI (the guest's `stat:` lines, pvops-check): the shared
// counters, then each backend's own in backend id order.
TEST(Counters, ThePublicListKeepsItsNamesAndOrder) {
  pvops_counter all[PVOPS_MAX_COUNTERS];
  const uint32_t n = pvops_get_counters(all, PVOPS_MAX_COUNTERS);
  std::vector<std::string> names;
  for (uint32_t i = 0; i < n; ++i) names.push_back(all[i].name);
  const std::vector<std::string> expected = {"hypercalls",
                                             "ipis_sent",
                                             "ipi_hypercalls",
                                             "tlb_flush_remote",
                                             "tlb_flush_hypercalls",
                                             "tlb_flush_preempted_skipped",
                                             "tlb_flush_remote_calls",
                                             "pv_eoi_fast",
                                             "pv_eoi_slow",
                                             "pte_updates",
                                             "lazy_batches",
                                             "lazy_batched_updates",
                                             "lock_waits",
                                             "lock_kicks",
                                             "timer_arms",
                                             "timer_early_rearms",
                                             "clock_reads",
                                             "clock_retries",
                                             "event_upcalls",
                                             "xen_update_errors",  // xen
                                             "tsc_page_reads",
                                             "ref_counter_msr_reads",
                                             "ref_counter_msr_faults",
                                             "spin_wait_notifies",  // hyperv
                                             "vmi_rom_calls",
                                             "vmware_backdoor_calls"};  // vmi
  EXPECT_EQ(names, expected);
  EXPECT_EQ(pvops_get_counters(all, 3), 3u) << "cut at max";
}

TEST(Counters, ABackendsOwnCounterIsReadByItsPublicName) {
  core::ResetForTest();
  xen::kCounters.Count(xen::Counter::kUpdateErrors, 2);
  core::Count(core::Counter::kHypercalls);
  EXPECT_EQ(pvops_get_counter("xen_update_errors"), 2u);
  EXPECT_EQ(pvops_get_counter("hypercalls"), 1u);
  EXPECT_EQ(pvops_get_counter("no_such_counter"), 0u);
  core::ResetForTest();
  EXPECT_EQ(pvops_get_counter("xen_update_errors"), 0u) << "reset with the shared ones";
}

}  // namespace
}  // namespace pvops
