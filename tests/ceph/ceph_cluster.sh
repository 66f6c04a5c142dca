#!/usr/bin/env bash
# A throw-away single-node Ceph cluster for the tests: one monitor and one OSD
# on memstore (data in RAM), optionally radosgw, all on 127.0.0.1 and all state
# under one temporary directory. No mgr: object I/O does not need one.
#
#   eval "$(tests/ceph/ceph_cluster.sh start [--rgw] [--pools a,b,c])"
#   ... clients use $CEPH_CONF, $KS_CEPH_POOLS, $KS_RGW_ENDPOINT ...
#   tests/ceph/ceph_cluster.sh stop [DIR]      # DIR defaults to $KS_CEPH_DIR
#   tests/ceph/ceph_cluster.sh env  [DIR]      # prints the exports again
#
# `start` prints shell `export` lines on stdout (everything else goes to
# stderr) and writes the same lines to DIR/env. Only the processes started
# here are ever stopped, by the pids in their pid files, in stages (radosgw,
# OSD, monitor): a monitor stopped first leaves the OSD waiting for it.
#
# Environment: KS_CEPH_TIMEOUT (seconds until start gives up, default 60),
# KS_CEPH_MEMSTORE_MIB (memstore capacity, default 4096; memstore does not
# reserve it up front but holds data at about twice its size), TMPDIR.
set -euo pipefail

RGW_ACCESS_KEY="KINTSUGITESTACCESS01"
RGW_SECRET_KEY="kintsugi-test-secret-key-0123456789abcdef"
RGW_NAME="ks"

log() { echo "ceph_cluster: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: ceph_cluster.sh start [--rgw] [--pools NAME[,NAME...]] [--dir DIR]
       ceph_cluster.sh stop [DIR]
       ceph_cluster.sh env [DIR]
EOF
  exit 2
}

# A TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Sends SIGTERM to the process in PIDFILE, waits up to 15 s, then SIGKILL.
stop_pidfile() {
  local pidfile=$1 what=$2 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  log "$what (pid $pid) did not stop within 15 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$pidfile"
}

cmd_stop() {
  local dir=${1:-${KS_CEPH_DIR:-}}
  [ -n "$dir" ] || die "stop: no cluster directory given and KS_CEPH_DIR is not set"
  [ -f "$dir/ceph.conf" ] || die "stop: $dir holds no cluster (no ceph.conf)"
  stop_pidfile "$dir/run/client.rgw.$RGW_NAME.pid" radosgw
  stop_pidfile "$dir/run/osd.0.pid" ceph-osd
  stop_pidfile "$dir/run/mon.a.pid" ceph-mon
  # The directory only ever holds this cluster's files.
  rm -rf "$dir"
  log "stopped and removed $dir"
}

cmd_env() {
  local dir=${1:-${KS_CEPH_DIR:-}}
  [ -n "$dir" ] && [ -f "$dir/env" ] || die "env: no running cluster (give its directory or set KS_CEPH_DIR)"
  cat "$dir/env"
}

# Waits for a pid file to appear and its process to be alive.
wait_pidfile() {
  local pidfile=$1 what=$2 deadline=$3
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  die "$what did not start (no live pid in $pidfile)"
}

remaining() { local r=$(( DEADLINE - $(date +%s) )); [ "$r" -gt 0 ] || r=1; echo "$r"; }

# The ceph CLI bounded in time, against this cluster only.
cephc() { timeout "$(remaining)" ceph -c "$CONF" --connect-timeout 10 "$@"; }

cmd_start() {
  local rgw=0 pools="kintsugi" dir=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --rgw) rgw=1 ;;
      --pools) [ $# -ge 2 ] || usage; pools=$2; shift ;;
      --dir) [ $# -ge 2 ] || usage; dir=$2; shift ;;
      *) usage ;;
    esac
    shift
  done
  for b in ceph-mon ceph-osd ceph monmaptool ceph-authtool rados python3 timeout; do
    command -v "$b" >/dev/null || die "$b not found: install ceph-mon ceph-osd ceph-common (bash scripts/install-deps.sh)"
  done
  if [ "$rgw" = 1 ]; then
    command -v radosgw >/dev/null && command -v radosgw-admin >/dev/null \
      || die "radosgw not found: install radosgw"
  fi

  local timeout_s=${KS_CEPH_TIMEOUT:-60}
  local mem_mib=${KS_CEPH_MEMSTORE_MIB:-4096}
  local t0; t0=$(date +%s.%N)
  DEADLINE=$(( $(date +%s) + timeout_s ))
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/ks-ceph.XXXXXX"); else mkdir -p "$dir"; fi
  DIR=$(cd "$dir" && pwd)
  CONF="$DIR/ceph.conf"
  # Whatever goes wrong from here, leave nothing running.
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; the last lines of its logs follow, then the cluster is stopped and its directory removed"; tail -n 5 "$DIR"/log/*.log >&2 2>/dev/null || true; cmd_stop "$DIR" || true; fi' EXIT

  mkdir -p "$DIR"/{run,log,crash,mon,osd,rgw}
  local fsid port_v2 port_v1 port_rgw
  fsid=$(cat /proc/sys/kernel/random/uuid)
  port_v2=$(free_port); port_v1=$(free_port)
  while [ "$port_v1" = "$port_v2" ]; do port_v1=$(free_port); done
  port_rgw=$(free_port)

  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:$port_v2,v1:127.0.0.1:$port_v1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
keyring = $DIR/keyring
mon data = $DIR/mon/\$name
osd data = $DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = $(( mem_mib * 1024 * 1024 ))
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.05
mon mgr mkfs grace = 86400
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim allowed = false
# A full memstore blocks writes instead of failing them: clients time out.
rados osd op timeout = 30
rados mon op timeout = 30
client mount timeout = 30
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw.$RGW_NAME]
rgw frontends = beast endpoint=127.0.0.1:$port_rgw tcp_nodelay=1
rgw data = $DIR/rgw
# Its default (secure) mode hangs when authentication is off.
ms mon client mode = crc
rgw enable usage log = false
EOF

  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port_v2,v1:127.0.0.1:$port_v1]" \
    "$DIR/monmap" >/dev/null 2>&1 || die "monmaptool --create failed"
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    >"$DIR/log/mon-mkfs.out" 2>&1 || die "ceph-mon --mkfs failed: $(tail -n 3 "$DIR/log/mon-mkfs.out")"
  ceph-mon -c "$CONF" -i a >"$DIR/log/mon.out" 2>&1 || die "ceph-mon did not start: $(tail -n 3 "$DIR/log/mon.out")"
  wait_pidfile "$DIR/run/mon.a.pid" ceph-mon "$DEADLINE"

  local uuid osd_id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(cephc osd new "$uuid" 2>"$DIR/log/osd-new.err") \
    || die "'ceph osd new' failed (monitor not answering?): $(tail -n 3 "$DIR/log/osd-new.err")"
  [ "$osd_id" = 0 ] || die "unexpected OSD id '$osd_id' (expected 0)"
  mkdir -p "$DIR/osd/osd.0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >"$DIR/log/osd-mkfs.out" 2>&1 \
    || die "ceph-osd --mkfs failed: $(tail -n 3 "$DIR/log/osd-mkfs.out")"
  ceph-osd -c "$CONF" -i 0 >"$DIR/log/osd.out" 2>&1 || die "ceph-osd did not start: $(tail -n 3 "$DIR/log/osd.out")"
  wait_pidfile "$DIR/run/osd.0.pid" ceph-osd "$DEADLINE"

  while :; do
    [ "$(date +%s)" -lt "$DEADLINE" ] || die "the OSD was not up and in within ${timeout_s} s"
    if cephc osd stat 2>/dev/null | grep -q '1 osds: 1 up.*1 in'; then break; fi
    sleep 0.1
  done

  local p
  IFS=',' read -r -a pool_list <<<"$pools"
  for p in "${pool_list[@]}"; do
    cephc osd pool create "$p" 8 8 >/dev/null 2>&1 || die "could not create pool $p"
    cephc osd pool application enable "$p" rados >/dev/null 2>&1 || true
  done

  # Ready means a client can write: the first probe write that succeeds.
  echo probe >"$DIR/probe"
  while :; do
    [ "$(date +%s)" -lt "$DEADLINE" ] || die "no probe write succeeded within ${timeout_s} s"
    if timeout 10 rados -c "$CONF" -p "${pool_list[0]}" put ks-probe "$DIR/probe" 2>/dev/null; then
      timeout 10 rados -c "$CONF" -p "${pool_list[0]}" rm ks-probe 2>/dev/null || true
      break
    fi
    sleep 0.1
  done

  {
    echo "export KS_CEPH_DIR='$DIR'"
    echo "export CEPH_CONF='$CONF'"
    echo "export KS_CEPH_POOLS='$pools'"
  } >"$DIR/env"

  if [ "$rgw" = 1 ]; then
    radosgw -c "$CONF" -n "client.rgw.$RGW_NAME" >"$DIR/log/rgw.out" 2>&1 \
      || die "radosgw did not start: $(tail -n 3 "$DIR/log/rgw.out")"
    wait_pidfile "$DIR/run/client.rgw.$RGW_NAME.pid" radosgw "$DEADLINE"
    while :; do
      [ "$(date +%s)" -lt "$DEADLINE" ] || die "radosgw did not answer HTTP 200 on 127.0.0.1:$port_rgw within ${timeout_s} s"
      if python3 - "$port_rgw" 2>/dev/null <<'EOF'
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
      then break; fi
      sleep 0.2
    done
    timeout "$(remaining)" radosgw-admin -c "$CONF" user create --uid=kintsugi-test \
      --display-name="Kintsugi test" --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" \
      >"$DIR/log/rgw-user.out" 2>&1 || die "radosgw-admin user create failed: $(tail -n 3 "$DIR/log/rgw-user.out")"
    {
      echo "export KS_RGW_ENDPOINT='http://127.0.0.1:$port_rgw'"
      echo "export KS_RGW_ACCESS_KEY='$RGW_ACCESS_KEY'"
      echo "export KS_RGW_SECRET_KEY='$RGW_SECRET_KEY'"
    } >>"$DIR/env"
  fi

  trap - EXIT
  log "ready in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)") s: $DIR (pools: $pools$([ "$rgw" = 1 ] && echo ", radosgw on 127.0.0.1:$port_rgw"))"
  cat "$DIR/env"
}

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  env) cmd_env "$@" ;;
  *) usage ;;
esac
