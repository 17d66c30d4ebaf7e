// SPDX-License-Identifier: MIT
// The freestanding build's out-of-line arch pieces (src/arch/x86), run for real on the host.
// At user level rdmsr and wrmsr always raise #GP, which Linux delivers as SIGSEGV: the signal
// handler plays the kernel's #GP handler and asks pvops_fixup_fault where to resume, so the
// real faulting and recovery addresses of the assembly are exercised. The string functions
// are assembled under pvops_test_* names so the process keeps its libc ones.
#include <gtest/gtest.h>

#include <signal.h>
#include <ucontext.h>

#include <cstring>
#include <vector>

#include <pvops/pvops.h>

extern "C" {
int pvops_arch_rdmsr_safe(uint32_t msr, uint64_t* value);
int pvops_arch_wrmsr_safe(uint32_t msr, uint64_t value);
extern const char pvops_arch_rdmsr_insn[];
extern const char pvops_arch_rdmsr_recover[];
extern const char pvops_arch_wrmsr_insn[];
extern const char pvops_arch_wrmsr_recover[];
void* pvops_test_memcpy(void* dst, const void* src, size_t n);
void* pvops_test_memset(void* dst, int c, size_t n);
void* pvops_test_memmove(void* dst, const void* src, size_t n);
int pvops_test_memcmp(const void* a, const void* b, size_t n);
}

namespace {

constexpr uint8_t kGeneralProtection = 13;
volatile uint64_t g_fault_rip;
volatile sig_atomic_t g_faults;

void OnSegv(int, siginfo_t*, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  uint64_t rip = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
  g_fault_rip = rip;
  g_faults = g_faults + 1;
  if (pvops_fixup_fault(&rip, kGeneralProtection) != 1) {
    // Not ours: restore the default action and let the fault kill the test loudly.
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(rip);
}

class SafeMsrOnHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction sa = {};
    sa.sa_sigaction = OnSegv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGSEGV, &sa, &old_), 0);
    g_faults = 0;
  }
  void TearDown() override { sigaction(SIGSEGV, &old_, nullptr); }
  struct sigaction old_ = {};
};

TEST_F(SafeMsrOnHostTest, RdmsrFaultsAtItsInstructionAndRecovers) {
  uint64_t value = 0x1234;
  EXPECT_EQ(pvops_arch_rdmsr_safe(0x10, &value), 1);  // IA32_TIME_STAMP_COUNTER, CPL 3: #GP
  EXPECT_EQ(g_faults, 1);
  EXPECT_EQ(g_fault_rip, reinterpret_cast<uintptr_t>(pvops_arch_rdmsr_insn));
  EXPECT_EQ(value, 0u);  // the recovery path leaves a defined value
}

TEST_F(SafeMsrOnHostTest, WrmsrFaultsAtItsInstructionAndRecovers) {
  EXPECT_EQ(pvops_arch_wrmsr_safe(0x10, 0x5555), 1);
  EXPECT_EQ(g_faults, 1);
  EXPECT_EQ(g_fault_rip, reinterpret_cast<uintptr_t>(pvops_arch_wrmsr_insn));
}

TEST(FixupFault, OnlyGeneralProtectionAtTheKnownSitesIsFixed) {
  uint64_t rip = reinterpret_cast<uintptr_t>(pvops_arch_rdmsr_insn);
  EXPECT_EQ(pvops_fixup_fault(&rip, 14), 0);  // #PF is not ours
  EXPECT_EQ(rip, reinterpret_cast<uintptr_t>(pvops_arch_rdmsr_insn));
  rip += 1;  // one byte off is someone else's fault
  EXPECT_EQ(pvops_fixup_fault(&rip, kGeneralProtection), 0);
  rip = reinterpret_cast<uintptr_t>(pvops_arch_wrmsr_insn);
  EXPECT_EQ(pvops_fixup_fault(&rip, kGeneralProtection), 1);
  EXPECT_EQ(rip, reinterpret_cast<uintptr_t>(pvops_arch_wrmsr_recover));
  EXPECT_EQ(pvops_fixup_fault(nullptr, kGeneralProtection), 0);
}

TEST(StringFunctions, MemcpyAndMemsetReturnTheDestination) {
  char src[100], dst[100];
  for (int i = 0; i < 100; ++i) src[i] = static_cast<char>(i * 7);
  EXPECT_EQ(pvops_test_memcpy(dst, src, sizeof(src)), dst);
  EXPECT_EQ(std::memcmp(dst, src, sizeof(src)), 0);
  EXPECT_EQ(pvops_test_memset(dst + 10, 0x1ab, 5), dst + 10);  // only the low byte is stored
  for (int i = 10; i < 15; ++i) EXPECT_EQ(static_cast<unsigned char>(dst[i]), 0xabu);
  EXPECT_EQ(dst[15], src[15]);
  EXPECT_EQ(pvops_test_memcpy(dst, src, 0), dst);
}

TEST(StringFunctions, MemmoveHandlesOverlapBothWays) {
  std::vector<char> buf(64), expect(64);
  for (int shift : {-7, -1, 1, 7}) {
    for (int i = 0; i < 64; ++i) buf[i] = expect[i] = static_cast<char>(i);
    char* src = buf.data() + 20;
    std::memmove(expect.data() + 20 + shift, expect.data() + 20, 30);
    EXPECT_EQ(pvops_test_memmove(src + shift, src, 30), src + shift);
    EXPECT_EQ(buf, expect) << "shift " << shift;
  }
}

TEST(StringFunctions, MemcmpOrdersAsUnsignedBytes) {
  const unsigned char a[] = {1, 2, 3, 0x80};
  const unsigned char b[] = {1, 2, 3, 0x7f};
  EXPECT_EQ(pvops_test_memcmp(a, a, 4), 0);
  EXPECT_GT(pvops_test_memcmp(a, b, 4), 0);
  EXPECT_LT(pvops_test_memcmp(b, a, 4), 0);
  EXPECT_EQ(pvops_test_memcmp(a, b, 3), 0);
  EXPECT_EQ(pvops_test_memcmp(a, b, 0), 0);
}

}  // namespace
