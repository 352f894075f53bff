#include "modules/commands/plan.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

#include "modules/commands/command_table.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/protocol/request_parser.hpp"

namespace stairkv::commands {

namespace {

constexpr std::string_view resp2_null = "$-1\r\n";

// Shards always answer in RESP2; a RESP3 client gets `_` for a missing value.
void copy_reply(std::string_view reply, int resp_version, std::string& out) {
  if (resp_version >= 3 && reply == resp2_null)
    out.append("_\r\n");
  else
    out.append(reply.data(), reply.size());
}

std::size_t random_index(std::size_t n) {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
}

// SCAN's cursor: the next start position (in the 32-bit space of scan positions)
// times 64, plus the exponent of the next span. The span adapts to the keys one
// step found so that a step returns about COUNT keys, and grows only where the
// start is aligned to it, so positions are never skipped or visited twice.
std::uint64_t scan_next_cursor(std::uint64_t start, unsigned span, std::uint64_t count,
                               std::int64_t looked) {
  auto next = start + (std::uint64_t{1} << span);
  if (next >= (std::uint64_t{1} << 32))
    return 0;
  int wanted = static_cast<int>(span);
  if (looked == 0) {
    wanted += 2;
  } else {
    auto ratio = static_cast<double>(count) / static_cast<double>(looked);
    wanted += static_cast<int>(std::lround(std::log2(ratio)));
  }
  wanted = std::max(0, std::min(32, wanted));
  while (wanted > 0 && (next & ((std::uint64_t{1} << wanted) - 1)) != 0)
    --wanted;
  return (next << 6) | static_cast<std::uint64_t>(wanted);
}

} // namespace

plan::plan(engine::routing_ptr routing, shard::deadline_ms now)
  : routing_(std::move(routing)), now_(now) {
  batches_.resize(routing_->shard_count());
  results_.resize(routing_->shard_count());
}

outcome plan::add(const client_context& client,
                  const std::vector<std::string_view>& argv) {
  return execute_command(*this, client, argv);
}

void plan::add_reply(const client_context& client, std::string_view resp) {
  auto begin = local_.size();
  auto& rec = open(client, merge::local);
  local_.append(resp.data(), resp.size());
  close_local(rec, begin);
}

void plan::add_info(const client_context& client, std::string_view section) {
  auto begin = local_.size();
  auto& rec = open(client, merge::info);
  local_.append(section.data(), section.size());
  close_local(rec, begin);
  route_to_every_engine(rec, shard::op_code::stats);
}

void plan::add_reset_stats(const client_context& client) {
  auto& rec = open(client, merge::all_ok);
  route_to_every_engine(rec, shard::op_code::reset_stats);
}

std::size_t plan::add_external(const client_context& client) {
  open(client, merge::local);
  ++externals_pending_;
  return records_.size() - 1;
}

bool plan::fill_external(std::size_t index, std::string_view resp) {
  auto& rec = records_[index];
  auto begin = local_.size();
  local_.append(resp.data(), resp.size());
  close_local(rec, begin);
  --externals_pending_;
  return complete();
}

plan::record& plan::open(const client_context& client, merge how) {
  auto refs = static_cast<std::uint32_t>(refs_.size());
  records_.push_back(record{client.tag, how,
                            static_cast<std::uint8_t>(client.resp_version), false,
                            false, refs, refs, 0, local_.size(), local_.size(),
                            no_command, false, false, 0, 0, 0, client.no_touch,
                            client.db});
  return records_.back();
}

plan::record& plan::open_scan(const client_context& client, const scan_step& step) {
  auto& rec = open(client, merge::scan);
  rec.scan_index = static_cast<std::uint32_t>(scans_.size());
  scans_.push_back(step);
  return rec;
}

void plan::close_local(record& rec, std::size_t begin) {
  rec.local_begin = begin;
  rec.local_end = local_.size();
}

void plan::route(record& rec, shard::op_code code, std::string_view key,
                 std::string_view value, shard::op_args args) {
  route_to(rec, routing_->entry->shard_of(key), code, key, value, args);
}

void plan::route_waiter(record& rec, shard::op_code code, std::string_view key,
                        shard::block_args args, shard::waiter_ptr waiter) {
  auto shard = routing_->entry->shard_of(key);
  args.waiter = batches_[shard].add_waiter(std::move(waiter));
  route_to(rec, shard, code, key, {}, args);
}

void plan::route_to_all(record& rec, shard::op_code code, std::string_view value,
                        shard::op_args args) {
  for (std::size_t i = 0; i < routing_->entry->shards.size(); ++i)
    route_to(rec, i, code, {}, value, args);
}

void plan::route_to_every_engine(record& rec, shard::op_code code) {
  for (std::size_t i = 0; i < batches_.size(); ++i)
    route_to(rec, i, code, {}, {}, shard::no_args{});
}

void plan::route_to(record& rec, std::size_t shard, shard::op_code code,
                    std::string_view key, std::string_view value,
                    const shard::op_args& args) {
  auto& work = batches_[shard];
  if (work.ops.empty())
    busy_.push_back(shard);
  refs_.push_back(ref{static_cast<std::uint32_t>(shard),
                      static_cast<std::uint32_t>(work.ops.size())});
  work.add(code, key, value, args, rec.how == merge::sum, rec.no_touch, rec.db);
  if (tracking_what_ != 0 && !key.empty())
    work.note_tracking(tracking_what_, tracking_client_);
  rec.refs_end = static_cast<std::uint32_t>(refs_.size());
}

void plan::note_writes_since(std::size_t from) {
  if (grouped_ || from >= refs_.size())
    return;
  auto first = refs_[from].shard;
  for (auto i = from + 1; i < refs_.size(); ++i)
    if (refs_[i].shard != first) {
      grouped_ = true;
      return;
    }
}

shard::batch plan::take_batch(std::size_t shard) {
  if (outer_group_ != 0) {
    auto out = std::move(batches_[shard]);
    out.report_evictions = report_evictions_;
    out.allow_growth = allow_growth_;
    auto at = std::find(busy_.begin(), busy_.end(), shard) - busy_.begin();
    out.group = outer_group_;
    out.group_weight = persistence::share_of(outer_weight_, busy_.size(),
                                             static_cast<std::size_t>(at));
    return out;
  }
  if (grouped_ && busy_.size() > 1 && group_ == 0) {
    group_ = persistence::next_group_number();
    if (group_events_)
      for (std::size_t p = 0; p < refs_.size(); ++p)
        batches_[refs_[p].shard].positions.push_back(static_cast<std::uint32_t>(p));
  }
  auto out = std::move(batches_[shard]);
  out.report_evictions = report_evictions_;
  out.allow_growth = allow_growth_;
  if (group_ != 0) {
    out.group_events = group_events_;
    auto at = std::find(busy_.begin(), busy_.end(), shard) - busy_.begin();
    out.group = group_;
    out.group_weight = persistence::share_of(persistence::whole_group, busy_.size(),
                                             static_cast<std::size_t>(at));
  }
  return out;
}

bool plan::deliver(std::size_t shard, shard::batch_result result) {
  results_[shard] = std::move(result);
  ++delivered_;
  return complete();
}

void plan::fail_pending(std::string_view resp) {
  for (auto& rec : records_) {
    if (rec.refs_begin == rec.refs_end)
      continue;
    auto begin = local_.size();
    local_.append(resp.data(), resp.size());
    rec.how = merge::local;
    rec.failed = true;
    rec.refs_begin = rec.refs_end;
    close_local(rec, begin);
  }
  failure_.replies.assign(resp.data(), resp.size());
  failure_.ends.assign(1, resp.size());
  delivered_ = busy_.size();
}

std::string_view plan::shard_reply(const ref& r) const {
  return results_[r.shard].reply(r.op);
}

shard::reply_parts plan::parts_of(const record& rec) const {
  if (rec.failed)
    return {{&failure_, 0}};
  shard::reply_parts parts;
  parts.reserve(rec.refs_end - rec.refs_begin);
  for (auto i = rec.refs_begin; i < rec.refs_end; ++i)
    parts.push_back({&results_[refs_[i].shard], refs_[i].op});
  return parts;
}

void plan::add_nanos(std::size_t record, std::uint64_t nanos) {
  auto& rec = records_[record];
  auto total = rec.local_nanos + nanos;
  rec.local_nanos = total > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(total);
}

namespace {

// Redis's slowlog.c bounds: SLOWLOG_ENTRY_MAX_ARGC and _MAX_STRING.
constexpr std::size_t slow_max_args = 32;
constexpr std::size_t slow_max_bytes = 128;

// Argument `i` of `argv` as the slow log shows it.
std::string slow_arg(const std::vector<std::string_view>& argv, std::size_t i,
                     std::size_t kept) {
  if (i == kept - 1 && kept != argv.size())
    return "... (" + std::to_string(argv.size() - kept + 1) + " more arguments)";
  if (argv[i].size() > slow_max_bytes)
    return std::string{argv[i].substr(0, slow_max_bytes)} + "... ("
           + std::to_string(argv[i].size() - slow_max_bytes) + " more bytes)";
  return std::string{argv[i]};
}

std::vector<std::string> trimmed(const std::vector<std::string_view>& argv) {
  auto kept = std::min(argv.size(), slow_max_args);
  std::vector<std::string> out;
  out.reserve(kept);
  for (std::size_t i = 0; i < kept; ++i)
    out.push_back(slow_arg(argv, i, kept));
  return out;
}

} // namespace

void plan::keep_request(std::size_t record, std::string_view bytes) {
  kept_request(record, keep_requests(bytes), bytes.size());
}

std::size_t plan::keep_requests(std::string_view bytes) {
  auto begin = requests_.size();
  requests_.append(bytes.data(), bytes.size());
  return begin;
}

void plan::kept_request(std::size_t record, std::size_t begin, std::size_t length) {
  auto& rec = records_[record];
  rec.request_kept = true;
  rec.kept_begin = static_cast<std::uint32_t>(begin);
  rec.kept_end = static_cast<std::uint32_t>(begin + length);
}

void plan::keep_args(std::size_t record, const std::vector<std::string_view>& argv) {
  auto& rec = records_[record];
  rec.request_kept = false;
  rec.kept_begin = static_cast<std::uint32_t>(arg_ends_.size());
  for (const auto& arg : trimmed(argv)) {
    args_.append(arg);
    arg_ends_.push_back(static_cast<std::uint32_t>(args_.size()));
  }
  rec.kept_end = static_cast<std::uint32_t>(arg_ends_.size());
}

std::uint64_t plan::nanos_of(std::size_t index) const {
  const auto& rec = records_[index];
  std::uint64_t total = rec.local_nanos;
  for (auto i = rec.refs_begin; i < rec.refs_end; ++i)
    total += results_[refs_[i].shard].nanos_of(refs_[i].op);
  return total;
}

std::vector<std::string> plan::args_of(std::size_t index) const {
  const auto& rec = records_[index];
  if (rec.request_kept) {
    protocol::request_parser parser;
    auto bytes = std::string_view{requests_}.substr(rec.kept_begin,
                                                    rec.kept_end - rec.kept_begin);
    if (parser.parse(bytes) != protocol::request_parser::status::command)
      return {};
    return trimmed(parser.args());
  }
  std::vector<std::string> out;
  for (auto i = rec.kept_begin; i < rec.kept_end; ++i) {
    auto begin = i == 0 ? 0 : arg_ends_[i - 1];
    out.emplace_back(args_.data() + begin, arg_ends_[i] - begin);
  }
  return out;
}

shard::reply_part plan::part_of(std::size_t index) const {
  const auto& rec = records_[index];
  if (rec.failed)
    return {&failure_, 0};
  const auto& r = refs_[rec.refs_begin];
  return {&results_[r.shard], r.op};
}

shard::merged_count plan::count_of(std::size_t index) const {
  return shard::sum_counts(parts_of(records_[index]));
}

void plan::write_reply(std::size_t index, std::string& out,
                       const info_renderer& render_info) const {
  const auto& rec = records_[index];
  if (rec.silent)
    return;
  auto first = refs_.begin() + rec.refs_begin;
  auto last = refs_.begin() + rec.refs_end;
  protocol::reply_writer reply{out, rec.resp_version};
  switch (rec.how) {
    case merge::local:
      out.append(local_, rec.local_begin, rec.local_end - rec.local_begin);
      break;
    case merge::single:
      copy_reply(shard_reply(*first), rec.resp_version, out);
      break;
    case merge::array:
      reply.array(static_cast<std::size_t>(last - first));
      for (auto i = first; i != last; ++i)
        copy_reply(shard_reply(*i), rec.resp_version, out);
      break;
    case merge::sum: {
      auto m = shard::sum_counts(parts_of(rec));
      if (!m.error.empty())
        out.append(m.error.data(), m.error.size());
      else
        reply.integer(m.total);
      break;
    }
    case merge::all_ok: {
      auto error = shard::first_error(parts_of(rec));
      if (!error.empty())
        out.append(error.data(), error.size());
      else
        reply.simple("OK");
      break;
    }
    case merge::concat: {
      auto m = shard::join_elements(parts_of(rec));
      if (!m.error.empty()) {
        out.append(m.error.data(), m.error.size()); // an error from a shard
        break;
      }
      reply.array(static_cast<std::size_t>(m.elements));
      for (auto body : m.bodies)
        out.append(body.data(), body.size());
      break;
    }
    case merge::scan: {
      auto m = shard::join_elements(parts_of(rec));
      if (!m.error.empty()) {
        out.append(m.error.data(), m.error.size()); // a shard's error
        break;
      }
      const auto& step = scans_[rec.scan_index];
      auto next = scan_next_cursor(step.start, step.span, step.count, m.looked);
      reply.array(2);
      reply.bulk(std::to_string(next));
      reply.array(static_cast<std::size_t>(m.elements));
      for (auto body : m.bodies)
        out.append(body.data(), body.size());
      break;
    }
    case merge::digest: {
      auto m = shard::xor_digests(parts_of(rec));
      if (!m.error.empty())
        out.append(m.error.data(), m.error.size());
      else
        reply.simple(m.hex); // Redis answers DEBUG DIGEST with a status line
      break;
    }
    case merge::any: {
      std::vector<std::string_view> found;
      for (auto i = first; i != last; ++i) {
        auto text = shard_reply(*i);
        if (text != resp2_null)
          found.push_back(text);
      }
      if (found.empty())
        copy_reply(resp2_null, rec.resp_version, out);
      else
        copy_reply(found[random_index(found.size())], rec.resp_version, out);
      break;
    }
    case merge::info: {
      auto totals = shard::sum_stats(parts_of(rec));
      std::string body;
      auto section = std::string_view{local_}.substr(
        rec.local_begin, rec.local_end - rec.local_begin);
      if (render_info)
        render_info(body, section, totals);
      reply.bulk(body); // RESP3 would call this a verbatim string; a bulk is accepted
      break;
    }
  }
}

} // namespace stairkv::commands
