#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks on the freestanding archive as a kernel would consume it.
#   check_archive.sh CHECK ARCHIVE WORKDIR [CC SRCDIR | MAX_CPUS]
# CHECK is one of: undefined, no-sse, no-constructors, no-section-groups, kernel-link, pie-link
# (these two take CC SRCDIR), max-cpus (it takes the PVOPS_MAX_CPUS CMake configured).
set -eu
check=$1 archive=$2 work=$3
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

case $check in
undefined)
  # The archive holds one prelinked object, so what nm -u prints is what a kernel would have
  # to provide. GNU nm still names the member ("pvops.o:"); beyond that it must print nothing.
  members=$(ar t "$archive")
  [ "$members" = "pvops.o" ] || fail "expected one prelinked member pvops.o, found: $members"
  undefined=$(nm -u "$archive" | grep -v -e '^$' -e '^pvops\.o:$' || true)
  [ -z "$undefined" ] || fail "nm -u $archive printed:
$undefined"
  defined=$(nm --defined-only "$archive" | grep -c ' [TtDdBbRrWw] ' || true)
  [ "$defined" -gt 50 ] || fail "only $defined symbols defined: is this the library?"
  echo "nm -u: nothing undefined ($defined symbols defined)"
  ;;
no-sse)
  objdump -d "$archive" > "$work/disassembly.txt"
  [ -s "$work/disassembly.txt" ] || fail "empty disassembly"
  if grep -nE '%(x|y|z)mm[0-9]' "$work/disassembly.txt" > "$work/sse.txt"; then
    fail "SSE/AVX registers in $archive:
$(head -20 "$work/sse.txt")"
  fi
  grep -q 'pvops_init' "$work/disassembly.txt" || fail "pvops_init not in the disassembly"
  echo "no xmm/ymm/zmm register in $(wc -l < "$work/disassembly.txt") lines"
  ;;
no-constructors)
  readelf -S -W "$archive" > "$work/sections.txt"
  if grep -nE '\.(init_array|fini_array|preinit_array|ctors|dtors)' "$work/sections.txt"; then
    fail "constructor or destructor sections in $archive"
  fi
  grep -q '\.text' "$work/sections.txt" || fail "no .text at all: wrong file?"
  echo "no .init_array/.fini_array/.ctors/.dtors section"
  ;;
no-section-groups)
  # Linux turns the archive into libpvops.o with `ld -r -T libpvops.lds`, which merges sections
  # by name; members of a COMDAT group stay apart and the kernel's link warns of orphans.
  readelf -g -W "$archive" > "$work/groups.txt"
  if grep -nE '^(COMDAT )?group section' "$work/groups.txt" > "$work/found.txt"; then
    fail "section groups in $archive:
$(head -10 "$work/found.txt")"
  fi
  echo "no section group"
  ;;
kernel-link)
  cc=$4 src=$5
  "$cc" -c -std=c11 -ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
    -mgeneral-regs-only -I"$src/include" "$src/tests/link/freestanding_main.c" -o "$work/main.o"
  "$cc" -nostdlib -static -no-pie -Wl,-T,"$src/tests/link/kernel.ld" -Wl,--no-warn-rwx-segments \
    -L"$src/cmake" \
    "$work/main.o" -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -o "$work/kernel.elf" \
    2> "$work/link.err" || { cat "$work/link.err" >&2; fail "kernel-model link failed"; }
  readelf -h "$work/kernel.elf" | grep -q 'EXEC (Executable file)' || fail "not an ET_EXEC image"
  init=$(nm "$work/kernel.elf" | awk '$3 == "pvops_init" {print $1}')
  case $init in
    ffffffff8*) ;;
    *) fail "pvops_init at '$init', not in the top 2 GiB" ;;
  esac
  nm "$work/kernel.elf" | grep -q ' pvops_table$' || fail "pvops_table not linked in"
  # XEN_ELFNOTE_VIRT_BASE (type 3) carries the linker script's value, not the weak default.
  readelf -nW "$work/kernel.elf" | grep -E '^ +Xen .*\(0x00000003\)' |
    grep -q 'description data: 00 00 00 80 ff ff ff ff' ||
    fail "the Xen PV notes' VIRT_BASE is not the linker script's 0xffffffff80000000"
  echo "kernel image links at -2 GiB: pvops_init at 0x$init, Xen PV VIRT_BASE as linked"
  ;;
max-cpus)
  # The PVOPS_MAX_CPUS the archive was built with, as a kernel's build reads it (nm -P: an
  # absolute symbol), against the value CMake configured.
  want=$4
  value=$(nm -P "$archive" | awk '$1 == "pvops_build_max_cpus" && $2 == "A" {print $3}')
  [ -n "$value" ] || fail "no absolute symbol pvops_build_max_cpus in $archive"
  [ "$((0x$value))" -eq "$want" ] || fail "pvops_build_max_cpus is $((0x$value)), built for $want"
  echo "pvops_build_max_cpus = $want"
  ;;
pie-link)
  cc=$4 src=$5
  "$cc" -c -std=c11 -ffreestanding -fPIE -mno-red-zone -mgeneral-regs-only -I"$src/include" \
    "$src/tests/link/freestanding_main.c" -o "$work/main.o"
  "$cc" -static-pie -nostdlib -Wl,-e,pvops_link_entry -Wl,-z,noexecstack "$work/main.o" \
    -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -o "$work/pvops.pie" \
    2> "$work/link.err" || { cat "$work/link.err" >&2; fail "static PIE link failed"; }
  readelf -h "$work/pvops.pie" | grep -q 'DYN (Position-Independent Executable file)' \
    || fail "not a PIE"
  ! readelf -l "$work/pvops.pie" | grep -q INTERP || fail "a static PIE must have no interpreter"
  # It relocates itself: every dynamic relocation must be RELATIVE (no symbol to look up).
  readelf -r -W "$work/pvops.pie" > "$work/relocs.txt"
  others=$(grep -E '^[0-9a-f]+ +[0-9a-f]+ R_X86_64_' "$work/relocs.txt" | grep -v R_X86_64_RELATIVE || true)
  [ -z "$others" ] || fail "relocations that need a dynamic linker:
$others"
  relative=$(grep -c R_X86_64_RELATIVE "$work/relocs.txt" || true)
  [ "$relative" -gt 0 ] || fail "no RELATIVE relocation: is the ops table in there?"
  echo "static PIE links: $relative RELATIVE relocations, nothing else"
  ;;
*)
  fail "unknown check $check"
  ;;
esac
