#!/usr/bin/env bash
# Builds the fuzz harnesses in build-fuzz/ and runs each for SECONDS seconds
# (default 20). Exits non-zero if any harness crashes; crashing inputs are
# left in build-fuzz/fuzz-artifacts/.
#
#   fuzz/run_all.sh [SECONDS]
#
# With a clang that can compile the project, the harnesses are libFuzzer
# targets (-fsanitize=fuzzer,address,undefined), run with -max_total_time.
# clang 14 with libstdc++ 12 cannot (libstdc++'s <expected> needs
# __cpp_concepts >= 202002L); then they are built with g++ under ASan+UBSan
# (KS_SANITIZE=ON) as deterministic mutation drivers (fuzz/fuzz_driver.cc)
# and each runs until SECONDS or its iteration cap (KS_FUZZ_ITERATIONS,
# default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-20}"
BUILD=build-fuzz
ART="$PWD/$BUILD/fuzz-artifacts"
TARGETS=(fuzz_tree fuzz_pack_header fuzz_index_table fuzz_sealed fuzz_snapshot fuzz_key_file
         fuzz_varint fuzz_prune_mark fuzz_s3_xml fuzz_shard_envelope)

CLANG_OK=0
if command -v clang++ >/dev/null &&
   printf '#include <expected>\nint main() { std::expected<int, int> e{1}; return *e - 1; }\n' |
     clang++ -std=c++2b -x c++ - -o /dev/null 2>/dev/null; then
  CLANG_OK=1
fi

# A build dir configured for the other compiler cannot be reused.
want_cxx=$([ "$CLANG_OK" = 1 ] && echo clang++ || echo g++)
if [ -f "$BUILD/CMakeCache.txt" ]; then
  have_cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
  [ "$(basename "$have_cxx")" = "$want_cxx" ] || rm -rf "$BUILD"
fi

if [ "$CLANG_OK" = 1 ]; then
  echo "== fuzz: libFuzzer build with clang"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DKS_FUZZ=ON -DKS_BENCH=OFF >/dev/null
else
  echo "== fuzz: clang++ cannot compile std::expected here; mutation drivers with g++ (ASan+UBSan)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc \
    -DKS_FUZZ=ON -DKS_BENCH=OFF -DKS_SANITIZE=ON >/dev/null
fi
cmake --build "$BUILD" --target fuzz_all

mkdir -p "$ART"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${TARGETS[@]}"; do
  echo "-- $t (${SECS}s)"
  if [ "$CLANG_OK" = 1 ]; then
    corpus="$BUILD/fuzz-corpus/$t"
    mkdir -p "$corpus"
    "$BUILD/fuzz/${t}_seeds" --write-seeds="$corpus" >/dev/null
    if ! "$BUILD/fuzz/$t" -max_total_time="$SECS" -print_final_stats=1 \
         -artifact_prefix="$ART/$t-" "$corpus" 2>"$BUILD/$t.log"; then
      tail -n 40 "$BUILD/$t.log"
      failed+=("$t")
    else
      grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$BUILD/$t.log" || true
    fi
  else
    if ! KS_FUZZ_ARTIFACTS="$ART" "$BUILD/fuzz/$t" --seconds="$SECS" \
         --iterations="${KS_FUZZ_ITERATIONS:-1000000}" --seed="${KS_FUZZ_SEED:-1}"; then
      failed+=("$t")
    fi
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== fuzz: crashes in: ${failed[*]} (inputs in $ART)"
  exit 1
fi
echo "== fuzz: all ${#TARGETS[@]} harnesses ran ${SECS}s without a crash"
