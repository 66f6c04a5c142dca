#!/usr/bin/env bash
# The whole test suite: installs what is needed, builds, runs every test
# (GoogleTest under CTest), the RADOS tests on a throw-away Ceph cluster,
# then the unit tests again under ASan+UBSan, the fuzzers of every parser,
# and the benchmark script on a small corpus (to keep it working; it asserts
# no speed).
set -euo pipefail
cd "$(dirname "$0")/.."
KS_WITH_PEERS=1 bash scripts/install-deps.sh

echo "== build"
bash scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j2 --timeout 900)

echo "== RADOS: the backend conformance suite on a throw-away Ceph cluster"
# Loopback only, all state in a temporary directory; stopped by its pids on
# any exit. KS_CEPH_REQUIRED turns a RADOS case that finds no cluster into a
# failure instead of a skip.
ceph_env=$(bash tests/ceph/ceph_cluster.sh start --pools kintsugi-test)
eval "$ceph_env"
trap 'bash tests/ceph/ceph_cluster.sh stop "$KS_CEPH_DIR" || true' EXIT
KS_CEPH_REQUIRED=1 timeout 600 build/tests/backend_test --gtest_brief=1
bash tests/ceph/ceph_cluster.sh stop "$KS_CEPH_DIR"
trap - EXIT
unset KS_CEPH_DIR CEPH_CONF KS_CEPH_POOLS
echo "== RADOS end to end: three pools, damage, check, scrub --repair, restore; OSD down"
timeout 900 bash tests/ceph/rados_e2e.sh build

echo "== S3 location on a throw-away radosgw with Object Lock (tests/s3)"
(
  eval "$(tests/ceph/ceph_cluster.sh start --rgw)"
  trap 'tests/ceph/ceph_cluster.sh stop "$KS_CEPH_DIR"' EXIT
  timeout 600 build/tests/s3_test --gtest_filter='RadosGw*:S3Down*' --gtest_brief=1
  timeout 600 build/tests/backend_test --gtest_filter='*/s3*' --gtest_brief=1
  timeout 900 bash tests/s3/s3_end_to_end.sh build
)

echo "== sanitizer build (ASan + UBSan): unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKS_SANITIZE=ON -DKS_BENCH=OFF >/dev/null
for t in $(ls tests | sed -n 's/^\(util\|fs\|core\|ops\|s3\)$/\1_test/p'); do
  ls tests/"${t%_test}"/*.cc >/dev/null 2>&1 || continue   # a layer without tests yet
  cmake --build build-asan --target "$t" -j"$(nproc)"
  echo "-- $t (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-asan/tests/$t" --gtest_brief=1
done

echo "== fuzzing every parser of repository data (20 s each)"
bash fuzz/run_all.sh 20

if [ -f bench/compare.sh ]; then
  echo "== benchmark script smoke run (small corpus, no speed assertions)"
  bash bench/compare.sh --size 24M --runs 1 --kintsugi "$PWD/build/kintsugi"
fi
echo "== all tests passed"
