// The pops that may wait or that span keys: BLPOP, BRPOP, BLMPOP, BLMOVE,
// BRPOPLPUSH, and LMPOP, LMOVE, RPOPLPUSH, which are their forms that never
// wait; and the same for sorted sets: BZPOPMIN, BZPOPMAX, BZMPOP, ZMPOP.
//
// A pop tries its keys in the command's order, one step per key (steps.hpp):
// each step sends a block_pop to the key's shard carrying the command's
// waiter (shard/blocking.hpp). The shard pops at once if the list has
// elements, else queues the waiter on the key and says so; then the next key
// is tried. Once every key has queued it, the client is blocked: the first
// push that reaches any of its keys has that key's shard pop for it and send
// the reply here (woken_atom), while its timeout, CLIENT UNBLOCK or its
// leaving claims the waiter from this side instead. Whoever claims it first
// answers; the rest drop it (the other shards are told, with unblock). So a
// client is served exactly once, in the order clients blocked on a key, with
// the element a push brought never seen by anyone else. Inside MULTI and
// scripts the pops never wait (no_wait), as in Redis.
//
// The moves (BLMOVE, LMOVE...) pop from the source as above, then push to the
// destination in a second step; a destination of another type gets its
// element back at the source's end it came from, and the client -WRONGTYPE,
// as Redis leaves both lists.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/gateway_state.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/blocking.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::gateway {

// One pop command on its way: what it asks, its waiter, and where its reply
// goes.
struct pop_run {
  std::vector<std::string> keys;
  shard::block_args how;
  bool moving = false; // BLMOVE and friends: the element goes to destination
  std::string destination;
  shard::list_end destination_end = shard::list_end::left;
  // When a blocked client times out, on the steady clock from the moment
  // the command started (timed: there is a timeout; 0 waits forever).
  std::chrono::steady_clock::time_point deadline{};
  bool timed = false;
  shard::waiter_ptr waiter;
  // Where the reply goes: `finish` for a script's or an EXEC's pop; for a
  // client's, its slot in the plan of its command until the client blocks,
  // then straight to the client (a blocked client's slot would hold back
  // the replies of every plan after it, so it is filled empty then).
  std::function<void(std::string_view)> finish;
  std::optional<later_reply> slot;
  bool detached = false;
  std::uint64_t tag = 0; // the blocked client (0: a script's or EXEC's pop)
  std::vector<std::string> registered; // keys whose shards queued the waiter
  std::vector<std::string> held;       // keys held while it runs (LMOVE)
  bool waiting = false;                // queued on every key: the client is blocked
  bool abandoned = false;              // its client left while a step was on its way
  std::string command_name;            // lower case, for INFO's figures
  // The shards' database of its keys, kept for the operations it plans later
  // (a timeout, a wakeup, its client leaving).
  std::uint8_t db = step_database;
};

namespace {

using shard::block_form;
using shard::list_end;
namespace marker = shard::block_marker;

std::string null_reply(const pop_run& run) {
  if (run.how.resp >= 3)
    return "_\r\n";
  return run.how.form == block_form::element ? "$-1\r\n" : "*-1\r\n";
}

// A timeout in seconds, as Redis reads it: a float, not negative; 0 for none.
bool read_timeout(std::string_view text, std::int64_t& ms, std::string& error) {
  long double seconds = 0;
  std::string copy{text};
  char* end = nullptr;
  errno = 0;
  seconds = std::strtold(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno != 0 || std::isnan(seconds)
      || std::isinf(seconds) || std::isspace(static_cast<unsigned char>(copy[0]))) {
    error = "ERR timeout is not a float or out of range";
    return false;
  }
  auto millis = std::ceil(seconds * 1000.0L);
  if (millis < 0) {
    error = "ERR timeout is negative";
    return false;
  }
  if (millis > static_cast<long double>(std::numeric_limits<std::int64_t>::max() / 2)) {
    error = "ERR timeout is out of range";
    return false;
  }
  ms = static_cast<std::int64_t>(millis);
  return true;
}

// LEFT or RIGHT; for a sorted set (ZMPOP, BZMPOP), MIN (left) or MAX.
bool read_end(std::string_view text, list_end& end, bool zset = false) {
  if (zset) {
    if (commands::equals_ignoring_case(text, "min")) {
      end = list_end::left;
      return true;
    }
    if (commands::equals_ignoring_case(text, "max")) {
      end = list_end::right;
      return true;
    }
    return false;
  }
  if (commands::equals_ignoring_case(text, "left")) {
    end = list_end::left;
    return true;
  }
  if (commands::equals_ignoring_case(text, "right")) {
    end = list_end::right;
    return true;
  }
  return false;
}

void attempt(gateway_actor* self, std::shared_ptr<pop_run> run, std::size_t i);

// The waiter leaves the queues of the keys it still waits on.
void withdraw(gateway_actor* self, const pop_run& run) {
  if (run.registered.empty())
    return;
  step_database = run.db;
  auto& work = current_plan(self);
  for (const auto& key : run.registered) {
    auto& rec = work.open(hidden_client(), commands::plan::merge::single);
    work.route_waiter(rec, shard::op_code::unblock, key, run.how, run.waiter);
  }
}

// The run is over: its reply goes out, its client may go on.
void complete(gateway_actor* self, const std::shared_ptr<pop_run>& run,
              std::string_view reply) {
  withdraw(self, *run);
  run->registered.clear();
  if (run->tag != 0) {
    auto it = find_client(self->state, run->tag);
    if (it != self->state.connections.end() && it->second.blocked == run)
      it->second.blocked.reset();
  }
  if (!run->held.empty())
    release_keys(self, run->held);
  if (run->slot) {
    auto slot = std::move(*run->slot);
    run->slot.reset();
    if (!run->detached) {
      slot(reply);
    } else {
      auto it = find_client(self->state, run->tag);
      if (it != self->state.connections.end()) {
        // Its plan counted an empty reply: an error is counted now.
        if (!reply.empty() && reply.front() == '-') {
          auto& figures = self->state.figures;
          figures.count_error(reply);
          auto command = commands::find_stat_slot(run->command_name);
          if (command && *command < figures.failed_calls.size())
            ++figures.failed_calls[*command];
        }
        write_when_answered(self, it->second, reply);
      }
    }
    resume_input(self, run->tag);
    return;
  }
  auto finish = std::move(run->finish);
  run->finish = nullptr;
  if (finish)
    finish(reply);
}

// The elements of a pop's reply, in the order they were popped.
std::vector<std::string> popped_elements(std::string_view reply) {
  protocol::reply parsed;
  std::vector<std::string> out;
  if (protocol::read_reply(reply, parsed).status != protocol::read_status::complete)
    return out;
  if (parsed.type == protocol::reply::kind::bulk) {
    out.push_back(parsed.text);
  } else if (parsed.type == protocol::reply::kind::array && parsed.elements.size() == 2) {
    const auto& second = parsed.elements[1];
    if (second.type == protocol::reply::kind::bulk)
      out.push_back(second.text);
    else
      for (const auto& e : second.elements)
        out.push_back(e.text);
  }
  return out;
}

// Puts popped elements back where they were: at the end of `key` they came
// from, the first popped outermost.
void put_back(gateway_actor* self, const std::string& key, list_end end,
              const std::vector<std::string>& elements) {
  if (elements.empty())
    return;
  std::string packed;
  for (auto it = elements.rbegin(); it != elements.rend(); ++it)
    values::append_item(packed, *it);
  auto& work = current_plan(self);
  auto from = work.operations();
  auto& rec = work.open(hidden_client(), commands::plan::merge::single);
  shard::list_args push;
  push.end = end;
  work.route(rec, shard::op_code::lpush, key, packed, push);
  work.note_writes_since(from);
}

// A pop happened on `key` (or was refused with an error): a move pushes the
// element on, anything else answers.
void served(gateway_actor* self, const std::shared_ptr<pop_run>& run, const std::string& key,
            std::string reply) {
  step_database = run->db;
  touch_watched_key(self, key);
  if (!run->moving || reply.empty() || reply.front() == '-') {
    complete(self, run, reply);
    return;
  }
  auto elements = popped_elements(reply);
  if (elements.empty()) {
    complete(self, run, reply);
    return;
  }
  std::string packed;
  values::append_item(packed, elements.front());
  plan_step(
    self,
    [&](commands::plan& p) {
      auto from = p.operations();
      auto& rec = p.open(hidden_client(), commands::plan::merge::single);
      shard::list_args push;
      push.end = run->destination_end;
      p.route(rec, shard::op_code::lpush, run->destination, packed, push);
      touch_watched_key(self, run->destination);
      p.note_writes_since(from);
      join_script_writes(self, p);
    },
    [self, run, key, elements, reply](commands::plan& p, std::size_t first) mutable {
      auto pushed = reply_of(p, first);
      if (!pushed.empty() && pushed.front() == '-') {
        put_back(self, key, run->how.end, elements);
        complete(self, run, pushed);
        return;
      }
      complete(self, run, reply);
    });
}

// Every key queued the waiter: the client waits, until its deadline if any.
void wait_for_push(gateway_actor* self, const std::shared_ptr<pop_run>& run) {
  run->waiting = true;
  if (run->slot && !run->detached) {
    run->detached = true;
    (*run->slot)({});
  }
  if (!run->timed || run->tag == 0)
    return;
  // The time left, to the nanosecond: a timeout never fires before the whole
  // of it has passed since the command came.
  auto left = std::max(run->deadline - std::chrono::steady_clock::now(),
                       std::chrono::steady_clock::duration::zero());
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::nanoseconds>(left),
                     block_timeout_atom::value, run->tag, run->waiter->serial);
}

// Tries key `i` and, as long as nothing was popped, the keys after it.
void attempt(gateway_actor* self, std::shared_ptr<pop_run> run, std::size_t i) {
  step_database = run->db;
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& rec = p.open(hidden_client(), commands::plan::merge::single);
      p.route_waiter(rec, shard::op_code::block_pop, run->keys[i], run->how, run->waiter);
    },
    [self, run, i](commands::plan& p, std::size_t first) mutable {
      auto reply = reply_of(p, first);
      const auto& key = run->keys[i];
      if (reply == marker::taken) {
        // Answered elsewhere (a push on an earlier key, the timeout), or its
        // client left: then its reply slot is filled here, empty.
        if (run->abandoned)
          complete(self, run, {});
        return;
      }
      if (reply == marker::waiting || reply == marker::empty) {
        if (reply == marker::waiting)
          run->registered.push_back(key);
        if (run->abandoned) {
          complete(self, run, {});
          return;
        }
        if (i + 1 < run->keys.size()) {
          attempt(self, run, i + 1);
          return;
        }
        if (reply == marker::empty || run->how.no_wait) {
          if (run->waiter->claim())
            complete(self, run, null_reply(*run));
          return;
        }
        wait_for_push(self, run);
        return;
      }
      served(self, run, key, std::move(reply));
    });
}

// The parsed command, or the error to answer.
struct parsed_pop {
  std::shared_ptr<pop_run> run;
  std::string error;
  bool may_wait = false;
  std::int64_t timeout_ms = 0;
};

// The keys of LMPOP and BLMPOP from argv[at] (numkeys) on, with the end and COUNT.
bool read_mpop(const args& argv, std::size_t at, pop_run& run, std::string& error) {
  std::int64_t numkeys = 0;
  if (!protocol::parse_int64(argv[at], numkeys) || numkeys <= 0) {
    error = "ERR numkeys should be greater than 0";
    return false;
  }
  auto where = at + 1 + static_cast<std::size_t>(numkeys);
  if (static_cast<std::uint64_t>(numkeys) >= argv.size() || where >= argv.size()) {
    error = protocol::errors::syntax;
    return false;
  }
  if (!read_end(argv[where], run.how.end, run.how.zset)) {
    error = protocol::errors::syntax;
    return false;
  }
  run.how.count = 1;
  bool counted = false;
  for (auto i = where + 1; i < argv.size(); ++i) {
    if (!counted && commands::equals_ignoring_case(argv[i], "count") && i + 1 < argv.size()) {
      std::int64_t n = 0;
      if (!protocol::parse_int64(argv[++i], n) || n <= 0) {
        error = "ERR count should be greater than 0";
        return false;
      }
      run.how.count = n;
      counted = true;
    } else {
      error = protocol::errors::syntax;
      return false;
    }
  }
  run.keys.assign(argv.begin() + static_cast<std::ptrdiff_t>(at + 1),
                  argv.begin() + static_cast<std::ptrdiff_t>(where));
  run.how.form = block_form::multi;
  return true;
}

parsed_pop parse_pop(const args& argv, int resp) {
  parsed_pop out;
  out.run = std::make_shared<pop_run>();
  auto& run = *out.run;
  run.how.resp = static_cast<std::uint8_t>(resp);
  auto name = commands::to_lower(argv[0]);
  run.command_name = name;
  auto& error = out.error;
  if (name == "blpop" || name == "brpop") {
    run.how.end = name == "blpop" ? list_end::left : list_end::right;
    run.how.form = block_form::pair;
    run.keys.assign(argv.begin() + 1, argv.end() - 1);
    out.may_wait = read_timeout(argv.back(), out.timeout_ms, error);
  } else if (name == "bzpopmin" || name == "bzpopmax") {
    run.how.zset = true;
    run.how.end = name == "bzpopmin" ? list_end::left : list_end::right;
    run.how.form = block_form::pair;
    run.keys.assign(argv.begin() + 1, argv.end() - 1);
    out.may_wait = read_timeout(argv.back(), out.timeout_ms, error);
  } else if (name == "blmpop" || name == "bzmpop") {
    run.how.zset = name == "bzmpop";
    out.may_wait = read_timeout(argv[1], out.timeout_ms, error) && read_mpop(argv, 2, run, error);
  } else if (name == "lmpop" || name == "zmpop") {
    run.how.zset = name == "zmpop";
    read_mpop(argv, 1, run, error);
  } else if (name == "blmove" || name == "lmove") {
    bool blocking = name == "blmove";
    if (!read_end(argv[3], run.how.end) || !read_end(argv[4], run.destination_end))
      error = protocol::errors::syntax;
    else if (blocking)
      out.may_wait = read_timeout(argv[5], out.timeout_ms, error);
  } else if (name == "brpoplpush" || name == "rpoplpush") {
    run.how.end = list_end::right;
    run.destination_end = list_end::left;
    if (name == "brpoplpush")
      out.may_wait = read_timeout(argv[3], out.timeout_ms, error);
  } else {
    error = "-";
    return out;
  }
  if (name == "blmove" || name == "lmove" || name == "brpoplpush" || name == "rpoplpush") {
    run.moving = true;
    run.how.form = block_form::element;
    run.keys = {std::string{argv[1]}};
    run.destination = std::string{argv[2]};
  }
  if (!error.empty())
    out.may_wait = false;
  return out;
}

// Starts a parsed pop: `finish` gets its reply; a client's pop (`tag`) may
// wait for a push, unless `no_wait`.
void start_pop(gateway_actor* self, std::shared_ptr<pop_run> run, bool may_wait,
               std::int64_t timeout_ms, std::uint64_t tag,
               std::function<void(std::string_view)> finish) {
  // (A client's pop came with its slot already: run->slot.)
  auto& st = self->state;
  run->how.no_wait = !may_wait || tag == 0;
  run->how.count = std::max<std::int64_t>(run->how.count, 1);
  run->tag = tag;
  run->finish = std::move(finish);
  if (timeout_ms > 0) {
    run->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
    run->timed = true;
  }
  auto waiter = std::make_shared<shard::blocked_pop>();
  waiter->request = run->how;
  waiter->gateway = caf::actor_cast<caf::actor>(self);
  waiter->tag = tag;
  waiter->serial = ++st.block_serial;
  run->waiter = std::move(waiter);
  if (!run->how.no_wait) {
    auto it = find_client(st, run->tag);
    if (it != st.connections.end())
      it->second.blocked = run;
  }
  attempt(self, std::move(run), 0);
}

} // namespace

void blocking_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  auto parsed = parse_pop(argv, conn.context.resp_version);
  if (!parsed.error.empty()) {
    work.add_reply(conn.context, protocol::errors::as_reply(parsed.error));
    return;
  }
  auto& run = parsed.run;
  // Inside EXEC the pop never waits, and the transaction holds its keys
  // already; in a script's EXEC, too.
  if (conn.exec.active) {
    auto finish = begin_steps(self, conn, work);
    start_pop(self, run, false, 0, 0, std::move(finish));
    return;
  }
  // A move that never waits holds both its keys, so nobody sees the element
  // between its lists.
  if (run->moving && !parsed.may_wait) {
    run->held = {run->keys.front(), run->destination};
    hold_keys(self, run->held);
  }
  run->slot = reply_later(self, conn, work);
  conn.waiting_for_step = true;
  start_pop(self, run, parsed.may_wait, parsed.timeout_ms, conn.context.tag, nullptr);
}

bool blocking_from_script(gateway_actor* self, const args& argv, int resp,
                          std::function<void(std::string_view)> finish) {
  // (The script holds its keys already: declared, or the whole store.)
  auto parsed = parse_pop(argv, resp);
  if (parsed.error == "-")
    return false;
  if (!parsed.error.empty()) {
    finish(protocol::errors::as_reply(parsed.error));
    return true;
  }
  start_pop(self, parsed.run, false, 0, 0, std::move(finish));
  return true;
}

void on_woken(gateway_actor* self, std::uint64_t tag, std::uint64_t serial, std::string key,
              std::string reply, std::uint8_t end) {
  auto& st = self->state;
  auto it = find_client(st, tag);
  if (it == st.connections.end() || !it->second.blocked
      || it->second.blocked->waiter->serial != serial) {
    // The client left after its pop was made: the elements go back.
    if (!reply.empty() && reply.front() != '-')
      put_back(self, key, static_cast<list_end>(end), popped_elements(reply));
    return;
  }
  auto run = it->second.blocked;
  // The shard took it off that key's queue; the others still hold it.
  run->registered.erase(std::remove(run->registered.begin(), run->registered.end(), key),
                        run->registered.end());
  served(self, run, key, std::move(reply));
}

void on_block_timeout(gateway_actor* self, std::uint64_t tag, std::uint64_t serial) {
  auto& st = self->state;
  auto it = find_client(st, tag);
  if (it == st.connections.end() || !it->second.blocked)
    return;
  auto run = it->second.blocked;
  if (run->waiter->serial != serial || !run->waiter->claim())
    return;
  complete(self, run, null_reply(*run));
}

void leave_blocked(gateway_actor* self, connection& conn) {
  auto run = std::move(conn.blocked);
  if (!run)
    return;
  // Claimed already: a shard popped for it, and its reply will find nobody
  // (on_woken puts the elements back).
  if (run->waiter->claim()) {
    withdraw(self, *run);
    run->registered.clear();
    // A step still on its way comes back "taken" and fills the slot.
    run->abandoned = !run->waiting;
  }
  run->finish = nullptr;
}

bool unblock_client(gateway_actor* self, std::uint64_t id, bool with_error) {
  auto& st = self->state;
  for (auto& [handle, conn] : st.connections) {
    if (conn.serial != id || !conn.blocked || !conn.blocked->waiting)
      continue;
    auto run = conn.blocked;
    if (!run->waiter->claim())
      return false;
    complete(self, run,
             with_error ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
                        : null_reply(*run));
    return true;
  }
  return false;
}

std::int64_t blocked_clients(const gateway_state& st) {
  std::int64_t n = 0;
  for (const auto& [handle, conn] : st.connections)
    if (conn.blocked && conn.blocked->waiting && !conn.blocked->waiter->served())
      ++n;
  return n;
}

} // namespace stairkv::gateway

namespace stairkv::gateway {

void rehome_blocked_clients(gateway_actor* self, std::uint8_t a, std::uint8_t b) {
  auto& st = self->state;
  std::vector<std::shared_ptr<pop_run>> moving;
  for (auto& [handle, conn] : st.connections) {
    auto& run = conn.blocked;
    if (!run || !run->waiting || run->waiter->served() || (run->db != a && run->db != b)
        || run->db == conn.context.db)
      continue;
    // Off the queues of its old database, then on those of the new one, in
    // one plan: a push planned after the swap finds it there.
    withdraw(self, *run);
    run->registered.clear();
    run->db = conn.context.db;
    moving.push_back(run);
  }
  for (auto& run : moving)
    attempt(self, run, 0);
}

} // namespace stairkv::gateway
