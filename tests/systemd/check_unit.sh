#!/usr/bin/env bash
# Issue 14: the systemd unit for `xraykit serve` is valid, sandboxed, and its command line
# starts a server that answers. (No systemd runs as PID 1 here, so the unit is checked offline
# and its ExecStart is run by hand with the credential folder and options filled in.)
# usage: tests/systemd/check_unit.sh XRAYKIT_BINARY
set -euo pipefail
bin=$(realpath "$1")
unit=$(dirname "$0")/../../scripts/systemd/xraykit.service
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$work"' EXIT
sed "s|/usr/bin/xraykit|$bin|" "$unit" > "$work/xraykit.service"
systemd-analyze verify "$work/xraykit.service"
exposure=$(systemd-analyze security --offline=true "$work/xraykit.service" | sed -n 's/.*exposure level for xraykit.service: \([0-9.]*\).*/\1/p')
echo "systemd exposure level: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.5) }' || { echo "exposure '$exposure' above 2.5"; exit 1; }

# The unit's own ExecStart, with %d (the credentials folder) and the default options filled in.
mkdir -m 700 "$work/credentials"
printf 'a long enough test password\n' > "$work/credentials/password"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
exec_start=$(sed -n 's/^ExecStart=//p' "$work/xraykit.service")
args=$(sed -n 's/^Environment="XRAYKIT_SERVE_ARGS=\(.*\)"$/\1/p' "$work/xraykit.service")
[ -n "$args" ] || { echo "no default XRAYKIT_SERVE_ARGS in the unit"; exit 1; }
args=${args/--port 8080/--port $port}
cmd=${exec_start//%d/$work/credentials}
cmd=${cmd//\$XRAYKIT_SERVE_ARGS/$args}
echo "running: $cmd"
env -u XRAYKIT_PASSWORD $cmd > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" || { cat "$work/serve.log"; exit 1; }
echo
# The password from the credential file is the one that logs in.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer a long enough test password' \
  "http://127.0.0.1:$port/api/model")
[ "$code" = 200 ] || { echo "login with the credential's password gave $code"; cat "$work/serve.log"; exit 1; }
echo "systemd unit OK"
