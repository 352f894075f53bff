// ACL users through the real node, as applications use them: redis-py
// (Debian's python3-redis) logging in as a user limited to ~cache:* and
// +@read +set, in plain calls, a MULTI pipeline and a script; ACL LOG of what
// it was refused; an aclfile loaded at start and written by ACL SAVE; a
// malformed one that stops the node from starting; protected mode refusing a
// client that comes from outside loopback.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

const std::string prelude = R"PY(
import sys
import redis

port = int(sys.argv[1])

def node(**kw):
    return redis.Redis(host="127.0.0.1", port=port, **kw)

def refused(call, kind=redis.exceptions.NoPermissionError, text=""):
    try:
        call()
    except kind as e:
        assert text in str(e), str(e)
        return
    raise AssertionError("not refused: %r" % call)
)PY";

void run_script(server_process& server, const std::string& body) {
  auto result = run_python(server.port(), prelude + body);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err << "\n--- server ---\n"
                                 << server.log();
  EXPECT_NE(result.out.find("ok"), std::string::npos) << result.out << result.err;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// An IPv4 address of this machine that is not on loopback, or "".
std::string outside_address() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0)
    return {};
  std::string found;
  for (auto* a = all; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET)
      continue;
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    if (std::string{text}.rfind("127.", 0) != 0)
      found = text;
  }
  ::freeifaddrs(all);
  return found;
}

// What a client at `address` hears first from the node at `port` after PING.
std::string first_reply(const std::string& address, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &to.sin_addr);
  timeval patience{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const char ping[] = "PING\r\n";
  (void)::write(fd, ping, sizeof(ping) - 1);
  std::string got;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(n));
    if (got.find("\r\n") != std::string::npos)
      break;
  }
  ::close(fd);
  return got;
}

} // namespace

TEST(Acl, ALimitedUserThroughRedisPy) {
  server_process server{{}};
  run_script(server, R"PY(
admin = node()
assert admin.acl_setuser("app", enabled=True, passwords=["+s3cret"], keys=["cache:*"],
                         commands=["+@read", "+set", "+acl|whoami"])
app = node(username="app", password="s3cret")
assert app.acl_whoami() == "app"
assert app.set("cache:1", "v") and app.get("cache:1") == b"v"
refused(lambda: app.set("other", "v"), text="keys")
refused(lambda: app.delete("cache:1"), text="'del' command")
refused(lambda: app.flushall(), text="'flushall' command")
# In a transaction (MULTI and EXEC granted): refused when queued, and EXEC aborts.
admin.acl_setuser("app", commands=["+multi", "+exec"])
p = app.pipeline(transaction=True)
p.set("cache:2", "x")
p.delete("cache:1")
refused(lambda: p.execute(), kind=redis.exceptions.ResponseError)
assert admin.get("cache:2") is None
# In a script: the script's calls run as the caller.
admin.acl_setuser("app", commands=["+eval"])
assert app.eval("return redis.call('get', KEYS[1])", 1, "cache:1") == b"v"
refused(lambda: app.eval("return redis.call('del', KEYS[1])", 1, "cache:1"),
        kind=redis.exceptions.ResponseError, text="can't run this command")
refused(lambda: app.eval("return redis.call('get', 'elsewhere')", 0),
        kind=redis.exceptions.ResponseError, text="can't access at least one of the keys")
# A wrong password, then what ACL LOG has.
refused(lambda: node(username="app", password="wrong").ping(),
        kind=redis.exceptions.ResponseError, text="WRONGPASS")
log = admin.acl_log()
reasons = {(e["reason"], e["object"], e["context"]) for e in log}
assert ("auth", "AUTH", "toplevel") in reasons, log
assert ("key", "other", "toplevel") in reasons, log
assert ("command", "del", "multi") in reasons, log
assert ("command", "del", "lua") in reasons, log
info = admin.info("stats")
assert info["acl_access_denied_auth"] == 1 and info["acl_access_denied_cmd"] >= 3, info
assert any(c["user"] == "app" for c in admin.client_list())
# Deleting the user closes its connections (redis-py then reconnects, and
# its login fails).
before = {c["id"] for c in admin.client_list() if c["user"] == "app"}
assert before
assert admin.acl_deluser("app") == 1
assert not any(c["id"] in before for c in admin.client_list())
refused(lambda: app.get("cache:1"), kind=redis.exceptions.ResponseError, text="WRONGPASS")
print("ok")
)PY");
}

TEST(Acl, AnAclfileIsReadAtStartAndWrittenByAclSave) {
  auto dir = make_test_dir("acl");
  {
    std::ofstream out(dir + "/users.acl");
    out << "user default on nopass ~* &* +@all\n"
        << "user reader on >pw ~* -@all +@read\n";
  }
  {
    server_process server{{"--dir=" + dir, "--aclfile=users.acl"}};
    run_script(server, R"PY(
reader = node(username="reader", password="pw")
assert reader.get("x") is None
refused(lambda: reader.set("x", "1"))
admin = node()
admin.acl_setuser("writer", enabled=True, passwords=["+pw2"], keys=["*"], commands=["+@write"])
assert admin.execute_command("ACL", "SAVE") == b"OK"
print("ok")
)PY");
  }
  auto saved = read_all(dir + "/users.acl");
  EXPECT_NE(saved.find("user writer on #"), std::string::npos) << saved;
  server_process again{{"--dir=" + dir, "--aclfile=users.acl"}};
  run_script(again, R"PY(
w = node(username="writer", password="pw2")
assert w.set("x", "1")
print("ok")
)PY");
}

TEST(Acl, AMalformedAclfileStopsTheNodeWithTheLine) {
  auto dir = make_test_dir("acl-bad");
  {
    std::ofstream out(dir + "/users.acl");
    out << "user ok on nopass +@all ~*\n"
        << "user broken on +nosuchcommand\n";
  }
  auto result = run_process({server_binary_path(), "--port=0", "--dir=" + dir,
                             "--aclfile=users.acl"},
                            "", 30s);
  EXPECT_NE(result.exit_code, 0) << result.describe();
  auto text = result.out + result.err;
  EXPECT_NE(text.find("users.acl:2"), std::string::npos) << text;
  EXPECT_NE(text.find("+nosuchcommand"), std::string::npos) << text;
}

TEST(Acl, ProtectedModeRefusesClientsFromOutsideLoopback) {
  auto address = outside_address();
  if (address.empty())
    GTEST_SKIP() << "this machine has no address outside loopback to connect from";
  server_process server{{"--bind=0.0.0.0"}};
  // From loopback: served.
  EXPECT_EQ(first_reply("127.0.0.1", server.port()), "+PONG\r\n");
  // From the machine's other address: refused, and the node serves on.
  auto refused = first_reply(address, server.port());
  EXPECT_EQ(refused.rfind("-DENIED", 0), 0u) << refused;
  EXPECT_EQ(first_reply("127.0.0.1", server.port()), "+PONG\r\n");
  // With a password for the default user, protected mode lets it in.
  auto set = run_redis_cli(server.port(), {"CONFIG", "SET", "requirepass", "pw"});
  EXPECT_EQ(set.out, "OK\n") << set.describe();
  auto after = first_reply(address, server.port());
  EXPECT_EQ(after.rfind("-NOAUTH", 0), 0u) << after;
}
