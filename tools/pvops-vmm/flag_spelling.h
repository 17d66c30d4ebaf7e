/* SPDX-License-Identifier: MIT */
// The project spells options with dashes (--kvm-features-clear); Abseil flag names are C
// identifiers. This turns the dashes of each --name part into underscores, leaving values,
// positional arguments and everything after "--" as they are.
#pragma once

#include <string>
#include <vector>

namespace pvops::vmm {

std::vector<std::string> UnderscoreFlagNames(std::vector<std::string> arguments);

}  // namespace pvops::vmm
