// MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//
// EXEC plans the queued commands one after the other into one plan, behind the
// reply's array header. Every shard runs its share of a plan as one batch, and
// every plan of this gateway reaches every shard in the order the plans were
// made (one sender, first-in first-out mailboxes; during a resize each key's
// operations still travel one path), so no other client of this gateway sees
// the keys between a transaction's first and last operation.
//
// WATCH is kept here, where every command is planned: a key is touched when a
// write command is planned on it after the WATCH (FLUSHALL and FLUSHDB touch
// the watched keys that existed), and when the deadline its shard reported at
// WATCH time has passed by EXEC. A touched key makes EXEC answer a null array.

#include <algorithm>
#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/memory/policy.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/batch.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

// What one client may queue: the query buffer limit, which a pipeline of the
// same commands could not pass either.
constexpr std::size_t max_queued_bytes = std::size_t{1} << 30;
// What a queued command costs beside its arguments' bytes.
constexpr std::size_t queued_overhead = 64;

// A key's deadline before the shard has answered WATCH's read.
constexpr std::int64_t deadline_unknown = -3;

bool runs_inside_multi(std::string_view name) {
  return name == "exec" || name == "discard" || name == "multi" || name == "watch"
         || name == "quit" || name == "reset";
}

// Redis's no-multi commands among those here: refused while queuing, and the
// transaction is discarded.
bool refused_inside_multi(std::string_view name) {
  return name == "save" || name == "shutdown";
}

std::string null_array(const connection& conn) {
  return conn.context.resp_version >= 3 ? "_\r\n" : "*-1\r\n";
}

// Whether a key with a deadline when it was watched has passed it since.
bool watched_key_expired(const connection& conn, std::int64_t now) {
  for (const auto& [key, deadline] : conn.watching)
    if (deadline > 0 && deadline <= now)
      return true;
  return false;
}

} // namespace

bool queued_in_transaction(gateway_actor* self, connection& conn, const args& argv,
                           const commands::command_spec* spec, commands::plan& work) {
  if (spec != nullptr && runs_inside_multi(spec->name))
    return false;
  auto& tx = conn.transaction;
  std::string error;
  std::size_t bytes = queued_overhead;
  for (auto a : argv)
    bytes += a.size();
  if (spec == nullptr)
    error = commands::unknown_command_error(argv);
  else if (!commands::arity_ok(*spec, argv.size()))
    error = protocol::errors::wrong_arity(spec->name);
  else if (refused_inside_multi(spec->name))
    error = "ERR Command not allowed inside a transaction";
  else if ((spec->flags & commands::flag::denyoom) != 0 && work.refusing_growth())
    error = memory::oom_error; // as Redis: refused now, and EXEC aborts
  else if ((spec->flags & commands::flag::write) != 0 && !work.write_refusal().empty())
    error = work.write_refusal();
  else if (tx.queued_bytes + bytes > max_queued_bytes)
    error = "ERR MULTI queue past the client query buffer limit (1 GB); the "
            "transaction is discarded";
  if (!error.empty()) {
    tx.aborted = true;
    if (spec != nullptr)
      ++self->state.figures.rejected_calls[commands::stat_slot_of(*spec, argv)];
    if (tx.queued_bytes + bytes > max_queued_bytes)
      decltype(tx.queued){}.swap(tx.queued); // nothing of it will run
    work.add_reply(conn.context, protocol::errors::as_reply(error));
    return true;
  }
  if (!tx.aborted) {
    tx.queued.emplace_back(argv.begin(), argv.end());
    tx.queued_bytes += bytes;
  }
  work.add_reply(conn.context, "+QUEUED\r\n");
  return true;
}

void touch_watched_key(gateway_actor* self, std::string_view key) {
  auto& st = self->state;
  auto watched = st.watched_keys.find(shard::qualified_key(step_database, key));
  if (watched == st.watched_keys.end())
    return;
  for (auto tag : watched->second) {
    auto it = find_client(st, tag);
    if (it != st.connections.end()) {
      it->second.watch_touched = true;
      it->second.provisional_touch = 0;
    }
  }
}

void touch_watched_keys(gateway_actor* self, const commands::command_spec& spec,
                        const args& argv) {
  auto& st = self->state;
  std::string_view name = spec.name;
  if (name == "smove" || name == "sort")
    return; // they touch what they change themselves (set_steps.cpp, sort_command.cpp)
  // The STORE forms change their destination alone, not their sources.
  if (name == "sinterstore" || name == "sunionstore" || name == "sdiffstore"
      || name == "zunionstore" || name == "zinterstore" || name == "zdiffstore"
      || name == "zrangestore") {
    touch_watched_key(self, argv[1]);
    return;
  }
  // MOVE and COPY ... DB change the key in the other database too.
  if ((name == "move" && argv.size() == 3) || (name == "copy" && argv.size() > 3)) {
    std::string_view number;
    if (name == "move")
      number = argv[2];
    for (std::size_t i = 3; name == "copy" && i + 1 < argv.size(); ++i)
      if (commands::equals_ignoring_case(argv[i], "db"))
        number = argv[i + 1];
    unsigned n = 0;
    std::string_view error;
    const auto& map = *st.config.databases;
    if (!number.empty() && map.read_number(number, n, error)) {
      auto here = step_database;
      step_database = map.physical(n);
      touch_watched_key(self, name == "move" ? argv[1] : argv[2]);
      step_database = here;
    }
  }
  if (name == "flushall" || name == "flushdb") {
    bool every_db = name == "flushall";
    for (auto& [key, watchers] : st.watched_keys) {
      if (!every_db && shard::database_of_name(key) != step_database)
        continue;
      for (auto tag : watchers) {
        auto it = find_client(st, tag);
        if (it == st.connections.end())
          continue;
        for (const auto& [watched, deadline] : it->second.watching)
          if (watched == key && deadline != -2) {
            it->second.watch_touched = true;
            it->second.provisional_touch = 0;
          }
      }
    }
    return;
  }
  commands::visit_key_positions(spec, argv.size(), [&](std::size_t i) {
    touch_watched_key(self, argv[i]);
    return false;
  });
}

void touch_evicted_keys(gateway_actor* self, const commands::plan& done) {
  auto& st = self->state;
  done.evicted_keys([&](const std::string& key) {
    auto it = st.watched_keys.find(key);
    if (it == st.watched_keys.end())
      return;
    for (auto tag : it->second)
      if (auto c = find_client(st, tag); c != st.connections.end()) {
        c->second.watch_touched = true;
        c->second.provisional_touch = 0;
      }
  });
}

void unwatch_all(gateway_actor* self, connection& conn) {
  auto& keys = self->state.watched_keys;
  for (const auto& [key, deadline] : conn.watching) {
    auto it = keys.find(key);
    if (it == keys.end())
      continue;
    auto& watchers = it->second;
    watchers.erase(std::remove(watchers.begin(), watchers.end(), conn.context.tag),
                   watchers.end());
    if (watchers.empty())
      keys.erase(it);
  }
  conn.watching.clear();
  conn.watch_touched = false;
  conn.provisional_touch = 0;
}

void multi_command(gateway_actor*, connection& conn, const args&, commands::plan& work) {
  if (conn.transaction.active) {
    work.add_reply(conn.context, "-ERR MULTI calls can not be nested\r\n");
    return;
  }
  conn.transaction.active = true;
  work.add_reply(conn.context, "+OK\r\n");
}

void discard_command(gateway_actor* self, connection& conn, const args&,
                     commands::plan& work) {
  if (!conn.transaction.active) {
    work.add_reply(conn.context, "-ERR DISCARD without MULTI\r\n");
    return;
  }
  conn.transaction = {};
  unwatch_all(self, conn);
  work.add_reply(conn.context, "+OK\r\n");
}

void exec_command(gateway_actor* self, connection& conn, const args&,
                  commands::plan& work) {
  if (!conn.transaction.active) {
    work.add_reply(conn.context, "-ERR EXEC without MULTI\r\n");
    return;
  }
  auto tx = std::move(conn.transaction);
  conn.transaction = {};
  bool touched = conn.watch_touched || watched_key_expired(conn, work.now());
  unwatch_all(self, conn);
  if (tx.aborted) {
    work.add_reply(conn.context,
                   "-EXECABORT Transaction discarded because of previous errors.\r\n");
    return;
  }
  // Past maxmemory (noeviction), or while the append-only file cannot be
  // written, a transaction that would grow memory or write is refused whole,
  // as Redis refuses EXEC itself then; one of reads only runs.
  std::string refusal;
  for (const auto& command : tx.queued) {
    const auto* spec = commands::find_command(command[0]);
    if ((spec->flags & commands::flag::denyoom) != 0 && work.refusing_growth())
      refusal = memory::oom_error;
    else if ((spec->flags & commands::flag::write) != 0 && !work.write_refusal().empty())
      refusal = work.write_refusal();
    if (!refusal.empty())
      break;
  }
  if (!refusal.empty()) {
    work.add_reply(conn.context, protocol::errors::as_reply(
                                   "EXECABORT Transaction discarded because of: " + refusal));
    return;
  }
  if (touched) {
    work.add_reply(conn.context, null_array(conn));
    return;
  }
  std::string header;
  protocol::reply_writer{header, conn.context.resp_version}.array(tx.queued.size());
  work.add_reply(conn.context, header);
  auto from = work.operations();
  bool writes = false;
  bool stepped = false;
  for (const auto& command : tx.queued) {
    const auto* spec = commands::find_command(command[0]);
    writes = writes || (spec->flags & commands::flag::write) != 0;
    stepped = stepped || spec->run == nullptr;
  }
  auto& run = conn.exec;
  run = {};
  run.active = true;
  run.commands = std::move(tx.queued);
  if (stepped) {
    // A multi-step command among them plans its write after its read, in a
    // later plan; the commands after it wait for it. Meanwhile every key of
    // the transaction is held, so no other client sees it half done.
    for (const auto& command : run.commands) {
      const auto* spec = commands::find_command(command[0]);
      commands::visit_key_positions(*spec, command.size(), [&](std::size_t i) {
        run.held.push_back(command[i]);
        return false;
      });
    }
    hold_keys(self, run.held);
  }
  run_queued(self, conn, work);
  // Its writes reach the append-only file whole, or not at all (a transaction
  // that ran over several plans: each plan's part whole).
  if (writes)
    work.note_writes_since(from);
}

void run_queued(gateway_actor* self, connection& conn, commands::plan& work) {
  auto& run = conn.exec;
  bool keep = self->state.config.settings->limits.slowlog_log_slower_than >= 0;
  std::vector<std::string_view> argv;
  while (run.next < run.commands.size()) {
    const auto& command = run.commands[run.next++];
    argv.assign(command.begin(), command.end());
    const auto* spec = commands::find_command(argv[0]);
    ++conn.unanswered; // each queued command answers in the array
    auto ran = run_command(self, conn, argv, spec, commands::stat_slot_of(*spec, argv),
                           work, 0);
    if (keep && !ran.rejected)
      work.keep_args(ran.first_record, argv);
    if (conn.waiting_for_step)
      return; // resume_input() goes on once it has finished
  }
  auto held = std::move(run.held);
  run = {};
  if (!held.empty())
    release_keys(self, held);
}

void watch_command(gateway_actor* self, connection& conn, const args& argv,
                   commands::plan& work) {
  if (conn.transaction.active) {
    work.add_reply(conn.context, "-ERR WATCH inside MULTI is not allowed\r\n");
    return;
  }
  // Touched from now on by every write planned after this one.
  // (Watched by name with their database: shard::qualified_key.)
  std::vector<std::string> fresh;
  std::vector<std::string> names;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    auto name = shard::qualified_key(conn.context.db, argv[i]);
    bool already = std::any_of(conn.watching.begin(), conn.watching.end(),
                               [&](const auto& w) { return w.first == name; });
    if (already || std::find(names.begin(), names.end(), name) != names.end())
      continue;
    self->state.watched_keys[name].push_back(conn.context.tag);
    conn.watching.emplace_back(name, deadline_unknown);
    fresh.emplace_back(argv[i]);
    names.push_back(std::move(name));
  }
  if (fresh.empty()) {
    work.add_reply(conn.context, "+OK\r\n");
    return;
  }
  // Each new key's deadline, read in the same plan order.
  auto finish = begin_steps(self, conn, work);
  auto tag = conn.context.tag;
  plan_step(
    self,
    [&](commands::plan& p) {
      for (const auto& key : fresh) {
        auto& rec = p.open(hidden_client(), commands::plan::merge::sum);
        p.route(rec, shard::op_code::ttl, key, {},
                shard::ttl_args{shard::ttl_unit::unix_millis});
      }
    },
    [self, finish, tag, names](commands::plan& p, std::size_t first) mutable {
      auto& st = self->state;
      auto it = find_client(st, tag);
      if (it != st.connections.end()) {
        for (std::size_t i = 0; i < names.size(); ++i) {
          auto read = p.count_of(first + i);
          for (auto& [key, deadline] : it->second.watching)
            if (key == names[i] && deadline == deadline_unknown)
              deadline = read.error.empty() ? read.total : -1;
        }
      }
      finish("+OK\r\n");
    });
}

void unwatch_command(gateway_actor* self, connection& conn, const args&,
                     commands::plan& work) {
  unwatch_all(self, conn);
  work.add_reply(conn.context, "+OK\r\n");
}

} // namespace stairkv::gateway
