/* SPDX-License-Identifier: MIT */
// The patched mechanism's set-up: the library's own PatchSites rewrites the bench's sites for
// the user backend, as pvops_init does a kernel's for its backend.
#pragma once

#include <string>

namespace pvops_bench {

// Rewrites every site in the binary's pvops_sites section for the ops pvops_table holds now
// (InstallUserBackend first). Returns what each op's sites became ("irq.save_flags inline
// (pushf; pop %rax), time.clock_ns direct call ..."); false in *ok when patching failed.
std::string PatchUserSites(bool* ok);

}  // namespace pvops_bench
