#!/usr/bin/env bash
# Builds a costsim binary optimized with a profile of its own hot path (profile-guided
# optimization): an instrumented build runs a Monte Carlo simulation and a default search, LLVM
# merges the counts, and a second build lays out and inlines the code by them. Outputs are the
# same as the plain release build's (PGO changes code layout and inlining, never a floating-point
# operation); only the time changes (docs/performance.md, "Profile-guided build").
#
# usage: benches/pgo.sh [OUT]   (default OUT: target/pgo/costsim; run from anywhere)
# needs: llvm-profdata, from `rustup component add llvm-tools` (or on PATH, if it matches rustc's LLVM). Takes two release
# builds plus about a minute of training: ~12 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-target/pgo/costsim}
work=target/pgo
# The toolchain's own llvm-profdata reads the profile format of rustc's LLVM; a system one
# may be older.
profdata=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-profdata 2>/dev/null | head -1 || true)
if [ -z "$profdata" ]; then profdata=$(command -v llvm-profdata || true); fi
if [ -z "$profdata" ]; then
  echo "pgo.sh: llvm-profdata not found; install it with: rustup component add llvm-tools" >&2
  exit 2
fi
# RUSTFLAGS replaces the rustflags of .cargo/config.toml: repeat its CPU baseline on x86-64.
base=""
if [ "$(uname -m)" = x86_64 ]; then base="-C target-cpu=x86-64-v2"; fi
rm -rf "$work/raw" "$work/train"
mkdir -p "$work/raw" "$work/train"
echo "pgo.sh: instrumented build" >&2
RUSTFLAGS="$base -C profile-generate=$root/$work/raw" \
  cargo build --release --quiet --target-dir "$work/gen"
echo "pgo.sh: training run" >&2
RAYON_NUM_THREADS=1 "$work/gen/release/costsim" simulate --replications 8 --quiet >/dev/null
"$work/gen/release/costsim" search --quiet --out "$work/train" >/dev/null
if ! "$profdata" merge -o "$work/merged.profdata" "$work/raw"; then
  echo "pgo.sh: $profdata could not read rustc's profiles (an llvm-profdata of another LLVM than" \
    "rustc's $(rustc -vV | sed -n 's/^LLVM version: //p')?); install the matching one with:" \
    "rustup component add llvm-tools" >&2
  exit 2
fi
echo "pgo.sh: optimized build" >&2
RUSTFLAGS="$base -C profile-use=$root/$work/merged.profdata" \
  cargo build --release --quiet --target-dir "$work/use"
mkdir -p "$(dirname "$out")"
cp "$work/use/release/costsim" "$out.tmp" && mv "$out.tmp" "$out"
echo "pgo.sh: wrote $out" >&2
