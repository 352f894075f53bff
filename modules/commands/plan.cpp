#include "modules/commands/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "modules/commands/command_table.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/merged_replies.hpp"

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
                            refs, refs, local_.size(), local_.size()});
  return records_.back();
}

void plan::close_local(record& rec, std::size_t begin) {
  rec.local_begin = begin;
  rec.local_end = local_.size();
}

void plan::route(record& rec, shard::op_code code, std::string_view key,
                 std::string_view value, std::int64_t number,
                 std::uint8_t flags, std::int64_t extra) {
  route_to(rec, routing_->entry->shard_of(key), code, key, value, number, flags,
           extra);
}

void plan::route_to_all(record& rec, shard::op_code code, std::string_view value,
                        std::int64_t number, std::uint8_t flags, std::int64_t extra) {
  for (std::size_t i = 0; i < routing_->entry->shards.size(); ++i)
    route_to(rec, i, code, {}, value, number, flags, extra);
}

void plan::route_to_every_engine(record& rec, shard::op_code code) {
  for (std::size_t i = 0; i < batches_.size(); ++i)
    route_to(rec, i, code, {}, {}, 0, 0);
}

void plan::route_to(record& rec, std::size_t shard, shard::op_code code,
                    std::string_view key, std::string_view value,
                    std::int64_t number, std::uint8_t flags, std::int64_t extra) {
  auto& work = batches_[shard];
  if (work.ops.empty())
    busy_.push_back(shard);
  refs_.push_back(ref{static_cast<std::uint32_t>(shard),
                      static_cast<std::uint32_t>(work.ops.size())});
  work.add(code, key, value, number, flags, extra);
  rec.refs_end = static_cast<std::uint32_t>(refs_.size());
}

shard::batch plan::take_batch(std::size_t shard) {
  return std::move(batches_[shard]);
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
    rec.refs_begin = rec.refs_end;
    close_local(rec, begin);
  }
  delivered_ = busy_.size();
}

std::string_view plan::shard_reply(const ref& r) const {
  return results_[r.shard].reply(r.op);
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
      std::int64_t total = 0;
      for (auto i = first; i != last; ++i) {
        std::int64_t part = 0;
        auto text = shard_reply(*i);
        if (!shard::read_count(text, part)) {
          out.append(text.data(), text.size());
          return;
        }
        total += part;
      }
      reply.integer(total);
      break;
    }
    case merge::all_ok:
      for (auto i = first; i != last; ++i) {
        auto text = shard_reply(*i);
        if (!text.empty() && text.front() == '-') {
          out.append(text.data(), text.size());
          return;
        }
      }
      reply.simple("OK");
      break;
    case merge::concat: {
      // Each shard answered *n followed by n bulks: add up the counts, then copy
      // the elements after their headers.
      std::int64_t total = 0;
      std::vector<std::string_view> bodies;
      for (auto i = first; i != last; ++i) {
        auto text = shard_reply(*i);
        shard::array_share share;
        if (!shard::read_array(text, share)) {
          out.append(text.data(), text.size()); // an error from a shard
          return;
        }
        total += share.count;
        bodies.push_back(share.elements);
      }
      reply.array(static_cast<std::size_t>(total));
      for (auto body : bodies)
        out.append(body.data(), body.size());
      break;
    }
    case merge::scan: {
      // Local bytes: "<start> <span exponent> <count>"; shards: *2 [:looked, *keys].
      std::uint64_t start = 0;
      unsigned span = 0;
      std::uint64_t count = 10;
      std::sscanf(std::string{local_, rec.local_begin, rec.local_end - rec.local_begin}
                    .c_str(),
                  "%lu %u %lu", &start, &span, &count);
      std::int64_t looked = 0;
      std::int64_t total = 0;
      std::vector<std::string_view> bodies;
      for (auto i = first; i != last; ++i) {
        auto text = shard_reply(*i);
        std::int64_t share_looked = 0;
        shard::array_share keys;
        if (!shard::read_scan_share(text, share_looked, keys)) {
          out.append(text.data(), text.size()); // a shard's error
          return;
        }
        looked += share_looked;
        total += keys.count;
        bodies.push_back(keys.elements);
      }
      auto next = scan_next_cursor(start, span, count, looked);
      reply.array(2);
      reply.bulk(std::to_string(next));
      reply.array(static_cast<std::size_t>(total));
      for (auto body : bodies)
        out.append(body.data(), body.size());
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
      keyspace_totals totals;
      double ttl_weighted = 0;
      for (auto i = first; i != last; ++i) {
        protocol::reply stats;
        auto text = shard_reply(*i);
        if (protocol::read_reply(text, stats).status
              != protocol::read_status::complete
            || stats.type != protocol::reply::kind::array
            || stats.elements.size() < 5)
          continue;
        totals.keys += stats.elements[0].integer;
        totals.keys_with_deadline += stats.elements[1].integer;
        totals.hits += stats.elements[2].integer;
        totals.misses += stats.elements[3].integer;
        totals.expired += stats.elements[4].integer;
        if (stats.elements.size() >= 8)
          totals.stale += stats.elements[7].integer;
        if (stats.elements.size() >= 7) {
          // A mean over all shards, weighted by their keys with a deadline.
          ttl_weighted += static_cast<double>(stats.elements[6].integer)
                          * static_cast<double>(stats.elements[1].integer);
        }
      }
      if (totals.keys_with_deadline > 0)
        totals.avg_ttl_ms = static_cast<std::int64_t>(
          ttl_weighted / static_cast<double>(totals.keys_with_deadline));
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
