#!/usr/bin/env bash
# The built-in example: installs what is needed, builds, generates a sample
# hospital share, backs it up, lists it, restores it and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
K="$PWD/build/kintsugi"
work="$(mktemp -d -t kintsugi-example.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "== working in $work"
export KINTSUGI_REPOSITORY="$work/vault"
export KINTSUGI_PASSWORD_FILE="$work/passphrase"
head -c 24 /dev/urandom | base64 > "$KINTSUGI_PASSWORD_FILE"
chmod 600 "$KINTSUGI_PASSWORD_FILE"

echo "== generating a sample hospital share (PACS images, HL7, lab CSV, documents)"
build/kintsugi-gen --seed 7 --size 96M --special "$work/share"

echo "== kintsugi init"
"$K" init
echo "== kintsugi backup (first)"
"$K" backup "$work/share" --tag nightly
echo "== kintsugi backup (nothing changed)"
"$K" backup "$work/share" --tag nightly
echo "== kintsugi snapshots"
"$K" snapshots
echo "== kintsugi ls latest (first entries)"
"$K" ls latest "$work/share" > "$work/listing.txt"
head -n 8 "$work/listing.txt"
echo "== kintsugi stats"
"$K" stats
echo "== kintsugi check --read-data"
"$K" check --read-data
echo "== kintsugi restore latest"
"$K" restore latest --target "$work/restore"
echo "== comparing the restored copy with the sample"
compare() {
  if diff -r --no-dereference "$work/share" "$1$work/share" >/dev/null; then
    echo "OK: the restored copy is identical to the sample share."
  else
    echo "FAILED: the restored copy differs from the sample share." >&2
    exit 1
  fi
}
compare "$work/restore"

echo "== simulating silent corruption: one shard file deleted, a 4 KiB sector of another zeroed"
mapfile -t shards < <(find "$KINTSUGI_REPOSITORY/data" -type f -name '*.*' | sort)
rm -f "${shards[0]}"
chmod u+w "${shards[1]}"
dd if=/dev/zero of="${shards[1]}" bs=4096 seek=1 count=1 conv=notrunc status=none
echo "== kintsugi check --read-data (exit 5: damage found, all of it repairable)"
set +e
"$K" check --read-data
rc=$?
set -e
[ "$rc" -eq 5 ] || { echo "FAILED: check exited $rc, expected 5" >&2; exit 1; }
echo "== kintsugi restore reads around the damage"
"$K" restore latest --target "$work/restore2"
compare "$work/restore2"
echo "== kintsugi scrub --repair"
"$K" scrub --repair
echo "== kintsugi check --read-data (intact again)"
"$K" check --read-data

echo "== simulating a ransomware attack on the share (encryption, .locked renames, ransom notes)"
build/kintsugi-gen --encrypt-attack 25 "$work/share"
echo "== kintsugi backup (the nightly run after the attack: exit 8 and an alert)"
set +e
"$K" backup "$work/share" --tag nightly
rc=$?
set -e
[ "$rc" -eq 8 ] || { echo "FAILED: backup exited $rc, expected 8 (suspicious)" >&2; exit 1; }
echo "== kintsugi snapshots (the suspicious one is flagged, the last clean one held)"
"$K" snapshots
"$K" alerts
# The held snapshot is the row just above its "held: automatic" line.
clean=$("$K" snapshots | awk '/held: automatic/ {print prev; exit} {prev = $1}')
[ -n "$clean" ] || { echo "FAILED: no held clean snapshot" >&2; exit 1; }
echo "== kintsugi restore $clean over the damaged share, rewriting only what the attack changed"
"$K" restore "$clean" --target / --include "$work/share" --overwrite changed --delete
compare ""

echo "== retention after the attack: keep only the newest snapshot (dry run)"
echo "   the held clean snapshot and the suspicious one (evidence) both stay"
"$K" forget --keep-last 1 --dry-run
"$K" forget --keep-last 1
"$K" snapshots | grep -q "$clean" || { echo "FAILED: forget removed the held snapshot" >&2; exit 1; }
echo "== kintsugi prune (marks unneeded packs; a later prune deletes them after the grace period)"
"$K" prune
echo "== kintsugi check (all remaining snapshots intact)"
"$K" check
