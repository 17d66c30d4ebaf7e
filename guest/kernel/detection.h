/* SPDX-License-Identifier: MIT */
// The `# detect:` block (kernel/main.cc): what pvops_get_info() says was chosen and why. Printed
// at boot, and again after each move (suite/cases_move.cc).
#pragma once

namespace guest {

void PrintDetection();

}  // namespace guest
