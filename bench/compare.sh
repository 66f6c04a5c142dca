#!/usr/bin/env bash
# bench/compare.sh -- run Kintsugi, restic and borg side by side on a generated
# hospital corpus (bench/gen_corpus.cc) and print one table of medians.
#
# For each tool and run, on a freshly generated corpus at the same absolute path:
#   backup-1   first backup into a new repository
#   backup-2   second backup, nothing changed
#   backup-5%  backup after `kintsugi-gen --mutate 5`
#   restore    full restore of the latest snapshot into an empty directory,
#              then `diff -r` against the corpus (OK/FAIL)
#   check      full data verification (check --read-data / --verify-data)
# Each step runs under /usr/bin/time -v. Reported: median wall time, throughput
# (corpus bytes / wall), CPU (user+sys), peak RSS, and repository size (du -sb)
# after backup-1 and backup-5%. Ratio columns are kintsugi / peer.
#
# The corpus is freshly written before each run, so it sits in the page cache:
# the numbers measure the tools, not the disk. Restores write as many files
# as the corpus has, each step shortly after the last one deleted as many:
# on ext4 without a journal, creating inodes in groups where many were
# deleted in the last minutes scans for ones not "recently deleted", and
# that kernel time can dominate a restore by several times. --restore-dir
# on a tmpfs (/dev/shm) takes the file system out of the restore row.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/compare.sh [options]
  --size SIZE        corpus size for kintsugi-gen (default 1G)
  --runs N           runs per tool; medians are reported (default 3)
  --seed N           corpus seed (default 1)
  --kintsugi PATH    kintsugi binary (default: <repo>/build/kintsugi)
  --gen PATH         kintsugi-gen binary (default: next to the kintsugi binary)
  --workdir DIR      parent directory for the temporary work tree (default: \$TMPDIR or /tmp)
  --restore-dir DIR  parent directory for restore targets (default: the work tree)
  --tools LIST       comma-separated subset of kintsugi,restic,borg-lz4,borg-zstd (default: all)
  --csv FILE         also write every measurement (one row per run and step) to FILE
  --keep             keep the work tree (logs, last repositories) instead of deleting it
  -h, --help         this help
Environment: KINTSUGI_INIT_ARGS is appended to 'kintsugi init' (e.g. "--kdf-memory-mib 64").
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(dirname "$script_dir")

size=1G
runs=3
seed=1
kintsugi_bin="$repo_root/build/kintsugi"
gen_bin=""
workdir_parent="${TMPDIR:-/tmp}"
restore_parent=""
tools_arg="kintsugi,restic,borg-lz4,borg-zstd"
csv_file=""
keep=0

die() { echo "compare.sh: $*" >&2; exit 2; }
note() { echo "compare.sh: $*" >&2; }

while (($# > 0)); do
  case $1 in
    --size) size=${2:?--size needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --kintsugi) kintsugi_bin=${2:?--kintsugi needs a value}; shift 2 ;;
    --gen) gen_bin=${2:?--gen needs a value}; shift 2 ;;
    --workdir) workdir_parent=${2:?--workdir needs a value}; shift 2 ;;
    --restore-dir) restore_parent=${2:?--restore-dir needs a value}; shift 2 ;;
    --tools) tools_arg=${2:?--tools needs a value}; shift 2 ;;
    --csv) csv_file=${2:?--csv needs a value}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ $seed =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is required"
# The runs happen in other directories: make the binaries' paths absolute.
kintsugi_bin=$(realpath -m "$kintsugi_bin")
[[ -z $gen_bin ]] && gen_bin="$(dirname "$kintsugi_bin")/kintsugi-gen"
gen_bin=$(realpath -m "$gen_bin")
[[ -x $gen_bin ]] || die "kintsugi-gen not found at $gen_bin (build target kintsugi-gen, or pass --gen)"
if [[ -n $csv_file ]]; then
  : >"$csv_file" || die "cannot write $csv_file"
  csv_file=$(cd "$(dirname "$csv_file")" && pwd)/$(basename "$csv_file")
fi

# ---------------------------------------------------------------------------
# Tools: which are requested, which are installed.

tools=()
IFS=',' read -ra requested <<<"$tools_arg"
for tool in "${requested[@]}"; do
  case $tool in
    kintsugi)
      if [[ -x $kintsugi_bin ]]; then tools+=("$tool"); else note "kintsugi not found at $kintsugi_bin, skipped"; fi ;;
    restic)
      if command -v restic >/dev/null; then tools+=("$tool"); else note "restic not installed, skipped"; fi ;;
    borg-lz4 | borg-zstd)
      if command -v borg >/dev/null; then tools+=("$tool"); else note "borg not installed, $tool skipped"; fi ;;
    *) die "unknown tool: $tool (expected kintsugi, restic, borg-lz4, borg-zstd)" ;;
  esac
done
((${#tools[@]} > 0)) || die "no tool to run"

tool_version() {
  case $1 in
    kintsugi)
      local v
      v=$("$kintsugi_bin" --version 2>/dev/null | head -n1) || v=""
      echo "${v:-kintsugi (version unknown)}" ;;
    restic) restic version | head -n1 ;;
    borg-*) borg --version | head -n1 ;;
  esac
}

# ---------------------------------------------------------------------------
# Work tree, cleaned on exit.

mkdir -p "$workdir_parent"
work=$(mktemp -d "$workdir_parent/kintsugi-bench.XXXXXX")
work=$(cd "$work" && pwd -P)  # absolute, symlinks resolved
restore_dir="$work/restore"
if [[ -n $restore_parent ]]; then
  mkdir -p "$restore_parent"
  restore_dir=$(mktemp -d "$restore_parent/kintsugi-bench-restore.XXXXXX")
  rmdir "$restore_dir"  # each restore makes it anew
fi
cleanup() {
  if ((keep)); then note "work tree kept at $work"; else rm -rf "$work"; fi
  if [[ -n $restore_parent ]]; then rm -rf "$restore_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

corpus="$work/corpus"  # the same absolute path for every tool and run
repo="$work/repo"
logs="$work/logs"
mkdir -p "$logs"
printf 'kintsugi-bench-password-%s\n' "$seed" >"$work/password"

export RESTIC_PASSWORD="kintsugi-bench-password-$seed"
export RESTIC_CACHE_DIR="$work/cache/restic"
export BORG_PASSPHRASE="kintsugi-bench-password-$seed"
export BORG_BASE_DIR="$work/cache/borg"  # keys, caches and security dir stay in the work tree
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

kintsugi_init_args=()
read -ra kintsugi_init_args <<<"${KINTSUGI_INIT_ARGS:-}"

# Sets the array `cmd` to the command line for tool $1, action $2 (init,
# backup, restore, check); $3 is the backup number or the restore target.
build_cmd() {
  local tool=$1 action=$2 arg=${3:-}
  local kopts=(-r "$repo" --password-file "$work/password")
  case $tool:$action in
    kintsugi:init) cmd=("$kintsugi_bin" init "${kopts[@]}" "${kintsugi_init_args[@]}") ;;
    kintsugi:backup) cmd=("$kintsugi_bin" backup "${kopts[@]}" -q "$corpus") ;;
    kintsugi:restore) cmd=("$kintsugi_bin" restore "${kopts[@]}" latest --target "$arg") ;;
    kintsugi:check) cmd=("$kintsugi_bin" check "${kopts[@]}" --read-data) ;;
    restic:init) cmd=(restic -r "$repo" init -q) ;;
    restic:backup) cmd=(restic -r "$repo" backup -q "$corpus") ;;
    restic:restore) cmd=(restic -r "$repo" restore latest -q --target "$arg") ;;
    restic:check) cmd=(restic -r "$repo" check -q --read-data) ;;
    borg-*:init) cmd=(borg init -e repokey-blake2 "$repo") ;;
    borg-lz4:backup) cmd=(borg create --compression lz4 "$repo::backup-$arg" "$corpus") ;;
    borg-zstd:backup) cmd=(borg create --compression "zstd,3" "$repo::backup-$arg" "$corpus") ;;
    borg-*:restore) cmd=(borg extract "$repo::backup-3") ;;  # extracts into the current directory
    borg-*:check) cmd=(borg check --verify-data "$repo") ;;
    *) die "internal: no command for $tool $action" ;;
  esac
}

# Where a tool put the restored corpus inside target $1: restic, borg and
# kintsugi recreate the absolute path; fall back to the basename or the target.
restored_root() {
  local target=$1
  if [[ -d $target$corpus ]]; then echo "$target$corpus"
  elif [[ -d $target/$(basename "$corpus") ]]; then echo "$target/$(basename "$corpus")"
  else echo "$target"
  fi
}

# ---------------------------------------------------------------------------
# Measurements. Values are kept per "tool|step|metric" as space-separated lists.

declare -A values=()
declare -A verdict=()

record() { values["$1|$2|$3"]+="$4 "; }

corpus_bytes() { find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }'; }

# Seconds from GNU time's "h:mm:ss" or "m:ss.ss".
to_seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.3f\n", s }' <<<"$1"; }

time_field() { # file, label prefix
  awk -v key="$2" 'index($0, key) { sub(/.*: /, ""); print; exit }' "$1"
}

# measure TOOL RUN STEP DIR: runs ${cmd[@]} in DIR under /usr/bin/time -v and
# records wall, throughput, CPU and RSS. Returns non-zero if the tool failed.
measure() {
  local tool=$1 run=$2 step=$3 dir=$4
  local log="$logs/$tool-run$run-$step.log" tfile="$logs/$tool-run$run-$step.time" rc=0
  # Write out what earlier steps left dirty (the generated corpus, the last
  # step's repository or restore), so that the kernel's writeback of it
  # does not compete with this step for the CPU. Every tool gets the same.
  sync
  (cd "$dir" && /usr/bin/time -v -o "$tfile" "${cmd[@]}") >"$log" 2>&1 || rc=$?
  # borg exits 1 for warnings (e.g. a file changed while read); that is a success.
  if ((rc != 0)) && ! [[ $tool == borg-* && $rc -eq 1 ]]; then
    note "$tool run $run: $step failed (exit $rc); last lines of $log:"
    tail -n 5 "$log" | sed 's/^/    /' >&2
    return 1
  fi
  local wall user sys rss bytes
  wall=$(to_seconds "$(time_field "$tfile" "Elapsed (wall clock) time")")
  user=$(time_field "$tfile" "User time (seconds)")
  sys=$(time_field "$tfile" "System time (seconds)")
  rss=$(time_field "$tfile" "Maximum resident set size (kbytes)")
  bytes=$(corpus_bytes)
  record "$tool" "$step" wall "$wall"
  record "$tool" "$step" mibs "$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.3f", b / 1048576 / (w > 0 ? w : 0.001) }')"
  record "$tool" "$step" cpu "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')"
  record "$tool" "$step" rss "$(awk -v k="$rss" 'BEGIN { printf "%.3f", k / 1024 }')"
  [[ -n $csv_file ]] && echo "$tool,$run,$step,$wall,$user,$sys,$rss,$bytes" >>"$csv_file"
  printf '  %-10s run %d  %-9s %8.2f s\n' "$tool" "$run" "$step" "$wall" >&2
}

record_repo_size() { # tool run label
  local bytes
  bytes=$(du -sb "$repo" | cut -f1)
  record "$1" "$3" repo "$(awk -v b="$bytes" 'BEGIN { printf "%.3f", b / 1048576 }')"
  [[ -n $csv_file ]] && echo "$1,$2,$3,,,,,$bytes" >>"$csv_file"
  return 0
}

corpus_pristine=0  # 1 while $corpus is exactly as generated
fresh_corpus() {
  ((corpus_pristine)) && return 0
  rm -rf "$corpus"
  "$gen_bin" --seed "$seed" --size "$size" "$corpus" >"$logs/gen.log"
  corpus_pristine=1
}

# One full cycle for one tool. Stops at the first failing step.
run_tool() {
  local tool=$1 run=$2
  rm -rf "$repo" "$restore_dir" "$work/cache"
  fresh_corpus
  build_cmd "$tool" init
  if ! "${cmd[@]}" >"$logs/$tool-run$run-init.log" 2>&1; then
    note "$tool run $run: init failed; see $logs/$tool-run$run-init.log"
    tail -n 5 "$logs/$tool-run$run-init.log" | sed 's/^/    /' >&2
    return 1
  fi
  build_cmd "$tool" backup 1 && measure "$tool" "$run" backup-1 "$work" || return 1
  record_repo_size "$tool" "$run" repo-after-1
  build_cmd "$tool" backup 2 && measure "$tool" "$run" backup-2 "$work" || return 1
  corpus_pristine=0
  "$gen_bin" --mutate 5 --seed "$seed" "$corpus" >"$logs/mutate.log"
  build_cmd "$tool" backup 3 && measure "$tool" "$run" backup-5% "$work" || return 1
  record_repo_size "$tool" "$run" repo-after-5%
  mkdir -p "$restore_dir"
  build_cmd "$tool" restore "$restore_dir" && measure "$tool" "$run" restore "$restore_dir" || return 1
  if diff -r -q --no-dereference "$corpus" "$(restored_root "$restore_dir")" >"$logs/$tool-run$run-diff.log" 2>&1; then
    verdict[$tool]=${verdict[$tool]:-OK}
  else
    verdict[$tool]=FAIL
    note "$tool run $run: restored tree differs; see $logs/$tool-run$run-diff.log"
  fi
  rm -rf "$restore_dir"  # free the space before the check
  build_cmd "$tool" check && measure "$tool" "$run" check "$work" || return 1
}

# ---------------------------------------------------------------------------
# Report.

median() { # space-separated numbers -> median (empty if none)
  tr ' ' '\n' <<<"$1" | awk 'NF { print }' | sort -g |
    awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

human_size() { awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u); i = 1; while (b >= 1024 && i < 5) { b /= 1024; i++ } printf "%.1f %s", b, u[i] }'; }

print_table() {
  local peers=() tool
  for tool in "${tools[@]}"; do
    [[ $tool != kintsugi ]] && [[ " ${tools[*]} " == *" kintsugi "* ]] && peers+=("$tool")
  done
  local label_w=15 metric_w=10 col_w=11
  local line
  printf -v line '%*s' $((label_w + metric_w + (col_w + 1) * (${#tools[@]} + ${#peers[@]}))) ''
  echo
  printf '%-*s%-*s' "$label_w" "step" "$metric_w" "metric"
  for tool in "${tools[@]}"; do printf ' %*s' "$col_w" "$tool"; done
  for tool in "${peers[@]}"; do printf ' %*s' "$col_w" "k/$tool"; done
  printf '\n%s\n' "${line// /-}"

  local step metric unit fmt first label value med k
  for step in backup-1 backup-2 backup-5% restore check repo-after-1 repo-after-5%; do
    first=1
    for metric in wall mibs cpu rss repo; do
      case $metric in
        wall) unit="wall s"; fmt="%.2f" ;;
        mibs) unit="MiB/s"; fmt="%.1f" ;;
        cpu) unit="CPU s"; fmt="%.2f" ;;
        rss) unit="RSS MiB"; fmt="%.1f" ;;
        repo) unit="MiB"; fmt="%.1f" ;;
      esac
      # Only print metrics that exist for this step.
      local any=0
      for tool in "${tools[@]}"; do [[ -n ${values["$tool|$step|$metric"]:-} ]] && any=1; done
      ((any)) || continue
      if ((first)); then label=$step; else label=""; fi
      printf '%-*s%-*s' "$label_w" "$label" "$metric_w" "$unit"
      first=0
      for tool in "${tools[@]}"; do
        med=$(median "${values["$tool|$step|$metric"]:-}")
        # shellcheck disable=SC2059 # $fmt is one of the fixed formats above
        if [[ -n $med ]]; then printf ' %*s' "$col_w" "$(printf "$fmt" "$med")"; else printf ' %*s' "$col_w" "-"; fi
      done
      k=$(median "${values["kintsugi|$step|$metric"]:-}")
      for tool in "${peers[@]}"; do
        med=$(median "${values["$tool|$step|$metric"]:-}")
        value=$(awk -v a="$k" -v b="$med" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }')
        printf ' %*s' "$col_w" "$value"
      done
      printf '\n'
    done
  done
  printf '%-*s%-*s' "$label_w" "restore" "$metric_w" "diff -r"
  for tool in "${tools[@]}"; do printf ' %*s' "$col_w" "${verdict[$tool]:-n/a}"; done
  printf '\n%s\n' "${line// /-}"
  echo "medians over $runs run(s); MiB/s = corpus bytes / wall time; CPU = user + sys;"
  echo "repo-after-N = du -sb of the repository; k/<peer> = kintsugi / peer (< 1 is better except MiB/s)."
}

# ---------------------------------------------------------------------------
# Main.

[[ -n $csv_file ]] && echo "tool,run,step,wall_s,user_s,sys_s,max_rss_kib,bytes" >"$csv_file"

note "generating a $size corpus (seed $seed) in $work"
fresh_corpus
total_bytes=$(corpus_bytes)
total_files=$(find "$corpus" -type f | wc -l)
avail=$(df -P -B1 "$work" | awk 'NR == 2 { print $4 }')
if ((avail < 3 * total_bytes)); then
  note "warning: only $(human_size "$avail") free in $work; a run needs about $(human_size $((4 * total_bytes)))"
fi

failed=()
for ((run = 1; run <= runs; run++)); do
  for tool in "${tools[@]}"; do
    note "run $run/$runs: $tool"
    if ! run_tool "$tool" "$run"; then
      failed+=("$tool/run$run")
      [[ ${verdict[$tool]:-} == FAIL ]] || verdict[$tool]=ERROR
    fi
  done
done
rm -rf "$repo" "$restore_dir"

echo "Corpus: $(human_size "$total_bytes") ($total_bytes bytes, $total_files files), seed $seed, $runs run(s), $(nproc) CPUs"
for tool in "${tools[@]}"; do tool_version "$tool"; done | sort -u | sed 's/^/  /'
echo "Restore targets on $(df --output=fstype "$(dirname "$restore_dir")" | tail -n1) ($(dirname "$restore_dir"))"
print_table
if ((${#failed[@]} > 0)); then
  if ((keep)); then echo "failed: ${failed[*]} (logs in $logs)"; else echo "failed: ${failed[*]} (rerun with --keep to keep the logs)"; fi
  exit 1
fi
