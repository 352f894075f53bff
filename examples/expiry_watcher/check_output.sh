#!/usr/bin/env bash
# Runs the expiry watcher and checks that it heard every expiry.
set -euo pipefail
out=$("$1")
echo "$out"
grep -qE '^late by: p50 -?[0-9.]+ ms, p99 -?[0-9.]+ ms, max -?[0-9.]+ ms$' <<<"$out"
grep -qx 'heard 1000 of 1000' <<<"$out"
