#!/usr/bin/env bash
# make check-arm64: humpty cross-built for arm64 (Debian's g++-aarch64-linux-gnu) with plain
# `make` flags but -g (warnings are errors), then run under qemu-aarch64: it generates and solves a
# small puzzle, which must match the native build's bytes and answer, and solves the published
# puzzle when it is present. Exit 0 only when all of that holds; exit 77 (skipped) when the
# cross tools are not installed, saying which.
set -euo pipefail
BUILD_ARM=${BUILD_ARM:-build-arm64}
NATIVE=${NATIVE_BIN:-build/humpty}
PUZZLE=${HUMPTY_PUZZLE:-../shared/puzzle}
missing=()
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
  echo "check-arm64: SKIPPED: needs Debian's ${missing[*]} (apt-get install ${missing[*]})"
  exit 77
fi
# -O2 without -g: the debug information does not change the code GCC generates, and it was a third
# of the build's time (a native build: 77 s with it, 51 s without, two cores). ARM_CXXFLAGS overrides.
make -s -j"$(nproc)" CXX=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar BUILD="$BUILD_ARM" \
  CXXFLAGS="${ARM_CXXFLAGS:--O2}" "$BUILD_ARM/humpty"
make -s -j"$(nproc)" "$NATIVE"
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$BUILD_ARM/humpty" "$@"; }
if command -v file >/dev/null; then
  file "$BUILD_ARM/humpty" | grep -q aarch64 || { echo "check-arm64: $BUILD_ARM/humpty is not an arm64 binary"; exit 1; }
fi
run --version | sed 's/^/check-arm64: /'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same puzzle on both machines: training and shuffling are bit-for-bit portable.
run generate -q -o "$tmp/arm" --blocks 8 --dim 12 --hidden 24 --rows 1000 --seed 4
"$NATIVE" generate -q -o "$tmp/x86" --blocks 8 --dim 12 --hidden 24 --rows 1000 --seed 4
cmp "$tmp/arm/puzzle.humpty" "$tmp/x86/puzzle.humpty"
sha=$(sed -n 2p "$tmp/arm/answer.txt" | cut -d' ' -f2)
run solve -q "$tmp/arm/puzzle.humpty" --expect-sha256 "$sha" >/dev/null
echo "check-arm64: generated puzzle: same bytes as the native build, solved and proven (sha256 ${sha:0:16}...)"
if [ -d "$PUZZLE/pieces" ]; then
  # Without data: the readers, the pairing and the path on arm64 (the data proof of the generated
  # puzzle above already ran the kernels and the search there; under qemu they are slow).
  run solve -q "$PUZZLE/pieces" \
    --expect-sha256 093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4 >/dev/null
  echo "check-arm64: published puzzle: solved, the expected SHA-256"
else
  echo "check-arm64: published puzzle not at $PUZZLE: skipped"
fi
echo "check-arm64: passed"
