// Client-side caching through the real node, as clients use it: redis-py
// (Debian's python3-redis, RESP2) with CLIENT TRACKING ... REDIRECT to a
// connection subscribed to __redis__:invalidate, and a raw RESP3 connection
// that gets its invalidations as push messages; invalidations for writes,
// deletions, expiry, eviction, FLUSHALL and across a resize; NOLOOP, BCAST
// with prefixes, OPTIN/OPTOUT with CLIENT CACHING, tracking-table-max-keys.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;

namespace {

// What every script shares: a redirected redis-py client and the messages its
// redirect target hears, and a minimal RESP3 connection of its own.
const std::string prelude = R"PY(
import socket, sys, time
import redis

port = int(sys.argv[1])

def node():
    # By address: a minimal machine may not resolve "localhost".
    return redis.Redis(host="127.0.0.1", port=port)

def redirected(*options):
    """A tracking client and the pubsub that hears its invalidations."""
    listener = node()
    target = listener.client_id()
    pubsub = listener.pubsub()
    pubsub.subscribe("__redis__:invalidate")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    client = node()
    client.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", target, *options)
    return client, pubsub

def invalidated(pubsub, wanted, timeout=5.0):
    """The keys invalidated until `wanted` have all been heard (or the time is up)."""
    heard = set()
    deadline = time.time() + timeout
    while not set(wanted) <= heard and time.time() < deadline:
        m = pubsub.get_message(timeout=0.2)
        if m and m["type"] == "message":
            data = m["data"]
            heard |= {k.decode() for k in data} if isinstance(data, list) else {None}
    return heard

def quiet(pubsub, wait=0.3):
    """The keys invalidated within `wait` seconds (expected: none)."""
    return invalidated(pubsub, ["\0never"], timeout=wait)

class Resp3:
    """A raw RESP3 connection: commands, replies and push messages in order."""
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
        self.call("HELLO", "3")
    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b"-"): return rest.decode()
        if kind == b":": return int(rest)
        if kind == b"_": return None
        if kind == b"$":
            data = self.f.read(int(rest) + 2)[:-2]; return data.decode()
        if kind in (b"*", b">", b"~"):
            items = [self.read() for _ in range(int(rest))]
            return ("push", items) if kind == b">" else items
        if kind == b"%":
            return {self.read(): self.read() for _ in range(int(rest))}
        raise AssertionError("unexpected reply %r" % line)
    def call(self, *args):
        self.send(*args)
        return self.read()
)PY";

void run_script(server_process& server, const std::string& body) {
  auto result = run_python(server.port(), prelude + body);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err << "\n--- server ---\n" << server.log();
  EXPECT_NE(result.out.find("ok"), std::string::npos) << result.out << result.err;
}

} // namespace

TEST(Tracking, RedisPyRedirectHearsWritesDeletionsExpiryAndFlush) {
  server_process server{{}};
  run_script(server, R"PY(
client, pubsub = redirected()
other = node()
other.mset({"a": 1, "b": 2, "c": 3})
other.set("soon", "x", px=1500)
client.mget("a", "b", "missing", "soon")
client.hgetall("h")
assert quiet(pubsub) == set()
other.set("a", 10)            # a write
other.delete("b")             # a deletion
other.set("missing", 1)       # a key read while missing
other.hset("h", "f", "v")     # another type
other.incr("c")               # never read: nobody hears of it
assert invalidated(pubsub, ["a", "b", "missing", "h"]) == {"a", "b", "missing", "h"}
# On time, without anyone touching it.
started = time.time()
assert invalidated(pubsub, ["soon"]) == {"soon"}
assert time.time() - started < 2.5
# Heard once: the key is forgotten until read again.
other.set("a", 11)
assert quiet(pubsub) == set()
client.get("a")
other.execute_command("FLUSHALL")
assert invalidated(pubsub, [None]) == {None}
info = client.info("stats")
assert info["tracking_total_keys"] == 0, info
print("ok")
)PY");
}

TEST(Tracking, Resp3PushesOnTheSameConnectionNoloopOptinOptout) {
  server_process server{{}};
  run_script(server, R"PY(
other = node()
other.set("k", "1")
c = Resp3()
assert c.call("CLIENT", "TRACKING", "on", "NOLOOP") == "OK"
assert c.call("GET", "k") == "1"
assert c.call("GET", "mine") is None
other.set("k", "2")
assert c.read() == ("push", ["invalidate", ["k"]])
# Its own write: nothing (NOLOOP), and the key is forgotten all the same.
assert c.call("SET", "mine", "x") == "OK"
other.set("mine", "y")
assert c.call("PING") == "PONG"          # no push came before the reply
# A transaction's invalidation comes after EXEC's reply.
d = Resp3()
assert d.call("CLIENT", "TRACKING", "on") == "OK"
d.call("GET", "t")
d.send("MULTI"); d.send("SET", "t", "1"); d.send("GET", "t"); d.send("EXEC")
assert [d.read(), d.read(), d.read()] == ["OK", "QUEUED", "QUEUED"]
assert d.read() == ["OK", "1"]
assert d.read() == ("push", ["invalidate", ["t"]])
# OPTIN: only after CLIENT CACHING yes, for the next command.
e = Resp3()
assert e.call("CLIENT", "TRACKING", "on", "OPTIN") == "OK"
e.call("GET", "x1")
assert e.call("CLIENT", "CACHING", "yes") == "OK"
e.call("GET", "x2")
e.call("GET", "x3")
other.mset({"x1": 1, "x2": 2, "x3": 3})
assert e.read() == ("push", ["invalidate", ["x2"]])
assert e.call("PING") == "PONG"
# OPTOUT: all but after CLIENT CACHING no.
f = Resp3()
assert f.call("CLIENT", "TRACKING", "on", "OPTOUT") == "OK"
assert f.call("CLIENT", "CACHING", "no") == "OK"
f.call("GET", "y1")
f.call("GET", "y2")
other.mset({"y1": 1, "y2": 2})
assert f.read() == ("push", ["invalidate", ["y2"]])
assert f.call("PING") == "PONG"
info = f.call("CLIENT", "TRACKINGINFO")
assert info["flags"] == ["on", "optout"], info
# A FLUSHDB: a null invalidation.
other.execute_command("FLUSHDB")
assert f.call("PING") in ("PONG", ("push", ["invalidate", None]))
print("ok")
)PY");
}

TEST(Tracking, BroadcastWithPrefixes) {
  server_process server{{}};
  run_script(server, R"PY(
client, pubsub = redirected("BCAST", "PREFIX", "user:", "PREFIX", "cart:", "NOLOOP")
other = node()
other.mset({"user:1": 1, "cart:9": 2, "order:3": 3})
client.set("user:2", "mine")            # its own change: NOLOOP
assert invalidated(pubsub, ["user:1", "cart:9"]) == {"user:1", "cart:9"}
assert quiet(pubsub) == set()
try:
    client.execute_command("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "us")
    assert False, "overlapping prefixes accepted"
except redis.ResponseError as e:
    assert "overlaps with an existing prefix 'user:'" in str(e), e
info = client.info()
assert info["tracking_total_prefixes"] == 2 and info["tracking_clients"] == 1, info
me = [c for c in client.client_list() if int(c["id"]) == client.client_id()][0]
assert "t" in me["flags"] and "B" in me["flags"], me
redirect = client.execute_command("CLIENT", "GETREDIR")
assert redirect > 0 and int(me["redir"]) == redirect, (me, redirect)
print("ok")
)PY");
}

TEST(Tracking, EvictionAndTheTableBoundInvalidate) {
  server_process server{{"--maxmemory=4mb", "--maxmemory-policy=allkeys-random"}};
  run_script(server, R"PY(
client, pubsub = redirected()
other = node()
keys = ["tracked:%d" % i for i in range(200)]
other.mset({k: "v" for k in keys})
client.mget(keys)
# Fill memory until the node has evicted some of the tracked keys.
filler = "x" * 1000
n = 0
while True:
    p = other.pipeline(transaction=False)
    for i in range(500):
        p.set("fill:%d" % (n + i), filler)
    p.execute()
    n += 500
    gone = [k for k in keys if not other.exists(k)]
    if gone or n > 200000:
        break
assert gone, "nothing tracked was evicted"
heard = invalidated(pubsub, gone)
assert set(gone) <= heard, (len(gone), len(heard))
print("ok")
)PY");
  server_process bounded{{}};
  run_script(bounded, R"PY(
client, pubsub = redirected()
other = node()
for i in range(250):
    other.set("key%d" % i, i)
    client.get("key%d" % i)
assert client.info("stats")["tracking_total_keys"] == 250
client.config_set("tracking-table-max-keys", 10)
# As Redis: one invalidation message per key forgotten (Redis's own suite counts them).
heard = []
deadline = time.time() + 5
while len(heard) < 240 and time.time() < deadline:
    m = pubsub.get_message(timeout=0.2)
    if m and m["type"] == "message":
        assert isinstance(m["data"], list) and len(m["data"]) == 1, m
        heard.append(m["data"][0].decode())
assert len(heard) == 240 and len(set(heard)) == 240, len(heard)
assert client.info("stats")["tracking_total_keys"] == 10
assert client.config_get("tracking-table-max-keys") == {"tracking-table-max-keys": "10"}
print("ok")
)PY");
}

TEST(Tracking, KeysStayTrackedAcrossAResize) {
  server_process server{{"--grow-keys-per-shard=2000"}};
  run_script(server, R"PY(
client, pubsub = redirected()
other = node()
keys = ["t:%d" % i for i in range(100)]
other.mset({k: 1 for k in keys})
client.mget(keys)
generation = int(other.info()["engine_generation"])
# Enough keys to make the engine grow, then wait for the resize to finish.
p = other.pipeline(transaction=False)
for i in range(20000):
    p.set("grow:%d" % i, i)
p.execute()
deadline = time.time() + 20
while time.time() < deadline:
    info = other.info()
    if int(info["engine_generation"]) > generation and int(info["engine_next_stairs"]) == 0:
        break
    time.sleep(0.05)
assert int(other.info()["engine_generation"]) > generation, "the engine did not grow"
other.mset({k: 2 for k in keys})
heard = invalidated(pubsub, keys)
assert set(keys) <= heard, sorted(set(keys) - heard)[:5]
print("ok")
)PY");
}
