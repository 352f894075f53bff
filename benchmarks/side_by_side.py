"""redis-benchmark runs beside Redis: stairkv builds and redis-server, each
started fresh on a free loopback port for every round, in an order that
alternates between rounds, each workload unpipelined and at -P 16 with 50
clients. Prints every round, the medians, and the median of the per-round
ratios against Redis (and new/old when an old build is given). Used by
benchmarks/scripts, hashes, sets, strings and queues.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

PIPELINES = (1, 16)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(name, binary, port):
    if name == "redis":
        argv = [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
    else:
        argv = [binary, "--port=%d" % port, "--save="]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not ping(port):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("%s did not start" % name)
        time.sleep(0.05)
    return proc


def cli(port, *words):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(words),
                          capture_output=True, text=True, check=True).stdout.strip()


def benchmark(name, port, requests, pipeline, command):
    """redis-benchmark's requests per second for `command` (its words, with
    __rand_int__ placeholders)."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50",
         "-r", "100000", "-P", str(pipeline), "--csv"] + list(command),
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if len(fields) > 1 and fields[0].upper().startswith(command[0].upper()):
            return float(fields[1])
    sys.exit("no figure from redis-benchmark for %s: %s" % (name, out))


def main(description, workloads, prepare=None):
    """`workloads`: (label, command words) pairs; `prepare(port)` runs once on
    each fresh server and returns a dict of words to substitute in them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--new", required=True, help="the stairkv-server build to measure")
    parser.add_argument("--old", help="an older build to measure beside it")
    parser.add_argument("--redis", default="/usr/bin/redis-server")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=100000)
    parser.add_argument("--redis-requests", type=int, default=300000)
    args = parser.parse_args()
    servers = [("redis", args.redis)]
    if args.old:
        servers.append(("old", args.old))
    servers.append(("new", args.new))
    for _, path in servers:
        if not os.access(path, os.X_OK):
            sys.exit("not an executable: " + path)
    columns = [(label, p) for label, _ in workloads for p in PIPELINES]
    results = {name: [] for name, _ in servers}
    for r in range(args.rounds):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for name, path in order:
            n = args.redis_requests if name == "redis" else args.requests
            port = free_port()
            proc = start(name, path, port)
            try:
                words = prepare(port) if prepare else {}
                got = [benchmark(name, port, n, p, [words.get(w, w) for w in command])
                       for _, command in workloads for p in PIPELINES]
            finally:
                proc.terminate()
                proc.wait()
            results[name].append(got)
            print("round %d %-5s " % (r + 1, name)
                  + "  ".join("%s P%d %9.0f" % (label, p, v)
                              for (label, p), v in zip(columns, got)), flush=True)
    print("\nmedians over %d rounds, 50 clients, requests per second:" % args.rounds)
    for name, _ in servers:
        rows = results[name]
        print("  %-5s " % name
              + "  ".join("%s P%d %9.0f" % (label, p, statistics.median(x[i] for x in rows))
                          for i, (label, p) in enumerate(columns)))

    def ratio(a, b, i):
        return statistics.median(x[i] / y[i] for x, y in zip(results[a], results[b]))

    pairs = [(name, "redis") for name, _ in servers[1:]] + ([("new", "old")] if args.old else [])
    for a, b in pairs:
        print("  %s/%s (median of per-round ratios): " % (a, b)
              + "  ".join("%s P%d %.3fx" % (label, p, ratio(a, b, i))
                          for i, (label, p) in enumerate(columns)))
