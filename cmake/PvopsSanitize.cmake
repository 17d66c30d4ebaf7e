# SPDX-License-Identifier: MIT
# The sanitizer build (./pvops configures it in build-asan/ with -DPVOPS_SANITIZE=ON): the host
# tests that run the library on the simulated CPU, under AddressSanitizer and UBSan, and the
# fuzz targets (tests/fuzz), over the same instrumented pvops_sim. Only those are built
# (target pvops_sanitized) and run: every other test of this build directory is disabled, and
# the freestanding library keeps its own flags (a kernel cannot carry a sanitizer runtime).
set(PVOPS_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
# Coverage for libFuzzer in the library; the unit tests, linked without libFuzzer, get the
# sanitizer runtime's no-op callbacks.
set(PVOPS_FUZZ_COVERAGE_FLAGS -fsanitize=fuzzer-no-link)

foreach(library pvops_sim pvops_sim_kvm_xen)
  target_compile_options(${library} PUBLIC ${PVOPS_SANITIZE_FLAGS})
  target_compile_options(${library} PRIVATE ${PVOPS_FUZZ_COVERAGE_FLAGS})
  target_link_options(${library} PUBLIC ${PVOPS_SANITIZE_FLAGS})
endforeach()

# Every executable that links the simulated library, and every test not of those: found by
# walking the directories once everything is added (the end of the top-level CMakeLists.txt).
add_custom_target(pvops_sanitized)
function(pvops_sanitize_walk dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    get_target_property(links ${target} LINK_LIBRARIES)
    if(type STREQUAL "EXECUTABLE" AND links MATCHES "(^|;)pvops_(sim|simcpu)[a-z_]*(;|$)")
      add_dependencies(pvops_sanitized ${target})
    endif()
  endforeach()
  # Tests added with add_test (gtest_discover_tests' come at ctest time, from built programs)
  # are the default build's business, but for the fuzz targets' short runs: ctest ignores
  # them here (CTestCustom.cmake, written below).
  get_property(tests DIRECTORY ${dir} PROPERTY TESTS)
  if(NOT dir MATCHES "/tests/fuzz$")
    set_property(GLOBAL APPEND PROPERTY PVOPS_SANITIZE_IGNORED_TESTS ${tests})
  endif()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    pvops_sanitize_walk(${subdir})
  endforeach()
endfunction()
pvops_sanitize_walk(${PROJECT_SOURCE_DIR})
get_property(ignored GLOBAL PROPERTY PVOPS_SANITIZE_IGNORED_TESTS)
list(JOIN ignored "\n  " ignored_lines)
file(WRITE ${PROJECT_BINARY_DIR}/CTestCustom.cmake
     "# Written by cmake/PvopsSanitize.cmake: this build runs only the sanitized tests.\n"
     "set(CTEST_CUSTOM_TESTS_IGNORE\n  ${ignored_lines})\n")
