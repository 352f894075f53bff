// ACL users: rules, checks of calls, descriptions, the aclfile, the log.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modules/acl/categories.hpp"
#include "modules/acl/command_facts.hpp"
#include "modules/acl/registry.hpp"
#include "modules/acl/user.hpp"
#include "modules/commands/command_table.hpp"

using namespace stairkv;
using namespace stairkv::acl;

namespace {

// Checks a call as the gateway does: its slot from the command table.
denial check(const user& u, std::vector<std::string_view> argv,
             std::size_t* position = nullptr) {
  const auto* spec = commands::find_command(argv[0]);
  EXPECT_NE(spec, nullptr) << argv[0];
  auto slot = commands::stat_slot_of(*spec, argv);
  std::size_t at = 0;
  auto result = u.check(slot, argv, at);
  if (position != nullptr)
    *position = at;
  return result;
}

user with_rules(std::vector<std::string> rules) {
  user u{"app"};
  for (const auto& r : rules)
    EXPECT_EQ(u.apply(r), "") << r;
  return u;
}

} // namespace

TEST(AclUser, TheDefaultUserMayDoEverything) {
  registry users;
  auto d = users.default_user();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->unrestricted());
  EXPECT_TRUE(d->enabled());
  EXPECT_TRUE(d->password_ok("anything"));
  EXPECT_EQ(d->describe(), "on nopass ~* &* +@all");
  EXPECT_EQ(check(*d, {"flushall"}), denial::none);
}

TEST(AclUser, ANewUserIsOffAndMayDoNothing) {
  user u{"fresh"};
  EXPECT_FALSE(u.enabled());
  EXPECT_FALSE(u.password_ok(""));
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
  EXPECT_EQ(check(u, {"get", "k"}), denial::command);
  EXPECT_EQ(check(u, {"ping"}), denial::command);
  EXPECT_EQ(check(u, {"auth", "x"}), denial::none); // AUTH and HELLO always run
}

TEST(AclUser, KeyPatternsAndCategoriesLimitACall) {
  auto u = with_rules({"on", ">secret", "~cache:*", "+@read", "+set"});
  EXPECT_TRUE(u.password_ok("secret"));
  EXPECT_FALSE(u.password_ok("wrong"));
  EXPECT_FALSE(u.unrestricted());
  EXPECT_EQ(check(u, {"get", "cache:1"}), denial::none);
  EXPECT_EQ(check(u, {"set", "cache:1", "v"}), denial::none);
  std::size_t at = 0;
  EXPECT_EQ(check(u, {"mget", "cache:1", "other"}, &at), denial::key);
  EXPECT_EQ(at, 2u);
  EXPECT_EQ(check(u, {"del", "cache:1"}), denial::command);
  EXPECT_EQ(check(u, {"flushall"}), denial::command);
}

TEST(AclUser, ReadAndWritePermissionsOfKeysFollowTheKeySpecs) {
  auto u = with_rules({"on", "nopass", "+@all", "%R~read:*", "%W~write:*"});
  EXPECT_EQ(check(u, {"get", "read:1"}), denial::none);
  EXPECT_EQ(check(u, {"get", "write:1"}), denial::key);
  EXPECT_EQ(check(u, {"set", "write:1", "v"}), denial::none);
  // SET ... GET also reads the key.
  EXPECT_EQ(check(u, {"set", "write:1", "v", "GET"}), denial::key);
  // COPY reads its source and writes its destination.
  EXPECT_EQ(check(u, {"copy", "read:1", "write:2"}), denial::none);
  EXPECT_EQ(check(u, {"copy", "write:1", "read:2"}), denial::key);
  // LMOVE reads and writes both.
  EXPECT_EQ(check(u, {"lmove", "read:1", "write:1", "left", "right"}), denial::key);
  // SORT ... STORE writes the destination the key specs do not name.
  std::size_t at = 0;
  EXPECT_EQ(check(u, {"sort", "read:1", "store", "read:2"}, &at), denial::key);
  EXPECT_EQ(at, 3u);
  // EVAL's keys come after the count.
  EXPECT_EQ(check(u, {"eval", "return 1", "1", "other"}, &at), denial::key);
  EXPECT_EQ(at, 3u);
  EXPECT_EQ(u.root().describe_keys(), "%R~read:* %W~write:*");
  EXPECT_EQ(u.apply("%RW~both"), "");
  EXPECT_EQ(u.apply("%X~bad"), "Syntax error");
}

TEST(AclUser, SubcommandsAndFirstArguments) {
  auto u = with_rules({"on", "nopass", "+@all", "-config|set"});
  EXPECT_EQ(check(u, {"config", "get", "maxmemory"}), denial::none);
  EXPECT_EQ(check(u, {"config", "set", "maxmemory", "1"}), denial::command);
  EXPECT_EQ(u.root().describe_commands(), "+@all -config|set");

  auto v = with_rules({"on", "nopass", "-@all", "+config|get", "+select|0"});
  EXPECT_EQ(check(v, {"config", "get", "x"}), denial::none);
  EXPECT_EQ(check(v, {"config", "set", "x", "y"}), denial::command);
  EXPECT_EQ(check(v, {"select", "0"}), denial::none);
  EXPECT_EQ(check(v, {"select", "1"}), denial::command);
  EXPECT_EQ(v.root().describe_commands(), "-@all +config|get +select|0");
  EXPECT_EQ(v.apply("+config|get|x"), "Allowing first-arg of a subcommand is not supported");
  EXPECT_EQ(v.apply("+nosuchcommand"), "Unknown command or category name in ACL");
  EXPECT_EQ(v.apply("+@nosuchcategory"), "Unknown command or category name in ACL");
}

TEST(AclUser, CommandRulesAreDescribedWithCategoriesWhereTheyFit) {
  auto u = with_rules({"-@all", "+@read"});
  EXPECT_EQ(u.root().describe_commands(), "-@all +@read");
  auto v = with_rules({"+@all", "-@dangerous"});
  EXPECT_EQ(v.root().describe_commands(), "+@all -@dangerous");
  auto w = with_rules({"+@all", "-flushall"});
  EXPECT_EQ(w.root().describe_commands(), "+@all -flushall");
  // Whatever the description, applying it gives the same permissions.
  for (const auto* rules : {"-@all +@read +set -get", "+@all -@write +lpush",
                            "-@all +@hash +@string -@fast"}) {
    user original{"a"};
    std::vector<std::string> parts;
    ASSERT_TRUE(split_rules(rules, parts));
    for (const auto& p : parts)
      original.apply(p);
    user again{"b"};
    std::vector<std::string> described;
    split_rules(original.root().describe_commands(), described);
    for (const auto& p : described)
      ASSERT_EQ(again.apply(p), "") << p;
    for (std::size_t slot = 0; slot < commands::stat_slots().size(); ++slot)
      EXPECT_EQ(original.root().allows_slot(slot), again.root().allows_slot(slot))
        << rules << ": " << commands::stat_slots()[slot].name;
  }
}

TEST(AclUser, ChannelsArePatternsForPublishAndLiteralForPsubscribe) {
  auto u = with_rules({"on", "nopass", "+@all", "~*", "resetchannels", "&news.*"});
  EXPECT_EQ(check(u, {"publish", "news.sport", "m"}), denial::none);
  EXPECT_EQ(check(u, {"publish", "weather", "m"}), denial::channel);
  EXPECT_EQ(check(u, {"subscribe", "news.a", "weather"}), denial::channel);
  EXPECT_EQ(check(u, {"psubscribe", "news.*"}), denial::none);
  EXPECT_EQ(check(u, {"psubscribe", "news.s*"}), denial::channel);
  EXPECT_EQ(u.apply("allchannels"), "");
  EXPECT_NE(u.apply("&more"), "");
}

TEST(AclUser, PasswordsAreKeptAsSha256) {
  user u{"p"};
  EXPECT_EQ(u.apply(">one"), "");
  EXPECT_EQ(u.passwords().front(), hash_password("one"));
  EXPECT_EQ(hash_password("one").size(), 64u);
  EXPECT_EQ(u.apply("#" + hash_password("two")), "");
  EXPECT_TRUE(u.password_ok("two"));
  EXPECT_EQ(u.apply("#abc"),
            "The password hash must be exactly 64 characters and contain only "
            "lowercase hexadecimal characters");
  EXPECT_EQ(u.apply("<three"),
            "The password you are trying to remove from the user does not exist");
  EXPECT_EQ(u.apply("<one"), "");
  EXPECT_FALSE(u.password_ok("one"));
  EXPECT_EQ(u.apply("nopass"), "");
  EXPECT_TRUE(u.password_ok("whatever"));
  EXPECT_EQ(u.apply("resetpass"), "");
  EXPECT_FALSE(u.password_ok("whatever"));
}

TEST(AclUser, ASelectorAllowsWhatTheRootDoesNot) {
  auto u = with_rules({"on", "nopass", "+get", "~read:*", "(+set ~write:*)"});
  EXPECT_EQ(check(u, {"get", "read:1"}), denial::none);
  EXPECT_EQ(check(u, {"set", "write:1", "v"}), denial::none);
  EXPECT_EQ(check(u, {"set", "read:1", "v"}), denial::key);
  EXPECT_EQ(check(u, {"get", "write:1"}), denial::key);
  EXPECT_EQ(u.selectors().size(), 2u);
  EXPECT_EQ(u.describe(),
            "on nopass ~read:* resetchannels -@all +get "
            "(~write:* resetchannels -@all +set)");
  EXPECT_EQ(u.apply("clearselectors"), "");
  EXPECT_EQ(check(u, {"set", "write:1", "v"}), denial::command);
}

TEST(AclRegistry, SetUserAppliesAllRulesOrNone) {
  registry users;
  EXPECT_EQ(users.set_user("app", {"on", ">pw", "+get", "~k*"}), "");
  auto before = users.find("app");
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(users.set_user("app", {"+set", "+nosuch"}),
            "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category "
            "name in ACL");
  EXPECT_EQ(users.find("app"), before); // untouched
  EXPECT_EQ(users.set_user("bad name", {}),
            "ERR Usernames can't contain spaces or null characters");
  bool refused = false;
  EXPECT_EQ(users.delete_users({"default"}, refused), 0u);
  EXPECT_TRUE(refused);
  EXPECT_EQ(users.delete_users({"app", "nobody"}, refused), 1u);
  EXPECT_EQ(users.find("app"), nullptr);
}

TEST(AclRegistry, AnAclfileRoundTripsAndAMalformedOneChangesNothing) {
  registry users;
  ASSERT_EQ(users.set_user("app", {"on", ">pw", "~cache:*", "+@read", "(+set ~w*)"}), "");
  auto text = users.save();
  registry loaded;
  ASSERT_EQ(loaded.load(text, "users.acl"), "");
  EXPECT_EQ(loaded.save(), text);
  EXPECT_TRUE(loaded.find("app")->password_ok("pw"));

  auto error = loaded.load("user ok on nopass +@all\nuser broken on +nosuch\n", "f.acl");
  EXPECT_NE(error.find("f.acl:2: Error in applying operation '+nosuch'"), std::string::npos)
    << error;
  EXPECT_EQ(loaded.find("ok"), nullptr); // nothing of the file was taken
  EXPECT_NE(loaded.find("app"), nullptr);
  error = loaded.load("   \n# a comment\nfoo bar\n", "g.acl");
  EXPECT_NE(error.find("g.acl:3 should start with user keyword"), std::string::npos) << error;
  // A file without the default user gets the usual one.
  ASSERT_EQ(loaded.load("user only on nopass +@all ~*\n", "h.acl"), "");
  EXPECT_NE(loaded.default_user(), nullptr);
  EXPECT_TRUE(loaded.default_user()->unrestricted());
  EXPECT_EQ(loaded.users().size(), 2u);
}

TEST(AclLog, SimilarRefusalsAreCountedTogether) {
  refusal_log log{3};
  log.add({1, "command", "toplevel", "get", "app", 1, "id=1"});
  log.add({1, "key", "toplevel", "k", "app", 2, "id=1"});
  log.add({1, "command", "toplevel", "get", "app", 3, "id=2"});
  ASSERT_EQ(log.entries().size(), 2u);
  EXPECT_EQ(log.entries().front().count, 2);
  EXPECT_EQ(log.entries().front().client_info, "id=2");
  log.add({1, "auth", "toplevel", "AUTH", "x", 4, ""});
  log.add({1, "auth", "toplevel", "AUTH", "y", 5, ""});
  EXPECT_EQ(log.entries().size(), 3u); // the bound
  log.reset();
  EXPECT_TRUE(log.entries().empty());
}

TEST(AclFacts, CategoriesAndKeysOfCommands) {
  auto get = commands::find_stat_slot("get");
  ASSERT_TRUE(get);
  EXPECT_NE(fact_of_slot(*get).categories & cat::read, 0u);
  EXPECT_NE(fact_of_slot(*get).categories & cat::fast, 0u);
  auto flushall = commands::find_stat_slot("flushall");
  EXPECT_NE(fact_of_slot(*flushall).categories & cat::dangerous, 0u);
  std::vector<key_ref> keys;
  auto zunionstore = commands::find_stat_slot("zunionstore");
  std::vector<std::string_view> argv{"zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"};
  keys_of(*zunionstore, argv, keys);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].position, 1u);
  EXPECT_EQ(keys[0].access, key_write);
  EXPECT_EQ(keys[1].position, 3u);
  EXPECT_EQ(keys[2].position, 4u);
  EXPECT_EQ(keys[2].access, key_read);
  EXPECT_TRUE(find_category("SortedSet"));
  EXPECT_FALSE(find_category("nosuch"));
}
