// Server and connection commands the plan answers by itself or by asking every shard.

#include <chrono>
#include <string>

#include "modules/acl/categories.hpp"
#include "modules/acl/facts_table.hpp"
#include "modules/commands/command_table.hpp"
#include "modules/commands/glob.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;


// Runs `fill` with a writer whose output becomes the command's reply.
template <class Fill>
void reply_local(plan& p, const client_context& client, Fill fill) {
  auto begin = p.local_bytes().size();
  auto& rec = p.open(client, plan::merge::local);
  protocol::reply_writer out{p.local_bytes(), client.resp_version};
  fill(out);
  p.close_local(rec, begin);
}

// Redis's ACL categories of a command or subcommand: Redis 7.0's own, as ACLs
// use them (acl/facts_table.hpp); for a command Redis 7.0 does not have, from
// what the table says of it (its group, its flags, whether it is
// administrative).
std::vector<const char*> acl_categories(const stat_slot& slot) {
  if (const auto* fact = acl::find_fact(slot.name)) {
    std::vector<const char*> out;
    for (const auto& c : acl::categories())
      if ((fact->categories & c.bit) != 0)
        out.push_back(c.name.data()); // the names are string literals
    return out;
  }
  const auto& spec = *slot.command;
  std::string_view group = spec.group;
  std::string_view name = spec.name;
  std::vector<const char*> out;
  if (group == "generic")
    out.push_back("keyspace");
  if (spec.flags & flag::readonly)
    out.push_back("read");
  if (spec.flags & flag::write)
    out.push_back("write");
  if (group == "string")
    out.push_back("string");
  if (group == "pubsub")
    out.push_back("pubsub");
  if (group == "connection")
    out.push_back("connection");
  if (group == "scripting")
    out.push_back("scripting");
  if (slot.admin)
    out.push_back("admin");
  if (slot.admin || name == "keys" || name == "flushall" || name == "flushdb"
      || name == "info" || name == "debug")
    out.push_back("dangerous");
  out.push_back((spec.flags & flag::fast) != 0 ? "fast" : "slow");
  return out;
}

void write_command_info(protocol::reply_writer& out, const command_spec& spec) {
  out.array(10);
  out.bulk(spec.name);
  out.integer(spec.arity);
  static constexpr std::pair<std::uint32_t, const char*> flag_names[] = {
    {flag::write, "write"},     {flag::readonly, "readonly"},
    {flag::denyoom, "denyoom"}, {flag::loading, "loading"},
    {flag::stale, "stale"},     {flag::fast, "fast"},
    {flag::blocking, "blocking"}, {flag::movablekeys, "movablekeys"},
  };
  std::size_t n = 0;
  for (auto& [bit, name] : flag_names)
    if (spec.flags & bit)
      ++n;
  out.set(n);
  for (auto& [bit, name] : flag_names)
    if (spec.flags & bit)
      out.simple(name);
  out.integer(spec.first_key);
  out.integer(spec.last_key);
  out.integer(spec.key_step);
  auto categories = acl_categories(stat_slots()[static_cast<std::size_t>(
    &spec - all_commands().data())]);
  out.set(categories.size());
  for (const auto* category : categories)
    out.simple(std::string{"@"} + category);
  out.set(0); // tips
  out.array(0); // key specs
  out.array(0); // subcommands
}

void write_command_docs(protocol::reply_writer& out, const command_spec& spec) {
  out.bulk(spec.name);
  out.map(3);
  out.bulk("summary");
  out.bulk(spec.summary);
  out.bulk("since");
  out.bulk(spec.since);
  out.bulk("group");
  out.bulk(spec.group);
}

} // namespace

// PING [message]
void plan_ping(plan& p, const client_context& client, const args& argv) {
  if (argv.size() > 2) {
    reply_error(p, client, protocol::errors::wrong_arity("ping"));
    return;
  }
  reply_local(p, client, [&](protocol::reply_writer& out) {
    if (argv.size() == 2)
      out.bulk(argv[1]);
    else
      out.simple("PONG");
  });
}

void plan_echo(plan& p, const client_context& client, const args& argv) {
  reply_local(p, client,
              [&](protocol::reply_writer& out) { out.bulk(argv[1]); });
}

namespace {

// The client's numbering of databases, or database 0 alone without one.
const engine::database_map& databases_of(const client_context& client) {
  static const engine::database_map only_zero{1};
  return client.databases != nullptr ? *client.databases : only_zero;
}

} // namespace

void plan_replay_step(plan& p, client_context client, const persistence::replay_step& step) {
  client.db = step.db; // the record's database, as the shards number them
  if (step.argv.empty()) {
    auto& rec = p.open(client, plan::merge::all_ok);
    p.route_to_all(rec, op_code::flush_from, {},
                   shard::origin_args{step.flush_shard, step.flush_stairs, step.flush_every_db});
    return;
  }
  if (step.list) {
    auto& rec = p.open(client, plan::merge::single);
    p.route(rec, op_code::list_replay, step.argv[0], step.argv[1], step.changed);
    return;
  }
  if (step.restore) {
    auto& rec = p.open(client, plan::merge::single);
    p.route(rec, op_code::restore, step.argv[0], step.argv[1], step.restored);
    return;
  }
  std::vector<std::string_view> argv(step.argv.begin(), step.argv.end());
  execute_command(p, client, argv);
}

void select_within(plan& p, client_context& client, std::string_view number) {
  unsigned db = 0;
  std::string_view error;
  const auto& map = databases_of(client);
  if (!map.read_number(number, db, error)) {
    reply_error(p, client, error);
    return;
  }
  client.db = map.physical(db);
  reply_local(p, client, [](protocol::reply_writer& out) { out.simple("OK"); });
}

// MOVE key db: the key goes to that database of its own shard (a key's shard
// does not depend on its database).
void plan_move(plan& p, const client_context& client, const args& argv) {
  unsigned db = 0;
  std::string_view error;
  const auto& map = databases_of(client);
  if (!map.read_number(argv[2], db, error)) {
    reply_error(p, client, error);
    return;
  }
  auto target = map.physical(db);
  if (target == client.db) {
    reply_error(p, client, "ERR source and destination objects are the same");
    return;
  }
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::move, argv[1], {}, shard::db_args{target});
}

void plan_dbsize(plan& p, const client_context& client, const args&) {
  auto& rec = p.open(client, plan::merge::sum);
  p.route_to_all(rec, op_code::count_keys);
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]: both modes empty every shard before replying.
void plan_flush(plan& p, const client_context& client, const args& argv) {
  if (argv.size() > 2
      || (argv.size() == 2 && !equals_ignoring_case(argv[1], "async")
          && !equals_ignoring_case(argv[1], "sync"))) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  // FLUSHALL: every database; FLUSHDB: the client's.
  bool all = equals_ignoring_case(argv[0], "flushall");
  auto& rec = p.open(client, plan::merge::all_ok);
  p.route_to_all(rec, all ? op_code::flush_all : op_code::flush);
}

namespace {

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]: the
// names of every command and subcommand ("client|list") that passes the
// filter. There are no modules, so FILTERBY MODULE lists nothing.
void plan_command_list(plan& p, const client_context& client, const args& argv) {
  enum class by { all, module, category, pattern } filter = by::all;
  std::string_view wanted;
  bool well_formed = argv.size() == 2;
  if (argv.size() == 5 && equals_ignoring_case(argv[2], "filterby")) {
    wanted = argv[4];
    well_formed = true;
    if (equals_ignoring_case(argv[3], "module"))
      filter = by::module;
    else if (equals_ignoring_case(argv[3], "aclcat"))
      filter = by::category;
    else if (equals_ignoring_case(argv[3], "pattern"))
      filter = by::pattern;
    else
      well_formed = false;
  }
  if (!well_formed) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& slot : stat_slots()) {
    bool keep = filter == by::all;
    if (filter == by::category) {
      for (const auto* category : acl_categories(slot))
        keep = keep || equals_ignoring_case(wanted, category);
    } else if (filter == by::pattern) {
      keep = glob_match(wanted, slot.name, true);
    }
    if (keep)
      names.push_back(slot.name);
  }
  reply_local(p, client, [&](protocol::reply_writer& out) {
    out.array(names.size());
    for (auto name : names)
      out.bulk(name);
  });
}

// COMMAND GETKEYS command [arg ...]: the keys the command would act on, from
// its first key, last key and step (MEMORY USAGE's key is its third word, a
// script call's keys follow their count, SORT's last STORE names one).
void plan_command_getkeys(plan& p, const client_context& client, const args& argv) {
  std::vector<std::string_view> call(argv.begin() + 2, argv.end());
  const auto* spec = find_command(call[0]);
  if (spec == nullptr) {
    reply_error(p, client, "ERR Invalid command specified");
    return;
  }
  if (!arity_ok(*spec, call.size())) {
    reply_error(p, client, "ERR Invalid number of arguments specified for command");
    return;
  }
  std::string_view name = spec->name;
  std::int64_t numkeys = 0;
  bool script_call = name == "eval" || name == "evalsha" || name == "eval_ro"
                     || name == "evalsha_ro" || name == "fcall" || name == "fcall_ro";
  if (script_call && protocol::parse_int64(call[2], numkeys) && numkeys == 0) {
    // A call without keys has none to name: an empty list, as Redis 7 answers.
    reply_local(p, client, [&](protocol::reply_writer& out) { out.array(0); });
    return;
  }
  std::vector<std::string_view> keys;
  if (!collect_keys(*spec, call, keys)) {
    reply_error(p, client, "ERR The command has no key arguments");
    return;
  }
  reply_local(p, client, [&](protocol::reply_writer& out) {
    out.array(keys.size());
    for (auto key : keys)
      out.bulk(key);
  });
}

} // namespace

// COMMAND [COUNT | INFO name... | DOCS name... | LIST | GETKEYS]
void plan_command(plan& p, const client_context& client, const args& argv) {
  const auto& table = all_commands();
  if (argv.size() == 1) {
    reply_local(p, client, [&](protocol::reply_writer& out) {
      out.array(table.size());
      for (const auto& spec : table)
        write_command_info(out, spec);
    });
    return;
  }
  auto sub = argv[1];
  if (equals_ignoring_case(sub, "count") && argv.size() == 2) {
    reply_local(p, client, [&](protocol::reply_writer& out) {
      out.integer(static_cast<std::int64_t>(table.size()));
    });
  } else if (equals_ignoring_case(sub, "list")) {
    plan_command_list(p, client, argv);
  } else if (equals_ignoring_case(sub, "getkeys") && argv.size() >= 3) {
    plan_command_getkeys(p, client, argv);
  } else if (equals_ignoring_case(sub, "info")) {
    reply_local(p, client, [&](protocol::reply_writer& out) {
      if (argv.size() == 2) {
        out.array(table.size());
        for (const auto& spec : table)
          write_command_info(out, spec);
        return;
      }
      out.array(argv.size() - 2);
      for (std::size_t i = 2; i < argv.size(); ++i) {
        if (const auto* spec = find_command(argv[i]))
          write_command_info(out, *spec);
        else
          out.null_array();
      }
    });
  } else if (equals_ignoring_case(sub, "docs")) {
    reply_local(p, client, [&](protocol::reply_writer& out) {
      if (argv.size() == 2) {
        out.map(table.size());
        for (const auto& spec : table)
          write_command_docs(out, spec);
        return;
      }
      std::vector<const command_spec*> found;
      for (std::size_t i = 2; i < argv.size(); ++i)
        if (const auto* spec = find_command(argv[i]))
          found.push_back(spec);
      out.map(found.size());
      for (const auto* spec : found)
        write_command_docs(out, *spec);
    });
  } else {
    auto msg = protocol::errors::unknown_subcommand(sub, "COMMAND");
    reply_error(p, client, msg);
  }
}

// TIME: Unix seconds and microseconds, as two bulk strings.
void plan_time(plan& p, const client_context& client, const args&) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  reply_local(p, client, [&](protocol::reply_writer& out) {
    out.array(2);
    out.bulk(std::to_string(micros / 1000000));
    out.bulk(std::to_string(micros % 1000000));
  });
}

} // namespace stairkv::commands
