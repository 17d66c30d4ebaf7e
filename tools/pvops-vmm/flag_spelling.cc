// SPDX-License-Identifier: MIT
#include "flag_spelling.h"

#include <algorithm>

namespace pvops::vmm {

std::vector<std::string> UnderscoreFlagNames(std::vector<std::string> arguments) {
  for (size_t i = 1; i < arguments.size(); ++i) {
    std::string& argument = arguments[i];
    if (argument == "--") break;
    if (argument.rfind("--", 0) != 0) continue;
    const size_t name_end = std::min(argument.find('='), argument.size());
    std::replace(argument.begin() + 2, argument.begin() + static_cast<std::ptrdiff_t>(name_end),
                 '-', '_');
  }
  return arguments;
}

}  // namespace pvops::vmm
