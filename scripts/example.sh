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
"$K" ls latest "$work/share" | head -n 8
echo "== kintsugi stats"
"$K" stats
echo "== kintsugi check --read-data"
"$K" check --read-data
echo "== kintsugi restore latest"
"$K" restore latest --target "$work/restore"
echo "== comparing the restored copy with the sample"
if diff -r --no-dereference "$work/share" "$work/restore$work/share" >/dev/null; then
  echo "OK: the restored copy is identical to the sample share."
else
  echo "FAILED: the restored copy differs from the sample share." >&2
  exit 1
fi
