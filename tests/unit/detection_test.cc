// SPDX-License-Identifier: MIT
// Boot-time detection through pvops_init on simulated CPUs: which interfaces are found, in
// which order they are tried, and what the info query reports. Where a backend refuses to
// initialize on these bare machine models, the tests check that the one tried first was the
// right one and that the refusal is recorded on the way down to native.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include <string>
#include <vector>

#include "core/backend.h"
#include "hypervisor_leaves.h"

namespace pvops::test {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kVmware[] = "VMwareVMware";

class DetectionTest : public HypervisorLeavesTest {
 protected:
  // pvops_init as a kernel calls it. Its status is not asserted: it ends with the chosen
  // backend's cpu_init on CPU 0, and these machines describe only the CPUID leaves detection
  // reads, not the hypervisor behind them.
  void Detect(const char* cmdline = nullptr, uint32_t entry = PVOPS_ENTRY_NATIVE) {
    sim::LoadCpuModel(sim_, model_);
    env_ = sim::MakeEnv(cmdline, entry);
    init_status_ = pvops_init(&env_);
    ASSERT_NE(init_status_, PVOPS_ERR_INVALID);
  }
  pvops_status init_status_ = PVOPS_OK;

  const pvops_candidate* Candidate(uint32_t backend) const {
    const pvops_info& info = *pvops_get_info();
    for (uint32_t i = 0; i < info.candidate_count; ++i) {
      if (info.candidates[i].backend == backend) return &info.candidates[i];
    }
    return nullptr;
  }

  std::vector<std::string> CandidateNames() const {
    std::vector<std::string> names;
    const pvops_info& info = *pvops_get_info();
    for (uint32_t i = 0; i < info.candidate_count; ++i) {
      names.push_back(pvops_backend_name(info.candidates[i].backend));
    }
    return names;
  }

  // `order` is the plan, best first: the backend in use is the first of it whose init worked,
  // and each one before it left "<name> init failed (...)" in `fallback`, in plan order.
  void ExpectTriedInOrder(const std::vector<uint32_t>& order) const {
    const pvops_info& info = *pvops_get_info();
    const std::string fallback = info.fallback;
    size_t from = 0;
    for (const uint32_t id : order) {
      const std::string refusal = std::string(pvops_backend_name(id)) + " init failed (";
      if (info.backend == id) {
        EXPECT_EQ(fallback.find(refusal), std::string::npos) << fallback;
        return;
      }
      const size_t at = fallback.find(refusal, from);
      ASSERT_NE(at, std::string::npos)
          << pvops_backend_name(id) << " should have been tried before "
          << pvops_backend_name(info.backend) << "; fallback: \"" << fallback << "\"";
      if (from == 0) {
        EXPECT_EQ(at, 0u) << fallback;
      } else {
        EXPECT_EQ(fallback.compare(at - 2, 2, "; "), 0) << fallback;
      }
      from = at + refusal.size();
    }
    EXPECT_EQ(info.backend, uint32_t{PVOPS_BACKEND_NATIVE}) << "the plan ends with native";
  }
};

TEST_F(DetectionTest, KvmAlone) {
  Kvm(0x40000000);
  Detect();
  EXPECT_THAT(CandidateNames(), ::testing::ElementsAre("kvm"));
  const pvops_candidate* kvm = Candidate(PVOPS_BACKEND_KVM);
  ASSERT_NE(kvm, nullptr);
  EXPECT_EQ(kvm->base_leaf, 0x40000000u);
  EXPECT_EQ(kvm->max_leaf, 0x40000001u);
  EXPECT_EQ(kvm->priority, 0x40000001u);
  EXPECT_STREQ(kvm->signature, "KVMKVMKVM");
  EXPECT_STREQ(Info().reason, "highest priority: kvm at 0x40000000 (priority 0x40000001)");
  ExpectTriedInOrder({PVOPS_BACKEND_KVM});
}

TEST_F(DetectionTest, XenAlone) {
  Xen(0x40000000);
  Detect();
  EXPECT_THAT(CandidateNames(), ::testing::ElementsAre("xen"));
  EXPECT_STREQ(Candidate(PVOPS_BACKEND_XEN)->signature, "XenVMMXenVMM");
  EXPECT_EQ(Candidate(PVOPS_BACKEND_XEN)->max_leaf, 0x40000002u);
  ExpectTriedInOrder({PVOPS_BACKEND_XEN});
}

TEST_F(DetectionTest, HyperVAloneWithTheHv1Interface) {
  HyperV(0x40000000);
  Detect();
  EXPECT_THAT(CandidateNames(), ::testing::ElementsAre("hyperv"));
  EXPECT_STREQ(Candidate(PVOPS_BACKEND_HYPERV)->signature, "Microsoft Hv");
  EXPECT_EQ(Candidate(PVOPS_BACKEND_HYPERV)->priority, 1u);  // an emulated interface ranks last
  ExpectTriedInOrder({PVOPS_BACKEND_HYPERV});
}

TEST_F(DetectionTest, HyperVWithoutHv1IsNotHyperV) {
  HyperV(0x40000000, /*hv1=*/false);
  Detect();
  EXPECT_EQ(Info().candidate_count, 0u);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().reason, "no hypervisor interface detected");
}

TEST_F(DetectionTest, VmwareSignature) {
  sim_.SetHypervisorLeaf(0x40000000, 0x40000010, kVmware);
  Detect();
  EXPECT_THAT(CandidateNames(), ::testing::ElementsAre("vmi"));
  EXPECT_STREQ(Candidate(PVOPS_BACKEND_VMI)->signature, "VMwareVMware");
  EXPECT_EQ(Candidate(PVOPS_BACKEND_VMI)->base_leaf, 0x40000000u);
  ExpectTriedInOrder({PVOPS_BACKEND_VMI});
}

TEST_F(DetectionTest, KvmWithHyperVEnlightenmentsChoosesKvm) {
  HyperV(0x40000000);
  Kvm(0x40000100);
  Detect();
  ASSERT_NE(Candidate(PVOPS_BACKEND_KVM), nullptr);
  ASSERT_NE(Candidate(PVOPS_BACKEND_HYPERV), nullptr);
  EXPECT_EQ(Candidate(PVOPS_BACKEND_KVM)->base_leaf, 0x40000100u);
  EXPECT_EQ(Candidate(PVOPS_BACKEND_HYPERV)->base_leaf, 0x40000000u);
  EXPECT_STREQ(Info().reason,
               "highest priority: kvm at 0x40000100 (priority 0x40000101) over hyperv at "
               "0x40000000 (priority 0x1)");
  ExpectTriedInOrder({PVOPS_BACKEND_KVM, PVOPS_BACKEND_HYPERV});
}

TEST_F(DetectionTest, XenWithViridianChoosesXen) {
  HyperV(0x40000000);
  Xen(0x40000100);
  Detect();
  EXPECT_EQ(Candidate(PVOPS_BACKEND_XEN)->base_leaf, 0x40000100u);
  EXPECT_THAT(Info().reason, StartsWith("highest priority: xen at 0x40000100"));
  ExpectTriedInOrder({PVOPS_BACKEND_XEN, PVOPS_BACKEND_HYPERV});
}

TEST_F(DetectionTest, TcgEchoOfTheLastBasicLeafIsNoHypervisor) {
  // QEMU TCG: hypervisor bit set, no hypervisor leaves, every 0x4000xx00 answers with leaf 0xd.
  model_.max_basic_leaf = 0xd;
  sim_.SetCpuid(0xd, {0x207, 0x340, 0xa88, 0});
  Detect();
  EXPECT_EQ(sim_.PeekCpuid(0x40000000, 0).eax, 0x207u);  // the echo is really there
  EXPECT_EQ(Info().candidate_count, 0u);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().reason, "no hypervisor interface detected");
}

TEST_F(DetectionTest, GarbageSignatureIsNoCandidate) {
  sim_.SetHypervisorLeaf(0x40000000, 0x40000004, "Gr4b@ge!*#%x");
  Detect();
  EXPECT_EQ(Info().candidate_count, 0u);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
}

TEST_F(DetectionTest, TruncatedBlocksAreRefused) {
  Kvm(0x40000000, /*max_leaf=*/0x40000000);           // no features leaf
  Xen(0x40000100, /*max_leaf=*/0x40000101);           // no hypercall-page leaf
  HyperV(0x40000200, true, /*max_leaf=*/0x40000204);  // no limits leaf
  Detect();
  EXPECT_EQ(Info().candidate_count, 0u);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
}

TEST_F(DetectionTest, MaxLeafOutsideTheBlockIsRefused) {
  Kvm(0x40000000, /*max_leaf=*/0x40000100);  // one past base + 0xff
  Xen(0x40000100, /*max_leaf=*/0x400000ff);  // below its own base
  Detect();
  EXPECT_EQ(Info().candidate_count, 0u);
}

TEST_F(DetectionTest, SignatureFarUpTheRangeIsFound) {
  Kvm(0x40001000);
  Detect();
  const pvops_candidate* kvm = Candidate(PVOPS_BACKEND_KVM);
  ASSERT_NE(kvm, nullptr);
  EXPECT_EQ(kvm->base_leaf, 0x40001000u);
  EXPECT_EQ(kvm->priority, 0x40001001u);
  ExpectTriedInOrder({PVOPS_BACKEND_KVM});
}

TEST_F(DetectionTest, WithoutTheHypervisorBitTheRangeIsNotTrusted) {
  model_.hypervisor_bit = false;
  Kvm(0x40000000);
  Detect();
  EXPECT_EQ(Info().candidate_count, 0u);
}

TEST_F(DetectionTest, OverrideNamingAnAbsentHypervisorGivesNative) {
  Kvm(0x40000000);
  Detect("console=ttyS0 pvops=xen quiet");
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_THAT(Info().reason, HasSubstr("pvops=xen"));
  EXPECT_THAT(Info().reason, HasSubstr("no xen interface was detected"));
  EXPECT_THAT(CandidateNames(), ::testing::ElementsAre("kvm"));  // still reported
  EXPECT_STREQ(Info().fallback, "");                             // nothing was tried and refused
}

TEST_F(DetectionTest, OverrideNativeAlwaysWorks) {
  HyperV(0x40000000);
  Kvm(0x40000100);
  Detect("pvops=native");
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().reason, "pvops=native on the command line");
  EXPECT_STREQ(Info().fallback, "");
  EXPECT_EQ(Info().candidate_count, 2u);
}

TEST_F(DetectionTest, OverrideOfAPresentInterfaceTriesOnlyThatOne) {
  HyperV(0x40000000);
  Kvm(0x40000100);
  Detect("pvops=hyperv");
  EXPECT_THAT(Info().reason, StartsWith("pvops=hyperv on the command line"));
  ExpectTriedInOrder({PVOPS_BACKEND_HYPERV});
  EXPECT_THAT(Info().fallback, ::testing::Not(HasSubstr("kvm")));
}

TEST_F(DetectionTest, UnknownOverrideIsIgnoredAndSaysSo) {
  Kvm(0x40000000);
  Detect("pvops=bochs");
  EXPECT_THAT(Info().reason, StartsWith("unknown pvops=bochs ignored; highest priority: kvm"));
  ExpectTriedInOrder({PVOPS_BACKEND_KVM});
}

TEST_F(DetectionTest, AFailedInitFallsToTheNextCandidateAndIsRecorded) {
  // Three interfaces, tried best first; each refusal is recorded with its reason.
  HyperV(0x40000000);
  Kvm(0x40000100);
  sim_.SetHypervisorLeaf(0x40000200, 0x40000210, kVmware);
  Detect();
  EXPECT_EQ(Info().candidate_count, 3u);
  ExpectTriedInOrder({PVOPS_BACKEND_VMI, PVOPS_BACKEND_KVM, PVOPS_BACKEND_HYPERV});
  if (Info().backend != PVOPS_BACKEND_VMI) {
    EXPECT_THAT(Info().fallback, MatchesRegex("vmi init failed \\([a-z-]+\\): .+"));
  }
}

TEST_F(DetectionTest, XenPvEntrySelectsXenWithoutCpuid) {
  model_.hypervisor_bit = false;  // a PV guest's CPUID says nothing
  Detect(nullptr, PVOPS_ENTRY_XEN_PV);
  const pvops_candidate* xen = Candidate(PVOPS_BACKEND_XEN);
  ASSERT_NE(xen, nullptr);
  EXPECT_EQ(xen->priority, 0xffffffffu);
  EXPECT_EQ(xen->base_leaf, 0u);
  EXPECT_STREQ(xen->signature, "XenVMMXenVMM");
  EXPECT_EQ(Info().entry, uint32_t{PVOPS_ENTRY_XEN_PV});
  ExpectTriedInOrder({PVOPS_BACKEND_XEN});
}

TEST_F(DetectionTest, XenPvEntryOutranksAnyCpuidBlock) {
  Kvm(0x40000000);
  Detect(nullptr, PVOPS_ENTRY_XEN_PV);
  EXPECT_THAT(Info().reason, StartsWith("highest priority: xen (priority 0xffffffff) over kvm"));
  ExpectTriedInOrder({PVOPS_BACKEND_XEN, PVOPS_BACKEND_KVM});
}

TEST_F(DetectionTest, AnEnvTooSmallIsRefused) {
  pvops_env env = sim::MakeEnv();
  env.size = 8;
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_init(nullptr), PVOPS_ERR_INVALID);
  // An env from before max_cpus (ABI 2) ends at map_exec.
  env.size = offsetof(pvops_env, max_cpus);
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
}

// A kernel compiled with another PVOPS_MAX_CPUS passes cpusets of another size: refused, the
// table left native, and the reason names both values.
TEST_F(DetectionTest, AnEnvOfAnotherMaxCpusIsRefusedAndSaysWhy) {
  Kvm(0x40000000);
  sim::LoadCpuModel(sim_, model_);
  pvops_env env = sim::MakeEnv();
  env.max_cpus = PVOPS_MAX_CPUS * 2;
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_EQ(pvops_table.time.clock_ns, core::kNativeOps.time.clock_ns);
  EXPECT_EQ(std::string(Info().reason), "env.max_cpus " + std::to_string(PVOPS_MAX_CPUS * 2) +
                                            ", version 0x0, but the library was built with "
                                            "PVOPS_MAX_CPUS " +
                                            std::to_string(PVOPS_MAX_CPUS) +
                                            " as release " PVOPS_VERSION_STRING);
  env.max_cpus = 0;  // a kernel that never set it
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  env.max_cpus = PVOPS_MAX_CPUS;
  EXPECT_EQ(pvops_init(&env), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM});
}

// A kernel compiled against another release's header states its version: another major.minor
// is refused with both releases named; another patch release, or no version (an older env), is
// accepted.
TEST_F(DetectionTest, AnEnvOfAnotherReleaseIsRefusedAndSaysWhy) {
  Kvm(0x40000000);
  sim::LoadCpuModel(sim_, model_);
  pvops_env env = sim::MakeEnv();
  env.version = PVOPS_VERSION + (1u << 8);  // the next minor release
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_EQ(pvops_table.time.clock_ns, core::kNativeOps.time.clock_ns);
  char version_hex[16];
  snprintf(version_hex, sizeof version_hex, "0x%x", env.version);
  EXPECT_EQ(std::string(Info().reason),
            "env.max_cpus " + std::to_string(PVOPS_MAX_CPUS) + ", version " + version_hex +
                ", but the library was built with PVOPS_MAX_CPUS " +
                std::to_string(PVOPS_MAX_CPUS) + " as release " PVOPS_VERSION_STRING);
  env.version = PVOPS_VERSION + (1u << 16);  // the next major release
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  env.version = (PVOPS_VERSION & ~0xffu) | ((PVOPS_VERSION + 1) & 0xffu);  // another patch
  EXPECT_EQ(pvops_init(&env), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM});
  env.version = 0;
  EXPECT_EQ(pvops_init(&env), PVOPS_OK);
  env.version = PVOPS_VERSION;
  EXPECT_EQ(pvops_init(&env), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM});
}

}  // namespace
}  // namespace pvops::test
