#!/usr/bin/env bash
# End to end on a real radosgw with Object Lock: init --object-lock-days,
# backup, objects deleted behind kintsugi's back (delete markers) still read
# and reported by check, a locked version's DELETE refused, key removal
# refused, restore byte-identical; then radosgw stopped and restarted in the
# middle of a backup: the backup retries through it or fails with a clear
# error, and nothing stored is lost.
#
#   tests/s3/s3_end_to_end.sh BUILD_DIR
#
# Needs the environment of `tests/ceph/ceph_cluster.sh start --rgw`
# (KS_RGW_ENDPOINT, KS_RGW_ACCESS_KEY, KS_RGW_SECRET_KEY, KS_CEPH_DIR,
# CEPH_CONF). Stops only the radosgw it restarts, by its pid.
set -euo pipefail
BUILD=$(cd "${1:?usage: s3_end_to_end.sh BUILD_DIR}" && pwd)
K="$BUILD/kintsugi"
GEN="$BUILD/kintsugi-gen"
: "${KS_RGW_ENDPOINT:?start radosgw with tests/ceph/ceph_cluster.sh start --rgw}"
export AWS_ACCESS_KEY_ID=$KS_RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$KS_RGW_SECRET_KEY
export KINTSUGI_PASSWORD=end-to-end-test
unset KINTSUGI_PASSWORD_FILE KINTSUGI_REPOSITORY

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-s3-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
bucket="ks-e2e-$RANDOM$RANDOM"
R="s3:$KS_RGW_ENDPOINT/$bucket/vault"
fail() { echo "s3 end-to-end: FAILED: $*" >&2; exit 1; }
step() { echo "-- $*"; }
# Raw S3 requests, as anyone holding the credentials could send them.
s3() {
  curl -sS --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
keys_under() {  # prefix (already URL-encoded)
  # No keys is an answer, not a failure (grep exits 1 on no match).
  s3 "$KS_RGW_ENDPOINT/$bucket?list-type=2&prefix=$1" | { grep -o '<Key>[^<]*</Key>' || true; } |
    sed 's/<[^>]*>//g'
}

step "init with Object Lock, back up a generated tree"
"$GEN" --seed 11 --size 12M "$work/src" >/dev/null
"$K" -r "$R" init --object-lock-days 1 --kdf-memory-mib 8 --kdf-iterations 1 -q
"$K" -r "$R" backup -q "$work/src"

step "a DELETE of a locked version is refused by the server"
key=$(keys_under "vault%2Fsnapshots%2F" | head -n 1)
[ -n "$key" ] || fail "no snapshot shards listed in the bucket"
vid=$(s3 "$KS_RGW_ENDPOINT/$bucket?prefix=${key//\//%2F}&versions=" | sed -n 's/.*<VersionId>\([^<]*\)<.*/\1/p' | head -n 1)
[ -n "$vid" ] || fail "no version id listed for $key"
code=$(s3 -o /dev/null -w '%{http_code}' -X DELETE "$KS_RGW_ENDPOINT/$bucket/$key?versionId=$vid")
[ "$code" = 403 ] || fail "DELETE of a locked version answered $code, not 403"

step "objects deleted without a version id (delete markers) still read; check reports them"
deleted=0
for k in $(keys_under "vault%2Fdata%2F" | head -n 25) $(keys_under "vault%2Fsnapshots%2F") \
         $(keys_under "vault%2Findex%2F" | head -n 3) vault/config.0; do
  code=$(s3 -o /dev/null -w '%{http_code}' -X DELETE "$KS_RGW_ENDPOINT/$bucket/$k")
  [ "$code" = 204 ] || fail "raw DELETE of $k answered $code"
  deleted=$((deleted + 1))
done
[ -z "$(keys_under "vault%2Fsnapshots%2F")" ] || fail "a plain listing still shows deleted snapshot shards"
"$K" -r "$R" check --read-data >"$work/check.out" 2>"$work/check.err" || {
  cat "$work/check.err" >&2; fail "check --read-data failed after the deletions"; }
grep -q '^hidden: data ' "$work/check.err" || { cat "$work/check.err" >&2; fail "check did not report hidden packs"; }
grep -q '^hidden: snapshots ' "$work/check.err" || fail "check did not report the hidden snapshot"
echo "   $deleted shard objects hidden; check: $(grep -c '^hidden:' "$work/check.err") objects reported hidden"
"$K" -r "$R" restore latest --target "$work/restore" -q
diff -r "$work/src" "$work/restore$work/src" >/dev/null || fail "restore differs from the source"

step "removal of a retained object is refused (key remove)"
printf 'second-pass\n' >"$work/pass2"
"$K" -r "$R" key add --new-password-file "$work/pass2" -q
id=$("$K" -r "$R" key list --json | python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin) if not k["current"]][0])')
if "$K" -r "$R" key remove "${id:0:8}" 2>"$work/rm.err"; then fail "key remove succeeded on a locked repository"; fi
grep -q 'Object Lock' "$work/rm.err" || { cat "$work/rm.err" >&2; fail "key remove failed without saying why"; }

step "radosgw restarted in the middle of a backup"
pidfile="$KS_CEPH_DIR/run/client.rgw.ks.pid"
[ -s "$pidfile" ] || fail "no radosgw pid file at $pidfile"
"$GEN" --seed 12 --size 96M "$work/src2" >/dev/null
before=$(keys_under "vault%2Fdata%2F" | wc -l)
"$K" -r "$R" backup -q "$work/src2" >"$work/b2.out" 2>"$work/b2.err" &
bpid=$!
# Stop radosgw once the backup has stored its first new pack shards (it
# has more to store: 96 MiB make several 16 MiB packs).
for _ in $(seq 1 600); do
  [ "$(keys_under "vault%2Fdata%2F" | wc -l)" -gt "$before" ] && break
  kill -0 "$bpid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$bpid" 2>/dev/null || fail "the backup ended before radosgw could be stopped under it"
pid=$(cat "$pidfile")
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "radosgw $pid did not stop"
sleep 1
radosgw -c "$CEPH_CONF" -n client.rgw.ks >"$work/rgw-restart.out" 2>&1 || fail "radosgw did not restart"
for _ in $(seq 1 150); do
  curl -s -o /dev/null --max-time 2 "$KS_RGW_ENDPOINT/" && break
  sleep 0.2
done
if wait "$bpid"; then
  echo "   the backup retried through the restart"
else
  rc=$?
  grep -q 'S3 server' "$work/b2.err" || { cat "$work/b2.err" >&2; fail "backup failed (exit $rc) without a clear message"; }
  echo "   the backup failed with a clear error (exit $rc): $(head -n 1 "$work/b2.err")"
  "$K" -r "$R" unlock -q
  "$K" -r "$R" backup -q "$work/src2" || fail "the backup after the restart failed"
fi
"$K" -r "$R" check --read-data -q 2>"$work/check2.err" || { cat "$work/check2.err" >&2; fail "check after the restart"; }
rm -rf "$work/restore"
"$K" -r "$R" restore latest --target "$work/restore" -q
diff -r "$work/src2" "$work/restore$work/src2" >/dev/null || fail "restore after the restart differs"
"$K" -r "$R" restore "$("$K" -r "$R" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" \
  --target "$work/restore1" -q
diff -r "$work/src" "$work/restore1$work/src" >/dev/null || fail "the first snapshot no longer restores"
echo "s3 end-to-end: all passed"
