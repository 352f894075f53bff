#!/usr/bin/env bash
# Runs the embedding example and checks what it printed.
set -euo pipefail
out=$("$1")
echo "$out"
grep -qx 'INCRBY visits 3 -> 3' <<<"$out"
grep -qx 'GET greeting -> hello' <<<"$out"
grep -qF 'MGET greeting visits absent -> *3\r\n$5\r\nhello\r\n$1\r\n3\r\n$-1\r\n' <<<"$out"
