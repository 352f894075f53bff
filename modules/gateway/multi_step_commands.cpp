// RENAME, RENAMENX, MSETNX and COPY read before they write, and their keys may live on
// different shards. Each runs as steps (steps.hpp): operations planned for no
// connection into the plan being built, and a function run once that plan's
// shards have answered, which plans the next step or fills in the client's reply.
// Meanwhile the client's later commands wait, so a pipeline sees the command's
// effect, and the command holds its keys: no other client's command on them is
// planned between the steps, so by plan order (README) the command is atomic for
// every client of the gateway.

#include <functional>
#include <string>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/shard/batch.hpp"

namespace stairkv::gateway {

namespace {

// The first step of RENAME and COPY: the source's value, type and deadline
// (a peek), then whether the destination exists.
void read_source_and_target(commands::plan& p, const std::string& src,
                            const std::string& dst, std::uint8_t dst_db = step_database) {
  auto& peek = p.open(hidden_client(), commands::plan::merge::single);
  p.route(peek, shard::op_code::peek, src);
  auto target = hidden_client();
  target.db = dst_db;
  auto& exists = p.open(target, commands::plan::merge::sum);
  p.route(exists, shard::op_code::exists, dst);
}

// RENAME key newkey / RENAMENX key newkey: step 1 reads the source (value,
// type and deadline) and, for RENAMENX, whether the target exists; step 2 deletes the
// source and writes the target with the same deadline. `finish` gets the reply.
template <class Finish>
void rename_steps(gateway_actor* self, std::string src, std::string dst, bool only_if_new,
                  Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) { read_source_and_target(p, src, dst); },
    [self, finish, src, dst, only_if_new](commands::plan& p, std::size_t first) mutable {
      auto source = p.part_of(first);
      const auto* peeked = source.share();
      if (peeked == nullptr || !peeked->found) {
        finish(peeked == nullptr ? source.bytes() : protocol::errors::as_reply(protocol::errors::no_such_key));
        return;
      }
      auto exists = p.count_of(first + 1);
      bool target_exists = !exists.error.empty() || exists.total != 0;
      if (src == dst) {
        finish(only_if_new ? ":0\r\n" : "+OK\r\n");
        return;
      }
      if (only_if_new && target_exists) {
        finish(":0\r\n");
        return;
      }
      std::string value{source.bytes()};
      auto deadline = peeked->deadline;
      auto type = peeked->type;
      plan_step(
        self,
        [&](commands::plan& next) {
          auto from = next.operations();
          auto& out = next.open(hidden_client(), commands::plan::merge::single);
          next.route(out, shard::op_code::rename_from, src);
          auto& in = next.open(hidden_client(), commands::plan::merge::single);
          next.route(in, shard::op_code::rename_to, dst, value, shard::restore_args{deadline, type});
          next.note_writes_since(from);
          join_script_writes(self, next);
        },
        [finish, only_if_new](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, second + 1);
          if (written.front() == '-')
            finish(written);
          else
            finish(only_if_new ? ":1\r\n" : "+OK\r\n");
        });
    });
}

// COPY source destination [REPLACE]: step 1 reads the source (value, type and
// deadline) and whether the destination exists; step 2 stores the copy (over
// the destination with REPLACE). :1 when copied, :0 when the source is missing
// or the destination exists.
template <class Finish>
void copy_steps(gateway_actor* self, std::string src, std::string dst, bool replace,
                std::uint8_t target, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) { read_source_and_target(p, src, dst, target); },
    [self, finish, src, dst, replace, target](commands::plan& p, std::size_t first) mutable {
      auto source = p.part_of(first);
      const auto* peeked = source.share();
      if (peeked == nullptr) {
        finish(source.bytes());
        return;
      }
      auto exists = p.count_of(first + 1);
      if (!exists.error.empty()) {
        finish(exists.error);
        return;
      }
      if (!peeked->found || (exists.total != 0 && !replace)) {
        finish(":0\r\n");
        return;
      }
      std::string value{source.bytes()};
      shard::restore_args copy{peeked->deadline, peeked->type};
      plan_step(
        self,
        [&](commands::plan& next) {
          auto from = next.operations();
          auto destination = hidden_client();
          destination.db = target;
          auto& in = next.open(destination, commands::plan::merge::single);
          next.route(in, shard::op_code::restore, dst, value, copy);
          next.note_writes_since(from);
          join_script_writes(self, next);
        },
        [finish](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, second);
          finish(written.front() == '-' ? written : ":1\r\n");
        });
    });
}

// COPY's options: REPLACE, and DB n (`target`: the shards' database it names,
// else the client's). Returns the error to answer with, or "".
std::string read_copy_options(gateway_actor* self, const args& argv, bool& replace,
                              std::uint8_t& target) {
  replace = false;
  target = step_database;
  const auto& map = *self->state.config.databases;
  for (std::size_t i = 3; i < argv.size(); ++i) {
    if (commands::equals_ignoring_case(argv[i], "replace")) {
      replace = true;
    } else if (commands::equals_ignoring_case(argv[i], "db") && i + 1 < argv.size()) {
      unsigned db = 0;
      std::string_view error;
      if (!map.read_number(argv[++i], db, error))
        return std::string{error};
      target = map.physical(db);
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  if (argv[1] == argv[2] && target == step_database)
    return "ERR source and destination objects are the same";
  return {};
}

// MSETNX key value [key value ...]: step 1 counts the keys that exist; step 2,
// if none does, sets them all.
template <class Finish>
void msetnx_steps(gateway_actor* self, std::vector<std::string> pairs, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& count = p.open(hidden_client(), commands::plan::merge::sum);
      for (std::size_t i = 0; i < pairs.size(); i += 2)
        p.route(count, shard::op_code::exists, pairs[i]);
    },
    [self, finish, pairs](commands::plan& p, std::size_t first) mutable {
      auto existing = p.count_of(first);
      if (!existing.error.empty() || existing.total != 0) {
        finish(!existing.error.empty() ? existing.error : ":0\r\n");
        return;
      }
      plan_step(
        self,
        [&](commands::plan& next) {
          auto from = next.operations();
          auto& set = next.open(hidden_client(), commands::plan::merge::all_ok);
          for (std::size_t i = 0; i < pairs.size(); i += 2)
            next.route(set, shard::op_code::set, pairs[i], pairs[i + 1]);
          next.note_writes_since(from);
          join_script_writes(self, next);
        },
        [finish](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, second);
          finish(written.front() == '-' ? written : ":1\r\n");
        });
    });
}

} // namespace

void rename_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  std::string src{argv[1]}, dst{argv[2]};
  rename_steps(self, src, dst, false, begin_holding_steps(self, conn, work, {src, dst}));
}

void renamenx_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  std::string src{argv[1]}, dst{argv[2]};
  rename_steps(self, src, dst, true, begin_holding_steps(self, conn, work, {src, dst}));
}

void copy_command(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work) {
  bool replace = false;
  std::uint8_t target = 0;
  if (auto error = read_copy_options(self, argv, replace, target); !error.empty()) {
    work.add_reply(conn.context, protocol::errors::as_reply(error));
    return;
  }
  std::string src{argv[1]}, dst{argv[2]};
  copy_steps(self, src, dst, replace, target,
             begin_holding_steps(self, conn, work, {src, dst}));
}

void msetnx_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  if (argv.size() % 2 == 0) {
    work.add_reply(conn.context,
                   protocol::errors::as_reply(protocol::errors::wrong_arity("msetnx")));
    return;
  }
  std::vector<std::string> pairs(argv.begin() + 1, argv.end());
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < pairs.size(); i += 2)
    keys.push_back(pairs[i]);
  msetnx_steps(self, std::move(pairs), begin_holding_steps(self, conn, work, std::move(keys)));
}

bool multi_step_from_script(gateway_actor* self, const args& argv,
                            std::function<void(std::string_view)> finish) {
  auto name = commands::to_lower(argv[0]);
  if ((name == "rename" || name == "renamenx") && argv.size() == 3) {
    // (No key needs holding here: the script holds the keys it declared, or
    // the whole store, from its start or this call on.)
    rename_steps(self, std::string{argv[1]}, std::string{argv[2]}, name == "renamenx",
                 std::move(finish));
    return true;
  }
  if (name == "copy" && argv.size() >= 3) {
    bool replace = false;
    std::uint8_t target = 0;
    if (auto error = read_copy_options(self, argv, replace, target); !error.empty()) {
      finish(protocol::errors::as_reply(error));
      return true;
    }
    copy_steps(self, std::string{argv[1]}, std::string{argv[2]}, replace, target,
               std::move(finish));
    return true;
  }
  if (name == "msetnx" && argv.size() >= 3 && argv.size() % 2 == 1) {
    msetnx_steps(self, std::vector<std::string>(argv.begin() + 1, argv.end()),
                 std::move(finish));
    return true;
  }
  return false;
}

} // namespace stairkv::gateway
