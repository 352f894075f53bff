#!/usr/bin/env bash
# Starts a node that publishes its store on a free CAF port, runs the remote
# watcher against it and checks that it heard every expiry.
# Arguments: the server binary, the remote_watcher binary.
set -euo pipefail
server=$1
watcher=$2
log=${TEST_TMPDIR:-/tmp}/remote_watcher_node.log

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

node=
stop_node() {
  if [[ -n $node ]]; then
    kill "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
  fi
}
trap stop_node EXIT

# Another process may take the probed port before the node binds it: retry.
for attempt in 1 2 3 4 5; do
  caf_port=$(free_port)
  "$server" --port=0 --bind=127.0.0.1 --caf-port="$caf_port" >"$log" 2>&1 &
  node=$!
  published=
  for _ in $(seq 100); do # up to 10 s
    if grep -q 'Store actor published' "$log"; then published=yes; break; fi
    kill -0 "$node" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $published ]] && break
  stop_node
  node=
done
if [[ -z $published ]]; then
  echo "the node never published its store:" >&2
  cat "$log" >&2
  exit 1
fi

out=$("$watcher" 127.0.0.1 "$caf_port")
echo "$out"
grep -qE '^late by: p50 -?[0-9.]+ ms, p99 -?[0-9.]+ ms, max -?[0-9.]+ ms$' <<<"$out"
grep -qx 'heard 1000 of 1000' <<<"$out"
