// A CAF application joins a cluster of three real nodes as a client actor
// (modules/cluster/cluster_client.hpp): each command lands on the node that
// serves its slot, transactions run on one node, and after slots move the
// client follows the nodes' redirects.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/cluster/cluster_actor.hpp"
#include "modules/cluster/cluster_client.hpp"
#include "modules/store/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace std::chrono_literals;
using stairkv::testing::hiredis_connection;
using stairkv::testing::server_process;

namespace {

std::string text_of(uint16_t port, const std::vector<std::string>& argv) {
  hiredis_connection c{port, 5s};
  auto r = c.command(argv);
  if (r->type == REDIS_REPLY_INTEGER)
    return std::to_string(r->integer);
  return r->str == nullptr ? std::string{} : std::string(r->str, r->len);
}

struct three_nodes {
  std::vector<std::unique_ptr<server_process>> nodes;
  std::vector<uint16_t> cports;

  three_nodes() {
    for (int i = 0; i < 3; ++i) {
      auto cport = stairkv::testing::free_port();
      cports.push_back(cport);
      nodes.push_back(std::make_unique<server_process>(std::vector<std::string>{
        "--cluster-enabled=yes", "--cluster-port=" + std::to_string(cport),
        "--dir=" + stairkv::testing::make_test_dir("cluster-client"), "--save="}));
    }
    std::vector<std::string> create{"/usr/bin/redis-cli", "--cluster", "create"};
    for (auto& n : nodes)
      create.push_back("127.0.0.1:" + std::to_string(n->port()));
    create.emplace_back("--cluster-yes");
    auto created = stairkv::testing::run_process(create, {}, 120s);
    if (created.exit_code != 0)
      throw std::runtime_error(created.describe());
    for (auto& n : nodes) {
      auto deadline = std::chrono::steady_clock::now() + 30s;
      while (text_of(n->port(), {"CLUSTER", "INFO"}).find("cluster_state:ok")
             == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error("the cluster did not come up");
        std::this_thread::sleep_for(50ms);
      }
    }
  }
};

std::string call(caf::scoped_actor& self, const stairkv::cluster::cluster_client_actor& client,
                 std::vector<std::string> argv) {
  std::string reply;
  self->request(client, 20s, stairkv::command_atom::value, std::move(argv))
    .receive([&](std::string& r) { reply = std::move(r); },
             [&](caf::error& e) { reply = "error: " + self->system().render(e); });
  return reply;
}

} // namespace

TEST(ClusterClient, RoutesEachCommandToItsSlotsNodeAndFollowsMovedSlots) {
  three_nodes cluster;
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  stairkv::add_store_message_types(cfg);
  stairkv::cluster::add_cluster_message_types(cfg);
  caf::actor_system system{cfg};
  auto client = stairkv::cluster::connect_cluster(system, "127.0.0.1", cluster.cports[1]);
  ASSERT_TRUE(client) << system.render(client.error());
  caf::scoped_actor self{system};
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(call(self, *client, {"SET", "k:" + std::to_string(i), std::to_string(i)}),
              "+OK\r\n");
  // Each key is on exactly one node: the one its slot names.
  for (int i = 0; i < 200; ++i) {
    auto key = "k:" + std::to_string(i);
    int holders = 0;
    for (auto& n : cluster.nodes)
      holders += text_of(n->port(), {"GET", key}) == std::to_string(i) ? 1 : 0;
    ASSERT_EQ(holders, 1) << key;
  }
  for (auto& n : cluster.nodes)
    EXPECT_GT(std::stoi(text_of(n->port(), {"DBSIZE"})), 30);
  // A transaction on one slot runs whole; keys of two slots are refused.
  std::vector<std::string> replies;
  self
    ->request(*client, 20s, stairkv::transaction_atom::value,
              std::vector<std::vector<std::string>>{{"SET", "{cart}:a", "1"},
                                                    {"INCR", "{cart}:a"},
                                                    {"GET", "{cart}:a"}})
    .receive([&](std::vector<std::string>& r) { replies = std::move(r); },
             [&](caf::error& e) { FAIL() << self->system().render(e); });
  EXPECT_EQ(replies, (std::vector<std::string>{"+OK\r\n", ":2\r\n", "$1\r\n2\r\n"}));
  EXPECT_EQ(call(self, *client, {"MSET", "a", "1", "b", "2"}),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  // 500 slots move from the first node to the second: the client still finds
  // every key.
  auto from = text_of(cluster.nodes[0]->port(), {"CLUSTER", "MYID"});
  auto to = text_of(cluster.nodes[1]->port(), {"CLUSTER", "MYID"});
  auto moved = stairkv::testing::run_process(
    {"/usr/bin/redis-cli", "--cluster", "reshard",
     "127.0.0.1:" + std::to_string(cluster.nodes[0]->port()), "--cluster-from", from,
     "--cluster-to", to, "--cluster-slots", "500", "--cluster-yes"},
    {}, 300s);
  ASSERT_EQ(moved.exit_code, 0) << moved.describe();
  for (int i = 0; i < 200; ++i) {
    auto key = "k:" + std::to_string(i);
    ASSERT_EQ(call(self, *client, {"GET", key}),
              "$" + std::to_string(std::to_string(i).size()) + "\r\n" + std::to_string(i)
                + "\r\n")
      << key;
  }
  EXPECT_EQ(call(self, *client, {"SET", "after", "move"}), "+OK\r\n");
  // Done with it: the client lets go of the nodes (they hold proxies of it).
  self->send_exit(*client, caf::exit_reason::user_shutdown);
}
