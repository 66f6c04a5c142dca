#!/usr/bin/env bash
# End to end on a real (throw-away) Ceph cluster: a repository over three
# RADOS pools as failure domains, a backup of a generated tree, shards of one
# pool deleted and overwritten with the `rados` tool, `check` finds it
# (exit 5), `scrub --repair` heals it, `check` is clean and the restore is
# byte-identical. A backup during a monitor restart completes. A repository
# over two pools and a directory works the same. Last, the OSD is stopped: a command fails with a clear error within
# the timeout instead of hanging.
#
#   tests/ceph/rados_e2e.sh [BUILD_DIR] [--size 20M]
#
# Starts and stops its own cluster (tests/ceph/ceph_cluster.sh). Prints
# backup and restore times to RADOS and to a local directory on the same
# corpus (measured, not asserted).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../../build"
size=20M
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift ;;
    *) build=$1 ;;
  esac
  shift
done
K="$(cd "$build" && pwd)/kintsugi"
GEN="$(cd "$build" && pwd)/kintsugi-gen"
[ -x "$K" ] && [ -x "$GEN" ] || { echo "rados_e2e: build kintsugi and kintsugi-gen first ($build)" >&2; exit 2; }

work="$(mktemp -d -t kintsugi-rados-e2e.XXXXXX)"
cluster_dir=""
cleanup() {
  if [ -n "$cluster_dir" ]; then bash "$here/ceph_cluster.sh" stop "$cluster_dir" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
rate() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / 1048576 / max(float(sys.argv[2]), 1e-9)))" "$1" "$2"; }

pools=(ks-e2e-1 ks-e2e-2 ks-e2e-3)
echo "== starting a throw-away Ceph cluster"
t0=$(now)
# The pools are not made here: `kintsugi init` creates them.
env_lines=$(bash "$here/ceph_cluster.sh" start --pools ks-probe)
eval "$env_lines"
cluster_dir=$KS_CEPH_DIR
echo "cluster ready in $(secs "$t0" "$(now)") s"

export KINTSUGI_PASSWORD_FILE="$work/passphrase"
echo "rados-e2e-passphrase" >"$KINTSUGI_PASSWORD_FILE"
chmod 600 "$KINTSUGI_PASSWORD_FILE"
export KINTSUGI_CEPH_TIMEOUT=10
repo="rados:${pools[0]},rados:${pools[1]},rados:${pools[2]}"

echo "== generating a $size tree"
"$GEN" --seed 11 --size "$size" "$work/share" >/dev/null
bytes=$(du -sb "$work/share" | cut -f1)

echo "== kintsugi init -r $repo"
# Small packs, so one pool holds enough pack shards to damage several.
"$K" -r "$repo" init --kdf-memory-mib 8 --kdf-iterations 1 --pack-size-mib 2 -q
for p in "${pools[@]}"; do
  ceph osd pool ls | grep -qx "$p" || fail "init did not create pool $p"
done

echo "== backup"
t=$(now)
"$K" -r "$repo" backup "$work/share" -q
t_backup=$(secs "$t" "$(now)")
for p in "${pools[@]}"; do
  n=$(rados -p "$p" ls | grep -c '^data/' || true)
  [ "$n" -gt 0 ] || fail "pool $p holds no pack shards"
done

echo "== restore"
t=$(now)
"$K" -r "$repo" restore latest --target "$work/restore1" -q
t_restore=$(secs "$t" "$(now)")
diff -r --no-dereference "$work/share" "$work/restore1$work/share" >/dev/null \
  || fail "the restored tree differs from the source"

echo "== damaging pool ${pools[1]}: two pack shards removed, one overwritten with garbage, an index shard removed"
mapfile -t shards < <(rados -p "${pools[1]}" ls | grep '^data/' | sort)
[ "${#shards[@]}" -ge 3 ] || fail "too few pack shards in ${pools[1]} to damage (${#shards[@]})"
rados -p "${pools[1]}" rm "${shards[0]}"
rados -p "${pools[1]}" rm "${shards[1]}"
head -c 100000 /dev/urandom >"$work/garbage"
rados -p "${pools[1]}" put "${shards[2]}" "$work/garbage"
idx=$(rados -p "${pools[1]}" ls | grep '^index/' | head -n 1 || true)
[ -z "$idx" ] || rados -p "${pools[1]}" rm "$idx"

echo "== check --read-data (exit 5: damage found, all of it repairable)"
set +e
"$K" -r "$repo" check --read-data -q
rc=$?
set -e
[ "$rc" -eq 5 ] || fail "check exited $rc, expected 5"

echo "== restore reads around the damage"
"$K" -r "$repo" restore latest --target "$work/restore2" -q
diff -r --no-dereference "$work/share" "$work/restore2$work/share" >/dev/null \
  || fail "the tree restored from the damaged repository differs"

echo "== scrub --repair"
"$K" -r "$repo" scrub --repair -q
rados -p "${pools[1]}" stat "${shards[0]}" >/dev/null || fail "scrub did not rewrite ${shards[0]}"

echo "== check --read-data (clean again)"
"$K" -r "$repo" check --read-data -q || fail "check after repair exited $?"

echo "== restore after repair"
"$K" -r "$repo" restore latest --target "$work/restore3" -q
diff -r --no-dereference "$work/share" "$work/restore3$work/share" >/dev/null \
  || fail "the tree restored after repair differs"

echo "== the same corpus to a local directory, for comparison"
"$K" -r "$work/local" init --kdf-memory-mib 8 --kdf-iterations 1 --pack-size-mib 2 -q
t=$(now)
"$K" -r "$work/local" backup "$work/share" -q
t_backup_local=$(secs "$t" "$(now)")
t=$(now)
"$K" -r "$work/local" restore latest --target "$work/restore-local" -q
t_restore_local=$(secs "$t" "$(now)")

echo "== the monitor restarts during a backup: the backup completes, nothing is lost"
"$GEN" --seed 12 --size 40M "$work/share2" >/dev/null
"$K" -r "$repo" backup "$work/share2" -q &
backup_pid=$!
sleep 0.3
mon_pid=$(cat "$cluster_dir/run/mon.a.pid")
running=no
kill -0 "$backup_pid" 2>/dev/null && running=yes
kill -TERM "$mon_pid"
for _ in $(seq 1 150); do kill -0 "$mon_pid" 2>/dev/null || break; sleep 0.1; done
ceph-mon -c "$CEPH_CONF" -i a
set +e
wait "$backup_pid"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "the backup during a monitor restart exited $rc"
echo "backup still running when the monitor stopped: $running"
"$K" -r "$repo" check --read-data -q || fail "check after the monitor restart exited $?"
"$K" -r "$repo" restore latest --target "$work/restore-share2" -q
diff -r --no-dereference "$work/share2" "$work/restore-share2$work/share2" >/dev/null \
  || fail "the tree backed up during the monitor restart differs"

echo "== pools and a directory mixed: rados:ks-mix-1,rados:ks-mix-2,DIR"
mixed="rados:ks-mix-1,rados:ks-mix-2,$work/mixed-disk"
"$K" -r "$mixed" init --kdf-memory-mib 8 --kdf-iterations 1 -q
"$K" -r "$mixed" backup "$work/share" -q
[ -n "$(find "$work/mixed-disk/data" -type f | head -n 1)" ] || fail "the directory of a mixed repository holds no pack shard"
rados -p ks-mix-1 ls | grep -q '^data/' || fail "pool ks-mix-1 of a mixed repository holds no pack shard"
"$K" -r "$mixed" check --read-data -q || fail "check of the mixed repository exited $?"
"$K" -r "$mixed" restore latest --target "$work/restore-mixed" -q
diff -r --no-dereference "$work/share" "$work/restore-mixed$work/share" >/dev/null \
  || fail "the tree restored from the mixed repository differs"

echo "== the OSD stops: a command fails with a clear error within the timeout"
kill -TERM "$(cat "$cluster_dir/run/osd.0.pid")"
for _ in $(seq 1 150); do kill -0 "$(cat "$cluster_dir/run/osd.0.pid")" 2>/dev/null || break; sleep 0.1; done
t=$(now)
set +e
KINTSUGI_CEPH_TIMEOUT=3 timeout 120 "$K" -r "$repo" snapshots >"$work/down.out" 2>"$work/down.err"
rc=$?
set -e
t_down=$(secs "$t" "$(now)")
[ "$rc" -ne 0 ] || fail "snapshots succeeded with the OSD stopped"
[ "$rc" -ne 124 ] || fail "snapshots hung with the OSD stopped (killed after 120 s)"
grep -q "did not answer" "$work/down.err" || fail "unclear error with the OSD stopped: $(cat "$work/down.err")"
echo "failed after $t_down s (exit $rc): $(head -n 1 "$work/down.err")"

echo "== figures ($(numfmt --to=iec "$bytes") tree, 3 pools on one memstore OSD vs one local directory)"
printf '%-28s %8s s  %7s MiB/s\n' "backup to RADOS (3 pools)" "$t_backup" "$(rate "$bytes" "$t_backup")"
printf '%-28s %8s s  %7s MiB/s\n' "restore from RADOS" "$t_restore" "$(rate "$bytes" "$t_restore")"
printf '%-28s %8s s  %7s MiB/s\n' "backup to local directory" "$t_backup_local" "$(rate "$bytes" "$t_backup_local")"
printf '%-28s %8s s  %7s MiB/s\n' "restore from local dir" "$t_restore_local" "$(rate "$bytes" "$t_restore_local")"
echo "rados_e2e: all passed"
