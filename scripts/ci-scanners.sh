#!/usr/bin/env bash
# Runs the two content scanners Sesame's receiving path calls — rspamd (spam) and ClamAV's clamd
# (viruses) — on loopback, configured to work with no network at all, for the scanner tests and for
# a developer who wants to try ScanEnabled receipt rules locally.
#
#   scripts/ci-scanners.sh [start]   install (Debian) when missing, start when not answering, then
#                                    print the test variables as `export NAME=value` lines on stdout
#   scripts/ci-scanners.sh stop      stop the daemons this script started (by their pid files)
#
# Typical use:  eval "$(scripts/ci-scanners.sh)" && npx vitest run test/integration/scanners.test.ts
#
# Everything lives in $SESAME_SCANNERS_DIR (default /tmp/sesame-scanners); nothing under /etc is
# edited. Progress goes to stderr, so stdout holds only the export lines.
#
# Offline choices (see docs/operations.md, "Receiving"):
# - rspamd's resolver is a tiny loopback DNS server started here (node, no dependencies) that answers
#   every query NXDOMAIN at once. rspamd ignores ICMP "port unreachable" from a closed port and an
#   unreachable resolver costs timeout x retransmits per lookup (1 s x 5 by default), which turns a
#   3 ms scan into seconds and adds *_DNSFAIL symbols; NXDOMAIN reads as "no records" (R_SPF_NA,
#   DMARC_NA) and is the same on every machine.
# - Modules that only query internet services (RBLs/SURBLs, fuzzy hashes, ASN, e-mail blocklists,
#   map updates), hfilter (HELO/PTR heuristics that score any name that does not resolve, i.e.
#   every name offline) and dkim_signing (Sesame wants verdicts, not signatures) are disabled.
# - clamd cannot fetch signatures (no freshclam), so it loads a one-signature local database that
#   matches the EICAR test file. clamd refuses to start with an empty database directory.
set -euo pipefail

DIR=${SESAME_SCANNERS_DIR:-/tmp/sesame-scanners}
RSPAMD_HOST=127.0.0.1
RSPAMD_PORT=${SESAME_SCANNERS_RSPAMD_PORT:-11333}
CLAMD_PORT=${SESAME_SCANNERS_CLAMD_PORT:-3310}
DNS_PORT=${SESAME_SCANNERS_DNS_PORT:-11353}
# The EICAR test file (https://www.eicar.org), 68 bytes, no newline.
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

log() { printf '[ci-scanners] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

rspamd_up() {
  # rspamd answers "pong\r\n".
  curl -s --max-time 2 "http://$RSPAMD_HOST:$RSPAMD_PORT/ping" 2>/dev/null | grep -q '^pong'
}

clamd_up() {
  # zPING\0 → PONG\0 (clamd's null-terminated command form).
  local reply
  reply=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CLAMD_PORT && printf 'zPING\\0' >&3 && head -c 4 <&3" 2>/dev/null) || return 1
  [ "$reply" = PONG ]
}

# Waits up to $2 seconds for the check function $1 to succeed; gives up early when the daemon's
# process $3 has exited (a port in use, a bad database), so a failure is reported at once.
wait_for() {
  local check=$1 limit=$2 pid=$3 i
  for ((i = 0; i < limit * 4; i++)); do
    "$check" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

install_packages() {
  local missing=()
  command -v rspamd >/dev/null || missing+=(rspamd)
  command -v clamd >/dev/null || missing+=(clamav-daemon)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local start=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # Try with the package lists already on the machine first; refresh them only when that fails.
  # Wait for the dpkg lock rather than fail when another apt-get runs on the machine.
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  if ! as_root "${apt[@]}" install "${missing[@]}" >/dev/null 2>&1; then
    as_root apt-get -o DPkg::Lock::Timeout=300 -qq update >/dev/null
    as_root "${apt[@]}" install "${missing[@]}" >/dev/null
  fi
  log "installed in $((SECONDS - start)) s"
}

start_rspamd() {
  if rspamd_up; then log "rspamd already answers on $RSPAMD_HOST:$RSPAMD_PORT"; return 0; fi
  local R=$DIR/rspamd
  mkdir -p "$R/local/local.d" "$R/local/override.d" "$R/db" "$R/run" "$R/log"
  local L=$R/local/local.d O=$R/local/override.d
  # Workers: only the normal (scanner) worker on loopback; the controller on the next port (rspamc
  # stat/learn), the proxy off.
  printf 'bind_socket = "%s:%s";\ncount = 2;\n' "$RSPAMD_HOST" "$RSPAMD_PORT" > "$O/worker-normal.inc"
  printf 'bind_socket = "%s:%s";\n' "$RSPAMD_HOST" "$((RSPAMD_PORT + 1))" > "$O/worker-controller.inc"
  printf 'enabled = false;\n' > "$O/worker-proxy.inc"
  printf 'enabled = false;\n' > "$O/worker-fuzzy.inc"
  # DNS: the NXDOMAIN responder (see the header and start_dns).
  cat > "$L/options.inc" <<EOF
dns {
  nameserver = ["127.0.0.1:$DNS_PORT"];
  timeout = 0.5s;
  retransmits = 1;
}
EOF
  # Modules that only ask internet services, hfilter and dkim_signing (see the header).
  local m
  for m in rbl fuzzy_check asn emails rspamd_update url_redirector dcc hfilter dkim_signing; do
    printf 'enabled = false;\n' > "$L/$m.conf"
  done
  printf 'type = "console";\nlevel = "warning";\n' > "$O/logging.inc"
  if [ "$(id -u)" = 0 ]; then chown -R _rspamd:_rspamd "$R/db" "$R/run" "$R/log"; fi

  local args=(-c /etc/rspamd/rspamd.conf "--var=LOCAL_CONFDIR=$R/local" "--var=DBDIR=$R/db"
    "--var=RUNDIR=$R/run" "--var=LOGDIR=$R/log")
  [ "$(id -u)" = 0 ] && args+=(-u _rspamd -g _rspamd)
  rspamadm "--var=LOCAL_CONFDIR=$R/local" "--var=DBDIR=$R/db" configtest -c /etc/rspamd/rspamd.conf >/dev/null 2>"$R/configtest.log" ||
    die "rspamd configuration does not pass configtest: $(cat "$R/configtest.log")"
  log "starting rspamd on $RSPAMD_HOST:$RSPAMD_PORT"
  # -f keeps it in the foreground of a background job so its pid is ours and its log is a file.
  rspamd "${args[@]}" -f >"$R/log/rspamd.out" 2>&1 &
  echo $! > "$R/run/sesame.pid"
  disown
  local start=$SECONDS
  # The first start on a machine builds the URL/TLD matcher and hyperscan caches in $R/db: 20-60 s
  # on 2 busy cores. Later starts reuse the cache and answer in about 3 s.
  wait_for rspamd_up 240 "$(cat "$R/run/sesame.pid")" || die "rspamd did not answer /ping (it exited, or not within 240 s); log: $(tail -n 30 "$R/log/rspamd.out")"
  log "rspamd ready in $((SECONDS - start)) s"
}

dns_up() {
  grep -q '^listening' "$DIR/dns/out.log" 2>/dev/null && kill -0 "$(cat "$DIR/dns/sesame.pid" 2>/dev/null)" 2>/dev/null
}

# A DNS server on 127.0.0.1:$DNS_PORT/udp that answers every query NXDOMAIN (RFC 1035 4.1.1: the
# query's id, opcode, RD bit and question echoed; QR, AA, RA set; RCODE 3).
start_dns() {
  mkdir -p "$DIR/dns"
  if dns_up; then log "NXDOMAIN DNS already runs on 127.0.0.1:$DNS_PORT"; return 0; fi
  cat > "$DIR/dns/nxdomain-dns.mjs" <<'EOF'
import dgram from 'node:dgram';
const port = Number(process.argv[2]);
const sock = dgram.createSocket('udp4');
sock.on('message', (q, peer) => {
  if (q.length < 12) return;
  let end = 12; // end of the first question: QNAME labels, then QTYPE and QCLASS
  while (end < q.length && q[end] !== 0) end += q[end] + 1;
  end += 5;
  if (end > q.length) return;
  const r = Buffer.from(q.subarray(0, end));
  r[2] = 0x80 | (q[2] & 0x79) | 0x04; // QR, opcode, AA, RD
  r[3] = 0x80 | 3; // RA, NXDOMAIN
  r.writeUInt16BE(1, 4);
  r.writeUInt32BE(0, 6);
  r.writeUInt16BE(0, 10);
  sock.send(r, peer.port, peer.address);
});
sock.bind(port, '127.0.0.1', () => console.log(`listening 127.0.0.1:${port}`));
EOF
  rm -f "$DIR/dns/out.log"
  node "$DIR/dns/nxdomain-dns.mjs" "$DNS_PORT" >"$DIR/dns/out.log" 2>&1 &
  echo $! > "$DIR/dns/sesame.pid"
  disown
  wait_for dns_up 10 "$(cat "$DIR/dns/sesame.pid")" || die "the NXDOMAIN DNS server did not start: $(cat "$DIR/dns/out.log")"
  log "NXDOMAIN DNS on 127.0.0.1:$DNS_PORT"
}

start_clamd() {
  if clamd_up; then log "clamd already answers on 127.0.0.1:$CLAMD_PORT"; return 0; fi
  local C=$DIR/clamav
  mkdir -p "$C/db"
  # One body signature (.ndb: Name:TargetType:Offset:HexSignature; type 0 = any file, * = any
  # offset) matching the EICAR string wherever clamd finds it after decoding, e.g. in a base64
  # MIME attachment. clamd reports it as "Sesame.Test.EICAR.UNOFFICIAL" (not an official database).
  printf 'Sesame.Test.EICAR:0:*:%s\n' "$(printf '%s' "$EICAR" | od -An -v -tx1 | tr -d ' \n')" > "$C/db/sesame-test.ndb"
  cat > "$C/clamd.conf" <<EOF
DatabaseDirectory $C/db
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
Foreground yes
LogFile $C/clamd.log
LogTime yes
PidFile $C/clamd.pid
MaxThreads 4
# Sesame accepts messages of up to 40 MB; Debian's default of 25M would fail larger ones.
StreamMaxLength 41M
MaxFileSize 41M
ScanMail yes
SelfCheck 0
EOF
  if [ "$(id -u)" = 0 ]; then
    echo "User clamav" >> "$C/clamd.conf"
    chown -R clamav:clamav "$C"
  fi
  log "starting clamd on 127.0.0.1:$CLAMD_PORT"
  clamd -c "$C/clamd.conf" >"$C/clamd.out" 2>&1 &
  echo $! > "$C/sesame.pid"
  disown
  local start=$SECONDS
  wait_for clamd_up 60 "$(cat "$C/sesame.pid")" || die "clamd did not answer zPING within 60 s; log: $(tail -n 30 "$C/clamd.out" "$C/clamd.log" 2>/dev/null)"
  log "clamd ready in $((SECONDS - start)) s"
}

# Stops the process in pidfile $3 if it still is the program $2 (pids are reused after a reboot).
stop_one() {
  local name=$1 program=$2 pidfile=$3 pid
  [ -f "$pidfile" ] || { log "$name: not started by this script"; return 0; }
  pid=$(cat "$pidfile")
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$program" && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    log "$name (pid $pid) stopped"
  else
    log "$name (pid $pid) was not running"
  fi
  rm -f "$pidfile"
}

case "${1:-start}" in
  start)
    install_packages
    mkdir -p "$DIR"
    start_dns
    start_rspamd
    start_clamd
    echo "export SESAME_TEST_RSPAMD_URL=http://$RSPAMD_HOST:$RSPAMD_PORT"
    echo "export SESAME_TEST_CLAMD_URL=tcp://127.0.0.1:$CLAMD_PORT"
    ;;
  stop)
    stop_one rspamd rspamd "$DIR/rspamd/run/sesame.pid"
    stop_one clamd clamd "$DIR/clamav/sesame.pid"
    stop_one "NXDOMAIN DNS" nxdomain-dns "$DIR/dns/sesame.pid"
    ;;
  *) die "usage: $0 [start|stop]" ;;
esac
