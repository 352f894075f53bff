#pragma once

// A plan turns client commands into per-shard batches and, once the shards have
// answered, puts every reply back together in request order. A gateway builds one
// plan per I/O cycle for all its connections; the embedding API builds one per
// request. Each shard that has work gets exactly one batch per plan.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/engine/databases.hpp"
#include "modules/engine/routing.hpp"
#include "modules/shard/batch.hpp"
#include "modules/shard/merge.hpp"

namespace stairkv::commands {

// Totals over every shard, for INFO.
using keyspace_totals = shard::table_stats;

// Renders an INFO reply body for `section` (empty: the default sections).
using info_renderer = std::function<void(std::string& out, std::string_view section,
                                         const keyspace_totals& totals)>;

// What a client connection tells the planner about itself.
struct client_context {
  std::uint64_t tag = 0;  // opaque to the plan, handed back with each reply
  int resp_version = 2;
  // CLIENT NO-TOUCH: this client's reads leave keys' access times alone
  // (except TOUCH's).
  bool no_touch = false;
  // The shards' database its commands work on: the one its SELECTed number
  // names (engine/databases.hpp).
  std::uint8_t db = 0;
  // The node's numbering of its databases (MOVE and COPY ... DB name another
  // one); nullptr: database 0 alone.
  const engine::database_map* databases = nullptr;
  // CLIENT TRACKING: the client the shards remember this command's keys for
  // (a read-only command's: shard::tracking_note::remember) and whose own
  // changes they keep from it (noloop); 0 / none for everyone else.
  std::uint64_t tracking_client = 0;
  std::uint8_t tracking_what = 0;
};

// What add() did with a command.
enum class outcome {
  routed,   // sent to shards, or answered by the plan itself (errors, PING...)
  gateway,  // a connection-level command the caller must answer (QUIT, CONFIG...)
  rejected, // refused before it ran, with its error planned: unknown command,
            // wrong arity, -OOM, -MISCONF (Redis's rejected_calls)
};

class plan {
public:
  plan(engine::routing_ptr routing, shard::deadline_ms now);

  plan(plan&&) = default;
  plan& operator=(plan&&) = default;

  // Plans one command. Returns `gateway` for commands that need the caller's own
  // state; the caller then answers with add_reply() (or add_info()) so that its
  // reply still comes in request order.
  outcome add(const client_context& client,
              const std::vector<std::string_view>& argv);

  // Records a reply the caller computed (RESP bytes, already in the client's dialect).
  void add_reply(const client_context& client, std::string_view resp);

  // Records an INFO command: asks every shard for its statistics; the reply is
  // rendered when all shards have answered.
  void add_info(const client_context& client, std::string_view section);

  // Records a CONFIG RESETSTAT: every shard of every engine zeroes its counters;
  // the reply is +OK.
  void add_reset_stats(const client_context& client);

  // Records a command whose reply the caller obtains elsewhere (PUBLISH, from the
  // subscription broker); returns the index to hand to fill_external().
  std::size_t add_external(const client_context& client);

  // Sets that reply. Returns true when the plan became complete by it.
  bool fill_external(std::size_t index, std::string_view resp);

  // -- talking to shards ------------------------------------------------------

  const engine::routing& routing() const noexcept {
    return *routing_;
  }

  // The engine this plan sends keys to; routers never let plans of two different
  // entry engines be in flight at once (see resp_gateway.cpp).
  const engine::layout* entry() const noexcept {
    return routing_->entry.get();
  }

  // Shards with work in this plan; their batches are moved out by take_batch().
  const std::vector<std::size_t>& busy_shards() const noexcept {
    return busy_;
  }

  shard::batch take_batch(std::size_t shard);

  // Whether the writes routed from operation `from` on (see operations())
  // reach more than one shard; if so, every batch of this plan becomes a
  // share of one group, which the append-only file keeps whole (batch.hpp).
  // Called for each write command, and for a transaction as a whole.
  void note_writes_since(std::size_t from);
  std::size_t operations() const noexcept {
    return refs_.size();
  }
  bool grouped() const noexcept {
    return grouped_;
  }

  // Makes every batch of this plan a share of an outer group (a script's
  // writes, which span many plans): this plan's part of the group's weight is
  // `weight`, split over its shards. Its keyspace events go out as they
  // happen, not as shares.
  void join_group(std::uint64_t group, std::uint64_t weight) noexcept {
    outer_group_ = group;
    outer_weight_ = weight;
  }

  // Whether a grouped plan's shards send their keyspace events to the broker
// as shares of the group (in plan order, after it): the router says so when
  // notifications are on as the plan goes out.
  void order_group_events(bool on) noexcept {
    group_events_ = on;
  }

  // Asks every batch to name the keys it evicts (batch::report_evictions);
  // once the shards have answered, evicted_keys() visits them.
  void report_evictions() noexcept {
    report_evictions_ = true;
  }
  template <class Visit>
  void evicted_keys(Visit visit) const {
    for (const auto& r : results_)
      for (const auto& key : r.evicted)
        visit(key);
  }

  // Hands in a shard's answer. Returns true when this was the last one missing.
  bool deliver(std::size_t shard, shard::batch_result result);

  // Whether every shard involved has answered (external replies aside).
  bool shards_answered() const noexcept {
    return delivered_ == busy_.size();
  }

  bool complete() const noexcept {
    return delivered_ == busy_.size() && externals_pending_ == 0;
  }

  shard::deadline_ms now() const noexcept {
    return now_;
  }

  // -- replies ----------------------------------------------------------------

  std::size_t size() const noexcept {
    return records_.size();
  }

  std::uint64_t client_of(std::size_t index) const noexcept {
    return records_[index].client;
  }

  // Whether commands that may grow memory are refused with Redis's -OOM error (the
  // node is past maxmemory under noeviction): decided once as the plan starts.
  void refuse_growth(bool refuse) noexcept {
    refuse_growth_ = refuse;
  }
  bool refusing_growth() const noexcept {
    return refuse_growth_;
  }
  // Lets this plan's writes past the bound in the shards too (a script with
  // the allow-oom flag): implies refuse_growth(false).
  void allow_growth() noexcept {
    refuse_growth_ = false;
    allow_growth_ = true;
  }

  // Why write commands are refused (MISCONF, while the append-only file cannot
  // be written), or empty: decided once as the plan starts.
  void refuse_writes(std::string why) {
    refuse_writes_ = std::move(why);
  }
  const std::string& write_refusal() const noexcept {
    return refuse_writes_;
  }

  // Drops the replies of the commands recorded from `index` on (CLIENT REPLY
  // OFF / SKIP): they still run, and still count as answered, but write nothing.
  void silence_from(std::size_t index) noexcept {
    for (auto i = index; i < records_.size(); ++i)
      records_[i].silent = true;
  }

  // Appends the reply of command `index` (in the order added) to `out`.
  // Only valid once complete().
  void write_reply(std::size_t index, std::string& out,
                   const info_renderer& render_info) const;

  // Sets the reply of every command that is still waiting to `resp`; used when a
  // shard cannot be reached.
  void fail_pending(std::string_view resp);

  // Internal building blocks for the command implementations.
  enum class merge : std::uint8_t {
    local,   // bytes in local_
    single,  // one shard reply
    array,   // *n of shard replies (MGET)
    sum,     // :sum of integer shard replies (DEL, EXISTS, DBSIZE)
    all_ok,  // +OK unless a shard answered with an error (MSET, FLUSHALL)
    info,    // shard statistics rendered by the caller's info_renderer
    concat,  // one array of the elements of every shard's array reply (KEYS)
    any,     // one non-null shard reply picked at random, else null (RANDOMKEY)
    scan,    // SCAN: the shards' keys and the next cursor (scan_step: the step)
    digest,  // DEBUG DIGEST: the shards' digests XORed, as 40 hex digits
  };

  struct record {
    std::uint64_t client;
    merge how;
    std::uint8_t resp_version;
    bool silent;
    bool failed; // its shard could not be reached: local bytes hold the error
    std::uint32_t refs_begin;
    std::uint32_t refs_end;
    std::uint32_t scan_index; // merge::scan: its step in scans_
    std::size_t local_begin;
    std::size_t local_end;
    // What the caller noted about the command (note_command, add_nanos,
    // keep_args): its index in all_commands(), whether it was refused before it
    // ran, time spent outside the shards, and its arguments for SLOWLOG.
    std::uint16_t command;
    bool rejected;
    bool request_kept; // [kept_begin, kept_end) are bytes of requests_
    std::uint32_t local_nanos;
    std::uint32_t kept_begin; // else entries of arg_ends_; begin == end: none kept
    std::uint32_t kept_end;
    bool no_touch; // its operations leave keys' access times alone
    std::uint8_t db; // the shards' database its operations work on
  };

  static constexpr std::uint16_t no_command = 0xffff;

  // Notes that record `record` answers command `index` (of all_commands()) and
  // whether it was refused before it ran.
  void note_command(std::size_t record, std::size_t index, bool rejected) {
    records_[record].command = static_cast<std::uint16_t>(index);
    records_[record].rejected = rejected;
  }
  // Adds time a command spent outside the shards (a session command's handler).
  void add_nanos(std::size_t record, std::uint64_t nanos);
  // Keeps what the slow log needs of the command of record `record`: the bytes
  // of its request as the client sent them (one copy, parsed again only if the
  // command turns out slow), or for a large request its arguments trimmed.
  void keep_request(std::size_t record, std::string_view bytes);
  // The same in two steps, for a caller that plans many commands from one
  // buffer: copy the buffer once (keep_requests returns where it starts among
  // the kept bytes), then say which of its bytes each command was.
  std::size_t keep_requests(std::string_view bytes);
  // The buffer those bytes go to, to hand to the next plan once this one is
  // done (its capacity is reused: no allocation per plan in steady state).
  std::string take_request_buffer() {
    requests_.clear();
    return std::move(requests_);
  }
  void reuse_request_buffer(std::string buffer) {
    buffer.clear();
    requests_ = std::move(buffer);
  }
  void kept_request(std::size_t record, std::size_t begin, std::size_t length);
  void keep_args(std::size_t record, const std::vector<std::string_view>& argv);

  std::uint16_t command_of(std::size_t index) const noexcept {
    return records_[index].command;
  }
  bool rejected(std::size_t index) const noexcept {
    return records_[index].rejected;
  }
  // How long record `index` ran: its shards' operations and its local time.
  std::uint64_t nanos_of(std::size_t index) const;
  // The arguments kept for it (empty when none were), trimmed as Redis's slow
  // log trims them: 32 arguments, 128 bytes each, the rest said as
  // "... (n more arguments)" / "... (n more bytes)".
  std::vector<std::string> args_of(std::size_t index) const;

  // Where one SCAN call starts, how wide its stretch of positions is (2^span),
  // and the COUNT that sizes the next stretch.
  struct scan_step {
    std::uint64_t start = 0;
    unsigned span = 0;
    std::uint64_t count = 10;
  };

  // Starts a command record, and adds its per-shard operations.
  record& open(const client_context& client, merge how);
  // The same for a SCAN call (merge::scan).
  record& open_scan(const client_context& client, const scan_step& step);

  // For the steps of multi-step commands, once the shards have answered: the
  // one shard reply of record `index` (a record routed to one shard), and the
  // integer replies of record `index` added up.
  shard::reply_part part_of(std::size_t index) const;
  shard::merged_count count_of(std::size_t index) const;
  // Sends `code` on `key` to the key's shard; a merge::sum record asks for the
  // counts typed (operation::counted).
  void route(record& rec, shard::op_code code, std::string_view key,
             std::string_view value = {}, shard::op_args args = shard::no_args{});
  // Sends a blocking pop's operation (block_pop, unblock) on `key`, with the
  // waiter it carries.
  void route_waiter(record& rec, shard::op_code code, std::string_view key,
                    shard::block_args args, shard::waiter_ptr waiter);
  // Sends `code` to every shard of the entry engine (which, during a resize,
  // combines its share with the new engine's).
  void route_to_all(record& rec, shard::op_code code, std::string_view value = {},
                    shard::op_args args = shard::no_args{});
  // Sends `code` to every shard of every engine (statistics).
  void route_to_every_engine(record& rec, shard::op_code code);
  std::string& local_bytes() noexcept {
    return local_;
  }
  void close_local(record& rec, std::size_t begin);

  // The notes the operations routed from now on carry for their tracking
  // client (execute_command sets them per command; 0: none).
  void track_for(std::uint64_t client, std::uint8_t what) noexcept {
    tracking_client_ = client;
    tracking_what_ = what;
  }

private:
  struct ref {
    std::uint32_t shard;
    std::uint32_t op;
  };

  void route_to(record& rec, std::size_t shard, shard::op_code code,
                std::string_view key, std::string_view value, const shard::op_args& args);
  std::string_view shard_reply(const ref& r) const;
  shard::reply_parts parts_of(const record& rec) const;

  engine::routing_ptr routing_;
  shard::deadline_ms now_;
  std::vector<shard::batch> batches_;
  std::vector<shard::batch_result> results_;
  std::vector<std::size_t> busy_;
  std::size_t delivered_ = 0;
  std::size_t externals_pending_ = 0;
  std::vector<record> records_;
  std::vector<ref> refs_;
  std::vector<scan_step> scans_;
  std::string requests_;                // kept requests, back to back
  std::string args_;                    // kept (trimmed) arguments, back to back
  std::vector<std::uint32_t> arg_ends_; // where each ends in args_
  shard::batch_result failure_; // what part_of() answers for a failed record
  std::string local_;
  bool refuse_growth_ = false;
  bool allow_growth_ = false;
  std::string refuse_writes_;
  bool grouped_ = false;
  bool report_evictions_ = false;
  bool group_events_ = false;
  std::uint64_t group_ = 0; // its number, drawn when the first batch goes
  std::uint64_t outer_group_ = 0;
  std::uint64_t outer_weight_ = 0;
  std::uint64_t tracking_client_ = 0;
  std::uint8_t tracking_what_ = 0;
};

} // namespace stairkv::commands
