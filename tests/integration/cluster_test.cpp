// Cluster mode through real nodes on loopback ports, as operators and clients
// use it: redis-cli --cluster create, check, reshard, add-node, rebalance and
// del-node; redis-cli -c; a redirect-following hiredis client under a write
// load during a reshard; kill -9 of a node; redis-py's RedisCluster.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

namespace stairkv::testing {
namespace {

using namespace std::chrono_literals;

std::string text_of(const redisReply* r) {
  if (r == nullptr)
    return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS
      || r->type == REDIS_REPLY_ERROR)
    return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER)
    return std::to_string(r->integer);
  return describe(r);
}

// Waits for `condition`, checking every 50 ms, for at most `limit`.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

std::string command_text(uint16_t port, const std::vector<std::string>& argv) {
  try {
    hiredis_connection c{port, 5s};
    return text_of(c.command(argv).get());
  } catch (const std::exception& e) {
    return std::string{"(no connection: "} + e.what() + ")";
  }
}

// A client that follows -MOVED and -ASK as cluster clients do, and retries
// -TRYAGAIN and -CLUSTERDOWN for a while.
class cluster_client {
public:
  explicit cluster_client(std::vector<uint16_t> ports) : ports_(std::move(ports)) {}

  reply_ptr command(const std::vector<std::string>& argv, const std::string& key) {
    auto port = port_for(key);
    bool asking = false;
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto& c = connection(port);
      reply_ptr reply;
      try {
        if (asking)
          c.command({"ASKING"});
        reply = c.command(argv);
      } catch (const std::runtime_error&) {
        // A reply that took longer than the connection's timeout: counted
        // (the test reports it), then sent again on a new connection. The
        // commands the tests send this way are idempotent.
        ++timeouts;
        connections_.erase(port);
        continue;
      }
      asking = false;
      if (reply->type != REDIS_REPLY_ERROR)
        return reply;
      std::string error(reply->str, reply->len);
      if (error.rfind("MOVED ", 0) == 0 || error.rfind("ASK ", 0) == 0) {
        auto colon = error.rfind(':');
        port = static_cast<uint16_t>(std::stoi(error.substr(colon + 1)));
        if (error[0] == 'M')
          learned_[slot_of(error)] = port;
        else
          asking = true;
        continue;
      }
      if (error.rfind("TRYAGAIN", 0) == 0 || error.rfind("CLUSTERDOWN", 0) == 0) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      return reply;
    }
    throw std::runtime_error("no node would take " + argv[0] + " " + key);
  }

  int timeouts = 0; // replies that took longer than 10 s

private:
  static int slot_of(const std::string& error) {
    auto space = error.find(' ');
    return std::stoi(error.substr(space + 1));
  }
  uint16_t port_for(const std::string& key) {
    auto& any = connection(ports_.front());
    auto slot = any.command({"CLUSTER", "KEYSLOT", key});
    auto it = learned_.find(static_cast<int>(slot->integer));
    return it == learned_.end() ? ports_.front() : it->second;
  }
  hiredis_connection& connection(uint16_t port) {
    auto& c = connections_[port];
    if (!c)
      c = std::make_unique<hiredis_connection>(port, 10s);
    return *c;
  }
  std::vector<uint16_t> ports_;
  std::map<int, uint16_t> learned_;
  std::map<uint16_t, std::unique_ptr<hiredis_connection>> connections_;
};

class Cluster : public ::testing::Test {
protected:
  void TearDown() override {
    for (auto& node : nodes_)
      if (node && node->running())
        node->stop();
  }

  // Starts a node in cluster mode on an ephemeral port, its cluster port
  // another free one.
  server_process& start_node(std::vector<std::string> extra = {}) {
    auto dir = make_test_dir("cluster-node");
    std::vector<std::string> args{"--cluster-enabled=yes",
                                  "--cluster-port=" + std::to_string(free_port()),
                                  "--cluster-node-timeout=1000", "--dir=" + dir, "--save="};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<server_process>(args));
    args_.push_back(args);
    return *nodes_.back();
  }

  // Starts node `i` again, on its port, with its directory and cluster port.
  void restart_node(std::size_t i) {
    auto args = args_[i];
    args.push_back("--port=" + std::to_string(nodes_[i]->port()));
    nodes_[i] = std::make_unique<server_process>(args);
  }

  std::vector<uint16_t> ports() const {
    std::vector<uint16_t> out;
    for (const auto& node : nodes_)
      if (node->running())
        out.push_back(node->port());
    return out;
  }

  static std::string endpoint(uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
  }

  static bool state_ok(uint16_t port) {
    return command_text(port, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
  }

  static int known_nodes(uint16_t port) {
    auto nodes = command_text(port, {"CLUSTER", "NODES"});
    int lines = 0;
    for (char c : nodes)
      lines += c == '\n' ? 1 : 0;
    return lines;
  }

  static std::string id_of(uint16_t port) {
    return command_text(port, {"CLUSTER", "MYID"});
  }

  // redis-cli --cluster create over the running nodes; then every node is up.
  void create_cluster() {
    std::vector<std::string> args{"/usr/bin/redis-cli", "--cluster", "create"};
    for (auto port : ports())
      args.push_back(endpoint(port));
    args.emplace_back("--cluster-yes");
    auto created = run_process(args, {}, 120s);
    ASSERT_EQ(created.exit_code, 0) << created.describe();
    ASSERT_NE(created.out.find("[OK] All 16384 slots covered."), std::string::npos)
      << created.describe();
    for (auto port : ports())
      ASSERT_TRUE(eventually([&] { return state_ok(port); })) << port;
  }

  process_result cluster_tool(const std::vector<std::string>& words,
                              std::chrono::milliseconds timeout = 300s) {
    std::vector<std::string> args{"/usr/bin/redis-cli", "--cluster"};
    args.insert(args.end(), words.begin(), words.end());
    return run_process(args, {}, timeout);
  }

  void expect_check_clean(uint16_t port) {
    auto check = cluster_tool({"check", endpoint(port)});
    EXPECT_EQ(check.exit_code, 0) << check.describe();
    EXPECT_NE(check.out.find("[OK] All nodes agree about slots configuration."),
              std::string::npos)
      << check.describe();
    EXPECT_NE(check.out.find("[OK] All 16384 slots covered."), std::string::npos)
      << check.describe();
    EXPECT_EQ(check.out.find("[WARNING]"), std::string::npos) << check.describe();
  }

  // How many slots the node at `owner` serves, as the node at `port` sees it.
  static std::int64_t slots_served(uint16_t port, uint16_t owner) {
    hiredis_connection c{port};
    auto slots = c.command({"CLUSTER", "SLOTS"});
    std::int64_t count = 0;
    for (std::size_t i = 0; i < slots->elements; ++i) {
      const auto* range = slots->element[i];
      if (range->element[2]->element[1]->integer == owner)
        count += range->element[1]->integer - range->element[0]->integer + 1;
    }
    return count;
  }

  std::int64_t total_keys() {
    std::int64_t total = 0;
    for (auto port : ports())
      total += std::stoll(command_text(port, {"DBSIZE"}));
    return total;
  }

  std::vector<std::unique_ptr<server_process>> nodes_;
  std::vector<std::vector<std::string>> args_;
};

TEST_F(Cluster, CreateCheckAndServeThroughEveryNode) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto p = ports();
  expect_check_clean(p[0]);
  // Every node sees all three, with their slots.
  for (auto port : p)
    EXPECT_EQ(known_nodes(port), 3) << command_text(port, {"CLUSTER", "NODES"});
  // redis-cli -c writes through each node and reads through another.
  for (int n = 0; n < 3; ++n) {
    std::string script;
    for (int i = n * 100; i < (n + 1) * 100; ++i)
      script += "SET k:" + std::to_string(i) + " v:" + std::to_string(i) + "\n";
    auto wrote = run_process({"/usr/bin/redis-cli", "-c", "-p", std::to_string(p[n])}, script, 60s);
    ASSERT_EQ(wrote.exit_code, 0) << wrote.describe();
  }
  std::string reads;
  for (int i = 0; i < 300; ++i)
    reads += "GET k:" + std::to_string(i) + "\n";
  for (int n = 0; n < 3; ++n) {
    auto read = run_process({"/usr/bin/redis-cli", "-c", "-p", std::to_string(p[(n + 1) % 3])},
                            reads, 60s);
    // (Without the lines redis-cli prints as it follows a redirect.)
    std::string values;
    for (std::size_t at = 0; at < read.out.size();) {
      auto end = read.out.find('\n', at);
      auto line = read.out.substr(at, end - at + 1);
      if (line.rfind("-> Redirected", 0) != 0)
        values += line;
      at = end == std::string::npos ? read.out.size() : end + 1;
    }
    std::string expected;
    for (int i = 0; i < 300; ++i)
      expected += "v:" + std::to_string(i) + "\n";
    EXPECT_EQ(values, expected) << read.describe();
  }
  // The keys are spread over the nodes, each on its slot's owner alone.
  EXPECT_EQ(total_keys(), 300);
  for (auto port : p)
    EXPECT_GT(std::stoll(command_text(port, {"DBSIZE"})), 50) << port;
  hiredis_connection c0{p[0]};
  auto slot = c0.command({"CLUSTER", "KEYSLOT", "foo"});
  EXPECT_EQ(slot->integer, 12182);
  int owners = 0;
  for (auto port : p) {
    hiredis_connection c{port};
    auto reply = c.command({"SET", "foo", "bar"});
    if (text_of(reply.get()) == "OK") {
      ++owners;
    } else {
      auto error = text_of(reply.get());
      EXPECT_EQ(error.rfind("MOVED 12182 127.0.0.1:", 0), 0u) << error;
    }
  }
  EXPECT_EQ(owners, 1);
  // Keys of several slots in one command, or one transaction: -CROSSSLOT.
  auto cross = c0.command({"MSET", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(text_of(cross.get()), "CROSSSLOT Keys in request don't hash to the same slot");
  cluster_client client{p};
  auto tagged = client.command({"MSET", "{user:1}.name", "ada", "{user:1}.city", "london"},
                               "{user:1}");
  EXPECT_EQ(text_of(tagged.get()), "OK");
  auto city = client.command({"GET", "{user:1}.city"}, "{user:1}.city");
  EXPECT_EQ(text_of(city.get()), "london");
  EXPECT_EQ(text_of(c0.command({"SELECT", "1"}).get()), "ERR SELECT is not allowed in cluster mode");
  // COUNTKEYSINSLOT and GETKEYSINSLOT agree with the keys the owner holds.
  for (auto port : p) {
    hiredis_connection c{port};
    auto count = c.command({"CLUSTER", "COUNTKEYSINSLOT", "12182"});
    auto keys = c.command({"CLUSTER", "GETKEYSINSLOT", "12182", "10"});
    ASSERT_EQ(keys->type, REDIS_REPLY_ARRAY);
    EXPECT_EQ(static_cast<long long>(keys->elements), count->integer);
    if (count->integer == 1) {
      EXPECT_EQ(std::string(keys->element[0]->str), "foo");
    }
  }
  // PUBLISH on one node reaches a subscriber on another.
  hiredis_connection subscriber{p[2], 10s};
  auto subscribed = subscriber.command({"SUBSCRIBE", "news"});
  ASSERT_EQ(subscribed->type, REDIS_REPLY_ARRAY);
  auto published = c0.command({"PUBLISH", "news", "hello"});
  EXPECT_EQ(published->type, REDIS_REPLY_INTEGER);
  auto message = subscriber.get_reply();
  ASSERT_EQ(message->type, REDIS_REPLY_ARRAY) << describe(message.get());
  ASSERT_EQ(message->elements, 3u);
  EXPECT_EQ(std::string(message->element[2]->str), "hello");
}

TEST_F(Cluster, TransactionsAcrossSlotsAreDiscarded) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto p = ports();
  // Two keys of one slot (a hash tag), on the slot's owner: the transaction runs.
  cluster_client client{p};
  client.command({"SET", "{t}x", "0"}, "{t}x");
  uint16_t owner = 0;
  for (auto port : p)
    if (command_text(port, {"GET", "{t}x"}) == "0")
      owner = port;
  ASSERT_NE(owner, 0);
  hiredis_connection c{owner};
  EXPECT_EQ(text_of(c.command({"MULTI"}).get()), "OK");
  EXPECT_EQ(text_of(c.command({"INCR", "{t}x"}).get()), "QUEUED");
  EXPECT_EQ(text_of(c.command({"INCR", "{t}y"}).get()), "QUEUED");
  auto ran = c.command({"EXEC"});
  ASSERT_EQ(ran->type, REDIS_REPLY_ARRAY) << describe(ran.get());
  EXPECT_EQ(ran->element[0]->integer, 1);
  // A queued command on another node's slot aborts the transaction.
  std::string elsewhere;
  for (int i = 0; elsewhere.empty(); ++i) {
    auto key = "k" + std::to_string(i);
    if (text_of(c.command({"GET", key}).get()).rfind("MOVED", 0) == 0)
      elsewhere = key;
  }
  EXPECT_EQ(text_of(c.command({"MULTI"}).get()), "OK");
  EXPECT_EQ(text_of(c.command({"SET", elsewhere, "1"}).get()).rfind("MOVED", 0), 0u);
  auto aborted = c.command({"EXEC"});
  EXPECT_EQ(text_of(aborted.get()).rfind("EXECABORT", 0), 0u) << describe(aborted.get());
  // A script runs where its declared keys are, and its calls stay on this node.
  auto script = c.command({"EVAL", "return redis.call('get', KEYS[1])", "1", "{t}x"});
  EXPECT_EQ(text_of(script.get()), "1");
  auto far = c.command({"EVAL", "return redis.call('get', ARGV[1])", "0", elsewhere});
  EXPECT_NE(text_of(far.get()).find("Script attempted to access a non local key"),
            std::string::npos)
    << describe(far.get());
}

TEST_F(Cluster, ReshardUnderWriteLoadLosesAndDuplicatesNoKey) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto p = ports();
  cluster_client loader{p};
  for (int i = 0; i < 2000; ++i)
    ASSERT_EQ(text_of(loader.command({"SET", "pre:" + std::to_string(i), std::to_string(i)},
                                     "pre:" + std::to_string(i))
                        .get()),
              "OK");
  // A writer that keeps going while 4,000 slots move from the first node to
  // the second, each write acknowledged before the next.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::atomic<int> stalls{0};
  std::string writer_error;
  std::thread writer{[&] {
    try {
      cluster_client client{p};
      for (int i = 0; !stop.load(); ++i) {
        auto key = "w:" + std::to_string(i);
        auto reply = client.command({"SET", key, std::to_string(i)}, key);
        if (text_of(reply.get()) != "OK") {
          writer_error = key + ": " + describe(reply.get());
          return;
        }
        acknowledged.store(i + 1);
      }
      stalls.store(client.timeouts);
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  }};
  auto from = id_of(p[0]);
  auto to = id_of(p[1]);
  auto moved = cluster_tool({"reshard", endpoint(p[0]), "--cluster-from", from, "--cluster-to",
                             to, "--cluster-slots", "4000", "--cluster-yes"});
  stop.store(true);
  writer.join();
  ASSERT_EQ(moved.exit_code, 0) << moved.describe();
  ASSERT_TRUE(writer_error.empty()) << writer_error;
  EXPECT_GT(acknowledged.load(), 0);
  // A write that waited past 10 s was sent again (SET is idempotent): shown
  // rather than failed on, as a shared 2-core machine can starve a node.
  if (stalls.load() > 0)
    std::cout << "writes that waited over 10 s and were sent again: " << stalls.load() << "\n";
  expect_check_clean(p[2]);
  EXPECT_EQ(slots_served(p[2], p[1]), 5462 + 4000);
  // Every key is where its slot is, once: the totals match, and each reads back.
  EXPECT_EQ(total_keys(), 2000 + acknowledged.load());
  cluster_client reader{p};
  for (int i = 0; i < 2000; ++i) {
    auto key = "pre:" + std::to_string(i);
    ASSERT_EQ(text_of(reader.command({"GET", key}, key).get()), std::to_string(i)) << key;
  }
  for (int i = 0; i < acknowledged.load(); ++i) {
    auto key = "w:" + std::to_string(i);
    ASSERT_EQ(text_of(reader.command({"GET", key}, key).get()), std::to_string(i)) << key;
  }
  hiredis_connection second{p[1]};
  auto info = second.command({"CLUSTER", "INFO"});
  EXPECT_NE(text_of(info.get()).find("cluster_state:ok"), std::string::npos);
}

TEST_F(Cluster, AddNodeRebalanceThenEmptyAndDeleteIt) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  cluster_client loader{ports()};
  for (int i = 0; i < 1000; ++i) {
    auto key = "k:" + std::to_string(i);
    loader.command({"SET", key, std::to_string(i)}, key);
  }
  auto& fourth = start_node();
  auto added = cluster_tool({"add-node", endpoint(fourth.port()), endpoint(ports()[0])});
  ASSERT_EQ(added.exit_code, 0) << added.describe();
  for (auto port : ports())
    ASSERT_TRUE(eventually([&] { return known_nodes(port) == 4; }))
      << port << "\n" << command_text(port, {"CLUSTER", "NODES"});
  auto balanced = cluster_tool({"rebalance", endpoint(ports()[0]), "--cluster-use-empty-masters"});
  ASSERT_EQ(balanced.exit_code, 0) << balanced.describe();
  for (auto port : ports())
    ASSERT_TRUE(eventually([&] { return state_ok(port); })) << port;
  expect_check_clean(fourth.port());
  auto held = std::stoll(command_text(fourth.port(), {"DBSIZE"}));
  EXPECT_GT(held, 100); // about a quarter of the keys moved with their slots
  EXPECT_EQ(total_keys(), 1000);
  // Empty the new node again, then take it out of the cluster.
  auto id = id_of(fourth.port());
  auto served = slots_served(ports()[0], fourth.port());
  EXPECT_GT(served, 3000);
  auto back = cluster_tool({"reshard", endpoint(ports()[0]), "--cluster-from", id,
                            "--cluster-to", id_of(ports()[0]), "--cluster-slots",
                            std::to_string(served), "--cluster-yes"});
  ASSERT_EQ(back.exit_code, 0) << back.describe();
  EXPECT_EQ(command_text(fourth.port(), {"DBSIZE"}), "0");
  auto removed = cluster_tool({"del-node", endpoint(ports()[0]), id});
  ASSERT_EQ(removed.exit_code, 0) << removed.describe();
  EXPECT_NE(command_text(fourth.port(), {"CLUSTER", "INFO"}).find("cluster_known_nodes:1"),
            std::string::npos);
  auto rest = ports();
  rest.pop_back();
  for (auto port : rest) {
    EXPECT_EQ(known_nodes(port), 3) << command_text(port, {"CLUSTER", "NODES"});
    EXPECT_TRUE(eventually([&] { return state_ok(port); })) << port;
  }
  std::int64_t total = 0;
  for (auto port : rest)
    total += std::stoll(command_text(port, {"DBSIZE"}));
  EXPECT_EQ(total, 1000);
  cluster_client reader{rest};
  for (int i = 0; i < 1000; ++i) {
    auto key = "k:" + std::to_string(i);
    ASSERT_EQ(text_of(reader.command({"GET", key}, key).get()), std::to_string(i)) << key;
  }
}

TEST_F(Cluster, FixFinishesAHalfDoneMigration) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto p = ports();
  cluster_client client{p};
  for (int i = 0; i < 200; ++i) {
    auto key = "k:" + std::to_string(i);
    client.command({"SET", key, std::to_string(i)}, key);
  }
  // The slot of k:1 is left open: importing on one node, migrating on its owner.
  uint16_t owner = 0;
  for (auto port : p)
    if (command_text(port, {"GET", "k:1"}) == "1")
      owner = port;
  ASSERT_NE(owner, 0);
  uint16_t other = owner == p[0] ? p[1] : p[0];
  auto slot = command_text(owner, {"CLUSTER", "KEYSLOT", "k:1"});
  EXPECT_EQ(command_text(other, {"CLUSTER", "SETSLOT", slot, "IMPORTING", id_of(owner)}), "OK");
  EXPECT_EQ(command_text(owner, {"CLUSTER", "SETSLOT", slot, "MIGRATING", id_of(other)}), "OK");
  auto open = cluster_tool({"check", endpoint(p[2])});
  EXPECT_NE(open.out.find("The following slots are open: " + slot), std::string::npos)
    << open.describe();
  auto fixed = cluster_tool({"fix", endpoint(p[2])});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.describe();
  expect_check_clean(p[2]);
  // The slot moved whole, with its keys, to the importing node.
  EXPECT_EQ(command_text(other, {"GET", "k:1"}), "1");
  EXPECT_EQ(total_keys(), 200);
}

// Kills the node's process outright (no shutdown), as a crash would.
void kill_node(server_process& node) {
  ::kill(node.pid(), SIGKILL);
  node.stop(5s);
}

TEST_F(Cluster, KilledNodeTakesOnlyItsOwnSlotsDown) {
  for (int i = 0; i < 3; ++i)
    start_node({"--cluster-require-full-coverage=no"});
  create_cluster();
  auto p = ports();
  cluster_client client{p};
  // Keys on every node.
  std::map<uint16_t, std::string> key_on;
  for (int i = 0; key_on.size() < 3; ++i) {
    auto key = "k" + std::to_string(i);
    client.command({"SET", key, "v"}, key);
    for (auto port : p)
      if (command_text(port, {"GET", key}) == "v")
        key_on.emplace(port, key);
  }
  auto dead_key = key_on[p[2]];
  kill_node(*nodes_[2]);
  ASSERT_TRUE(eventually([&] {
    return command_text(p[0], {"CLUSTER", "NODES"}).find("master,fail ") != std::string::npos;
  }))
    << command_text(p[0], {"CLUSTER", "NODES"});
  ASSERT_TRUE(eventually([&] {
    return command_text(p[1], {"CLUSTER", "NODES"}).find("master,fail ") != std::string::npos;
  }));
  for (auto port : {p[0], p[1]}) {
    EXPECT_TRUE(state_ok(port));
    EXPECT_EQ(command_text(port, {"GET", dead_key}), "CLUSTERDOWN Hash slot not served");
    EXPECT_EQ(command_text(port, {"GET", key_on[port]}), "v");
    EXPECT_EQ(command_text(port, {"SET", key_on[port], "w"}), "OK");
  }
}

TEST_F(Cluster, ARestartedNodeRejoinsWithItsSlotsAndKeys) {
  for (int i = 0; i < 3; ++i)
    start_node({"--appendonly=yes"});
  create_cluster();
  auto p = ports();
  cluster_client client{p};
  for (int i = 0; i < 300; ++i) {
    auto key = "k:" + std::to_string(i);
    ASSERT_EQ(text_of(client.command({"SET", key, std::to_string(i)}, key).get()), "OK");
  }
  auto held = command_text(p[2], {"DBSIZE"});
  kill_node(*nodes_[2]);
  ASSERT_TRUE(eventually([&] { return !state_ok(p[0]); }));
  // It comes back from its nodes.conf and append-only file, on its port.
  restart_node(2);
  for (auto port : p)
    ASSERT_TRUE(eventually([&] { return state_ok(port); }))
      << port << "\n" << command_text(port, {"CLUSTER", "NODES"});
  EXPECT_EQ(command_text(p[2], {"DBSIZE"}), held);
  EXPECT_EQ(command_text(p[0], {"CLUSTER", "NODES"}).find("fail"), std::string::npos);
  cluster_client reader{p};
  for (int i = 0; i < 300; ++i) {
    auto key = "k:" + std::to_string(i);
    ASSERT_EQ(text_of(reader.command({"GET", key}, key).get()), std::to_string(i)) << key;
  }
}

TEST_F(Cluster, WithFullCoverageADeadNodeStopsTheCluster) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto p = ports();
  kill_node(*nodes_[2]);
  ASSERT_TRUE(eventually([&] { return !state_ok(p[0]); }));
  EXPECT_EQ(command_text(p[0], {"GET", "anything"}), "CLUSTERDOWN The cluster is down");
  EXPECT_NE(command_text(p[0], {"CLUSTER", "INFO"}).find("cluster_slots_fail:"), std::string::npos);
}

TEST_F(Cluster, RedisPyClusterClientWorks) {
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto result = run_python(ports()[1], R"(
import sys
from redis.cluster import RedisCluster, ClusterNode
rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", int(sys.argv[1]))],
                  decode_responses=True)
for i in range(500):
    rc.set(f"py:{i}", i)
assert all(rc.get(f"py:{i}") == str(i) for i in range(500))
assert rc.mget_nonatomic([f"py:{i}" for i in range(3)]) == ["0", "1", "2"]
p = rc.pipeline()
for i in range(20):
    p.incr(f"counter:{i}")
assert p.execute() == [1] * 20
rc.hset("{shop}:cart", mapping={"apples": 3, "pears": 2})
rc.sadd("{shop}:tags", "fruit", "fresh")
assert rc.hgetall("{shop}:cart") == {"apples": "3", "pears": "2"}
assert rc.sinter("{shop}:tags", "{shop}:tags") == {"fruit", "fresh"}
assert rc.cluster_info()["cluster_state"] == "ok"
assert rc.keyslot("foo") == 12182
assert len(rc.get_primaries()) == 3
print("ok")
)");
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

// ioredis (from the npm registry, tools/fetch-node-modules) as Node.js
// applications use its Cluster client: it learns the slots and follows them.
TEST_F(Cluster, IoredisClusterClientWorks) {
  if (::access("/var/cache/stairkv/node_modules/ioredis/package.json", R_OK) != 0)
    GTEST_SKIP() << "ioredis is not in /var/cache/stairkv/node_modules: tools/install-deps "
                    "could not fetch it from the npm registry";
  for (int i = 0; i < 3; ++i)
    start_node();
  create_cluster();
  auto result = run_process(
    {"/usr/bin/env", "NODE_PATH=/var/cache/stairkv/node_modules", "/usr/bin/node", "-",
     std::to_string(ports()[2])},
    R"(
const Redis = require("ioredis");
const cluster = new Redis.Cluster([{ host: "127.0.0.1", port: Number(process.argv[2]) }]);
(async () => {
  for (let i = 0; i < 300; i++) await cluster.set(`js:${i}`, String(i));
  for (let i = 0; i < 300; i++) {
    const v = await cluster.get(`js:${i}`);
    if (v !== String(i)) throw new Error(`js:${i} read ${v}`);
  }
  const p = cluster.pipeline();
  for (let i = 0; i < 20; i++) p.incr(`n:{c}:${i}`);
  const counts = await p.exec();
  if (counts.some(([err, v]) => err || v !== 1)) throw new Error("pipeline " + JSON.stringify(counts));
  await cluster.mset("{t}a", "1", "{t}b", "2");
  const got = await cluster.mget("{t}a", "{t}b");
  if (got.join(",") !== "1,2") throw new Error("mget " + got);
  const m = cluster.multi();
  m.incr("{t}x");
  m.incr("{t}x");
  const done = await m.exec();
  if (done[1][1] !== 2) throw new Error("multi " + JSON.stringify(done));
  if (cluster.nodes("master").length !== 3) throw new Error("masters");
  console.log("ok");
  cluster.disconnect();
})().catch((e) => { console.error(e); process.exit(1); });
)",
    120s);
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
  // The keys it wrote are spread over the three nodes.
  EXPECT_EQ(total_keys(), 300 + 20 + 3);
}

} // namespace
} // namespace stairkv::testing
