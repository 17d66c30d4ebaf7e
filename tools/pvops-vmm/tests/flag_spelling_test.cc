// SPDX-License-Identifier: MIT
#include "flag_spelling.h"

#include <gtest/gtest.h>

namespace pvops::vmm {
namespace {

TEST(UnderscoreFlagNames, TurnsDashesOfNamesOnly) {
  const auto result = UnderscoreFlagNames({"pvops-vmm", "--kvm-features-clear=0x800",
                                           "--exit-passthrough", "--cmdline=a-b --c-d", "--cpus=2",
                                           "/run/my-image", "--", "--not-a-flag"});
  EXPECT_EQ(result[0], "pvops-vmm");
  EXPECT_EQ(result[1], "--kvm_features_clear=0x800");
  EXPECT_EQ(result[2], "--exit_passthrough");
  EXPECT_EQ(result[3], "--cmdline=a-b --c-d");
  EXPECT_EQ(result[4], "--cpus=2");
  EXPECT_EQ(result[5], "/run/my-image");
  EXPECT_EQ(result[6], "--");
  EXPECT_EQ(result[7], "--not-a-flag");
}

}  // namespace
}  // namespace pvops::vmm
