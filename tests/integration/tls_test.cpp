// TLS through the real node: a CA, a server and a client certificate made
// with openssl for the test; redis-cli --tls and redis-py over mutual TLS on
// the TLS port beside the plain one; a client without a certificate refused
// (tls-auth-clients yes) or served (no); a client that speaks plain RESP to
// the TLS port closed alone while the node serves on.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

// Starts a node with a TLS port (retrying if the probed port was taken).
std::unique_ptr<server_process> start_tls_node(const std::string& dir, std::uint16_t& tls_port,
                                               const std::string& auth_clients = "yes") {
  for (int attempt = 0; attempt < 5; ++attempt) {
    tls_port = free_port();
    try {
      auto node = std::make_unique<server_process>(std::vector<std::string>{
        "--tls-port=" + std::to_string(tls_port), "--tls-cert-file=" + dir + "/server.crt",
        "--tls-key-file=" + dir + "/server.key", "--tls-ca-cert-file=" + dir + "/ca.crt",
        "--tls-auth-clients=" + auth_clients});
      if (node->wait_for_log("Ready to accept TLS connections", 10s))
        return node;
    } catch (const std::exception&) {
    }
  }
  return nullptr;
}

std::vector<std::string> tls_args(const std::string& dir, std::uint16_t port, bool cert,
                                  std::vector<std::string> command) {
  std::vector<std::string> args{"-p", std::to_string(port), "--tls", "--cacert",
                                dir + "/ca.crt"};
  if (cert) {
    args.insert(args.end(), {"--cert", dir + "/client.crt", "--key", dir + "/client.key"});
  }
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

process_result cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{redis_cli_path(), "-h", "127.0.0.1"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", 30s);
}

} // namespace

TEST(Tls, MutualTlsWithRedisCliAndRedisPyBesideThePlainPort) {
  auto dir = make_test_dir("tls");
  make_test_certificates(dir);
  std::uint16_t tls_port = 0;
  auto node = start_tls_node(dir, tls_port);
  ASSERT_NE(node, nullptr) << "the node never opened its TLS port";

  auto set = cli(tls_args(dir, tls_port, true, {"SET", "secure", "yes"}));
  EXPECT_EQ(set.out, "OK\n") << set.describe() << node->log();
  auto plain_get = run_redis_cli(node->port(), {"GET", "secure"});
  EXPECT_EQ(plain_get.out, "yes\n") << plain_get.describe();

  // Without a client certificate the handshake fails (tls-auth-clients yes).
  auto anonymous = cli(tls_args(dir, tls_port, false, {"PING"}));
  EXPECT_EQ(anonymous.out.find("PONG"), std::string::npos) << anonymous.describe();

  // Plain RESP to the TLS port: that client is closed; the node serves on.
  auto confused = cli({"-p", std::to_string(tls_port), "PING"});
  EXPECT_EQ(confused.out.find("PONG"), std::string::npos) << confused.describe();
  auto still = cli(tls_args(dir, tls_port, true, {"PING"}));
  EXPECT_EQ(still.out, "PONG\n") << still.describe();

  // redis-py, as applications connect (a pipeline of many commands over TLS).
  std::string script = "import sys, redis\n"
                       "r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), ssl=True,\n"
                       "    ssl_ca_certs='" + dir + "/ca.crt', ssl_certfile='" + dir +
                       "/client.crt', ssl_keyfile='" + dir + "/client.key')\n"
                       "p = r.pipeline(transaction=False)\n"
                       "for i in range(2000):\n"
                       "    p.set('k%d' % i, 'v' * 100)\n"
                       "p.execute()\n"
                       "assert r.get('k1999') == b'v' * 100\n"
                       "assert r.dbsize() == 2001\n"
                       "print('ok')\n";
  auto py = run_python(tls_port, script);
  EXPECT_EQ(py.exit_code, 0) << py.describe() << node->log();
  EXPECT_NE(py.out.find("ok"), std::string::npos) << py.describe();
}

TEST(Tls, WithoutClientAuthenticationAnyTlsClientIsServed) {
  auto dir = make_test_dir("tls-noauth");
  make_test_certificates(dir);
  std::uint16_t tls_port = 0;
  auto node = start_tls_node(dir, tls_port, "no");
  ASSERT_NE(node, nullptr) << "the node never opened its TLS port";
  auto ping = cli(tls_args(dir, tls_port, false, {"PING"}));
  EXPECT_EQ(ping.out, "PONG\n") << ping.describe();
}

TEST(Tls, AMissingCertificateStopsTheNode) {
  auto dir = make_test_dir("tls-bad");
  auto result = run_process({server_binary_path(), "--port=0",
                             "--tls-port=" + std::to_string(free_port()),
                             "--tls-cert-file=" + dir + "/none.crt",
                             "--tls-key-file=" + dir + "/none.key", "--tls-auth-clients=no"},
                            "", 30s);
  EXPECT_NE(result.exit_code, 0) << result.describe();
  EXPECT_NE((result.out + result.err).find("tls-cert-file"), std::string::npos)
    << result.describe();
}
