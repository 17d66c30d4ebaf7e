// SPDX-License-Identifier: MIT
// The core's patcher on real call sites: patch_sites.c's sites, compiled as a kernel compiles
// them, rewritten in this process's own text (through an mprotect text_poke) and run. The
// references are independent of the patcher: x86 encodings written out by hand, and results
// computed without any site.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "backends/native/native_backend.h"
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_backend.h"
#include "backends/xen/xen.h"
#include "backends/xen/xen_backend.h"
#include "core/backend.h"
#include "core/patch.h"
#include "core/runtime.h"
#include "patch_sites.h"

extern "C" const pvops_site __start_pvops_sites[];
extern "C" const pvops_site __stop_pvops_sites[];
extern "C" void pvops_thunk_save_flags();

// Fakes that scribble on every caller-saved register but the result's, as any C function may.
#define SCRIBBLE                                                                                \
  "movq $0x5a5a5a5a5a5a5a5a, %rcx\n\tmovq %rcx, %rdx\n\tmovq %rcx, %rsi\n\tmovq %rcx, %rdi\n\t" \
  "movq %rcx, %r8\n\tmovq %rcx, %r9\n\tmovq %rcx, %r10\n\tmovq %rcx, %r11\n\t"
extern "C" {
uint64_t fake_last_restored;
uint64_t fake_disables;
uint64_t fake_enables;
__attribute__((naked)) uint64_t fake_save_flags() { asm(SCRIBBLE "movl $0x246, %eax\n\tret"); }
__attribute__((naked)) void fake_restore_flags(uint64_t) {
  asm("movq %rdi, fake_last_restored(%rip)\n\t" SCRIBBLE "ret");
}
__attribute__((naked)) void fake_irq_disable() {
  asm("incq fake_disables(%rip)\n\t" SCRIBBLE "ret");
}
__attribute__((naked)) void fake_irq_enable() { asm("incq fake_enables(%rip)\n\t" SCRIBBLE "ret"); }
}
PVOPS_CALLEE_SAVE_THUNK(test_save_flags_thunk, fake_save_flags)

namespace pvops::core {
namespace {

constexpr uint64_t kFakeNow = 123456789;
uint64_t FakeClockNs() { return kFakeNow; }
uint64_t g_flushed_va;
void FakeFlushTlbOne(uint64_t va) { g_flushed_va = va; }
uint64_t g_hypercall_args[7];
pvops_status FakeHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                           uint64_t a4, int64_t* result) {
  const uint64_t args[7] = {nr, a0, a1, a2, a3, a4, reinterpret_cast<uintptr_t>(result)};
  std::memcpy(g_hypercall_args, args, sizeof(args));
  *result = -22;
  return PVOPS_ERR_HYPERVISOR;
}

int g_pokes;
void PokeText(void* addr, const void* bytes, size_t len) {
  ++g_pokes;
  const uintptr_t page = reinterpret_cast<uintptr_t>(addr) & ~uintptr_t{4095};
  const size_t span = (reinterpret_cast<uintptr_t>(addr) + len - page + 4095) & ~size_t{4095};
  ASSERT_EQ(mprotect(reinterpret_cast<void*>(page), span, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
  std::memcpy(addr, bytes, len);
  ASSERT_EQ(mprotect(reinterpret_cast<void*>(page), span, PROT_READ | PROT_EXEC), 0);
}

const uint8_t* SiteAt(const pvops_site& s) {
  return reinterpret_cast<const uint8_t*>(&s.offset) + s.offset;
}

// The records of `slot` (every site of that op in patch_sites.c).
std::vector<const pvops_site*> SitesOf(uint32_t slot) {
  std::vector<const pvops_site*> out;
  for (const pvops_site* s = __start_pvops_sites; s < __stop_pvops_sites; ++s)
    if (s->slot == slot) out.push_back(s);
  return out;
}

int32_t Rel32At(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uintptr_t CallTarget(const uint8_t* site) {  // of `call rel32` at `site`
  return reinterpret_cast<uintptr_t>(site) + 5 + static_cast<int64_t>(Rel32At(site + 1));
}

// The eight-register hash of patch_sites.c computed with no site in between.
uint64_t ExpectedHash(uint64_t seed) {
  uint64_t v[8];
  for (int i = 0; i < 8; ++i)
    v[i] = seed * static_cast<uint64_t>(i + 3) + static_cast<uint64_t>(i + 1);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h ^= v[i] << i;
  return h;
}

bool TestThunks(const Site& site, SiteCode* out) {
  static const CalleeSaved kThunks[] = {{reinterpret_cast<uintptr_t>(fake_save_flags),
                                         reinterpret_cast<uintptr_t>(test_save_flags_thunk)}};
  return EmitCalleeSavedCall(site, kThunks, 1, out);
}

// A hypercall fast path a user-mode test can run: numbers up to 100 answer a0 + a1 in place
// and count in g_fast_calls; the others go to the op. Hand-encoded (SDM).
uint64_t g_fast_calls;
bool TestFastPath(const Site& site, SiteCode* out) {
  static const uint8_t kFast[] = {
      0x48, 0x83, 0xff, 0x64,                    // cmp $100, %rdi
      0x77, 0x18,                                // ja slow
      0x48, 0x8d, 0x04, 0x16,                    // lea (%rsi,%rdx), %rax
      0xf0, 0x48, 0x83, 0x05, 0, 0, 0, 0, 0x01,  // lock addq $1, g_fast_calls(%rip)
      0x48, 0x8b, 0x0c, 0x24,                    // mov (%rsp), %rcx: the result pointer
      0x48, 0x89, 0x01,                          // mov %rax, (%rcx)
      0x31, 0xc0,                                // xor %eax, %eax
      0xeb, 0x00,                                // jmp to the site's end
      0xe8, 0,    0,    0,    0,                 // slow: call the op
  };
  static const Fixup kFixups[] = {{14, 19, Fixup::kRel32, &g_fast_calls},
                                  {29, 30, Fixup::kRel8ToSiteEnd, nullptr},
                                  {31, 35, Fixup::kRel32ToOp, nullptr}};
  if (site.kind != PVOPS_SITE_HYPERCALL) return false;
  return EmitInline(site, kFast, sizeof(kFast), out, kFixups, 3);
}

class PatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Every test starts from the sites as compiled.
    for (const pvops_site* s = __start_pvops_sites; s < __stop_pvops_sites; ++s)
      compiled_.emplace_back(SiteAt(*s), SiteAt(*s) + s->length);
  }
  void SetUp() override {
    saved_ = pvops_table;
    InstallFakes();
    env_.text_access = PVOPS_TEXT_POKE;
    env_.text_poke = PokeText;
    size_t i = 0;
    for (const pvops_site* s = __start_pvops_sites; s < __stop_pvops_sites; ++s, ++i)
      PokeText(const_cast<uint8_t*>(SiteAt(*s)), compiled_[i].data(), compiled_[i].size());
    g_pokes = 0;
  }
  void TearDown() override { pvops_table = saved_; }

  static void InstallFakes() {
    pvops_table.time.clock_ns = FakeClockNs;
    pvops_table.mmu.flush_tlb_one = FakeFlushTlbOne;
    pvops_table.hypercall.call = FakeHypercall;
    pvops_table.irq.save_flags = fake_save_flags;
    pvops_table.irq.restore_flags = fake_restore_flags;
    pvops_table.irq.disable = fake_irq_disable;
    pvops_table.irq.enable = fake_irq_enable;
  }

  pvops_status Patch(PatchFn* backend) {
    return PatchSites(__start_pvops_sites, __stop_pvops_sites, env_, native::PatchSite, backend,
                      &report_);
  }

  // Runs every site of patch_sites.c and checks what each op saw.
  void RunSites() {
    EXPECT_EQ(sites_clock_ns(), kFakeNow);
    sites_flush_tlb_one(0xffff800012345000);
    EXPECT_EQ(g_flushed_va, 0xffff800012345000u);
    int64_t result = 0;
    EXPECT_EQ(sites_hypercall(11, 22, 33, 44, 55, 66, &result), PVOPS_ERR_HYPERVISOR);
    const uint64_t expected_args[7] = {
        11, 22, 33, 44, 55, 66, reinterpret_cast<uintptr_t>(&result)};
    for (int i = 0; i < 7; ++i)
      EXPECT_EQ(g_hypercall_args[i], expected_args[i]) << "argument " << i;
    EXPECT_EQ(result, -22);

    const uint64_t disables = fake_disables, enables = fake_enables;
    uint64_t flags = 0;
    EXPECT_EQ(sites_irq_save_restore_keeps_registers(0x1234567, &flags), ExpectedHash(0x1234567));
    EXPECT_EQ(flags, FAKE_FLAGS);
    EXPECT_EQ(fake_last_restored, FAKE_FLAGS);
    EXPECT_EQ(fake_disables, disables + 1);
    EXPECT_EQ(fake_enables, enables + 1);
  }

  static inline std::vector<std::vector<uint8_t>> compiled_;
  pvops_ops saved_{};
  pvops_env env_{};
  pvops_patch_report report_{};
};

TEST_F(PatchTest, CompiledSitesCallThroughTheTableAndKeepRegisters) {
  for (const pvops_site* s : SitesOf(PVOPS_SLOT_OF(time.clock_ns))) {
    const uint8_t* p = SiteAt(*s);
    EXPECT_EQ(s->kind, PVOPS_SITE_CALL);
    ASSERT_EQ(s->length, 6u);
    EXPECT_EQ(p[0], 0xff);  // call *disp32(%rip) to the clock_ns slot
    EXPECT_EQ(p[1], 0x15);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) + 6 + static_cast<int64_t>(Rel32At(p + 2)),
              reinterpret_cast<uintptr_t>(&pvops_table.time.clock_ns));
  }
  for (const pvops_site* s : SitesOf(PVOPS_SLOT_OF(irq.save_flags))) {
    EXPECT_EQ(s->kind, PVOPS_SITE_CALLEE_SAVED);
    EXPECT_EQ(SiteAt(*s)[0], 0xe8);
    EXPECT_EQ(CallTarget(SiteAt(*s)), reinterpret_cast<uintptr_t>(pvops_thunk_save_flags));
  }
  RunSites();
}

TEST_F(PatchTest, SitesOfABackendsOpsCallItsFunctionsDirectly) {
  ASSERT_EQ(Patch(nullptr), PVOPS_OK);
  const uint32_t sites = static_cast<uint32_t>(__stop_pvops_sites - __start_pvops_sites);
  const uint32_t callee_saved = static_cast<uint32_t>(
      SitesOf(PVOPS_SLOT_OF(irq.save_flags)).size() +
      SitesOf(PVOPS_SLOT_OF(irq.restore_flags)).size() +
      SitesOf(PVOPS_SLOT_OF(irq.disable)).size() + SitesOf(PVOPS_SLOT_OF(irq.enable)).size());
  EXPECT_EQ(report_.sites, sites);
  EXPECT_EQ(report_.inlined, 0u);
  EXPECT_EQ(report_.direct, sites - callee_saved);
  // No thunk of their own: the irq-flag sites keep the table's thunk, and say why.
  EXPECT_EQ(report_.table, callee_saved);
  EXPECT_NE(std::strstr(report_.why, "callee-saved op with no thunk"), nullptr) << report_.why;
  for (const pvops_site* s : SitesOf(PVOPS_SLOT_OF(time.clock_ns))) {
    const uint8_t* p = SiteAt(*s);
    EXPECT_EQ(p[0], 0xe8);
    EXPECT_EQ(CallTarget(p), reinterpret_cast<uintptr_t>(FakeClockNs));
    EXPECT_EQ(p[5], 0x90);  // the sixth byte: a one-byte NOP
  }
  for (const pvops_site* s : SitesOf(PVOPS_SLOT_OF(hypercall.call)))
    EXPECT_EQ(CallTarget(SiteAt(*s)), reinterpret_cast<uintptr_t>(FakeHypercall));
  RunSites();
}

TEST_F(PatchTest, CalleeSavedSitesCallTheBackendsThunk) {
  ASSERT_EQ(Patch(TestThunks), PVOPS_OK);
  const auto save_sites = SitesOf(PVOPS_SLOT_OF(irq.save_flags));
  ASSERT_FALSE(save_sites.empty());
  for (const pvops_site* s : save_sites)
    EXPECT_EQ(CallTarget(SiteAt(*s)), reinterpret_cast<uintptr_t>(test_save_flags_thunk));
  RunSites();  // the fake scribbles; the thunk keeps the caller's registers
}

TEST_F(PatchTest, NativeOpsBecomeTheirInstructions) {
  pvops_table.irq = kNativeOps.irq;
  pvops_table.mmu = kNativeOps.mmu;
  pvops_table.cpu = kNativeOps.cpu;
  ASSERT_EQ(Patch(nullptr), PVOPS_OK);
  struct Expected {
    uint32_t slot;
    std::vector<uint8_t> bytes;
  };
  // Encodings from the SDM, written out; the rest of each site is NOP.
  const Expected expected[] = {
      {PVOPS_SLOT_OF(irq.save_flags), {0x9c, 0x58}},           // pushf; pop %rax
      {PVOPS_SLOT_OF(irq.restore_flags), {0x57, 0x9d}},        // push %rdi; popf
      {PVOPS_SLOT_OF(irq.disable), {0xfa}},                    // cli
      {PVOPS_SLOT_OF(irq.enable), {0xfb}},                     // sti
      {PVOPS_SLOT_OF(mmu.flush_tlb_one), {0x0f, 0x01, 0x3f}},  // invlpg (%rdi)
  };
  uint32_t inlined = 0;
  for (const Expected& e : expected) {
    const auto sites = SitesOf(e.slot);
    ASSERT_FALSE(sites.empty());
    for (const pvops_site* s : sites) {
      const uint8_t* p = SiteAt(*s);
      EXPECT_EQ(std::vector<uint8_t>(p, p + e.bytes.size()), e.bytes) << "slot " << e.slot;
      // Single-byte NOP for one byte left; the long NOP (0f 1f ...) otherwise.
      const size_t rest = s->length - e.bytes.size();
      if (rest == 1) EXPECT_EQ(p[e.bytes.size()], 0x90);
      if (rest >= 3)
        EXPECT_EQ(std::vector<uint8_t>(p + e.bytes.size(), p + e.bytes.size() + 2),
                  (std::vector<uint8_t>{0x0f, 0x1f}));
      ++inlined;
    }
  }
  EXPECT_EQ(report_.inlined, inlined);
  // cli and sti fault in user mode: these sites are checked, not run.
}

TEST_F(PatchTest, ASecondPassStartsFromTheRecord) {
  pvops_table.irq = kNativeOps.irq;
  pvops_table.mmu = kNativeOps.mmu;
  ASSERT_EQ(Patch(nullptr), PVOPS_OK);
  EXPECT_GT(report_.inlined, 0u);
  InstallFakes();  // another backend: the inlined sites must become calls again
  ASSERT_EQ(Patch(TestThunks), PVOPS_OK);
  EXPECT_EQ(report_.inlined, 0u);
  RunSites();
}

TEST_F(PatchTest, DoNotPatchLeavesTheText) {
  env_.text_access = PVOPS_TEXT_DO_NOT_PATCH;
  EXPECT_EQ(Patch(TestThunks), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(g_pokes, 0);
  EXPECT_EQ(report_.table, report_.sites);
  EXPECT_STREQ(report_.why, "the kernel asked not to patch");
  env_.text_access = PVOPS_TEXT_POKE;
  env_.text_poke = nullptr;
  EXPECT_EQ(Patch(TestThunks), PVOPS_ERR_UNSUPPORTED);
  EXPECT_STREQ(report_.why, "no text_poke callback given");
  RunSites();
}

TEST_F(PatchTest, BadRecordsAreRefusedAndNothingIsWritten) {
  alignas(8) static uint8_t scratch[32];
  pvops_site records[4] = {};
  auto aim = [&](pvops_site* r, uint16_t slot, uint8_t length, uint8_t kind) {
    r->offset = static_cast<int32_t>(reinterpret_cast<intptr_t>(scratch) -
                                     reinterpret_cast<intptr_t>(&r->offset));
    r->slot = slot;
    r->length = length;
    r->kind = kind;
  };
  aim(&records[0], kSlotCount, 6, PVOPS_SITE_CALL);                            // beyond the table
  aim(&records[1], PVOPS_SLOT_OF(time.clock_ns), 3, PVOPS_SITE_CALL);          // too short
  aim(&records[2], PVOPS_SLOT_OF(time.clock_ns), 6, 7);                        // unknown kind
  aim(&records[3], PVOPS_SLOT_OF(time.clock_ns), 6, PVOPS_SITE_CALLEE_SAVED);  // no thunk for it
  EXPECT_EQ(PatchSites(records, records + 4, env_, native::PatchSite, nullptr, &report_), PVOPS_OK);
  EXPECT_EQ(report_.refused, 4u);
  EXPECT_EQ(g_pokes, 0);
  EXPECT_EQ(std::vector<uint8_t>(scratch, scratch + 32), std::vector<uint8_t>(32, 0));
}

TEST_F(PatchTest, CompiledHypercallSitesJumpOverTheirRoom) {
  const auto sites = SitesOf(PVOPS_SLOT_OF(hypercall.call));
  ASSERT_FALSE(sites.empty());
  for (const pvops_site* s : sites) {
    const uint8_t* p = SiteAt(*s);
    EXPECT_EQ(s->kind, PVOPS_SITE_HYPERCALL);
    ASSERT_EQ(s->length, PVOPS_HYPERCALL_SITE_BYTES);
    EXPECT_EQ(p[0], 0xff);  // call *disp32(%rip) to the slot
    EXPECT_EQ(p[1], 0x15);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) + 6 + static_cast<int64_t>(Rel32At(p + 2)),
              reinterpret_cast<uintptr_t>(&pvops_table.hypercall.call));
    EXPECT_EQ(p[6], 0xeb);  // jmp rel8 to the site's end, over int3s
    EXPECT_EQ(8 + p[7], s->length);
    EXPECT_EQ(std::vector<uint8_t>(p + 8, p + s->length),
              std::vector<uint8_t>(s->length - 8, 0xcc));
  }
}

TEST_F(PatchTest, AHypercallFastPathRunsInPlaceAndTheRestGoesToTheOp) {
  ASSERT_EQ(Patch(TestFastPath), PVOPS_OK);
  EXPECT_EQ(report_.inlined, SitesOf(PVOPS_SLOT_OF(hypercall.call)).size());
  std::memset(g_hypercall_args, 0, sizeof(g_hypercall_args));
  const uint64_t fast_before = g_fast_calls;
  int64_t result = 0;
  EXPECT_EQ(sites_hypercall(7, 40, 2, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, 42);
  EXPECT_EQ(g_fast_calls, fast_before + 1);
  EXPECT_EQ(g_hypercall_args[0], 0u);  // the op never ran
}

TEST_F(PatchTest, HypercallNumbersTheFastPathRefusesReachTheOpWithEveryArgument) {
  ASSERT_EQ(Patch(TestFastPath), PVOPS_OK);
  const uint64_t fast_before = g_fast_calls;
  int64_t result = 0;
  EXPECT_EQ(sites_hypercall(101, 22, 33, 44, 55, 66, &result), PVOPS_ERR_HYPERVISOR);
  const uint64_t expected_args[7] = {101, 22, 33, 44, 55, 66, reinterpret_cast<uintptr_t>(&result)};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(g_hypercall_args[i], expected_args[i]) << "argument " << i;
  EXPECT_EQ(result, -22);
  EXPECT_EQ(g_fast_calls, fast_before);
}

}  // namespace
}  // namespace pvops::core

// The backends' hypercall fast paths as the assembler encodes them: the references for the
// bytes vmi::PatchSite and xen::PatchSite write (rel32 and rel8 fields are checked apart).
asm(".pushsection .rodata\n"
    "vmi_backdoor_reference:\n"
    "  mov %rdi, %rax\n  or %rsi, %rax\n  shr $32, %rax\n  or %rdx, %rax\n  or %rcx, %rax\n"
    "  or %r8, %rax\n  or %r9, %rax\n  jnz 1f\n"
    "  mov %esi, %ebx\n  mov %edi, %ecx\n  mov $0x5658, %edx\n  mov $0x564d5868, %eax\n"
    "  in (%dx), %eax\n  lock addq $1, 0(%rip)\n  lock addq $1, 0(%rip)\n"
    "  mov (%rsp), %rcx\n  test %rcx, %rcx\n  jz 2f\n  mov %eax, %eax\n  mov %rax, (%rcx)\n"
    "2: xor %eax, %eax\n  jmp 3f\n1: call 3f\n3:\n"
    "vmi_backdoor_reference_end:\n"
    "xen_pv_reference:\n"
    "  cmp $0x7f, %rdi\n  ja 1f\n  cmp $0x17, %edi\n  je 1f\n  mov %edi, %eax\n"
    "  mov %rsi, %rdi\n  mov %rdx, %rsi\n  mov %rcx, %rdx\n  mov %r8, %r10\n  mov %r9, %r8\n"
    "  syscall\n  lock addq $1, 0(%rip)\n"
    "  mov (%rsp), %rcx\n  test %rcx, %rcx\n  jz 2f\n  mov %rax, (%rcx)\n"
    "2: xor %eax, %eax\n  jmp 3f\n1: call 3f\n3:\n"
    "xen_pv_reference_end:\n"
    ".popsection\n");
extern "C" const uint8_t vmi_backdoor_reference[], vmi_backdoor_reference_end[];
extern "C" const uint8_t xen_pv_reference[], xen_pv_reference_end[];

namespace pvops::core {
namespace {

struct Rel32Field {
  uint32_t field, next;
  uintptr_t target;
};

// Writes a hypercall site's code into a buffer (never run) and checks it against `reference`:
// the same bytes but for the rel32 fields, which must reach their targets, and the jump to the
// site's end before the slow-path call.
void ExpectFastPath(PatchFn* patch, uintptr_t op, const uint8_t* reference,
                    const uint8_t* reference_end, std::vector<Rel32Field> rel32s) {
  alignas(16) static uint8_t text[PVOPS_HYPERCALL_SITE_BYTES];
  const Site site{PVOPS_SLOT_OF(hypercall.call), PVOPS_SITE_HYPERCALL,
                  reinterpret_cast<uintptr_t>(text), PVOPS_HYPERCALL_SITE_BYTES, op};
  SiteCode code{};
  ASSERT_TRUE(patch(site, &code));
  EXPECT_EQ(code.form, SiteCode::Form::kInline);
  const size_t length = static_cast<size_t>(reference_end - reference);
  ASSERT_EQ(code.length, length);
  rel32s.push_back({static_cast<uint32_t>(length - 4), static_cast<uint32_t>(length), op});
  std::vector<uint8_t> got(code.bytes, code.bytes + length), want(reference, reference_end);
  for (const Rel32Field& f : rel32s) {
    EXPECT_EQ(site.address + f.next + static_cast<int64_t>(Rel32At(code.bytes + f.field)), f.target)
        << "rel32 at " << f.field;
    std::memset(got.data() + f.field, 0, 4);
    std::memset(want.data() + f.field, 0, 4);
  }
  const size_t jump = length - 7;  // jmp rel8, then the 5-byte call
  EXPECT_EQ(got[jump], 0xeb);
  EXPECT_EQ(jump + 2 + got[jump + 1], site.room);
  got[jump + 1] = want[jump + 1] = 0;
  EXPECT_EQ(got, want);
}

TEST(BackendHypercallSitesTest, VmwareBackdoorByPortGoesInline) {
  const auto op = reinterpret_cast<uintptr_t>(vmi::HypercallFor(vmi::BackdoorPath::kPort));
  ExpectFastPath(
      vmi::PatchSite, op, vmi_backdoor_reference, vmi_backdoor_reference_end,
      {{43, 48, reinterpret_cast<uintptr_t>(CounterSet<Counter>::Address(Counter::kHypercalls))},
       {52, 57,
        reinterpret_cast<uintptr_t>(
            CounterSet<vmi::Counter>::Address(vmi::Counter::kBackdoorCalls))}});
  // Another way into the backdoor keeps its call.
  const Site other{PVOPS_SLOT_OF(hypercall.call), PVOPS_SITE_HYPERCALL, 0x100000,
                   PVOPS_HYPERCALL_SITE_BYTES,
                   reinterpret_cast<uintptr_t>(vmi::HypercallFor(vmi::BackdoorPath::kVmcall))};
  SiteCode code{};
  EXPECT_FALSE(vmi::PatchSite(other, &code));
}

TEST(BackendHypercallSitesTest, XenPvEntersBySyscallInline) {
  const xen::Mode saved = xen::g_state.mode;
  xen::g_state.mode = xen::Mode::kPv;
  const auto op = reinterpret_cast<uintptr_t>(xen::RawHypercallFor(xen::Mode::kPv, {}));
  ExpectFastPath(
      xen::PatchSite, op, xen_pv_reference, xen_pv_reference_end,
      {{34, 39, reinterpret_cast<uintptr_t>(CounterSet<Counter>::Address(Counter::kHypercalls))}});
  // HVM keeps its call: the page or vmcall, as init chose.
  xen::g_state.mode = xen::Mode::kHvmPage;
  const Site hvm{PVOPS_SLOT_OF(hypercall.call), PVOPS_SITE_HYPERCALL, 0x100000,
                 PVOPS_HYPERCALL_SITE_BYTES, op};
  SiteCode code{};
  EXPECT_FALSE(xen::PatchSite(hvm, &code));
  xen::g_state.mode = saved;
}

TEST(PatchEncodingTest, DirectCallsOutOfRel32ReachAreRefused) {
  SiteCode code{};
  const Site near_site{PVOPS_SLOT_OF(time.clock_ns), PVOPS_SITE_CALL, 0x100000, 6, 1};
  EXPECT_TRUE(EmitDirectCall(near_site, 0x100000ull + 5 + 0x7fffffff, &code));
  EXPECT_EQ(code.bytes[0], 0xe8);
  EXPECT_EQ(Rel32At(code.bytes + 1), 0x7fffffff);
  EXPECT_FALSE(EmitDirectCall(near_site, 0x100000ull + 5 + 0x80000000ull, &code));
  // Backwards, across the top of the address space, as a kernel at -2 GiB calls low memory.
  const Site high_site{PVOPS_SLOT_OF(time.clock_ns), PVOPS_SITE_CALL, 0xffffffff80100000ull, 6, 1};
  EXPECT_TRUE(EmitDirectCall(high_site, 0xc0000, &code));
  EXPECT_EQ(0xffffffff80100000ull + 5 + static_cast<int64_t>(Rel32At(code.bytes + 1)), 0xc0000ull);
  const Site short_site{PVOPS_SLOT_OF(time.clock_ns), PVOPS_SITE_CALL, 0x100000, 4, 1};
  EXPECT_FALSE(EmitDirectCall(short_site, 0x100010, &code));
}

}  // namespace
}  // namespace pvops::core
