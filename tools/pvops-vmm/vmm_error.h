/* SPDX-License-Identifier: MIT */
// Errors that end the VMM: the message is the reason printed before the fault exit.
#pragma once

#include <stdexcept>
#include <string>

namespace pvops::vmm {

class VmmError : public std::runtime_error {
 public:
  explicit VmmError(const std::string& reason) : std::runtime_error(reason) {}
};

// Throws VmmError naming the failed call and errno's text.
[[noreturn]] void ThrowErrno(const std::string& what);

}  // namespace pvops::vmm
