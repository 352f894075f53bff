#include "modules/shard/shard_actor.hpp"

#include <chrono>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/response_promise.hpp>

#include "modules/engine/staircase.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/clock.hpp"
#include "modules/shard/merge.hpp"
#include "modules/shard/table.hpp"

namespace stairkv::shard {

namespace {

// Keys taken out of the table per handover step; small enough that client
// batches queued behind a step wait microseconds, not milliseconds.
constexpr std::size_t handover_chunk = 512;

// Handovers in flight at once from one old shard: the credit that keeps an old
// shard from flooding the new shards' mailboxes faster than they adopt.
constexpr std::size_t handover_credit = 8;

// Pacing: after a step that took t, an old shard waits pacing_factor * t * (old
// shards) before the next one, so that all the old shards together spend at most
// 1 / (1 + pacing_factor) of one thread on handing over (which matters when they
// share the I/O thread with the gateway). Measured on the reference workload:
// unpaced, a resize from 3 to 7 shards at 750,000 keys dropped one 100 ms bucket
// of throughput to a tenth of the median; a factor of 3 to 0.45 of it, 6 to 0.56.
constexpr int pacing_factor = 6;

// Where the reply of one operation of a forwarded batch comes from.
struct op_route {
  enum class kind : std::uint8_t { forwarded, summed, all_ok, local, joined };
  kind how = kind::local;
  std::uint32_t target = 0; // forwarded: which target, and which op there
  std::uint32_t index = 0;
  std::uint32_t fan_begin = 0; // summed / all_ok / joined: range in `fan`
  std::uint32_t fan_end = 0;
  std::int64_t local_count = 0; // summed: this shard's own share
  bool counted = false;         // summed: the client asked for the count typed
  bool has_local = false;       // local / joined: this shard's reply `local_index`
  std::uint32_t local_index = 0;
};

// Appends reply `p` (its bytes and its share, if any) to `out` as its next reply.
void copy_part(const reply_part& p, batch_result& out) {
  if (const auto* share = p.share()) {
    auto& copy = out.add_share();
    auto index = copy.reply;
    copy = *share;
    copy.reply = index;
  }
  out.replies.append(p.bytes());
}

// A client batch split over the new shards, waiting for their answers.
struct forwarded_batch {
  caf::response_promise promise;
  std::vector<batch_result> results; // per target
  std::size_t waiting = 0;
  std::vector<op_route> routes;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> fan; // (target, op)
  batch_result local; // this shard's own shares of keyless operations
  std::vector<std::string> evicted; // by this shard, while it forwarded

  // The replies a combined route merges: this shard's own, then those of the
  // new shards it asked.
  reply_parts parts_of(const op_route& r) const {
    reply_parts parts;
    if (r.has_local)
      parts.push_back({&local, r.local_index});
    for (auto i = r.fan_begin; i < r.fan_end; ++i)
      parts.push_back({&results[fan[i].first], fan[i].second});
    return parts;
  }

  // The running time of a route: its part's, or the sum of the parts it merges.
  std::uint32_t nanos_of(const op_route& r) const {
    switch (r.how) {
      case op_route::kind::forwarded:
        return results[r.target].nanos_of(r.index);
      case op_route::kind::local:
        return local.nanos_of(r.local_index);
      default: {
        std::uint64_t total = 0;
        for (const auto& part : parts_of(r))
          total += part.result->nanos_of(part.index);
        return total > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(total);
      }
    }
  }

  void finish() {
    batch_result out;
    out.ends.reserve(routes.size());
    out.nanos.reserve(routes.size());
    protocol::reply_writer reply{out.replies};
    for (const auto& r : routes) {
      out.nanos.push_back(nanos_of(r));
      switch (r.how) {
        case op_route::kind::forwarded:
          copy_part({&results[r.target], r.index}, out);
          break;
        case op_route::kind::summed: {
          // This shard's own count and the new shards' counts of its former keys.
          auto total = r.local_count;
          for (const auto& part : parts_of(r))
            if (const auto* share = part.share())
              total += share->count;
          if (r.counted)
            out.add_share().count = total;
          reply.integer(total);
          break;
        }
        case op_route::kind::all_ok:
          reply.simple("OK");
          break;
        case op_route::kind::local:
          copy_part({&local, r.local_index}, out);
          break;
        case op_route::kind::joined: {
          // keys, scan or digest: this shard's elements and the new shards', as one
          // share.
          auto m = join_elements(parts_of(r));
          auto& share = out.add_share();
          share.elements = m.elements;
          share.looked = m.looked;
          for (auto body : m.bodies)
            out.replies.append(body);
          break;
        }
      }
      out.ends.push_back(out.replies.size());
    }
    out.evicted = std::move(evicted);
    for (auto& r : results)
      for (auto& key : r.evicted)
        out.evicted.push_back(std::move(key));
    promise.deliver(std::move(out));
  }
};

using steady = std::chrono::steady_clock;

using expire_due_atom = caf::atom_constant<caf::atom("expiredue")>;

// Keys retired per turn at most: a million keys expiring at the same millisecond
// are retired in turns that client batches can interleave with.
constexpr std::size_t expire_turn_limit = 1000;

// How often a shard with keys due looks whether active expiry is back on (after
// DEBUG SET-ACTIVE-EXPIRE 0): Redis's expiry cycle runs ten times a second.
constexpr std::chrono::milliseconds inactive_recheck{100};

struct shard_state {
  table keys;
  persistence::journal journal; // this batch's changes, for the append-only file
  bool journaling = false;      // whether changes are recorded in it now
  shard_context context;
  std::int64_t memory_reported = 0; // this table's bytes in the budget's dataset
  steady::time_point next_step_at{};
  deadline_ms wakeup = no_deadline; // the expiry wake-up pending, if any
  // Set once this shard belongs to an engine being replaced.
  bool forwarding = false;
  migration_order order;
  std::size_t handovers_in_flight = 0;
  bool step_scheduled = false;
  bool table_empty = false;
  bool reported = false;
  std::uint64_t moved = 0;

  ~shard_state() {
    if (context.memory)
      context.memory->add_dataset(-memory_reported);
  }
};

// A shard's messages to itself are sent without a sender: a message that names
// the shard as its sender keeps the shard alive for as long as it sits in a
// mailbox, and one left in the shard's own mailbox at the end would never let go.
template <class Self>
caf::actor me(Self* self) {
  return caf::actor_cast<caf::actor>(self);
}

template <class Self>
void schedule_step(Self* self, const std::shared_ptr<shard_state>& st) {
  if (st->step_scheduled || st->table_empty
      || st->handovers_in_flight >= handover_credit)
    return;
  st->step_scheduled = true;
  auto now = steady::now();
  if (st->next_step_at <= now)
    caf::anon_send(me(self), hand_over_atom::value);
  else
    caf::delayed_anon_send(me(self), st->next_step_at - now, hand_over_atom::value);
}

template <class Self>
void report_if_done(Self* self, const std::shared_ptr<shard_state>& st) {
  if (st->table_empty && st->handovers_in_flight == 0 && !st->reported) {
    st->reported = true;
    self->send(st->order.manager, migrated_atom::value,
               static_cast<std::uint64_t>(st->order.source_index), st->moved);
  }
}

// Reads notify-keyspace-events before a batch or a turn: one relaxed load, so
// CONFIG SET takes effect from the next batch on.
void watch_events(const std::shared_ptr<shard_state>& st) {
  if (st->context.broker && st->context.settings)
    st->keys.record_events(recorded_classes(st->context.settings->load()));
}

// Reads whether any client tracks in broadcasting mode, once per batch or turn.
void watch_tracking(const std::shared_ptr<shard_state>& st) {
  if (st->context.tracking)
    st->keys.broadcast_changes(st->context.tracking->anyone_broadcasting());
}

// Reads the memory bound before a batch: this table may hold what the limit
// leaves after the rest of the process and the other shards' tables (as they
// last reported).
void watch_memory(const std::shared_ptr<shard_state>& st, deadline_ms now) {
  const auto& budget = st->context.memory;
  if (!budget)
    return;
  // Also keeps the overhead and the peak current without a bound (INFO).
  budget->refresh_if_due(now);
  memory_bound bound;
  bound.policy = budget->current_policy();
  if (budget->limit() > 0) {
    auto allowed = [&] {
      auto others = budget->dataset() - st->memory_reported;
      return budget->dataset_limit() - others;
    };
    bound.allowed = allowed();
    // About to refuse every growing write: not on a stale reading of the rest
    // of the process (see budget::refuses_growth).
    if (bound.policy == memory::policy::noeviction && st->keys.memory() > bound.allowed) {
      budget->refresh_before_refusal(now);
      bound.allowed = allowed();
    }
  }
  bound.samples = budget->samples();
  st->keys.bound_memory(bound);
}

// Adds the table's change in bytes and its evictions to the budget, once per
// batch or turn.
void report_memory(const std::shared_ptr<shard_state>& st) {
  const auto& budget = st->context.memory;
  if (!budget)
    return;
  auto bytes = st->keys.memory();
  if (bytes != st->memory_reported) {
    budget->add_dataset(bytes - st->memory_reported);
    st->memory_reported = bytes;
  }
  if (auto evicted = st->keys.take_evicted())
    budget->add_evicted(evicted);
  auto evicting = st->keys.take_eviction_time();
  if (const auto& latency = st->context.latency; latency && evicting.count() > 0)
    latency->record("eviction-cycle",
                    std::chrono::duration_cast<std::chrono::milliseconds>(evicting).count(),
                    unix_now_ms() / 1000);
}

// Adds the changes of a batch or turn to what `save` rules count.
void report_changes(const std::shared_ptr<shard_state>& st) {
  auto n = st->keys.take_changes();
  if (n != 0 && st->context.persistence)
    st->context.persistence->changes_since_save.fetch_add(n, std::memory_order_relaxed);
}

// Turns recording for the append-only file on or off before a batch or turn:
// off while the file is loaded, and without one.
void watch_journal(const std::shared_ptr<shard_state>& st) {
  const auto& aof = st->context.aof;
  bool on = aof && aof->enabled.load(std::memory_order_acquire);
  st->journaling = on;
  st->keys.journal_to(on ? &st->journal : nullptr);
}

// A grouped batch's events go to the broker as its share of the group, even
// when there are none (key_events.hpp).
template <class Self>
void send_event_share(Self* self, const std::shared_ptr<shard_state>& st,
                      std::uint64_t group, std::uint64_t weight) {
  auto log = st->keys.take_events();
  log.group = group;
  log.weight = weight;
  if (st->context.broker)
    self->send(st->context.broker, notify_atom::value, std::move(log));
}

// Runs a client batch (or a resizing shard's share of one) on this shard's
// table; a grouped batch's changes become one GroupShare in the journal, and
// its events one share at the broker.
template <class Self>
void run_batch(Self* self, const std::shared_ptr<shard_state>& st, const batch& work,
               batch_result& result, deadline_ms now) {
  auto mark = st->journal.size();
  if (work.report_evictions)
    st->keys.report_evictions_to(&result.evicted);
  st->keys.execute(work, result, now);
  st->keys.report_evictions_to(nullptr);
  if (work.group != 0 && st->journaling)
    st->journal.enclose(mark, work.group, work.group_weight);
  if (work.group != 0 && work.group_events)
    send_event_share(self, st, work.group, work.group_weight);
}

// Hands what a turn changed to the AOF writer, without waiting for it.
void send_journal(const std::shared_ptr<shard_state>& st) {
  if (!st->journal.empty() && st->context.aof)
    caf::anon_send(st->context.aof->writer, persistence::append_atom::value,
                   st->journal.take());
}

// A batch whose writes could not be made durable: every reply becomes the
// error the gateways give while the file cannot be written.
batch_result refused(const batch_result& done, const std::string& why) {
  batch_result out;
  protocol::reply_writer reply{out.replies};
  for (std::size_t i = 0; i < done.ends.size(); ++i) {
    reply.error(why);
    out.ends.push_back(out.replies.size());
  }
  out.nanos = done.nanos;
  return out;
}

// Answers a batch: at once, or, under appendfsync always when it changed
// anything, once the AOF writer has its changes on disk (group commit).
template <class Self>
caf::result<batch_result> answer(Self* self, const std::shared_ptr<shard_state>& st,
                                 batch_result result) {
  const auto& aof = st->context.aof;
  if (st->journal.empty() || !aof)
    return result;
  if (aof->policy != persistence::fsync_policy::always) {
    send_journal(st);
    return result;
  }
  auto promise = self->template make_response_promise<batch_result>();
  auto done = std::make_shared<batch_result>(std::move(result));
  auto fail = [promise, done]() mutable {
    promise.deliver(refused(*done, "MISCONF Errors writing to the AOF file"));
  };
  self->request(aof->writer, caf::infinite, persistence::append_sync_atom::value,
                st->journal.take())
    .then(
      [promise, done, fail](bool ok) mutable {
        if (ok)
          promise.deliver(std::move(*done));
        else
          fail();
      },
      [fail](caf::error&) mutable { fail(); });
  return promise;
}

// Tells the subscription broker what happened, one message per batch or turn.
template <class Self>
void report_events(Self* self, const std::shared_ptr<shard_state>& st) {
  auto log = st->keys.take_events();
  if (!log.empty() && st->context.broker)
    self->send(st->context.broker, notify_atom::value, std::move(log));
}

// The invalidations of the batch or turn, to the broker in one message.
template <class Self>
void report_invalidations(Self* self, const std::shared_ptr<shard_state>& st) {
  if (st->keys.owes_invalidations() && st->context.broker)
    self->send(st->context.broker, invalidate_atom::value, st->keys.take_invalidations());
}

// The big values the turn deleted are freed on a thread of their own, so a
// DEL of a million-field hash does not hold the shard's next batch (Redis's
// lazyfree). A thread per turn that has any: such deletions are rare, and the
// handoff takes no lock.
void free_reclaimed(const std::shared_ptr<shard_state>& st) {
  auto reclaimed = st->keys.take_reclaimed();
  if (reclaimed.empty())
    return;
  try {
    std::thread{[gone = std::move(reclaimed)]() mutable { gone.clear(); }}.detach();
  } catch (const std::system_error&) {
    // No thread to be had: freed here after all.
  }
}

// Before a batch or turn: the settings it runs under (which events to record,
// the memory bound, whether to journal, the encodings' thresholds), each read
// once.
void begin_turn(const std::shared_ptr<shard_state>& st, deadline_ms now) {
  watch_events(st);
  watch_tracking(st);
  watch_memory(st, now);
  watch_journal(st);
  if (st->context.encodings) {
    st->keys.encode_hashes(st->context.encodings->hashes());
    st->keys.encode_sets(st->context.encodings->sets());
    st->keys.encode_lists(st->context.encodings->lists());
    st->keys.encode_zsets(st->context.encodings->zsets());
  }
}

// After it: its events to the broker, its bytes and evictions to the memory
// budget, its changes to the persistence figures.
template <class Self>
void end_turn(Self* self, const std::shared_ptr<shard_state>& st) {
  // The clients a push served hear it at once, from here.
  for (auto& woken : st->keys.take_wakeups()) {
    auto& waiter = *woken.waiter;
    caf::anon_send(waiter.gateway, woken_atom::value, waiter.tag, waiter.serial,
                   std::move(woken.key), std::move(woken.reply),
                   static_cast<std::uint8_t>(waiter.request.end));
  }
  report_events(self, st);
  report_invalidations(self, st);
  report_memory(st);
  report_changes(st);
  free_reclaimed(st);
}

// Makes sure a wake-up is pending for the earliest deadline in the table.
template <class Self>
void arm_expiry(Self* self, const std::shared_ptr<shard_state>& st) {
  if (st->forwarding)
    return; // keys here are on their way out; their new shard retires them
  auto next = st->keys.next_deadline();
  if (next == no_deadline || (st->wakeup != no_deadline && st->wakeup <= next))
    return;
  st->wakeup = next;
  auto delay = next - unix_now_ms();
  if (delay <= 0)
    caf::anon_send(me(self), expire_due_atom::value, next);
  else
    caf::delayed_anon_send(me(self), std::chrono::milliseconds{delay},
                       expire_due_atom::value, next);
}

template <class Self>
void on_expiry_wakeup(Self* self, const std::shared_ptr<shard_state>& st,
                      deadline_ms target) {
  if (target == st->wakeup)
    st->wakeup = no_deadline;
  if (st->forwarding)
    return;
  if (const auto& active = st->context.active_expiry; active && !active->enabled()) {
    // Keys go only when touched, for now; look again in a while (one wake-up
    // pending at a time).
    if (st->wakeup == no_deadline) {
      st->wakeup = target;
      caf::delayed_anon_send(me(self), inactive_recheck, expire_due_atom::value, target);
    }
    return;
  }
  auto now = unix_now_ms();
  begin_turn(st, now);
  {
    metrics::latency_timer timing{st->context.latency, "expire-cycle"};
    st->keys.expire_due(now, expire_turn_limit);
  }
  end_turn(self, st);
  send_journal(st);
  auto next = st->keys.next_deadline();
  if (next != no_deadline && next <= now && st->wakeup == no_deadline) {
    // More keys are due than one turn retires: continue after what is queued.
    st->wakeup = next;
    caf::anon_send(me(self), expire_due_atom::value, next);
    return;
  }
  arm_expiry(self, st);
}

// One background step: take a chunk of keys out and hand each to its new shard.
template <class Self>
void hand_over_step(Self* self, const std::shared_ptr<shard_state>& st) {
  st->step_scheduled = false;
  if (st->table_empty || st->handovers_in_flight >= handover_credit) {
    report_if_done(self, st);
    return;
  }
  auto& order = st->order;
  auto started = steady::now();
  std::vector<std::shared_ptr<record_list>> lists(order.targets.size());
  auto now = unix_now_ms();
  begin_turn(st, now);
  auto more = st->keys.hand_over(handover_chunk, now, [&](record* r, std::uint8_t db) {
    auto t = engine::shard_of(r->key(), order.target_stairs);
    if (!lists[t])
      lists[t] = std::make_shared<record_list>();
    lists[t]->records.push_back(r);
    lists[t]->dbs.push_back(db);
  });
  st->table_empty = !more;
  end_turn(self, st);
  send_journal(st);
  for (std::size_t t = 0; t < lists.size(); ++t) {
    if (!lists[t])
      continue;
    auto count = lists[t]->records.size();
    ++st->handovers_in_flight;
    auto done = [self, st, count] {
      --st->handovers_in_flight;
      st->moved += count;
      schedule_step(self, st);
      report_if_done(self, st);
    };
    self->request(order.targets[t], caf::infinite, handover{lists[t], batch{}, {}})
      .then([done](batch_result&) mutable { done(); },
            [done](caf::error&) mutable { done(); });
  }
  auto sources = engine::shards_in(order.source_stairs);
  auto took = steady::now() - started;
  if (const auto& latency = st->context.latency)
    latency->record("resize-step",
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                    now / 1000);
  st->next_step_at = steady::now() + took * pacing_factor * static_cast<long>(sources);
  schedule_step(self, st);
  report_if_done(self, st);
}

// Splits a client batch over the new shards: a key still here travels with the
// first operation on it; keyless operations combine this shard's share with the
// shares of the new shards that hold its former keys.
template <class Self>
caf::result<batch_result> forward(Self* self, const std::shared_ptr<shard_state>& st,
                                  const batch& work, std::vector<std::string> evicted) {
  auto& order = st->order;
  auto now = unix_now_ms();
  auto mark = st->journal.size();
  auto pending = std::make_shared<forwarded_batch>();
  pending->evicted = std::move(evicted);
  pending->routes.resize(work.ops.size());
  std::vector<handover> outgoing(order.targets.size());
  // The operation being routed, and its place in its plan (grouped batches).
  std::size_t current = 0;
  // (A batch without positions, one shard's plan, orders by its operations.)
  auto keep_position = [&](batch& to) {
    to.positions.push_back(current < work.positions.size()
                             ? work.positions[current]
                             : static_cast<std::uint32_t>(current));
  };
  auto add = [&](std::size_t t, op_code code, std::string_view key,
                 std::string_view value, const op_args& args, bool counted = false) {
    auto index = static_cast<std::uint32_t>(outgoing[t].work.ops.size());
    outgoing[t].work.add(code, key, value, args, counted, false, work.ops[current].db);
    keep_position(outgoing[t].work);
    return index;
  };
  // This shard's place in the old staircase, for the *_from operations.
  origin_args origin{static_cast<std::uint32_t>(order.source_index),
                     static_cast<std::uint32_t>(order.source_stairs)};
  auto range = engine::overlapping_shards(order.source_index, order.source_stairs,
                                          order.target_stairs);
  // A keyless operation's share of this shard: run here, reply kept in `local`.
  batch here;
  auto run_here = [&](op_route& route, const operation& op) {
    route.has_local = true;
    route.local_index = static_cast<std::uint32_t>(pending->local.ends.size());
    here.clear();
    here.add_copy(work, op);
    keep_position(here);
    st->keys.execute(here, pending->local, now);
  };
  // Its share of the new shards that hold this shard's former keys.
  auto fan_out = [&](op_route& route, op_code code, std::string_view value,
                     const op_args& args) {
    route.fan_begin = static_cast<std::uint32_t>(pending->fan.size());
    for (auto t = range.first; t <= range.last; ++t) {
      auto index = add(t, code, {}, value, args, code == op_code::count_keys_from);
      pending->fan.emplace_back(static_cast<std::uint32_t>(t), index);
    }
    route.fan_end = static_cast<std::uint32_t>(pending->fan.size());
  };
  std::size_t tracking_at = 0; // the next of work.tracking
  for (std::size_t i = 0; i < work.ops.size(); ++i) {
    current = i;
    const auto& op = work.ops[i];
    auto& route = pending->routes[i];
    switch (op.code) {
      case op_code::count_keys:
      case op_code::flush:
      case op_code::flush_all: {
        bool counting = op.code == op_code::count_keys;
        route.how = counting ? op_route::kind::summed : op_route::kind::all_ok;
        st->keys.use(op.db);
        auto scope = origin;
        if (counting) {
          route.local_count = static_cast<std::int64_t>(st->keys.database_size());
          route.counted = op.counted;
        } else if (op.code == op_code::flush_all) {
          st->keys.clear();
          scope.every_db = true;
        } else {
          st->keys.clear_database();
        }
        st->table_empty = st->keys.size() == 0;
        fan_out(route, counting ? op_code::count_keys_from : op_code::flush_from, {},
                scope);
        break;
      }
      case op_code::flush_from:
        // A FLUSHALL of one scope, replayed from the append-only file: this
        // shard's keys of that scope, and those it has handed over already.
        route.how = op_route::kind::all_ok;
        run_here(route, op);
        fan_out(route, op_code::flush_from, {}, op.args);
        break;
      case op_code::keys: {
        route.how = op_route::kind::joined;
        run_here(route, op);
        auto scope = origin;
        scope.slot = op.arguments<origin_args>().slot;
        scope.limit = op.arguments<origin_args>().limit;
        fan_out(route, op_code::keys_from, work.value(op), scope);
        break;
      }
      case op_code::scan: {
        route.how = op_route::kind::joined;
        run_here(route, op);
        auto window = op.arguments<scan_args>();
        window.origin = origin;
        fan_out(route, op_code::scan_from, work.value(op), window);
        break;
      }
      case op_code::digest:
        // XORed chunks, one per shard: the join keeps them all.
        route.how = op_route::kind::joined;
        run_here(route, op);
        fan_out(route, op_code::digest_from, {}, origin);
        break;
      case op_code::random_key:
        st->keys.use(op.db);
        if (st->keys.database_size() == 0) {
          // Any key is a fine answer: ask one of the new shards.
          route.how = op_route::kind::forwarded;
          route.target = static_cast<std::uint32_t>(range.first);
          route.index = add(range.first, op_code::random_key, {}, {}, no_args{});
          break;
        }
        [[fallthrough]];
      case op_code::reset_stats:
      case op_code::stats:
        route.how = op_route::kind::local;
        run_here(route, op);
        break;
      default: {
        auto key = work.key(op);
        auto t = engine::shard_of(key, order.target_stairs);
        if (auto* r = st->keys.release_live(op.db, key, now)) {
          auto& h = outgoing[t];
          if (!h.records)
            h.records = std::make_shared<record_list>();
          h.records->records.push_back(r);
          h.records->dbs.push_back(op.db);
          ++st->moved;
        }
        if (op.code == op_code::move) {
          // The key in its new database travels too, so that the new shard
          // sees whether that name is taken there.
          auto target = op.arguments<db_args>().target;
          if (auto* r = st->keys.release_live(target, key, now)) {
            auto& h = outgoing[t];
            if (!h.records)
              h.records = std::make_shared<record_list>();
            h.records->records.push_back(r);
            h.records->dbs.push_back(target);
            ++st->moved;
          }
        }
        route.how = op_route::kind::forwarded;
        route.target = static_cast<std::uint32_t>(t);
        route.index = static_cast<std::uint32_t>(outgoing[t].work.ops.size());
        outgoing[t].work.add_copy(work, op);
        keep_position(outgoing[t].work);
        // A tracking client's notes go with its operation.
        while (tracking_at < work.tracking.size() && work.tracking[tracking_at].op < i)
          ++tracking_at;
        for (; tracking_at < work.tracking.size() && work.tracking[tracking_at].op == i;
             ++tracking_at)
          outgoing[t].work.note_tracking(work.tracking[tracking_at].what,
                                         work.tracking[tracking_at].client);
        break;
      }
    }
  }
  pending->promise = self->make_response_promise();
  pending->results.resize(order.targets.size());
  for (std::size_t t = 0; t < outgoing.size(); ++t)
    if (!outgoing[t].work.empty() || outgoing[t].records)
      ++pending->waiting;
  for (auto& h : outgoing) {
    h.work.report_evictions = work.report_evictions;
    h.work.allow_growth = work.allow_growth;
  }
  auto group = work.group;
  auto group_weight = work.group_weight;
  bool group_events = work.group_events;
  if (group == 0 && pending->waiting >= 2) {
    // One shard's plan, split over several new shards: a group now, or a
    // crash could keep part of it in the file, and its events could reach
    // subscribers out of its order.
    group = persistence::next_group_number();
    group_weight = persistence::whole_group;
    group_events = st->context.settings
                   && recorded_classes(st->context.settings->load()) != 0;
  }
  if (group != 0) {
    // The group's weight for this shard is split again: one share for what
    // ran here, one for each new shard fed.
    auto parts = pending->waiting + 1;
    std::size_t i = 1;
    for (auto& h : outgoing)
      if (!h.work.empty() || h.records) {
        h.work.group = group;
        h.work.group_weight = persistence::share_of(group_weight, parts, i++);
        h.work.group_events = group_events;
      }
    auto local_weight = persistence::share_of(group_weight, parts, 0);
    if (st->journaling)
      st->journal.enclose(mark, group, local_weight);
    if (group_events)
      send_event_share(self, st, group, local_weight);
  }
  if (pending->waiting == 0) {
    pending->finish();
    return pending->promise;
  }
  for (std::size_t t = 0; t < outgoing.size(); ++t) {
    if (outgoing[t].work.empty() && !outgoing[t].records)
      continue;
    self->request(order.targets[t], caf::infinite, std::move(outgoing[t]))
      .then(
        [pending, t](batch_result& result) {
          pending->results[t] = std::move(result);
          if (--pending->waiting == 0)
            pending->finish();
        },
        [pending](caf::error& err) {
          pending->promise.deliver(std::move(err));
        });
  }
  return pending->promise;
}

// At the start of a resize: the clients blocked on keys here wait on the new
// shards from now on, in the order they queued, ahead of every operation this
// shard forwards (one channel per pair of shards keeps that order).
template <class Self>
void hand_over_waiters(Self* self, const std::shared_ptr<shard_state>& st) {
  auto waiting = st->keys.take_waiters();
  if (waiting.empty())
    return;
  const auto& order = st->order;
  std::vector<batch> outgoing(order.targets.size());
  for (auto& queued : waiting) {
    auto t = engine::shard_of(queued.key, order.target_stairs);
    block_args args = queued.waiter->request;
    args.no_wait = false;
    args.resumed = true;
    args.waiter = outgoing[t].add_waiter(queued.waiter);
    outgoing[t].add(op_code::block_pop, queued.key, {}, args, false, false, queued.db);
  }
  for (std::size_t t = 0; t < outgoing.size(); ++t)
    if (!outgoing[t].empty())
      self->request(order.targets[t], caf::infinite, handover{nullptr, std::move(outgoing[t]), {}})
        .then([](batch_result&) {}, [](caf::error&) {});
}

// At the start of a resize: the keys clients cache go to the new shards
// that will hold them, ahead of every operation forwarded there, so that a
// change on a new shard is announced. This shard keeps its own copy: what
// still changes here (an expiry on the way out, an eviction) is announced from
// here.
template <class Self>
void hand_over_tracked(Self* self, const std::shared_ptr<shard_state>& st) {
  const auto& tracked = st->keys.tracked();
  if (tracked.empty())
    return;
  const auto& order = st->order;
  std::vector<std::vector<tracking::tracked_key>> outgoing(order.targets.size());
  tracked.for_each([&](std::string_view name, const tracking::key_table::clients& who) {
    auto t = engine::shard_of(key_of_name(name), order.target_stairs);
    outgoing[t].push_back(
      tracking::tracked_key{std::string{name}, {who.begin(), who.end()}});
  });
  for (std::size_t t = 0; t < outgoing.size(); ++t)
    if (!outgoing[t].empty())
      self->request(order.targets[t], caf::infinite,
                    handover{nullptr, batch{}, std::move(outgoing[t])})
        .then([](batch_result&) {}, [](caf::error&) {});
}

// The same handlers serve both placements; only the host differs.
template <class Self>
caf::behavior shard_behavior(Self* self, shard_context context) {
  auto st = std::make_shared<shard_state>();
  st->context = std::move(context);
  st->keys.set_scope(st->context.index, st->context.stairs);
  if (st->context.tracking)
    st->keys.track_in(st->context.tracking);
  return {
    [self, st](const batch& work) -> caf::result<batch_result> {
      if (st->forwarding) {
        // Keys not handed over yet are still this shard's to evict: the new
        // shards fill with every write while these still count.
        auto now = unix_now_ms();
        begin_turn(st, now);
        std::vector<std::string> evicted;
        if (work.report_evictions)
          st->keys.report_evictions_to(&evicted);
        st->keys.make_room(now);
        st->keys.report_evictions_to(nullptr);
        auto forwarded = forward(self, st, work, std::move(evicted));
        end_turn(self, st);
        // Its own changes here (evictions, a FLUSHALL of its share) go out
        // without holding the forwarded replies back.
        send_journal(st);
        return forwarded;
      }
      st->keys.note_backlog(static_cast<std::int64_t>(self->mailbox().size()));
      auto now = unix_now_ms();
      begin_turn(st, now);
      batch_result result;
      run_batch(self, st, work, result, now);
      end_turn(self, st);
      arm_expiry(self, st);
      return answer(self, st, std::move(result));
    },
    [self, st](handover& incoming) -> caf::result<batch_result> {
      if (!incoming.tracked.empty())
        st->keys.adopt_tracked(incoming.tracked);
      if (incoming.records)
        st->keys.adopt(incoming.records->records, incoming.records->dbs);
      auto now = unix_now_ms();
      begin_turn(st, now);
      batch_result result;
      run_batch(self, st, incoming.work, result, now);
      end_turn(self, st);
      arm_expiry(self, st);
      return answer(self, st, std::move(result));
    },
    [self, st](expire_due_atom, deadline_ms target) {
      on_expiry_wakeup(self, st, target);
    },
    [self, st](migrate_atom, migration_order& order) {
      st->order = std::move(order);
      st->forwarding = true;
      hand_over_tracked(self, st);
      hand_over_waiters(self, st);
      schedule_step(self, st);
    },
    [self, st](hand_over_atom) { hand_over_step(self, st); },
    [self, st](snapshot_atom, std::uint32_t max) {
      persistence::journal out;
      metrics::latency_timer timing{st->context.latency, "snapshot-chunk"};
      bool done = st->keys.snapshot_chunk(max, out, unix_now_ms());
      return caf::make_result(out.take(), done);
    },
  };
}

caf::behavior shard_on_scheduler(caf::event_based_actor* self, shard_context context) {
  return shard_behavior(self, std::move(context));
}

caf::behavior shard_on_io_thread(caf::io::broker* self, shard_context context) {
  return shard_behavior(self, std::move(context));
}

} // namespace

bool parse_placement(const std::string& text, placement& out) {
  if (text == "io") {
    out = placement::io_thread;
    return true;
  }
  if (text == "scheduler") {
    out = placement::scheduler;
    return true;
  }
  return false;
}

const char* to_string(placement where) {
  return where == placement::io_thread ? "io" : "scheduler";
}

shard_actor spawn_shard(caf::actor_system& system, placement where,
                        shard_context context) {
  if (where == placement::io_thread)
    return caf::actor_cast<shard_actor>(
      system.middleman().spawn_broker(shard_on_io_thread, std::move(context)));
  return caf::actor_cast<shard_actor>(
    system.spawn(shard_on_scheduler, std::move(context)));
}

} // namespace stairkv::shard
