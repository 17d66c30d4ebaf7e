#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The installed package as a kernel's build sees it (tests/install/CMakeLists.txt registers each
# step as a test):
#   install_test.sh build BUILD_DIR SOURCE_DIR IMAGES_DIR C_COMPILER
#       installs BUILD_DIR into a temporary prefix, checks what it holds, builds
#       examples/minimal-kernel there with CMake (find_package, the default cc) and with its
#       Makefile (pkg-config, C_COMPILER), checks both images, and leaves them in
#       IMAGES_DIR/{cmake,make}/minimal-kernel.elf for the boot tests
#   install_test.sh deb BUILD_DIR SOURCE_DIR
#       cpack -G DEB, the .deb's file list against the install's, then the example built
#       against the .deb's files unpacked under a temporary root (dpkg-deb -x)
#   install_test.sh boot RUNNER ROOT IMAGE ENV BACKEND JSON [ROM_DIR]
#       boots IMAGE on ENV with pvops-run and checks that the library chose BACKEND
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

# Temporary directories, removed however the script ends.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

# The files an install puts under its prefix, relative to it, sorted.
expected_files() {
  cat <<'LIST'
include/pvops/move.h
include/pvops/pvh.h
include/pvops/pvops.h
include/pvops/pvops.hpp
include/pvops/version.h
include/pvops/xen.h
lib/cmake/pvops/pvopsConfig.cmake
lib/cmake/pvops/pvopsConfigVersion.cmake
lib/libpvops.a
lib/pkgconfig/pvops.pc
share/doc/pvops/LICENSE
share/doc/pvops/README.md
share/pvops/pvops-sites.ld
share/pvops/pvops-xen-pv.ld
LIST
}

# A value the build tree states: CMakeCache.txt's NAME.
cache_value() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"; }

# A 64-bit hex value as readelf prints a note's 8 bytes: "98 da 11 80 ff ff ff ff".
little_endian_bytes() {
  local hex bytes=()
  hex=$(printf '%016x' "$((16#$1))")
  for ((i = 14; i >= 0; i -= 2)); do bytes+=("${hex:i:2}"); done
  echo "${bytes[*]}"
}

# The example image: a PVH note, the library's Xen PV notes naming its entry, kept call-site
# records, nothing undefined.
check_image() {
  local image=$1 start stop entry
  [[ -s $image ]] || fail "no image at $image"
  readelf -nW "$image" | grep -A1 -E '^ +Xen ' | grep -q '0x00000012' ||
    fail "$image has no XEN_ELFNOTE_PHYS32_ENTRY note"
  # XEN_ELFNOTE_ENTRY (type 1, which readelf calls NT_VERSION): pvops_xen_pv_entry's address,
  # 8 bytes little-endian.
  entry=$(nm "$image" | awk '$3 == "pvops_xen_pv_entry" {print $1}')
  [[ -n $entry ]] || fail "$image has no pvops_xen_pv_entry"
  readelf -nW "$image" | grep -E '^ +Xen +0x00000008.*NT_VERSION' |
    grep -q "description data: $(little_endian_bytes "$entry")" ||
    fail "$image has no XEN_ELFNOTE_ENTRY note naming pvops_xen_pv_entry ($entry)"
  start=$(nm "$image" | awk '$3 == "__start_pvops_sites" {print $1}')
  stop=$(nm "$image" | awk '$3 == "__stop_pvops_sites" {print $1}')
  [[ -n $start && -n $stop ]] || fail "$image names no pvops_sites bounds"
  (( 0x$stop > 0x$start )) || fail "$image kept no pvops_sites records"
  [[ -z $(nm -u "$image") ]] || fail "$image has undefined symbols: $(nm -u "$image" | tr '\n' ' ')"
  echo "$image: $(( (0x$stop - 0x$start) / 8 )) call-site records"
}

# Builds the example from a copy of its sources, both ways, against the package found through
# CMAKE_PREFIX_PATH=$2 and pkg-config's environment; images into $3/{cmake,make}.
build_example_both_ways() {
  local source=$1 prefix=$2 out=$3 make_cc=$4 work
  work=$(mktemp -d)
  scratch+=("$work")
  cp -r "$source/examples/minimal-kernel" "$work/src"
  cmake -S "$work/src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "configuring the example with find_package(pvops)"; }
  cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "building the example with CMake"; }
  make -s -C "$work/src" O="$work/make" CC="$make_cc" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log"; fail "building the example with make and pkg-config"; }
  mkdir -p "$out/cmake" "$out/make"
  cp "$work/cmake/minimal-kernel.elf" "$out/cmake/"
  cp "$work/make/minimal-kernel.elf" "$out/make/"
  check_image "$out/cmake/minimal-kernel.elf"
  check_image "$out/make/minimal-kernel.elf"
}

cmd_build() {
  local build=$1 source=$2 images=$3 cc=$4 prefix max_cpus version
  prefix=$(mktemp -d)
  scratch+=("$prefix")
  cmake --install "$build" --prefix "$prefix" >/dev/null
  diff -u <(expected_files) <(cd "$prefix" && find . -type f | sed 's|^\./||' | sort) ||
    fail "the installed tree differs from the expected files"
  # What the package states is what the archive was built with.
  max_cpus=$(cache_value "$build" PVOPS_MAX_CPUS)
  version=$(cache_value "$build" CMAKE_PROJECT_VERSION)
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  [[ $(pkg-config --modversion pvops) == "$version" ]] || fail "pvops.pc's version is not $version"
  [[ $(pkg-config --variable=max_cpus pvops) == "$max_cpus" ]] || fail "pvops.pc's max_cpus"
  pkg-config --cflags pvops | grep -qw -- "-DPVOPS_MAX_CPUS=${max_cpus}u" ||
    fail "pkg-config --cflags lacks -DPVOPS_MAX_CPUS=${max_cpus}u"
  [[ $(nm -P "$prefix/lib/libpvops.a" | awk '$1 == "pvops_build_version" {print $3}') == \
     $(printf '%x' $(( $(cut -d. -f1 <<<"$version") << 16 | $(cut -d. -f2 <<<"$version") << 8 |
                       $(cut -d. -f3 <<<"$version") ))) ]] ||
    fail "the archive's pvops_build_version is not $version"
  # A release the package cannot serve is refused at configure time, with the reason.
  local probe
  probe=$(mktemp -d)
  scratch+=("$probe")
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(probe NONE)\nfind_package(pvops %s REQUIRED)\n' \
    "$(( $(cut -d. -f1 <<<"$version") + 1 )).0" >"$probe/CMakeLists.txt"
  if cmake -S "$probe" -B "$probe/b" -DCMAKE_PREFIX_PATH="$prefix" >"$probe/log" 2>&1; then
    fail "find_package(pvops) accepted the next major release"
  fi
  # The Xen PV entry is a component the archive always has; one it lacks is refused by name.
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(probe NONE)\nfind_package(pvops REQUIRED COMPONENTS xen-pv-entry)\n' \
    >"$probe/CMakeLists.txt"
  rm -rf "$probe/b"
  cmake -S "$probe" -B "$probe/b" -DCMAKE_PREFIX_PATH="$prefix" >"$probe/log" 2>&1 ||
    { cat "$probe/log"; fail "find_package(pvops COMPONENTS xen-pv-entry) failed"; }
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(probe NONE)\nfind_package(pvops REQUIRED COMPONENTS gpu)\n' \
    >"$probe/CMakeLists.txt"
  rm -rf "$probe/b"
  if cmake -S "$probe" -B "$probe/b" -DCMAKE_PREFIX_PATH="$prefix" >"$probe/log" 2>&1; then
    fail "find_package(pvops COMPONENTS gpu) succeeded"
  fi
  grep -q "no component 'gpu'" "$probe/log" || { cat "$probe/log"; fail "the missing component's reason"; }
  build_example_both_ways "$source" "$prefix" "$images" "$cc"
}

cmd_deb() {
  local build=$1 source=$2 work deb
  work=$(mktemp -d)
  scratch+=("$work")
  (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out") >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack -G DEB"; }
  deb=$(ls "$work"/out/libpvops-dev_*_amd64.deb)
  [[ $(dpkg-deb -f "$deb" Package) == libpvops-dev ]] || fail "$deb is not libpvops-dev"
  [[ $(dpkg-deb -f "$deb" Version) == $(cache_value "$build" CMAKE_PROJECT_VERSION) ]] ||
    fail "$deb's version is not the project's"
  diff -u <(expected_files | sed 's|^|usr/|') \
          <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' | sort) ||
    fail "the .deb's files differ from the install's"
  # Unpacked, not installed: a test does not change the machine's packages (apt-get install of
  # the same file is the manual check). Its /usr is $work/root/usr: CMake's config is relocatable,
  # and pkg-config is told the root.
  dpkg-deb -x "$deb" "$work/root"
  PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$work/root/usr/lib/pkgconfig" \
    PKG_CONFIG_SYSROOT_DIR="$work/root" PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 \
    PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
    build_example_both_ways "$source" "$work/root/usr" "$work/images" cc
}

cmd_boot() {
  local runner=$1 root=$2 image=$3 env=$4 backend=$5 json=$6 rom_dir=${7:-} chosen
  [[ -n $rom_dir ]] && export PVOPS_ROM_DIR=$rom_dir
  mkdir -p "$(dirname "$json")"
  rm -f "$json"
  "$runner" --root="$root" --image="$image" --env="$env" --json="$json" --timeout=120 ||
    fail "minimal-kernel on $env: the runner's verdict is not pass"
  chosen=$(python3 -c 'import json, sys
record = json.load(open(sys.argv[1]))
print(record["environments"][0]["detect"]["backend"])' "$json")
  [[ $chosen == "$backend" ]] || fail "minimal-kernel on $env chose backend $chosen, not $backend"
  echo "minimal-kernel on $env: pass, backend $chosen"
}

case ${1:-} in
  build) shift; cmd_build "$@" ;;
  deb) shift; cmd_deb "$@" ;;
  boot) shift; cmd_boot "$@" ;;
  *) echo "usage: $0 build|deb|boot ..." >&2; exit 2 ;;
esac
