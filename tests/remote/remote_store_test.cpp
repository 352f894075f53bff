// A second process reaches the node's store as a remote CAF actor, through the
// same typed interface an embedding application uses, and sees the same keys a
// Redis client sees.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "modules/store/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace std::chrono_literals;
using stairkv::testing::hiredis_connection;
using stairkv::testing::server_process;

namespace {

// Starts a node that publishes its store; retries if another process took the
// chosen port between the probe and the server's bind.
std::unique_ptr<server_process> start_publishing_node(std::uint16_t& caf_port,
                                                     std::vector<std::string> args = {}) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    caf_port = stairkv::testing::free_port();
    auto with_port = args;
    with_port.push_back("--caf-port=" + std::to_string(caf_port));
    auto node = std::make_unique<server_process>(with_port);
    if (node->wait_for_log("Store actor published", 10s))
      return node;
  }
  return nullptr;
}

} // namespace

TEST(RemoteStore, ASecondProcessUsesTheStoreThroughItsTypedInterface) {
  std::uint16_t caf_port = 0;
  auto node = start_publishing_node(caf_port);
  ASSERT_NE(node, nullptr) << "the node never published its store";

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  stairkv::add_store_message_types(cfg);
  caf::actor_system system{cfg};
  auto store = system.middleman().remote_actor<stairkv::store_actor>("127.0.0.1",
                                                                     caf_port);
  ASSERT_TRUE(store) << system.render(store.error());

  caf::scoped_actor self{system};
  bool stored = false;
  self->request(*store, 10s, caf::put_atom::value, std::string{"remote:key"},
                std::string{"from CAF"})
    .receive([&](bool ok) { stored = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(stored);

  // A Redis client sees what the CAF application wrote...
  hiredis_connection redis{node->port()};
  auto reply = redis.command({"GET", "remote:key"});
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str, reply->len), "from CAF");

  // ...and the CAF application sees what the Redis client wrote.
  redis.command({"SET", "redis:key", "from RESP"});
  caf::optional<std::string> value;
  self->request(*store, 10s, caf::get_atom::value, std::string{"redis:key"})
    .receive([&](caf::optional<std::string>& v) { value = std::move(v); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, "from RESP");

  std::int64_t keys = 0;
  self->request(*store, 10s, stairkv::size_atom::value)
    .receive([&](std::int64_t n) { keys = n; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(keys, 2);

  std::vector<std::string> argv{"INCRBY", "counter", "7"};
  std::string resp;
  self->request(*store, 10s, stairkv::command_atom::value, argv)
    .receive([&](std::string& r) { resp = std::move(r); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(resp, ":7\r\n");

  // A transaction from another process: its replies, in order.
  std::vector<std::vector<std::string>> tx{{"INCRBY", "counter", "1"}, {"GET", "counter"}};
  std::vector<std::string> replies;
  self->request(*store, 10s, stairkv::transaction_atom::value, tx)
    .receive([&](std::vector<std::string>& r) { replies = std::move(r); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(replies, (std::vector<std::string>{":8\r\n", "$1\r\n8\r\n"}));

  // The same in another database: the node plans it behind SELECT, and its
  // Redis clients see it there.
  std::vector<std::string> in_four{"SET", "counter", "four"};
  self->request(*store, 10s, stairkv::command_atom::value, std::int32_t{4}, in_four)
    .receive([&](std::string& r) { resp = std::move(r); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(resp, "+OK\r\n");
  self->request(*store, 10s, stairkv::transaction_atom::value, std::int32_t{4},
                std::vector<std::vector<std::string>>{{"APPEND", "counter", "!"},
                                                      {"DBSIZE"}})
    .receive([&](std::vector<std::string>& r) { replies = std::move(r); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(replies, (std::vector<std::string>{":5\r\n", ":1\r\n"}));
  std::vector<std::string> get{"GET", "counter"};
  self->request(*store, 10s, stairkv::command_atom::value, get)
    .receive([&](std::string& r) { resp = std::move(r); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_EQ(resp, "$1\r\n8\r\n"); // database 0's is untouched

  self->send_exit(caf::actor_cast<caf::actor>(*store), caf::exit_reason::kill);
  EXPECT_EQ(node->stop(), 0) << node->log();
}

namespace {

constexpr int generation_keys = 16;

std::string generation_key(int i) {
  return "gen:" + std::to_string(i);
}

// Whether RESP2 bulk replies (or an MGET's array of them) hold more than one value.
bool mixed(const std::vector<std::string>& values) {
  for (const auto& v : values)
    if (v != values.front())
      return true;
  return false;
}

} // namespace

// The node has one plan order for Redis clients and CAF applications alike: a
// transaction or an MSET from either side is never seen half done by the other.
TEST(RemoteStore, NeitherSideSeesHalfOfTheOthersMultiKeyWrites) {
  std::uint16_t caf_port = 0;
  auto node = start_publishing_node(caf_port, {"--stairs=3"});
  ASSERT_NE(node, nullptr) << "the node never published its store";
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  stairkv::add_store_message_types(cfg);
  caf::actor_system system{cfg};
  auto store = system.middleman().remote_actor<stairkv::store_actor>("127.0.0.1",
                                                                     caf_port);
  ASSERT_TRUE(store) << system.render(store.error());
  caf::scoped_actor self{system};
  constexpr int generations = 600;

  // CAF writes (a transaction of 16 SETs), a Redis client reads (MGET).
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::thread reader{[&] {
    hiredis_connection r{node->port()};
    std::vector<std::string> mget{"MGET"};
    for (int i = 0; i < generation_keys; ++i)
      mget.push_back(generation_key(i));
    while (!done) {
      auto reply = r.command(mget);
      std::vector<std::string> values;
      for (std::size_t i = 0; i < reply->elements; ++i)
        values.emplace_back(reply->element[i]->type == REDIS_REPLY_STRING
                              ? reply->element[i]->str
                              : "");
      torn += mixed(values) ? 1 : 0;
      ++reads;
    }
  }};
  for (int gen = 1; gen <= generations; ++gen) {
    std::vector<std::vector<std::string>> tx;
    for (int i = 0; i < generation_keys; ++i)
      tx.push_back({"SET", generation_key(i), std::to_string(gen)});
    self->request(*store, 10s, stairkv::transaction_atom::value, tx)
      .receive([](std::vector<std::string>&) {},
               [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";

  // A Redis client writes (MSET), CAF reads (a transaction of 16 GETs).
  done = false;
  std::thread writer{[&] {
    hiredis_connection w{node->port()};
    for (int gen = 1; gen <= generations && !done; ++gen) {
      std::vector<std::string> mset{"MSET"};
      for (int i = 0; i < generation_keys; ++i) {
        mset.push_back(generation_key(i));
        mset.push_back("w" + std::to_string(gen));
      }
      w.command(mset);
    }
  }};
  int caf_torn = 0;
  int caf_reads = 0;
  for (int round = 0; round < generations; ++round) {
    std::vector<std::vector<std::string>> tx;
    for (int i = 0; i < generation_keys; ++i)
      tx.push_back({"GET", generation_key(i)});
    self->request(*store, 10s, stairkv::transaction_atom::value, tx)
      .receive([&](std::vector<std::string>& values) { caf_torn += mixed(values) ? 1 : 0; },
               [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
    ++caf_reads;
  }
  done = true;
  writer.join();
  EXPECT_EQ(caf_torn, 0) << "of " << caf_reads << " reads";

  // WATCH sees a CAF application's write like any client's.
  hiredis_connection watcher{node->port()};
  ASSERT_TRUE(stairkv::testing::is_status(watcher.command({"WATCH", "gen:0"}), "OK"));
  bool stored = false;
  self->request(*store, 10s, caf::put_atom::value, std::string{"gen:0"}, std::string{"x"})
    .receive([&](bool ok) { stored = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(stored);
  watcher.command({"MULTI"});
  watcher.command({"SET", "gen:0", "y"});
  auto exec = watcher.command({"EXEC"});
  EXPECT_EQ(exec->type, REDIS_REPLY_NIL);

  self->send_exit(caf::actor_cast<caf::actor>(*store), caf::exit_reason::kill);
  EXPECT_EQ(node->stop(), 0) << node->log();
}

// The typed messages that carry a caf::timespan (a put with a TTL, EXPIRE) and
// the typed MGET/MSET/TTL work from another process as they do embedded.
TEST(RemoteStore, TypedTtlsAndMultiKeyMessagesCrossTheWire) {
  std::uint16_t caf_port = 0;
  auto node = start_publishing_node(caf_port);
  ASSERT_NE(node, nullptr) << "the node never published its store";
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  stairkv::add_store_message_types(cfg);
  caf::actor_system system{cfg};
  auto store = system.middleman().remote_actor<stairkv::store_actor>("127.0.0.1",
                                                                     caf_port);
  ASSERT_TRUE(store) << system.render(store.error());
  caf::scoped_actor self{system};

  bool stored = false;
  self->request(*store, 10s, caf::put_atom::value, std::string{"ttl:put"},
                std::string{"v"}, caf::timespan{std::chrono::seconds{100}})
    .receive([&](bool ok) { stored = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(stored);
  hiredis_connection redis{node->port()};
  auto pttl = redis.command({"PTTL", "ttl:put"});
  ASSERT_NE(pttl, nullptr);
  EXPECT_GT(pttl->integer, 90'000);
  EXPECT_LE(pttl->integer, 100'000);

  redis.command({"SET", "ttl:expire", "v"});
  bool set_ttl = false;
  self->request(*store, 10s, stairkv::expire_atom::value, std::string{"ttl:expire"},
                caf::timespan{std::chrono::seconds{50}})
    .receive([&](bool ok) { set_ttl = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(set_ttl);
  std::int64_t ttl_ms = 0;
  self->request(*store, 10s, stairkv::ttl_atom::value, std::string{"ttl:expire"})
    .receive([&](std::int64_t ms) { ttl_ms = ms; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_GT(ttl_ms, 40'000);
  EXPECT_LE(ttl_ms, 50'000);

  bool mset = false;
  self->request(*store, 10s, stairkv::mset_atom::value,
                std::vector<std::pair<std::string, std::string>>{{"m:a", "1"}, {"m:b", "2"}})
    .receive([&](bool ok) { mset = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(mset);
  std::vector<caf::optional<std::string>> values;
  self->request(*store, 10s, stairkv::mget_atom::value,
                std::vector<std::string>{"m:a", "m:none", "m:b"})
    .receive([&](std::vector<caf::optional<std::string>>& v) { values = std::move(v); },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], caf::optional<std::string>{"1"});
  EXPECT_FALSE(values[1]);
  EXPECT_EQ(values[2], caf::optional<std::string>{"2"});

  self->send_exit(caf::actor_cast<caf::actor>(*store), caf::exit_reason::kill);
  EXPECT_EQ(node->stop(), 0) << node->log();
}

namespace {

// PUBSUB NUMSUB's count for one channel, through a Redis client.
long long numsub(hiredis_connection& redis, const std::string& channel) {
  auto reply = redis.command({"PUBSUB", "NUMSUB", channel});
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
    return -1;
  return reply->element[1]->integer;
}

} // namespace

// An actor of another process subscribes itself to the node's expiry events
// and hears a key expire there; when that actor terminates, the node drops its
// subscription, and when its whole process goes away, its other actor's too.
TEST(RemoteStore, ARemoteActorHearsExpiriesAndItsSubscriptionEndsWithIt) {
  std::uint16_t caf_port = 0;
  auto node = start_publishing_node(caf_port);
  ASSERT_NE(node, nullptr) << "the node never published its store";
  hiredis_connection redis{node->port()};
  auto expired = stairkv::keyevent_channel(0, "expired");
  {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    stairkv::add_store_message_types(cfg);
    caf::actor_system system{cfg};
    auto store = system.middleman().remote_actor<stairkv::store_actor>("127.0.0.1",
                                                                       caf_port);
    ASSERT_TRUE(store) << system.render(store.error());
    caf::scoped_actor self{system};
    auto me = caf::actor_cast<stairkv::subscriber_actor>(self);
    std::int64_t held = 0;
    self->request(*store, 10s, stairkv::subscribe_atom::value, me,
                  std::vector<std::string>{expired})
      .receive([&](std::int64_t n) { held = n; },
               [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
    EXPECT_EQ(held, 1);
    EXPECT_EQ(numsub(redis, expired), 1);

    redis.command({"SET", "remote:soon", "v", "PX", "30"});
    bool heard = false;
    self->receive(
      [&](stairkv::key_event_atom, std::int32_t db, const std::string& key,
          const std::string& event) {
        heard = db == 0 && key == "remote:soon" && event == "expired";
      },
      caf::after(10s) >> [] { ADD_FAILURE() << "no expiry event came"; });
    EXPECT_TRUE(heard);

    // A second actor of this process subscribes, then terminates: the node
    // drops its subscription and keeps the first one's.
    auto short_lived = system.spawn([](caf::event_based_actor* actor) -> caf::behavior {
      return {
        [](stairkv::message_atom, const std::string&, const std::string&) {},
        [](stairkv::pmessage_atom, const std::string&, const std::string&,
           const std::string&) {},
        [](stairkv::key_event_atom, std::int32_t, const std::string&, const std::string&) {},
        [actor](caf::exit_msg& msg) { actor->quit(msg.reason); },
      };
    });
    self->request(*store, 10s, stairkv::psubscribe_atom::value,
                  caf::actor_cast<stairkv::subscriber_actor>(short_lived),
                  std::vector<std::string>{"remote:*"})
      .receive([&](std::int64_t n) { held = n; },
               [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
    EXPECT_EQ(held, 1);
    auto numpat = [&] {
      auto reply = redis.command({"PUBSUB", "NUMPAT"});
      return reply ? reply->integer : -1;
    };
    EXPECT_EQ(numpat(), 1);
    self->send_exit(short_lived, caf::exit_reason::user_shutdown);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (numpat() != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    EXPECT_EQ(numpat(), 0) << "the terminated actor's pattern was kept";
    EXPECT_EQ(numsub(redis, expired), 1);
  } // this process's actor system (and its connection to the node) ends here
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (numsub(redis, expired) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(numsub(redis, expired), 0) << "a gone process's subscription was kept";
  // The node serves on.
  auto pong = redis.command({"PING"});
  ASSERT_NE(pong, nullptr);
  EXPECT_EQ(std::string(pong->str, pong->len), "PONG");
  EXPECT_EQ(node->stop(), 0) << node->log();
}

// The store published over TLS (--caf-tls): a CAF application with a
// certificate from the same CA reaches it through CAF's openssl module.
TEST(RemoteStore, TheStoreOverTlsForACafApplicationWithACertificate) {
  auto dir = stairkv::testing::make_test_dir("caf-tls");
  stairkv::testing::make_test_certificates(dir);
  std::uint16_t caf_port = 0;
  auto node = start_publishing_node(
    caf_port, {"--caf-tls=yes", "--tls-cert-file=" + dir + "/server.crt",
               "--tls-key-file=" + dir + "/server.key", "--tls-ca-cert-file=" + dir + "/ca.crt"});
  ASSERT_NE(node, nullptr) << "the node never published its store";
  ASSERT_TRUE(node->wait_for_log("(TLS)", 5s)) << node->log();

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = dir + "/client.crt";
  cfg.openssl_key = dir + "/client.key";
  cfg.openssl_cafile = dir + "/ca.crt";
  stairkv::add_store_message_types(cfg);
  caf::actor_system system{cfg};
  auto store = caf::openssl::remote_actor<stairkv::store_actor>(system, "127.0.0.1", caf_port);
  ASSERT_TRUE(store) << system.render(store.error());
  caf::scoped_actor self{system};
  bool stored = false;
  self->request(*store, 10s, caf::put_atom::value, std::string{"tls:key"},
                std::string{"over TLS"})
    .receive([&](bool ok) { stored = ok; },
             [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
  EXPECT_TRUE(stored);
  hiredis_connection redis{node->port()};
  auto reply = redis.command({"GET", "tls:key"});
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str, reply->len), "over TLS");
  // Without a certificate from that CA, an application gets no store.
  {
    caf::actor_system_config anonymous_cfg;
    anonymous_cfg.load<caf::io::middleman>();
    anonymous_cfg.load<caf::openssl::manager>();
    stairkv::add_store_message_types(anonymous_cfg);
    caf::actor_system anonymous{anonymous_cfg};
    auto refused =
      caf::openssl::remote_actor<stairkv::store_actor>(anonymous, "127.0.0.1", caf_port);
    EXPECT_FALSE(refused) << "a client without a certificate reached the store";
  }
  self->send_exit(caf::actor_cast<caf::actor>(*store), caf::exit_reason::kill);
  EXPECT_EQ(node->stop(), 0) << node->log();
}
