// ACL: the checks of every call against its connection's user, the refusal
// log, the default user's password from requirepass, and the ACL command
// (SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG, SAVE,
// LOAD, DRYRUN, HELP). The users live in modules/acl; the gateway owns them.

#include <openssl/rand.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "modules/acl/categories.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

using commands::equals_ignoring_case;

std::string error_reply(const connection& conn, std::string_view msg) {
  std::string out;
  protocol::reply_writer{out, conn.context.resp_version}.error(msg);
  return out;
}

const char* reason_of(acl::denial d) {
  switch (d) {
    case acl::denial::command:
      return "command";
    case acl::denial::key:
      return "key";
    case acl::denial::channel:
      return "channel";
    default:
      return "";
  }
}

void count_denial(gateway_state& st, acl::denial d) {
  switch (d) {
    case acl::denial::command:
      ++st.acl_denied.commands;
      break;
    case acl::denial::key:
      ++st.acl_denied.keys;
      break;
    case acl::denial::channel:
      ++st.acl_denied.channels;
      break;
    default:
      break;
  }
}

// The name a denial names: the command (container|subcommand), or the
// refused key or channel.
std::string object_of(acl::denial d, std::size_t slot, const args& argv,
                      std::size_t position) {
  if (d == acl::denial::command)
    return commands::stat_slots()[slot].name;
  return position < argv.size() ? std::string{argv[position]} : std::string{};
}

void log_refusal(gateway_actor* self, const connection& conn, const char* reason,
                 const char* context, std::string object, std::string username) {
  acl::log_entry entry;
  entry.reason = reason;
  entry.context = context;
  entry.object = std::move(object);
  entry.username = std::move(username);
  entry.created_ms = shard::unix_now_ms();
  entry.client_info = client_info(conn, entry.created_ms);
  auto& st = self->state;
  st.acl_log.set_max(static_cast<std::size_t>(st.config.settings->limits.acllog_max_len));
  st.acl_log.add(std::move(entry));
}

std::string user_names_reply(const gateway_state& st, int resp) {
  std::string out;
  protocol::reply_writer w{out, resp};
  w.array(st.users.users().size());
  for (const auto& [name, u] : st.users.users())
    w.bulk(name);
  return out;
}

std::string getuser_reply(const acl::user& u, int resp) {
  std::string out;
  protocol::reply_writer w{out, resp};
  auto describe_selector = [&](const acl::selector& s) {
    w.bulk("commands");
    w.bulk(s.describe_commands());
    w.bulk("keys");
    w.bulk(s.describe_keys());
    w.bulk("channels");
    w.bulk(s.describe_channels());
  };
  w.map(6);
  w.bulk("flags");
  auto flags = u.flags();
  w.set(flags.size());
  for (const auto& f : flags)
    w.bulk(f);
  w.bulk("passwords");
  w.array(u.passwords().size());
  for (const auto& p : u.passwords())
    w.bulk(p);
  describe_selector(u.root());
  w.bulk("selectors");
  w.array(u.selectors().size() - 1);
  for (std::size_t i = 1; i < u.selectors().size(); ++i) {
    w.map(3);
    describe_selector(u.selectors()[i]);
  }
  return out;
}

std::string cat_reply(const args& argv, int resp) {
  std::string out;
  protocol::reply_writer w{out, resp};
  if (argv.size() == 2) {
    const auto& all = acl::categories();
    w.array(all.size());
    for (const auto& c : all)
      w.bulk(c.name);
    return out;
  }
  auto category = acl::find_category(argv[2]);
  if (!category) {
    w.error("ERR Unknown category '" + std::string{argv[2].substr(0, 128)} + "'");
    return out;
  }
  std::vector<std::string> names;
  const auto& slots = commands::stat_slots();
  for (std::size_t slot = 0; slot < slots.size(); ++slot)
    if ((acl::fact_of_slot(slot).categories & *category) != 0)
      names.push_back(slots[slot].name);
  w.array(names.size());
  for (const auto& n : names)
    w.bulk(n);
  return out;
}

std::string genpass_reply(const args& argv, int resp) {
  std::string out;
  protocol::reply_writer w{out, resp};
  std::int64_t bits = 256;
  if (argv.size() == 3 && (!protocol::parse_int64(argv[2], bits) || bits <= 0 || bits > 4096)) {
    w.error("ERR ACL GENPASS argument must be the number of bits for the output password, "
            "a positive number up to 4096");
    return out;
  }
  auto chars = static_cast<std::size_t>((bits + 3) / 4);
  std::vector<unsigned char> random((chars + 1) / 2);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    w.error("ERR the random number generator failed");
    return out;
  }
  auto text = acl::to_hex(random.data(), random.size());
  text.resize(chars);
  w.bulk(text);
  return out;
}

std::string log_reply(gateway_actor* self, const args& argv, int resp) {
  auto& st = self->state;
  std::string out;
  protocol::reply_writer w{out, resp};
  std::int64_t count = 10;
  if (argv.size() == 3) {
    if (equals_ignoring_case(argv[2], "reset")) {
      st.acl_log.reset();
      w.simple("OK");
      return out;
    }
    if (!protocol::parse_int64(argv[2], count) || count < 0) {
      w.error("ERR value is out of range, must be positive");
      return out;
    }
  }
  const auto& entries = st.acl_log.entries();
  auto n = std::min<std::size_t>(entries.size(), static_cast<std::size_t>(count));
  auto now = shard::unix_now_ms();
  w.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = entries[i];
    w.map(7);
    w.bulk("count");
    w.integer(e.count);
    w.bulk("reason");
    w.bulk(e.reason);
    w.bulk("context");
    w.bulk(e.context);
    w.bulk("object");
    w.bulk(e.object);
    w.bulk("username");
    w.bulk(e.username);
    w.bulk("age-seconds");
    w.double_value(static_cast<double>(now - e.created_ms) / 1000.0);
    w.bulk("client-info");
    w.bulk(e.client_info);
  }
  return out;
}

std::string dryrun_reply(gateway_actor* self, const args& argv, int resp) {
  auto& st = self->state;
  std::string out;
  protocol::reply_writer w{out, resp};
  auto u = st.users.find(argv[2]);
  if (!u) {
    w.error("ERR User '" + std::string{argv[2]} + "' not found");
    return out;
  }
  const auto* spec = commands::find_command(argv[3]);
  if (spec == nullptr) {
    w.error("ERR Command '" + std::string{argv[3]} + "' not found");
    return out;
  }
  args call(argv.begin() + 3, argv.end());
  if (!commands::arity_ok(*spec, call.size())) {
    w.error("ERR wrong number of arguments for '" + std::string{spec->name} + "' command");
    return out;
  }
  auto slot = commands::stat_slot_of(*spec, call);
  std::size_t position = 0;
  auto d = u->check(slot, call, position);
  if (d == acl::denial::none) {
    w.simple("OK");
  } else if (d == acl::denial::command) {
    w.bulk("This user has no permissions to run the '" + commands::stat_slots()[slot].name
           + "' command");
  } else if (d == acl::denial::key) {
    w.bulk("This user has no permissions to access the '" + std::string{call[position]}
           + "' key");
  } else {
    w.bulk("This user has no permissions to access the '" + std::string{call[position]}
           + "' channel");
  }
  return out;
}

constexpr const char* help_lines[] = {
  "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CAT [<category>]",
  "    List all commands that belong to <category>, or all command categories",
  "    when no category is specified.",
  "DELUSER <username> [<username> ...]",
  "    Delete a list of users.",
  "DRYRUN <username> <command> [<arg> ...]",
  "    Returns whether the user can execute the given command without executing the command.",
  "GETUSER <username>",
  "    Get the user's details.",
  "GENPASS [<bits>]",
  "    Generate a secure 256-bit user password. The optional `bits` argument can",
  "    be used to specify a different size.",
  "LIST",
  "    Show users details in config file format.",
  "LOAD",
  "    Reload users from the ACL file.",
  "LOG [<count> | RESET]",
  "    Show the ACL log entries.",
  "SAVE",
  "    Save the current config to the ACL file.",
  "SETUSER <username> <attribute> [<attribute> ...]",
  "    Create or modify a user with the specified attributes.",
  "USERS",
  "    List all the registered usernames.",
  "WHOAMI",
  "    Return the current connection username.",
  "HELP",
  "    Print this help.",
};

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to `path` through a temporary file renamed over it.
bool write_file(const std::string& path, const std::string& text) {
  auto temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out)
      return false;
    out << text;
    out.flush();
    if (!out)
      return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

} // namespace

void start_as_default(gateway_actor* self, connection& conn) {
  sync_default_password(self);
  conn.user = self->state.users.default_user();
  conn.authenticated = needs_no_auth(conn.user);
  conn.parser.set_unauthenticated(!conn.authenticated);
}

void sync_default_password(gateway_actor* self) {
  auto& st = self->state;
  const auto& password = st.config.settings->limits.requirepass;
  if (password == st.applied_requirepass)
    return;
  st.applied_requirepass = password;
  st.users.set_default_password(password);
  users_changed(self);
}

namespace {

// Whether a subscriber still may hear every channel and pattern it holds.
bool may_keep_subscriptions(const acl::user& u, const connection& c) {
  if (u.unrestricted() || !c.subscribed())
    return true;
  static const auto subscribe = *commands::find_stat_slot("subscribe");
  static const auto psubscribe = *commands::find_stat_slot("psubscribe");
  std::size_t position = 0;
  for (const auto& ch : c.channels)
    if (u.check(subscribe, {"subscribe", ch}, position) == acl::denial::channel)
      return false;
  for (const auto& p : c.patterns)
    if (u.check(psubscribe, {"psubscribe", p}, position) == acl::denial::channel)
      return false;
  static const auto ssubscribe = *commands::find_stat_slot("ssubscribe");
  for (const auto& ch : c.shard_channels)
    if (u.check(ssubscribe, {"ssubscribe", ch}, position) == acl::denial::channel)
      return false;
  return true;
}

} // namespace

void users_changed(gateway_actor* self, bool everyone_out) {
  auto& st = self->state;
  std::vector<std::uint64_t> gone;
  for (auto& [handle, c] : st.connections) {
    if (!c.user)
      continue;
    auto now = st.users.find(c.user->name());
    // Gone with its user, or a subscriber whose channels the user may no
    // longer hear (as Redis: closed rather than quietly unsubscribed).
    if (everyone_out || !now || (now != c.user && !may_keep_subscriptions(*now, c)))
      gone.push_back(handle);
    else
      c.user = std::move(now);
  }
  for (auto handle : gone) {
    auto it = st.connections.find(handle);
    if (it == st.connections.end())
      continue;
    if (it->second.unanswered > 0)
      it->second.closing = true; // once its replies (an ACL DELUSER's own) are out
    else
      close_client(self, it);
  }
}

std::string acl_refusal(gateway_actor* self, connection& conn, const args& argv,
                        std::size_t slot, const char* context) {
  std::size_t position = 0;
  auto d = conn.user->check(slot, argv, position);
  if (d == acl::denial::none)
    return {};
  auto& st = self->state;
  count_denial(st, d);
  log_refusal(self, conn, reason_of(d), context, object_of(d, slot, argv, position),
              conn.user->name());
  if (d == acl::denial::command)
    return "NOPERM this user has no permissions to run the '"
           + commands::stat_slots()[slot].name + "' command";
  if (d == acl::denial::key)
    return "NOPERM this user has no permissions to access one of the keys used as "
           "arguments";
  return "NOPERM this user has no permissions to access one of the channels used as "
         "arguments";
}

std::string script_acl_refusal(gateway_actor* self, const args& argv, std::size_t slot) {
  auto& st = self->state;
  if (!st.script_user || st.script_user->unrestricted())
    return {};
  std::size_t position = 0;
  auto d = st.script_user->check(slot, argv, position);
  if (d == acl::denial::none)
    return {};
  count_denial(st, d);
  auto caller = find_client(st, st.script_caller);
  if (caller != st.connections.end())
    log_refusal(self, caller->second, reason_of(d), "lua",
                object_of(d, slot, argv, position), st.script_user->name());
  if (d == acl::denial::command)
    return "-ERR The user executing the script can't run this command or subcommand\r\n";
  if (d == acl::denial::key)
    return "-ERR The user executing the script can't access at least one of the keys "
           "mentioned in the command arguments\r\n";
  return "-ERR The user executing the script can't publish to the channel mentioned in "
         "the command\r\n";
}

std::string script_acl_check(gateway_actor* self, const std::vector<std::string>& words) {
  auto& st = self->state;
  const auto* spec = words.empty() ? nullptr : commands::find_command(words[0]);
  args argv(words.begin(), words.end());
  if (spec == nullptr || !commands::arity_ok(*spec, argv.size()))
    return "-ERR Invalid command passed to redis.acl_check_cmd()\r\n";
  if (!st.script_user)
    return ":1\r\n";
  std::size_t position = 0;
  auto d = st.script_user->check(commands::stat_slot_of(*spec, argv), argv, position);
  return d == acl::denial::none ? ":1\r\n" : ":0\r\n";
}

void log_failed_auth(gateway_actor* self, const connection& conn, std::string username) {
  ++self->state.acl_denied.auth;
  log_refusal(self, conn, "auth", "toplevel", "AUTH", std::move(username));
}

void acl_command(gateway_actor* self, connection& conn, const args& argv,
                 commands::plan& work) {
  auto& st = self->state;
  sync_default_password(self);
  auto resp = conn.context.resp_version;
  auto sub = argv[1];
  auto reply = [&](std::string text) { work.add_reply(conn.context, text); };
  auto arity = [&] {
    reply(error_reply(conn, protocol::errors::wrong_arity(
                              "acl|" + commands::to_lower(sub.substr(0, 32)))));
  };
  // Redis's arity of each subcommand: a call outside it is a wrong-arity
  // error; one inside it that the subcommand still refuses (ACL CAT a b) is
  // an unknown-subcommand error.
  auto unknown = [&] {
    reply(error_reply(conn, "ERR unknown subcommand or wrong number of arguments for '"
                              + std::string{sub.substr(0, 128)} + "'. Try ACL HELP."));
  };
  struct sub_arity {
    const char* name;
    int arity;
  };
  static constexpr sub_arity arities[] = {
    {"cat", -2},     {"deluser", -3}, {"dryrun", -4}, {"genpass", -2}, {"getuser", 3},
    {"help", 2},     {"list", 2},     {"load", 2},    {"log", -2},     {"save", 2},
    {"setuser", -3}, {"users", 2},    {"whoami", 2},
  };
  for (const auto& a : arities)
    if (equals_ignoring_case(sub, a.name)) {
      auto n = static_cast<int>(argv.size());
      if (a.arity > 0 ? n != a.arity : n < -a.arity)
        return arity();
    }
  st.users.set_all_channels_by_default(st.config.settings->limits.acl_pubsub_allchannels);
  if (equals_ignoring_case(sub, "setuser")) {
    if (argv.size() < 3)
      return arity();
    std::vector<std::string_view> raw(argv.begin() + 3, argv.end());
    std::vector<std::string> rules;
    std::string unmatched;
    if (!acl::merge_selector_args(raw, rules, unmatched))
      return reply(error_reply(conn, "ERR Unmatched parenthesis in acl selector starting at '"
                                       + unmatched + "'."));
    auto error = st.users.set_user(argv[2], rules);
    if (!error.empty())
      return reply(error_reply(conn, error));
    users_changed(self);
    return reply("+OK\r\n");
  }
  if (equals_ignoring_case(sub, "getuser")) {
    if (argv.size() != 3)
      return arity();
    auto u = st.users.find(argv[2]);
    if (!u) {
      std::string out;
      protocol::reply_writer{out, resp}.null();
      return reply(out);
    }
    return reply(getuser_reply(*u, resp));
  }
  if (equals_ignoring_case(sub, "deluser")) {
    if (argv.size() < 3)
      return arity();
    std::vector<std::string> names(argv.begin() + 2, argv.end());
    bool refused = false;
    auto gone = st.users.delete_users(names, refused);
    if (refused)
      return reply(error_reply(conn, "ERR The 'default' user cannot be removed"));
    users_changed(self);
    return reply(":" + std::to_string(gone) + "\r\n");
  }
  if (equals_ignoring_case(sub, "list") || equals_ignoring_case(sub, "users")) {
    if (argv.size() != 2)
      return arity();
    if (equals_ignoring_case(sub, "users"))
      return reply(user_names_reply(st, resp));
    std::string out;
    protocol::reply_writer w{out, resp};
    w.array(st.users.users().size());
    for (const auto& [name, u] : st.users.users())
      w.bulk("user " + name + " " + u->describe());
    return reply(out);
  }
  if (equals_ignoring_case(sub, "whoami")) {
    if (argv.size() != 2)
      return arity();
    std::string out;
    protocol::reply_writer{out, resp}.bulk(conn.user ? conn.user->name() : "default");
    return reply(out);
  }
  if (equals_ignoring_case(sub, "cat")) {
    if (argv.size() > 3)
      return unknown();
    return reply(cat_reply(argv, resp));
  }
  if (equals_ignoring_case(sub, "genpass")) {
    if (argv.size() > 3)
      return unknown();
    return reply(genpass_reply(argv, resp));
  }
  if (equals_ignoring_case(sub, "log")) {
    if (argv.size() > 3)
      return unknown();
    return reply(log_reply(self, argv, resp));
  }
  if (equals_ignoring_case(sub, "dryrun")) {
    if (argv.size() < 4)
      return arity();
    return reply(dryrun_reply(self, argv, resp));
  }
  if (equals_ignoring_case(sub, "save") || equals_ignoring_case(sub, "load")) {
    if (argv.size() != 2)
      return arity();
    const auto& file = st.config.aclfile;
    if (file.empty())
      return reply(error_reply(
        conn, "ERR This Redis instance is not configured to use an ACL file. You may want "
              "to specify users via the ACL SETUSER command and then issue a CONFIG "
              "REWRITE (assuming you have a Redis configuration file set) in order to "
              "store users in the Redis configuration."));
    if (equals_ignoring_case(sub, "save")) {
      if (!write_file(file, st.users.save()))
        return reply(error_reply(conn, "ERR There was an error trying to save the ACLs. "
                                       "Please check the server logs for more information"));
      return reply("+OK\r\n");
    }
    bool readable = false;
    auto text = read_file(file, readable);
    if (!readable)
      return reply(error_reply(conn, "ERR Error loading ACLs, opening file '" + file + "'"));
    auto error = st.users.load(text, file);
    if (!error.empty())
      return reply(error_reply(conn, "ERR " + error));
    users_changed(self, true); // as Redis: every user is new, every client goes
    return reply("+OK\r\n");
  }
  if (equals_ignoring_case(sub, "help") && argv.size() == 2) {
    std::string out;
    protocol::reply_writer{out, resp}.help(help_lines);
    return reply(out);
  }
  unknown();
}

} // namespace stairkv::gateway
