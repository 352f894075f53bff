#include "examples/expiry_watcher/watch_expiries.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

namespace stairkv::examples {

namespace {

using clock = std::chrono::steady_clock;
// When each key's expired event arrived (steady clock, nanoseconds).
using arrivals = std::vector<std::pair<std::string, std::int64_t>>;
using report_atom = caf::atom_constant<caf::atom("report")>;

using give_up_atom = caf::atom_constant<caf::atom("giveup")>;

// A subscriber (it speaks subscriber_actor) that also answers, once it has
// heard `expected` events or its patience ran out, with what it heard.
using watcher_actor = subscriber_actor::extend<
  caf::replies_to<report_atom, std::int64_t /* expected */,
                  caf::timespan /* patience */>::with<arrivals>,
  caf::reacts_to<give_up_atom>>; // the patience is over

struct watcher_state {
  arrivals heard;
  std::int64_t expected = -1;
  caf::typed_response_promise<arrivals> report;
  static inline const char* name = "expiry_watcher";
};

watcher_actor::behavior_type
watcher(watcher_actor::stateful_pointer<watcher_state> self) {
  auto finish_if_done = [self](bool give_up) {
    auto& st = self->state;
    if (st.report.pending()
        && (give_up || static_cast<std::int64_t>(st.heard.size()) >= st.expected))
      st.report.deliver(st.heard);
  };
  return {
    [self, finish_if_done](key_event_atom, std::int32_t, std::string& key,
                           const std::string& event) {
      if (event != "expired")
        return;
      self->state.heard.emplace_back(std::move(key),
                                     clock::now().time_since_epoch().count());
      finish_if_done(false);
    },
    [](message_atom, const std::string&, const std::string&) {},
    [](pmessage_atom, const std::string&, const std::string&, const std::string&) {},
    [self, finish_if_done](report_atom, std::int64_t expected, caf::timespan patience) {
      self->state.expected = expected;
      self->state.report = self->make_response_promise<arrivals>();
      self->delayed_send(self, patience, give_up_atom::value);
      auto promise = self->state.report;
      finish_if_done(false);
      return promise;
    },
    [finish_if_done](give_up_atom) { finish_if_done(true); },
  };
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

} // namespace

bool watch_expiries(caf::actor_system& system, const store_actor& store,
                    const watch_settings& settings, std::ostream& out) {
  caf::scoped_actor self{system};
  auto w = system.spawn(watcher);
  bool subscribed = false;
  self->request(store, std::chrono::seconds{10}, subscribe_atom::value,
                subscriber_actor{w}, std::vector<std::string>{keyevent_channel(0, "expired")})
    .receive([&](std::int64_t held) { subscribed = held == 1; },
             [&](caf::error& e) { out << "subscribe failed: " << system.render(e) << '\n'; });
  if (!subscribed) {
    self->send_exit(w, caf::exit_reason::user_shutdown);
    return false;
  }

  // Each key's deadline as this process sees it: taken just before its SET is
  // sent, so the store's own (decided when the SET runs) is a little later and
  // the lateness printed errs on the high side.
  std::unordered_map<std::string, clock::time_point> deadlines;
  auto step = settings.keys > 1 ? settings.spread / (settings.keys - 1) : caf::timespan{0};
  for (int i = 0; i < settings.keys; ++i) {
    auto key = "watch:" + std::to_string(i);
    auto ttl = settings.first_ttl + step * i;
    deadlines[key] = clock::now() + ttl;
    self->send(store, caf::put_atom::value, key, std::string{"v"}, ttl);
  }
  int stored = 0;
  self->receive_for(stored, settings.keys)(
    [](bool) {},
    [&](caf::error& e) { out << "SET failed: " << system.render(e) << '\n'; });

  arrivals heard;
  auto wait = settings.first_ttl + settings.spread + settings.patience;
  self->request(w, wait + std::chrono::seconds{5}, report_atom::value,
                std::int64_t{settings.keys}, wait)
    .receive([&](arrivals& a) { heard = std::move(a); },
             [&](caf::error& e) { out << "no report: " << system.render(e) << '\n'; });
  self->send_exit(w, caf::exit_reason::user_shutdown); // its subscription goes with it

  std::vector<double> late_ms;
  for (const auto& [key, at] : heard) {
    auto deadline = deadlines.find(key);
    if (deadline == deadlines.end())
      continue;
    auto late = clock::time_point{clock::duration{at}} - deadline->second;
    late_ms.push_back(std::chrono::duration<double, std::milli>(late).count());
    deadlines.erase(deadline); // a second event for one key would not count twice
  }
  std::sort(late_ms.begin(), late_ms.end());
  out << std::fixed << std::setprecision(1) << "late by: p50 " << percentile(late_ms, 0.5)
      << " ms, p99 " << percentile(late_ms, 0.99) << " ms, max "
      << (late_ms.empty() ? 0.0 : late_ms.back()) << " ms\n";
  out << "heard " << late_ms.size() << " of " << settings.keys << '\n';
  return static_cast<int>(late_ms.size()) == settings.keys;
}

} // namespace stairkv::examples
