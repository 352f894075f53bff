#include "modules/acl/user.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>

#include "modules/acl/categories.hpp"
#include "modules/commands/command_table.hpp"
#include "modules/commands/glob.hpp"
#include "modules/commands/text.hpp"

namespace stairkv::acl {

namespace {

using commands::equals_ignoring_case;

constexpr std::string_view unknown_name = "Unknown command or category name in ACL";
constexpr std::string_view syntax_error = "Syntax error";
constexpr std::string_view key_after_all =
  "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
  "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
constexpr std::string_view channel_after_all =
  "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
  "does not have any effect. Try 'resetchannels' to start with an empty list of "
  "channels";
constexpr std::string_view no_such_password =
  "The password you are trying to remove from the user does not exist";
constexpr std::string_view bad_hash =
  "The password hash must be exactly 64 characters and contain only lowercase "
  "hexadecimal characters";
constexpr std::string_view first_arg_of_sub =
  "Allowing first-arg of a subcommand is not supported";

std::size_t slot_count() {
  return commands::stat_slots().size();
}

bool has_space(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  });
}

// AUTH and HELLO run for every user (Redis's NO_AUTH commands).
bool runs_for_everyone(std::size_t slot) {
  static const auto auth = commands::find_stat_slot("auth");
  static const auto hello = commands::find_stat_slot("hello");
  return slot == auth || slot == hello;
}

// The slots of a call's channels: PUBLISH's one, (S)SUBSCRIBE's and
// PSUBSCRIBE's every argument (patterns for PSUBSCRIBE).
struct channel_args {
  std::size_t first = 0, last = 0; // [first, last) in argv; empty: none
  bool patterns = false;
};

channel_args channels_of(std::size_t slot, std::size_t argc) {
  std::string_view name = fact_of_slot(slot).name;
  if (name == "publish" || name == "spublish")
    return {1, std::min<std::size_t>(2, argc), false};
  if (name == "subscribe" || name == "ssubscribe")
    return {1, argc, false};
  if (name == "psubscribe")
    return {1, argc, true};
  return {};
}

std::string pattern_text(const key_pattern& p) {
  if (p.access == (key_read | key_write))
    return "~" + p.pattern;
  return (p.access == key_read ? "%R~" : "%W~") + p.pattern;
}

// Visits every slot in the order rules are described: each command, then
// (for a container) its subcommands.
template <class Visit>
void in_description_order(Visit visit) {
  const auto& all = commands::all_commands();
  for (std::size_t c = 0; c < all.size(); ++c) {
    visit(c);
    auto [begin, end] = commands::subcommand_slots(all[c]);
    for (auto s = begin; s < end; ++s)
      visit(s);
  }
}

} // namespace

// -- selector ------------------------------------------------------------------

selector::selector() : commands_((slot_count() + 63) / 64, 0) {}

bool selector::allows_slot(std::size_t slot) const {
  return (commands_[slot / 64] >> (slot % 64)) & 1u;
}

void selector::set_slot(std::size_t slot, bool on) {
  auto bit = std::uint64_t{1} << (slot % 64);
  if (on)
    commands_[slot / 64] |= bit;
  else
    commands_[slot / 64] &= ~bit;
}

void selector::change_command(std::size_t slot, bool on) {
  set_slot(slot, on);
  first_args_.erase(slot);
  const auto& info = commands::stat_slots()[slot];
  if (!info.subcommand) {
    auto [begin, end] = commands::subcommand_slots(*info.command);
    for (auto s = begin; s < end; ++s)
      set_slot(s, on);
  }
}

void selector::change_category(std::uint32_t category, bool on) {
  for (std::size_t slot = 0; slot < slot_count(); ++slot)
    if ((fact_of_slot(slot).categories & category) != 0)
      change_command(slot, on);
}

std::string selector::apply(std::string_view rule) {
  if (equals_ignoring_case(rule, "allkeys") || rule == "~*") {
    all_keys_ = true;
    keys_.clear();
  } else if (equals_ignoring_case(rule, "resetkeys")) {
    all_keys_ = false;
    keys_.clear();
  } else if (equals_ignoring_case(rule, "allchannels") || rule == "&*") {
    all_channels_ = true;
    channels_.clear();
  } else if (equals_ignoring_case(rule, "resetchannels")) {
    all_channels_ = false;
    channels_.clear();
  } else if (equals_ignoring_case(rule, "allcommands") || equals_ignoring_case(rule, "+@all")) {
    std::fill(commands_.begin(), commands_.end(), ~std::uint64_t{0});
    future_commands_ = true;
    first_args_.clear();
  } else if (equals_ignoring_case(rule, "nocommands") || equals_ignoring_case(rule, "-@all")) {
    std::fill(commands_.begin(), commands_.end(), 0);
    future_commands_ = false;
    first_args_.clear();
  } else if (rule[0] == '~' || rule[0] == '%') {
    if (all_keys_)
      return std::string{key_after_all};
    std::uint8_t access = 0;
    std::size_t offset = 1;
    if (rule[0] == '%') {
      // As Redis, "%RW" without "~pattern" is taken: an empty pattern.
      bool ok = true;
      for (; offset < rule.size(); ++offset) {
        char c = rule[offset];
        if ((c == 'R' || c == 'r') && !(access & key_read)) {
          access |= key_read;
        } else if ((c == 'W' || c == 'w') && !(access & key_write)) {
          access |= key_write;
        } else if (c == '~') {
          ++offset;
          break;
        } else {
          ok = false;
          break;
        }
      }
      if (access == 0 || !ok)
        return std::string{syntax_error};
    } else {
      access = key_read | key_write;
    }
    auto pattern = rule.substr(offset);
    if (has_space(pattern))
      return std::string{syntax_error};
    auto same = std::find_if(keys_.begin(), keys_.end(),
                             [&](const key_pattern& p) { return p.pattern == pattern; });
    if (same == keys_.end())
      keys_.push_back({std::string{pattern}, access});
    else
      same->access |= access;
  } else if (rule[0] == '&') {
    if (all_channels_)
      return std::string{channel_after_all};
    auto pattern = rule.substr(1);
    if (has_space(pattern))
      return std::string{syntax_error};
    if (std::find(channels_.begin(), channels_.end(), pattern) == channels_.end())
      channels_.emplace_back(pattern);
  } else if ((rule[0] == '+' || rule[0] == '-') && rule.size() > 1 && rule[1] == '@') {
    auto category = find_category(rule.substr(2));
    if (!category)
      return std::string{unknown_name};
    change_category(*category, rule[0] == '+');
  } else if (rule[0] == '-') {
    auto slot = commands::find_stat_slot(rule.substr(1));
    if (!slot)
      return std::string{unknown_name};
    change_command(*slot, false);
  } else if (rule[0] == '+') {
    auto name = rule.substr(1);
    auto bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      auto slot = commands::find_stat_slot(name);
      if (!slot)
        return std::string{unknown_name};
      change_command(*slot, true);
    } else {
      auto container = commands::find_stat_slot(name.substr(0, bar));
      if (!container)
        return std::string{unknown_name};
      const auto& info = commands::stat_slots()[*container];
      if (info.subcommand)
        return std::string{first_arg_of_sub};
      auto arg = name.substr(bar + 1);
      if (arg.empty())
        return std::string{syntax_error};
      auto [begin, end] = commands::subcommand_slots(*info.command);
      if (begin != end) {
        auto slot = commands::find_stat_slot(name);
        if (!slot)
          return std::string{unknown_name};
        change_command(*slot, true);
      } else {
        // A first argument of an otherwise blocked command (+select|0).
        auto& args = first_args_[*container];
        auto lowered = commands::to_lower(arg);
        if (std::find(args.begin(), args.end(), lowered) == args.end())
          args.push_back(std::move(lowered));
      }
    }
  } else {
    return std::string{syntax_error};
  }
  return {};
}

bool selector::channel_allowed(std::string_view channel, bool is_pattern) const {
  for (const auto& p : channels_) {
    if (is_pattern ? p == channel : commands::glob_match(p, channel))
      return true;
  }
  return false;
}

denial selector::check(std::size_t slot, const std::vector<std::string_view>& argv,
                       const std::vector<key_ref>& keys, std::size_t& position) const {
  if (!allows_slot(slot) && !runs_for_everyone(slot)) {
    auto found = first_args_.find(slot);
    if (found == first_args_.end())
      return denial::command;
    auto index = commands::stat_slots()[slot].subcommand ? 2u : 1u;
    if (argv.size() <= index)
      return denial::command;
    bool match = std::any_of(found->second.begin(), found->second.end(),
                             [&](const std::string& a) {
                               return equals_ignoring_case(a, argv[index]);
                             });
    if (!match)
      return denial::command;
  }
  if (!all_keys_) {
    for (const auto& key : keys) {
      auto text = argv[key.position];
      bool ok = std::any_of(keys_.begin(), keys_.end(), [&](const key_pattern& p) {
        return (p.access & key.access) == key.access && commands::glob_match(p.pattern, text);
      });
      if (!ok) {
        position = key.position;
        return denial::key;
      }
    }
  }
  if (!all_channels_) {
    auto ch = channels_of(slot, argv.size());
    for (auto i = ch.first; i < ch.last; ++i)
      if (!channel_allowed(argv[i], ch.patterns)) {
        position = i;
        return denial::channel;
      }
  }
  return denial::none;
}

bool selector::every_key(std::uint8_t access) const {
  return all_keys_ || std::any_of(keys_.begin(), keys_.end(), [&](const key_pattern& p) {
           return p.pattern == "*" && (p.access & access) == access;
         });
}

bool selector::unrestricted() const {
  if (!all_keys_ || !all_channels_)
    return false;
  for (std::size_t slot = 0; slot < slot_count(); ++slot)
    if (!allows_slot(slot))
      return false;
  return true;
}

std::string selector::describe_commands() const {
  std::string rules;
  selector fake;
  bool additive = !future_commands_;
  rules = additive ? "-@all " : "+@all ";
  fake.apply(additive ? "-@all" : "+@all");
  // Categories first, each the best fit left (more commands it gets right
  // than wrong, the fewest wrong), then single commands for the rest.
  selector temp = *this;
  const auto& cats = categories();
  std::vector<bool> applied(cats.size(), false);
  for (;;) {
    int best = -1;
    std::size_t min_diff = SIZE_MAX, max_same = 0;
    for (std::size_t j = 0; j < cats.size(); ++j) {
      if (applied[j])
        continue;
      std::size_t on = 0, off = 0;
      for (std::size_t slot = 0; slot < slot_count(); ++slot)
        if ((fact_of_slot(slot).categories & cats[j].bit) != 0)
          ++(temp.allows_slot(slot) ? on : off);
      auto diff = additive ? off : on;
      auto same = additive ? on : off;
      if (same > diff && (diff < min_diff || (diff == min_diff && same > max_same))) {
        best = static_cast<int>(j);
        min_diff = diff;
        max_same = same;
      }
    }
    if (best < 0)
      break;
    const auto& c = cats[static_cast<std::size_t>(best)];
    fake.change_category(c.bit, additive);
    temp.change_category(c.bit, !additive);
    rules += additive ? "+@" : "-@";
    rules.append(c.name);
    rules += ' ';
    applied[static_cast<std::size_t>(best)] = true;
  }
  const auto& slots = commands::stat_slots();
  in_description_order([&](std::size_t slot) {
    bool mine = allows_slot(slot);
    if (mine != fake.allows_slot(slot)) {
      rules += mine ? '+' : '-';
      rules += slots[slot].name;
      rules += ' ';
      fake.change_command(slot, mine);
    }
    auto found = first_args_.find(slot);
    if (!mine && found != first_args_.end())
      for (const auto& arg : found->second) {
        rules += '+';
        rules += slots[slot].name;
        rules += '|';
        rules += arg;
        rules += ' ';
      }
  });
  rules.pop_back();
  return rules;
}

std::string selector::describe_keys() const {
  if (all_keys_)
    return "~*";
  std::string out;
  for (const auto& p : keys_) {
    if (!out.empty())
      out += ' ';
    out += pattern_text(p);
  }
  return out;
}

std::string selector::describe_channels() const {
  if (all_channels_)
    return "&*";
  std::string out;
  for (const auto& c : channels_) {
    if (!out.empty())
      out += ' ';
    out += '&';
    out += c;
  }
  return out;
}

std::string selector::describe() const {
  std::string out;
  if (all_keys_) {
    out = "~* ";
  } else {
    for (const auto& p : keys_)
      out += pattern_text(p) + ' ';
  }
  if (all_channels_) {
    out += "&* ";
  } else {
    out += "resetchannels ";
    for (const auto& c : channels_)
      out += "&" + c + ' ';
  }
  out += describe_commands();
  return out;
}

// -- user ----------------------------------------------------------------------

user::user(std::string name, bool all_channels_by_default)
  : name_(std::move(name)), all_channels_by_default_(all_channels_by_default) {
  selectors_.emplace_back();
  if (all_channels_by_default_)
    selectors_.front().apply("allchannels");
  refresh();
}

std::string user::apply(std::string_view rule) {
  std::string error;
  if (rule.empty()) {
    // nothing
  } else if (equals_ignoring_case(rule, "on")) {
    enabled_ = true;
  } else if (equals_ignoring_case(rule, "off")) {
    enabled_ = false;
  } else if (equals_ignoring_case(rule, "skip-sanitize-payload")) {
    sanitize_ = sanitize::skip;
  } else if (equals_ignoring_case(rule, "sanitize-payload")) {
    sanitize_ = sanitize::on;
  } else if (equals_ignoring_case(rule, "nopass")) {
    nopass_ = true;
    passwords_.clear();
  } else if (equals_ignoring_case(rule, "resetpass")) {
    nopass_ = false;
    passwords_.clear();
  } else if (rule[0] == '>' || rule[0] == '#') {
    std::string hash;
    if (rule[0] == '>') {
      hash = hash_password(rule.substr(1));
    } else {
      if (!valid_password_hash(rule.substr(1)))
        return std::string{bad_hash};
      hash = std::string{rule.substr(1)};
    }
    if (std::find(passwords_.begin(), passwords_.end(), hash) == passwords_.end())
      passwords_.push_back(std::move(hash));
    nopass_ = false;
  } else if (rule[0] == '<' || rule[0] == '!') {
    std::string hash;
    if (rule[0] == '<') {
      hash = hash_password(rule.substr(1));
    } else {
      if (!valid_password_hash(rule.substr(1)))
        return std::string{bad_hash};
      hash = std::string{rule.substr(1)};
    }
    auto it = std::find(passwords_.begin(), passwords_.end(), hash);
    if (it == passwords_.end())
      return std::string{no_such_password};
    passwords_.erase(it);
  } else if (rule.front() == '(' && rule.back() == ')' && rule.size() >= 2) {
    selector made;
    if (all_channels_by_default_)
      made.apply("allchannels");
    std::vector<std::string> inner;
    split_rules(rule.substr(1, rule.size() - 2), inner);
    for (const auto& r : inner) {
      error = made.apply(r);
      if (!error.empty())
        return error;
    }
    selectors_.push_back(std::move(made));
  } else if (equals_ignoring_case(rule, "clearselectors")) {
    selectors_.resize(1);
  } else if (equals_ignoring_case(rule, "reset")) {
    nopass_ = false;
    passwords_.clear();
    selectors_.resize(1);
    auto& root = selectors_.front();
    root.apply("resetkeys");
    root.apply("resetchannels");
    if (all_channels_by_default_)
      root.apply("allchannels");
    root.apply("-@all");
    enabled_ = false;
    sanitize_ = sanitize::on;
  } else {
    error = selectors_.front().apply(rule);
  }
  refresh();
  return error;
}

void user::refresh() {
  unrestricted_ = std::any_of(selectors_.begin(), selectors_.end(),
                              [](const selector& s) { return s.unrestricted(); });
}

bool user::password_ok(std::string_view password) const {
  if (nopass_)
    return true;
  if (passwords_.empty())
    return false;
  auto hash = hash_password(password);
  // Every password is compared, so the time taken says nothing of which matched.
  bool found = false;
  for (const auto& p : passwords_) {
    unsigned char differ = 0;
    for (std::size_t i = 0; i < p.size() && i < hash.size(); ++i)
      differ |= static_cast<unsigned char>(p[i] ^ hash[i]);
    found |= differ == 0 && p.size() == hash.size();
  }
  return found;
}

denial user::check(std::size_t slot, const std::vector<std::string_view>& argv,
                   std::size_t& position) const {
  if (unrestricted_)
    return denial::none;
  std::vector<key_ref> keys;
  keys_of(slot, argv, keys);
  auto worst = denial::none;
  std::size_t worst_position = 0;
  for (const auto& s : selectors_) {
    std::size_t at = 0;
    auto result = s.check(slot, argv, keys, at);
    if (result == denial::none)
      return denial::none;
    // The most telling refusal: a channel over a key over the command, and
    // of two alike, the one further into the call (as Redis reports it).
    if (static_cast<int>(result) > static_cast<int>(worst)
        || (result == worst && at > worst_position)) {
      worst = result;
      worst_position = at;
    }
  }
  position = worst_position;
  return worst;
}

bool user::full_key_access(std::size_t slot, const std::vector<std::string_view>& argv,
                           std::uint8_t access) const {
  if (unrestricted_)
    return true;
  std::vector<key_ref> keys;
  keys_of(slot, argv, keys);
  return std::any_of(selectors_.begin(), selectors_.end(), [&](const selector& s) {
    std::size_t at = 0;
    return s.check(slot, argv, keys, at) == denial::none && s.every_key(access);
  });
}

std::vector<std::string> user::flags() const {
  std::vector<std::string> out;
  out.emplace_back(enabled_ ? "on" : "off");
  if (nopass_)
    out.emplace_back("nopass");
  if (sanitize_ == sanitize::skip)
    out.emplace_back("skip-sanitize-payload");
  else if (sanitize_ == sanitize::on)
    out.emplace_back("sanitize-payload");
  return out;
}

std::string user::describe() const {
  std::string out;
  for (const auto& f : flags())
    out += f + ' ';
  for (const auto& p : passwords_)
    out += '#' + p + ' ';
  out += selectors_.front().describe();
  for (std::size_t i = 1; i < selectors_.size(); ++i)
    out += " (" + selectors_[i].describe() + ')';
  return out;
}

// -- helpers -------------------------------------------------------------------

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 15];
  }
  return out;
}

std::string hash_password(std::string_view password) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(password.data(), password.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(digest, length);
}

bool valid_password_hash(std::string_view hash) {
  return hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool split_rules(std::string_view text, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ')
      ++i;
    if (i >= text.size())
      break;
    std::size_t end = i;
    if (text[i] == '(') {
      end = text.find(')', i);
      if (end == std::string_view::npos)
        return false;
      ++end;
    } else {
      while (end < text.size() && text[end] != ' ')
        ++end;
    }
    out.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return true;
}

} // namespace stairkv::acl
