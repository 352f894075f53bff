// The sorted-set commands over several keys, which may live on different
// shards: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD and
// ZRANGESTORE. As set_steps.cpp does for sets: one plan reads every source
// whole (a peek per key: a sorted set in its serialised form,
// values/sorted_set.hpp, or a set, whose members count with score 1), the
// gateway combines them, and a second plan writes the result (the STORE
// forms). ZRANGESTORE reads only its range, with the zrange operation
// answering in the serialised form. The command holds its keys meanwhile, so
// no other client's command on them comes between its steps.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/commands/zset_range.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/key_events.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/packed.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::gateway {

namespace {

enum class algebra { inter, uni, diff };
enum class aggregate { sum, min, max };

constexpr std::uint8_t set_type = 2;  // shard::value_type::set
constexpr std::uint8_t zset_type = 4; // shard::value_type::sorted_set

using element = std::pair<std::string_view, double>;

// One request, parsed.
struct zset_request {
  algebra how = algebra::uni;
  std::vector<std::string> keys;
  std::vector<double> weights; // one per key
  aggregate combine = aggregate::sum;
  bool with_scores = false;
  std::string destination; // the STORE forms
  bool store = false;
  std::size_t limit = 0;   // ZINTERCARD (0: none)
  bool cardinality = false;
  int resp = 2;
};

// The sources as read by one plan: each key's bytes, or the error to answer.
struct read_sources {
  std::vector<std::string> bytes;
  std::vector<std::uint8_t> types; // 0: missing
  std::string error;
};

read_sources sources_of(commands::plan& p, std::size_t first, std::size_t count) {
  read_sources out;
  for (std::size_t i = 0; i < count; ++i) {
    auto part = p.part_of(first + i);
    const auto* peeked = part.share();
    if (peeked == nullptr) {
      out.error = std::string{part.bytes()};
      return out;
    }
    if (peeked->found && peeked->type != set_type && peeked->type != zset_type) {
      out.error = protocol::errors::as_reply(protocol::errors::wrong_type);
      return out;
    }
    out.bytes.emplace_back(peeked->found ? std::string{part.bytes()} : std::string{});
    out.types.push_back(peeked->found ? peeked->type : 0);
  }
  return out;
}

// A source's elements, views into its bytes; a set's members score 1.
std::vector<element> elements_of(const std::string& bytes, std::uint8_t type) {
  std::vector<element> out;
  if (type == set_type) {
    values::compact_set{bytes}.for_each([&](std::string_view m) { out.emplace_back(m, 1.0); });
  } else if (type == zset_type) {
    values::packed_zset_reader reader{bytes};
    out.reserve(static_cast<std::size_t>(reader.size()));
    std::string_view member;
    double score = 0;
    while (reader.next(member, score))
      out.emplace_back(member, score);
  }
  return out;
}

// Redis's rules: a weighted score that is NaN (0 * inf) counts 0, and so
// does a sum that is (inf + -inf).
double weighted(double score, double weight) {
  double v = score * weight;
  return std::isnan(v) ? 0.0 : v;
}

void fold(double& target, double value, aggregate how) {
  switch (how) {
    case aggregate::sum:
      target += value;
      if (std::isnan(target))
        target = 0.0;
      break;
    case aggregate::min:
      target = std::min(target, value);
      break;
    case aggregate::max:
      target = std::max(target, value);
      break;
  }
}

// The combined set, in the order of a sorted set (score, then member bytes).
std::vector<element> combine(const read_sources& sources, const zset_request& request) {
  std::size_t n = sources.bytes.size();
  std::vector<std::vector<element>> sets(n);
  for (std::size_t i = 0; i < n; ++i)
    sets[i] = elements_of(sources.bytes[i], sources.types[i]);
  std::vector<element> result;
  if (request.how == algebra::uni) {
    std::unordered_map<std::string_view, double> scores;
    for (std::size_t i = 0; i < n; ++i)
      for (const auto& [m, s] : sets[i]) {
        auto v = weighted(s, request.weights[i]);
        auto [it, fresh] = scores.emplace(m, v);
        if (!fresh)
          fold(it->second, v, request.combine);
      }
    result.assign(scores.begin(), scores.end());
  } else if (request.how == algebra::inter) {
    // From the smallest set, looking the others up; the others in order of
    // size, as Redis folds them.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return sets[a].size() < sets[b].size(); });
    if (sets[order[0]].empty())
      return result;
    std::vector<std::unordered_map<std::string_view, double>> lookup(n);
    for (std::size_t k = 1; k < n; ++k)
      for (const auto& [m, s] : sets[order[k]])
        lookup[order[k]].emplace(m, s);
    for (const auto& [m, s] : sets[order[0]]) {
      double score = weighted(s, request.weights[order[0]]);
      bool everywhere = true;
      for (std::size_t k = 1; k < n && everywhere; ++k) {
        auto j = order[k];
        auto it = lookup[j].find(m);
        if (it == lookup[j].end())
          everywhere = false;
        else
          fold(score, weighted(it->second, request.weights[j]), request.combine);
      }
      if (everywhere) {
        result.emplace_back(m, score);
        if (request.limit != 0 && result.size() >= request.limit)
          break;
      }
    }
  } else {
    std::vector<std::unordered_map<std::string_view, double>> lookup(n);
    for (std::size_t i = 1; i < n; ++i)
      for (const auto& [m, s] : sets[i])
        lookup[i].emplace(m, s);
    for (const auto& [m, s] : sets[0]) {
      bool elsewhere = false;
      for (std::size_t i = 1; i < n && !elsewhere; ++i)
        elsewhere = lookup[i].count(m) != 0;
      if (!elsewhere)
        result.emplace_back(m, s);
    }
  }
  if (!request.cardinality)
    std::sort(result.begin(), result.end(), [](const element& a, const element& b) {
      return a.second < b.second || (a.second == b.second && a.first < b.first);
    });
  return result;
}

std::string serialised(const std::vector<element>& elements) {
  std::string bytes;
  values::append_varint(bytes, elements.size());
  for (const auto& [m, s] : elements)
    values::append_packed_element(bytes, m, s);
  return bytes;
}

std::uint8_t event_code(shard::key_event e) {
  return static_cast<std::uint8_t>(static_cast<std::uint8_t>(e) + 1);
}

shard::key_event store_event(algebra how) {
  return how == algebra::inter ? shard::key_event::zinterstore
         : how == algebra::uni ? shard::key_event::zunionstore
                               : shard::key_event::zdiffstore;
}

template <class Finish>
void algebra_steps(gateway_actor* self, zset_request request, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) {
      for (const auto& key : request.keys) {
        auto& peek = p.open(hidden_client(), commands::plan::merge::single);
        p.route(peek, shard::op_code::peek, key);
      }
    },
    [self, request, finish](commands::plan& p, std::size_t first) mutable {
      auto sources = sources_of(p, first, request.keys.size());
      if (!sources.error.empty()) {
        finish(sources.error);
        return;
      }
      auto result = combine(sources, request);
      if (request.cardinality) {
        std::string reply;
        protocol::reply_writer{reply}.integer(static_cast<std::int64_t>(result.size()));
        finish(reply);
        return;
      }
      if (!request.store) {
        std::string reply;
        protocol::reply_writer out{reply, request.resp};
        bool nested = request.with_scores && request.resp > 2;
        out.array(request.with_scores && !nested ? result.size() * 2 : result.size());
        for (const auto& [m, s] : result) {
          if (nested)
            out.array(2);
          out.bulk(m);
          if (request.with_scores)
            out.double_value(s);
        }
        finish(reply);
        return;
      }
      store_result(self, request.destination, serialised(result), zset_type,
                   event_code(store_event(request.how)),
                   static_cast<std::int64_t>(result.size()), finish);
    });
}

// ZRANGESTORE: the source's range read in the serialised form, then stored.
template <class Finish>
void rangestore_steps(gateway_actor* self, std::string destination, std::string source,
                      shard::zset_args range, std::string bounds, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& read = p.open(hidden_client(), commands::plan::merge::single);
      p.route(read, shard::op_code::zrange, source, bounds, range);
    },
    [self, destination, finish](commands::plan& p, std::size_t first) mutable {
      auto part = p.part_of(first);
      if (part.share() == nullptr) {
        finish(std::string{part.bytes()});
        return;
      }
      std::string bytes{part.bytes()};
      auto count = static_cast<std::int64_t>(values::packed_zset_reader{bytes}.size());
      store_result(self, destination, std::move(bytes), zset_type,
                   event_code(shard::key_event::zrangestore), count, finish);
    });
}

algebra algebra_of(std::string_view name) {
  if (name.rfind("zinter", 0) == 0)
    return algebra::inter;
  if (name.rfind("zunion", 0) == 0)
    return algebra::uni;
  return algebra::diff;
}

// numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES], and
// ZINTERCARD's numkeys key... [LIMIT n], from argv[at] (numkeys). Returns the
// error, or an empty string with `out` filled.
std::string read_request(const args& argv, std::size_t at, const std::string& name,
                         zset_request& out) {
  std::int64_t numkeys = 0;
  if (!protocol::parse_int64(argv[at], numkeys))
    return std::string{protocol::errors::not_an_integer};
  if (numkeys < 1)
    return "ERR at least 1 input key is needed for '" + name + "' command";
  if (static_cast<std::uint64_t>(numkeys) > argv.size() - at - 1)
    return std::string{protocol::errors::syntax};
  auto n = static_cast<std::size_t>(numkeys);
  out.keys.assign(argv.begin() + static_cast<std::ptrdiff_t>(at + 1),
                  argv.begin() + static_cast<std::ptrdiff_t>(at + 1 + n));
  out.weights.assign(n, 1.0);
  for (auto i = at + 1 + n; i < argv.size(); ++i) {
    auto remaining = argv.size() - i - 1;
    auto word = argv[i];
    if (out.cardinality) {
      std::int64_t limit = 0;
      if (commands::equals_ignoring_case(word, "limit") && remaining >= 1) {
        if (!protocol::parse_int64(argv[++i], limit) || limit < 0)
          return "ERR LIMIT can't be negative";
        out.limit = static_cast<std::size_t>(limit);
        continue;
      }
      return std::string{protocol::errors::syntax};
    }
    if (out.how != algebra::diff && remaining >= n
        && commands::equals_ignoring_case(word, "weights")) {
      for (std::size_t k = 0; k < n; ++k)
        if (!values::parse_score(argv[++i], out.weights[k]))
          return "ERR weight value is not a float";
    } else if (out.how != algebra::diff && remaining >= 1
               && commands::equals_ignoring_case(word, "aggregate")) {
      auto what = argv[++i];
      if (commands::equals_ignoring_case(what, "sum"))
        out.combine = aggregate::sum;
      else if (commands::equals_ignoring_case(what, "min"))
        out.combine = aggregate::min;
      else if (commands::equals_ignoring_case(what, "max"))
        out.combine = aggregate::max;
      else
        return std::string{protocol::errors::syntax};
    } else if (!out.store && commands::equals_ignoring_case(word, "withscores")) {
      out.with_scores = true;
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  return {};
}

// Parses one of these commands and runs its steps, the reply to `finish`; the
// keys it touches go to `held` first. False when `argv` is none of them.
template <class Start>
bool run_zset_steps(gateway_actor* self, const args& argv, int resp, Start start) {
  auto name = commands::to_lower(argv[0]);
  auto fail = [&](std::string_view error) {
    start(std::vector<std::string>{})(protocol::errors::as_reply(error));
  };
  zset_request request;
  request.resp = resp;
  request.how = algebra_of(name);
  if (name == "zunion" || name == "zinter" || name == "zdiff" || name == "zintercard") {
    request.cardinality = name == "zintercard";
    if (auto error = read_request(argv, 1, name, request); !error.empty()) {
      fail(error);
      return true;
    }
    auto held = request.keys;
    algebra_steps(self, std::move(request), start(held));
    return true;
  }
  if (name == "zunionstore" || name == "zinterstore" || name == "zdiffstore") {
    request.store = true;
    request.destination = std::string{argv[1]};
    if (auto error = read_request(argv, 2, name, request); !error.empty()) {
      fail(error);
      return true;
    }
    auto held = request.keys;
    held.push_back(request.destination);
    algebra_steps(self, std::move(request), start(held));
    return true;
  }
  if (name == "zrangestore") {
    shard::zset_args range;
    std::string bounds;
    if (auto error = commands::read_zrange(argv, 2, commands::zrange_form::general, range, bounds);
        !error.empty()) {
      fail(error);
      return true;
    }
    if ((range.flags & shard::zset_flag::with_scores) != 0) {
      fail(protocol::errors::syntax); // ZRANGESTORE takes no WITHSCORES
      return true;
    }
    if (range.by == shard::zrange_by::rank)
      bounds.clear();
    range.serialised = true;
    std::string destination{argv[1]}, source{argv[2]};
    rangestore_steps(self, destination, source, range, std::move(bounds),
                     start({source, destination}));
    return true;
  }
  return false;
}

} // namespace

void zset_steps_command(gateway_actor* self, connection& conn, const args& argv,
                        commands::plan& work) {
  run_zset_steps(self, argv, conn.context.resp_version, [&](std::vector<std::string> held) {
    return begin_holding_steps(self, conn, work, std::move(held));
  });
}

bool zset_steps_from_script(gateway_actor* self, const args& argv, int resp,
                            std::function<void(std::string_view)> finish) {
  // (The script holds its keys already: declared, or the whole store.)
  return run_zset_steps(self, argv, resp,
                        [&](const std::vector<std::string>&) { return finish; });
}

} // namespace stairkv::gateway
