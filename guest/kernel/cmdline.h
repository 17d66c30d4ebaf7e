/* SPDX-License-Identifier: MIT */
// The guest's command-line words (docs/guest-protocol.md): `pvops=NAME` (the library reads it
// too), `test=PATTERN[,PATTERN...]`, `cpus=N`, `bench[=PATTERN]`, `nopatch`, `move`. Other words
// are echoed as
// `# ignored option WORD` and otherwise ignored; a malformed known word is echoed the same way.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

inline constexpr size_t kMaxTestPatterns = 16;
inline constexpr size_t kMaxPatternBytes = 64;
inline constexpr uint32_t kDefaultExpectedCpus = 2;

struct Options {
  char backend_override[16];  // "" when no pvops= was given
  uint32_t expected_cpus;     // cpus=N, default kDefaultExpectedCpus
  uint32_t test_pattern_count;
  char test_patterns[kMaxTestPatterns][kMaxPatternBytes];
  bool bench;
  char bench_pattern[kMaxPatternBytes];  // "" = every bench
  bool no_patch;                         // nopatch: the library leaves every call site alone
  bool move;  // move: hop between hypervisors while a mover (pvops-vmm) has a plan
  // hypercalls=refused: the environment's hypervisor refuses the chosen backend its hypercall
  // path (envs/hostile-hv-hypercall-*), so hypercall.null must see the call refused.
  bool hypercalls_refused;
};

// Parses `cmdline` (NUL-terminated, bounded by the boot info check). Prints the ignored words.
void ParseOptions(const char* cmdline, Options* out);

// Shell-style match where '*' matches any run of characters (also none).
bool MatchesPattern(const char* pattern, const char* name);

}  // namespace guest
