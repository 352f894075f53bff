// SORT and SORT_RO: key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE destination], over a list, a set or a sorted set,
// with Redis's rules (sort.c). They run as steps (steps.hpp), since the keys
// a pattern names may live on any shard: one plan reads the source whole (a
// peek), one reads the BY weights of every element when the sort needs them,
// one reads the GET values of the elements in the reply's range, and STORE's
// plan writes the result as a list. The command holds its source and
// destination meanwhile; the keys its patterns name are read as they are when
// their step runs.
//
// A pattern's first '*' is replaced by the element; "key->field" reads a
// hash's field; "#" (GET only) is the element itself. A name that is missing,
// of another type, or a pattern without '*' reads as nothing: a weight of 0
// (or, with ALPHA, before every other), a null in the reply, an empty string
// in a stored list.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/key_events.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/packed.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::gateway {

namespace {

constexpr std::uint8_t set_type = 2;  // shard::value_type::set
constexpr std::uint8_t list_type = 3; // shard::value_type::list
constexpr std::uint8_t zset_type = 4; // shard::value_type::sorted_set

struct sort_request {
  std::string key;
  std::optional<std::string> by;
  bool dontsort = false; // BY a pattern without '*'
  std::vector<std::string> gets;
  bool desc = false;
  bool alpha = false;
  std::int64_t offset = 0;
  std::int64_t count = -1;
  std::optional<std::string> store;
  bool from_script = false;
  int resp = 2;
};

struct sort_run {
  sort_request request;
  std::vector<std::string> elements; // in the order they are sorted, then cut
  std::vector<std::optional<std::string>> weights;
  std::vector<std::optional<std::string>> values; // GET's, per element and pattern
  std::size_t start = 0, end = 0; // the reply's range (end exclusive)
  std::function<void(std::string_view)> finish;
};
using run_ptr = std::shared_ptr<sort_run>;

// Where a pattern points for an element: no key (nullopt) when it has no
// '*'; a field when "->field" follows the '*'.
struct lookup {
  std::string key;
  std::optional<std::string> field;
};

std::optional<lookup> resolve(std::string_view pattern, std::string_view element) {
  auto star = pattern.find('*');
  if (star == std::string_view::npos)
    return std::nullopt;
  lookup out;
  auto rest = pattern.substr(star + 1);
  auto arrow = rest.find("->");
  if (arrow != std::string_view::npos && arrow + 2 < rest.size()) {
    out.field = std::string{rest.substr(arrow + 2)};
    rest = rest.substr(0, arrow);
  }
  out.key.reserve(pattern.size() + element.size());
  out.key.append(pattern.substr(0, star));
  out.key.append(element);
  out.key.append(rest);
  return out;
}

// The elements of the source as its peek answered it.
bool elements_of(std::string_view bytes, std::uint8_t type, std::vector<std::string>& out) {
  if (type == set_type) {
    values::compact_set{bytes}.for_each([&](std::string_view m) { out.emplace_back(m); });
    return true;
  }
  if (type == zset_type) {
    values::packed_zset_reader reader{bytes};
    std::string_view member;
    double score = 0;
    while (reader.next(member, score))
      out.emplace_back(member);
    return true;
  }
  if (type == list_type) {
    // The list's version, its count, then the elements.
    std::size_t pos = 0;
    std::uint64_t version = 0, count = 0;
    if (!values::read_varint(bytes, pos, version) || !values::read_varint(bytes, pos, count))
      return false;
    values::packed_reader items{bytes.substr(pos)};
    std::string_view e;
    while (items.next(e))
      out.emplace_back(e);
    return true;
  }
  return false;
}

// Plans a read of `pattern` for each element of `elements`, and hands the
// values (nullopt: nothing there) to `then`.
template <class Then>
void read_patterns(gateway_actor* self, const std::vector<std::string>& elements,
                   const std::vector<std::string>& patterns, Then then) {
  auto wanted = std::make_shared<std::vector<int>>(); // per element and pattern: record offset or -1
  plan_step(
    self,
    [&](commands::plan& p) {
      int at = 0;
      for (const auto& element : elements) {
        for (const auto& pattern : patterns) {
          if (pattern == "#") {
            wanted->push_back(-2);
            continue;
          }
          auto target = resolve(pattern, element);
          if (!target) {
            wanted->push_back(-1);
            continue;
          }
          auto& rec = p.open(hidden_client(), commands::plan::merge::single);
          if (target->field)
            p.route(rec, shard::op_code::hget, target->key, *target->field);
          else
            p.route(rec, shard::op_code::mget_one, target->key);
          wanted->push_back(at++);
        }
      }
    },
    [wanted, elements, patterns, then](commands::plan& p, std::size_t first) mutable {
      std::vector<std::optional<std::string>> values;
      values.reserve(wanted->size());
      std::size_t i = 0;
      for (std::size_t e = 0; e < elements.size(); ++e)
        for (std::size_t k = 0; k < patterns.size(); ++k, ++i) {
          auto at = (*wanted)[i];
          if (at == -2) {
            values.emplace_back(elements[e]);
            continue;
          }
          if (at < 0) {
            values.emplace_back(std::nullopt);
            continue;
          }
          protocol::reply parsed;
          auto bytes = reply_of(p, first + static_cast<std::size_t>(at));
          if (protocol::read_reply(bytes, parsed).status == protocol::read_status::complete
              && parsed.type == protocol::reply::kind::bulk)
            values.emplace_back(std::move(parsed.text));
          else
            values.emplace_back(std::nullopt); // missing, or of another type
        }
      then(std::move(values));
    });
}

int compare_bytes(std::string_view a, std::string_view b) {
  return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

// Redis's numeric reading of a weight: strtod over the whole text.
bool to_score(const std::string& text, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return *end == '\0' && errno != ERANGE && !std::isnan(out);
}

void answer(const run_ptr& run);
void store(gateway_actor* self, const run_ptr& run);

// The range is known and sorted: reads the GET values, then answers.
void output(gateway_actor* self, const run_ptr& run) {
  const auto& request = run->request;
  std::vector<std::string> range(run->elements.begin() + static_cast<std::ptrdiff_t>(run->start),
                                 run->elements.begin() + static_cast<std::ptrdiff_t>(run->end));
  run->elements = std::move(range);
  run->start = 0;
  run->end = run->elements.size();
  auto done = [self, run] {
    if (run->request.store)
      store(self, run);
    else
      answer(run);
  };
  if (request.gets.empty()) {
    done();
    return;
  }
  read_patterns(self, run->elements, request.gets,
                [run, done](std::vector<std::optional<std::string>> values) mutable {
                  run->values = std::move(values);
                  done();
                });
}

// What each element of the range contributes: itself, or its GET values.
template <class F>
void for_each_output(const sort_run& run, F&& f) {
  if (run.request.gets.empty()) {
    for (const auto& e : run.elements)
      f(std::optional<std::string>{e});
    return;
  }
  for (const auto& v : run.values)
    f(v);
}

void answer(const run_ptr& run) {
  std::string reply;
  protocol::reply_writer out{reply, run->request.resp};
  auto per = run->request.gets.empty() ? 1 : run->request.gets.size();
  out.array(run->elements.size() * per);
  for_each_output(*run, [&](const std::optional<std::string>& v) {
    if (v)
      out.bulk(*v);
    else
      out.null();
  });
  run->finish(reply);
}

void store(gateway_actor* self, const run_ptr& run) {
  // A list in its stored form: version 0, the count, the elements.
  std::string bytes;
  std::size_t count = 0;
  for_each_output(*run, [&](const std::optional<std::string>&) { ++count; });
  values::append_varint(bytes, 0);
  values::append_varint(bytes, count);
  for_each_output(*run, [&](const std::optional<std::string>& v) {
    values::append_item(bytes, v ? std::string_view{*v} : std::string_view{});
  });
  auto destination = *run->request.store;
  touch_watched_key(self, destination);
  store_result(self, destination, std::move(bytes), list_type,
               static_cast<std::uint8_t>(static_cast<std::uint8_t>(shard::key_event::sortstore) + 1),
               static_cast<std::int64_t>(count),
               [run](std::string_view reply) { run->finish(reply); });
}

// Sorts the elements (weights read when BY asks for them) and outputs the range.
void sort_and_output(gateway_actor* self, const run_ptr& run) {
  const auto& request = run->request;
  auto n = run->elements.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i)
    order[i] = i;
  bool by_pattern = request.by.has_value();
  if (!request.alpha) {
    std::vector<double> scores(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::optional<std::string>* source = nullptr;
      std::optional<std::string> own;
      if (by_pattern) {
        source = &run->weights[i];
      } else {
        own = run->elements[i];
        source = &own;
      }
      if (*source && !to_score(**source, scores[i])) {
        run->finish(
          protocol::errors::as_reply("ERR One or more scores can't be converted into double"));
        return;
      }
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      int c = scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0;
      if (c == 0)
        c = compare_bytes(run->elements[a], run->elements[b]);
      return request.desc ? c > 0 : c < 0;
    });
  } else {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      int c = 0;
      if (by_pattern) {
        const auto& x = run->weights[a];
        const auto& y = run->weights[b];
        c = !x && !y ? 0 : !x ? -1 : !y ? 1 : compare_bytes(*x, *y);
      } else {
        c = compare_bytes(run->elements[a], run->elements[b]);
      }
      return request.desc ? c > 0 : c < 0;
    });
  }
  std::vector<std::string> sorted;
  sorted.reserve(n);
  for (auto i : order)
    sorted.push_back(std::move(run->elements[i]));
  run->elements = std::move(sorted);
  output(self, run);
}

// Redis's LIMIT arithmetic: [start, end) of n elements.
void cut(std::size_t n, std::int64_t offset, std::int64_t count, std::size_t& start,
         std::size_t& end) {
  auto len = static_cast<std::int64_t>(n);
  auto s = std::min(std::max<std::int64_t>(offset, 0), len);
  auto c = std::min(std::max<std::int64_t>(count, -1), len);
  auto e = c < 0 ? len - 1 : s + c - 1;
  if (s >= len) {
    s = len - 1;
    e = len - 2;
  }
  if (e >= len)
    e = len - 1;
  start = static_cast<std::size_t>(std::max<std::int64_t>(s, 0));
  end = e < s ? start : static_cast<std::size_t>(e + 1);
}

template <class Finish>
void sort_steps(gateway_actor* self, sort_request request, Finish finish) {
  auto run = std::make_shared<sort_run>();
  run->request = std::move(request);
  run->finish = finish;
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& peek = p.open(hidden_client(), commands::plan::merge::single);
      p.route(peek, shard::op_code::peek, run->request.key);
    },
    [self, run](commands::plan& p, std::size_t first) mutable {
      auto part = p.part_of(first);
      const auto* peeked = part.share();
      if (peeked == nullptr) {
        run->finish(std::string{part.bytes()});
        return;
      }
      auto& request = run->request;
      std::uint8_t type = peeked->found ? peeked->type : list_type;
      if (peeked->found && !elements_of(part.bytes(), type, run->elements)) {
        run->finish(protocol::errors::as_reply(protocol::errors::wrong_type));
        return;
      }
      // A set has no order of its own: sorted when stored or in a script,
      // so the result is the same everywhere.
      if (request.dontsort && type == set_type && (request.store || request.from_script)) {
        request.dontsort = false;
        request.alpha = true;
        request.by.reset();
      }
      cut(run->elements.size(), request.offset, request.count, run->start, run->end);
      if (request.dontsort) {
        // The source's own order; for a list or a sorted set DESC walks it
        // from its end.
        if (request.desc && type != set_type)
          std::reverse(run->elements.begin(), run->elements.end());
        output(self, run);
        return;
      }
      if (!request.by) {
        sort_and_output(self, run);
        return;
      }
      read_patterns(self, run->elements, {*request.by},
                    [self, run](std::vector<std::optional<std::string>> weights) {
                      run->weights = std::move(weights);
                      sort_and_output(self, run);
                    });
    });
}

// Parses SORT or SORT_RO; the error, or an empty string.
std::string read_sort(const args& argv, bool readonly, sort_request& out) {
  out.key = std::string{argv[1]};
  for (std::size_t j = 2; j < argv.size(); ++j) {
    auto left = argv.size() - j - 1;
    auto word = argv[j];
    if (commands::equals_ignoring_case(word, "asc")) {
      out.desc = false;
    } else if (commands::equals_ignoring_case(word, "desc")) {
      out.desc = true;
    } else if (commands::equals_ignoring_case(word, "alpha")) {
      out.alpha = true;
    } else if (commands::equals_ignoring_case(word, "limit") && left >= 2) {
      if (!protocol::parse_int64(argv[j + 1], out.offset)
          || !protocol::parse_int64(argv[j + 2], out.count))
        return std::string{protocol::errors::not_an_integer};
      j += 2;
    } else if (!readonly && commands::equals_ignoring_case(word, "store") && left >= 1) {
      out.store = std::string{argv[++j]};
    } else if (commands::equals_ignoring_case(word, "by") && left >= 1) {
      std::string pattern{argv[++j]};
      out.dontsort = pattern.find('*') == std::string::npos;
      out.by = std::move(pattern);
    } else if (commands::equals_ignoring_case(word, "get") && left >= 1) {
      out.gets.emplace_back(argv[++j]);
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  if (out.dontsort)
    out.by.reset();
  return {};
}

template <class Start>
bool run_sort(gateway_actor* self, const args& argv, int resp, bool from_script, Start start) {
  auto name = commands::to_lower(argv[0]);
  if (name != "sort" && name != "sort_ro")
    return false;
  sort_request request;
  request.resp = resp;
  request.from_script = from_script;
  if (auto error = read_sort(argv, name == "sort_ro", request); !error.empty()) {
    start(std::vector<std::string>{})(protocol::errors::as_reply(error));
    return true;
  }
  std::vector<std::string> held{request.key};
  if (request.store)
    held.push_back(*request.store);
  sort_steps(self, std::move(request), start(held));
  return true;
}

} // namespace

void sort_command(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work) {
  // BY and GET patterns name keys no key spec finds: a user limited to some
  // keys may not use them (as Redis 7).
  if (!conn.user->unrestricted()) {
    auto slot = commands::stat_slot_of(*commands::find_command(argv[0]), argv);
    if (!conn.user->full_key_access(slot, argv, acl::key_read)) {
      for (std::size_t i = 2; i + 1 < argv.size(); ++i) {
        bool by = commands::equals_ignoring_case(argv[i], "by")
                  && argv[i + 1].find('*') != std::string_view::npos;
        bool get = commands::equals_ignoring_case(argv[i], "get");
        if (by || get) {
          work.add_reply(conn.context,
                         protocol::errors::as_reply(
                           std::string{"ERR "} + (by ? "BY" : "GET")
                           + " option of SORT denied due to insufficient ACL permissions."));
          return;
        }
      }
    }
  }
  run_sort(self, argv, conn.context.resp_version, false, [&](std::vector<std::string> held) {
    return begin_holding_steps(self, conn, work, std::move(held));
  });
}

bool sort_from_script(gateway_actor* self, const args& argv, int resp,
                      std::function<void(std::string_view)> finish) {
  return run_sort(self, argv, resp, true,
                  [&](const std::vector<std::string>&) { return finish; });
}

} // namespace stairkv::gateway
