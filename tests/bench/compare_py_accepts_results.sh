#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Acceptance: Google Benchmark's own tools/compare.py accepts two results.json written by the
# reporter. compare.py is not packaged as a program; Debian's benchmark source package has it, so
# it is fetched (apt-get source, a private source list: /etc/apt stays untouched) into the
# gitignored .cache/ and never committed.
#   compare_py_accepts_results.sh PVOPS_BENCH DATA_DIR CACHE_DIR WORK_DIR
set -euo pipefail
reporter=$1 data=$2 cache=$3 work=$4

compare=$cache/tools/compare.py
if [[ ! -f $compare ]]; then
  apt_dir=$cache/apt
  mkdir -p "$apt_dir/lists/partial"
  printf 'deb-src http://deb.debian.org/debian bookworm main\n' >"$apt_dir/src.list"
  apt_options=(-o Dir::Etc::SourceList="$apt_dir/src.list" -o Dir::Etc::SourceParts=/dev/null
               -o Dir::State::Lists="$apt_dir/lists")
  apt-get "${apt_options[@]}" update >"$apt_dir/update.log" 2>&1 ||
    { echo "cannot update the deb-src list (see $apt_dir/update.log)" >&2; exit 1; }
  (cd "$apt_dir" && apt-get "${apt_options[@]}" source --download-only benchmark) \
    >"$apt_dir/source.log" 2>&1 || { echo "apt-get source benchmark failed" >&2; exit 1; }
  tarball=$(ls "$apt_dir"/benchmark_*.orig.tar.* | head -n 1)
  rm -rf "$cache/unpacked"
  mkdir -p "$cache/unpacked"
  tar -xf "$tarball" -C "$cache/unpacked"
  tools=$(dirname "$(find "$cache/unpacked" -path '*/tools/compare.py' | head -n 1)")
  rm -rf "$cache/tools"
  cp -r "$tools" "$cache/tools"
fi

rm -rf "$work"
mkdir -p "$work"
"$reporter" --in="$data/run_a" --envs=kvm,xen --out="$work/a" >/dev/null
"$reporter" --in="$data/run_b" --envs=kvm,xen --out="$work/b" >/dev/null
# Debian's interpreter: python3-scipy and python3-numpy are installed for it (a python3 earlier on
# PATH, e.g. pyenv's, may lack them).
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" "$compare" --no-color benchmarks "$work/a/results.json" "$work/b/results.json" | tee "$work/compare.txt"
# Every measured benchmark of the two runs is compared, by name.
for name in kvm/clock_ns/patched kvm/clock_ns/exiting kvm/hypercall_null/raw kvm/pte_update_64_lazy/patched; do
  grep -q "^$name " "$work/compare.txt" || { echo "compare.py did not compare $name" >&2; exit 1; }
done
echo "compare.py accepted both results.json"
