#!/usr/bin/env bash
# Run a command so that g++ 12's ThreadSanitizer can place its shadow memory:
#
#   scripts/tsan.sh ctest --preset tsan ...
#
# libtsan from GCC 12 assumes at most 28 bits of mmap randomisation. Kernels configured with
# vm.mmap_rnd_bits=32 (Ubuntu 23.10+, some cloud images) make every instrumented binary die with
# "FATAL: ThreadSanitizer: unexpected memory mapping" (verified on 6.18 with bits=32; fine at 28).
# The build needs it too: gtest_discover_tests runs each test binary after linking it.
# Fix, least invasive first: nothing when bits <= 28; else run the command with ASLR off for
# it and its children (setarch -R, inherited by every process ctest starts); else, as root,
# lower vm.mmap_rnd_bits to 28 (machine-wide, says so).
set -euo pipefail
(($# > 0)) || { echo "usage: scripts/tsan.sh <command> [args...]" >&2; exit 2; }

bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
if ((bits <= 28)); then
  exec "$@"
fi
arch=$(uname -m)
if setarch "$arch" -R true 2>/dev/null; then
  echo "tsan: vm.mmap_rnd_bits=$bits > 28: running with ASLR off (setarch $arch -R)" >&2
  exec setarch "$arch" -R "$@"
fi
if ((EUID == 0)) && sysctl -qw vm.mmap_rnd_bits=28 2>/dev/null; then
  echo "tsan: vm.mmap_rnd_bits was $bits; set to 28 for this machine (setarch -R is not permitted here)" >&2
  exec "$@"
fi
echo "tsan: vm.mmap_rnd_bits=$bits and neither setarch -R nor sysctl is permitted;" \
  "run: sudo sysctl vm.mmap_rnd_bits=28" >&2
exit 1
