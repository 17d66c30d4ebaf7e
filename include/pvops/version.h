/* SPDX-License-Identifier: MIT */
/*
 * pvops/version.h - the release of the library this header belongs to.
 *
 * The one place the version is written: CMake's project(VERSION) reads it from here, and the
 * installed pvopsConfigVersion.cmake and pvops.pc state the same. A kernel states the version it
 * was compiled against in pvops_env.version; pvops_init() refuses another major.minor.
 */
#ifndef PVOPS_VERSION_H
#define PVOPS_VERSION_H

#define PVOPS_VERSION_MAJOR 0
#define PVOPS_VERSION_MINOR 1
#define PVOPS_VERSION_PATCH 0

/* One number that orders releases (usable in #if): major << 16 | minor << 8 | patch. */
#define PVOPS_VERSION \
  ((PVOPS_VERSION_MAJOR << 16) | (PVOPS_VERSION_MINOR << 8) | PVOPS_VERSION_PATCH)

#define PVOPS__VERSION_TEXT(x) #x
#define PVOPS__VERSION_STRING(major, minor, patch) \
  PVOPS__VERSION_TEXT(major) "." PVOPS__VERSION_TEXT(minor) "." PVOPS__VERSION_TEXT(patch)
/* "0.1.0" */
#define PVOPS_VERSION_STRING \
  PVOPS__VERSION_STRING(PVOPS_VERSION_MAJOR, PVOPS_VERSION_MINOR, PVOPS_VERSION_PATCH)

#endif /* PVOPS_VERSION_H */
