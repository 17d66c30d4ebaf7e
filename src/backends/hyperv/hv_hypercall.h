/* SPDX-License-Identifier: MIT */
// Hyper-V hypercalls: the hypercall page the hypervisor fills, the control word, and the three
// calling forms - fast (inputs in registers), slow (inputs and outputs in this CPU's argument
// pages) and rep (a slow call re-issued from the returned rep start index until every
// element is done).
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "backends/hyperv/hv_tlfs.h"
#include "backends/hyperv/hyperv_backend.h"
#include "core/reason.h"

namespace pvops::hyperv {

// The control word (TLFS "hypercall input value").
constexpr uint64_t MakeControl(uint16_t code, bool fast = false, uint32_t var_header_qwords = 0,
                               uint32_t rep_count = 0, uint32_t rep_start = 0) {
  return uint64_t{code} | (fast ? kControlFast : 0) |
         (uint64_t{var_header_qwords} & kControlVarHeaderMax) << kControlVarHeaderShift |
         (uint64_t{rep_count} & kControlRepMax) << kControlRepCountShift |
         (uint64_t{rep_start} & kControlRepMax) << kControlRepStartShift;
}
constexpr uint32_t ControlRepCount(uint64_t control) {
  return static_cast<uint32_t>((control >> kControlRepCountShift) & kControlRepMax);
}
constexpr uint16_t ResultStatus(uint64_t result) {
  return static_cast<uint16_t>(result & kResultStatusMask);
}
constexpr uint32_t ResultReps(uint64_t result) {
  return static_cast<uint32_t>((result >> kResultRepsShift) & kControlRepMax);
}

// What one hypercall (with its continuations) came to.
struct CallOutcome {
  pvops_status status;      // the TLFS status mapped, or BAD_DATA when the answer broke the TLFS
  uint16_t hv_status;       // the last TLFS status seen
  uint32_t reps_completed;  // rep calls only
  uint64_t result;          // the last raw result value
  bool ok() const { return status == PVOPS_OK; }
};

// Points HV_X64_MSR_HYPERCALL at the library's page, checks that the hypervisor filled it and
// that a call through it answers (reserved code 0: HV_STATUS_INVALID_HYPERCALL_CODE).
// The guest OS ID must be registered first (a hypervisor ignores the MSR until then).
[[nodiscard]] pvops_status EnableHypercallPage(core::Reason* why);
bool HypercallPageReady();
// The page itself (for tests and diagnostics): 4 KiB, 4 KiB aligned, in the kernel's text.
const volatile uint8_t* HypercallPage();

// One pass through the page: rcx = control, rdx = input, r8 = output; the result value.
// Counts as one hypercall. Never called before HypercallPageReady().
uint64_t CallPage(uint64_t control, uint64_t input, uint64_t output);

// A fast hypercall: up to two 8-byte inputs in registers, no output.
CallOutcome FastCall(uint16_t code, uint64_t input0, uint64_t input1);

// This CPU's argument pages for a slow call: half a page each for input and output, 8-byte
// aligned and never crossing a page. Interrupts stay off while they are in use, so an
// interrupt handler's hypercall cannot overwrite them.
class ArgPages {
 public:
  ArgPages();
  ~ArgPages();
  ArgPages(const ArgPages&) = delete;
  ArgPages& operator=(const ArgPages&) = delete;

  static constexpr uint32_t kQwords = kArgQwords;
  uint64_t* input() const { return input_; }
  uint64_t* output() const { return output_; }
  uint64_t input_gpa() const { return input_gpa_; }
  uint64_t output_gpa() const { return output_gpa_; }

 private:
  uint64_t flags_;
  uint64_t* input_;
  uint64_t* output_;
  uint64_t input_gpa_;
  uint64_t output_gpa_;
};

// Checks that `cpu`'s argument pages have usable guest-physical addresses (8-byte aligned,
// each half inside one page); the kernel's virt_to_phys decides that.
[[nodiscard]] pvops_status CheckArgPages(uint32_t cpu);

// A slow call whose input (and output, if any) the caller wrote into `args`.
CallOutcome SlowCall(const ArgPages& args, uint16_t code, uint32_t var_header_qwords = 0);

// A rep call over `rep_count` elements (1..4095): re-issued with the rep start index at the
// returned reps-completed count until all are done or one fails. A success that completes
// no element, or reports more than asked, breaks the TLFS: BAD_DATA.
CallOutcome RepCall(uint64_t control, uint32_t rep_count, uint64_t input_gpa, uint64_t output_gpa);
CallOutcome RepCall(const ArgPages& args, uint16_t code, uint32_t rep_count,
                    uint32_t var_header_qwords = 0);

// The table's raw hypercall: nr is the control word, a0 and a1 the input and output (GPAs,
// or register values for a fast call). Rep calls run to completion.
[[nodiscard]] pvops_status RawHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                        uint64_t a3, uint64_t a4, int64_t* result);

// Host tests: forget the page's state.
void ForgetHypercallPage();

}  // namespace pvops::hyperv
