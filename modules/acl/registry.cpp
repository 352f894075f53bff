#include "modules/acl/registry.hpp"

#include <algorithm>

#include "modules/commands/text.hpp"

namespace stairkv::acl {

namespace {

bool bad_username(std::string_view name) {
  return name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
           return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
         });
}

// A line's words, split at spaces and tabs; quotes group words with spaces
// ("..." with \-escapes, '...' literally). False on unbalanced quotes.
bool split_line(std::string_view line, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i >= line.size())
      break;
    std::string word;
    if (line[i] == '"' || line[i] == '\'') {
      char quote = line[i++];
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i < line.size())
          c = line[i++];
        word += c;
      }
      if (!closed)
        return false;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t')
        word += line[i++];
    }
    out.push_back(std::move(word));
  }
  return true;
}

} // namespace

registry::registry(bool all_channels_by_default)
  : all_channels_by_default_(all_channels_by_default) {
  auto d = std::make_shared<user>("default", all_channels_by_default_);
  for (const char* rule : {"+@all", "~*", "&*", "on", "nopass"})
    d->apply(rule);
  users_.emplace("default", std::move(d));
}

user_ptr registry::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

std::string registry::set_user(std::string_view name, const std::vector<std::string>& rules) {
  if (bad_username(name))
    return "ERR Usernames can't contain spaces or null characters";
  auto existing = find(name);
  auto changed = existing ? std::make_shared<user>(*existing)
                          : std::make_shared<user>(std::string{name},
                                                   all_channels_by_default_);
  changed->set_all_channels_by_default(all_channels_by_default_);
  for (const auto& rule : rules) {
    auto error = changed->apply(rule);
    if (!error.empty())
      return "ERR Error in ACL SETUSER modifier '" + rule + "': " + error;
  }
  users_[std::string{name}] = std::move(changed);
  return {};
}

std::size_t registry::delete_users(const std::vector<std::string>& names, bool& refused) {
  refused = std::find(names.begin(), names.end(), "default") != names.end();
  if (refused)
    return 0;
  std::size_t gone = 0;
  for (const auto& n : names) {
    auto it = users_.find(n);
    if (it != users_.end()) {
      users_.erase(it);
      ++gone;
    }
  }
  return gone;
}

void registry::set_default_password(std::string_view password) {
  auto d = std::make_shared<user>(*default_user());
  d->apply("resetpass");
  if (password.empty())
    d->apply("nopass");
  else
    d->apply(">" + std::string{password});
  users_["default"] = std::move(d);
}

std::string registry::load(std::string_view text, std::string_view file) {
  registry loaded{all_channels_by_default_};
  loaded.users_.clear();
  std::string errors;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') {
      if (end == text.size())
        break;
      continue;
    }
    auto where = std::string{file} + ":" + std::to_string(line_number);
    std::vector<std::string> words;
    if (!split_line(line, words)) {
      errors += where + ": unbalanced quotes in acl line. ";
      continue;
    }
    if (words.size() < 2 || words[0] != "user") {
      errors += where + " should start with user keyword followed by the username. ";
      continue;
    }
    if (bad_username(words[1])) {
      errors += where + ": username '" + words[1] + "' contains invalid characters. ";
      continue;
    }
    if (loaded.users_.count(words[1]) != 0) {
      errors += "WARNING: Duplicate user '" + words[1] + "' found on line "
                + std::to_string(line_number) + ". ";
      continue;
    }
    std::vector<std::string_view> args(words.begin() + 2, words.end());
    std::vector<std::string> rules;
    std::string unmatched;
    if (!merge_selector_args(args, rules, unmatched)) {
      errors += where + ": Unmatched parenthesis in selector definition. ";
      continue;
    }
    auto made = std::make_shared<user>(words[1], all_channels_by_default_);
    for (const auto& rule : rules) {
      auto error = made->apply(rule);
      if (!error.empty()) {
        errors += where + ": Error in applying operation '" + rule + "': " + error + ". ";
        break;
      }
    }
    loaded.users_.emplace(words[1], std::move(made));
    if (end == text.size())
      break;
  }
  if (!errors.empty())
    return errors + "WARNING: ACL errors detected, no change to the previously active "
                    "ACL rules was performed";
  if (loaded.users_.count("default") == 0)
    loaded.users_.emplace("default", registry{all_channels_by_default_}.default_user());
  users_ = std::move(loaded.users_);
  return {};
}

std::string registry::save() const {
  std::string out;
  for (const auto& [name, u] : users_)
    out += "user " + name + " " + u->describe() + "\n";
  return out;
}

bool merge_selector_args(const std::vector<std::string_view>& args,
                         std::vector<std::string>& out, std::string& unmatched) {
  std::string open;
  bool in_selector = false;
  for (auto arg : args) {
    if (in_selector) {
      open += ' ';
      open.append(arg);
      if (!arg.empty() && arg.back() == ')') {
        out.push_back(std::move(open));
        open.clear();
        in_selector = false;
      }
    } else if (!arg.empty() && arg.front() == '(' && arg.back() != ')') {
      open.assign(arg);
      unmatched.assign(arg);
      in_selector = true;
    } else {
      out.emplace_back(arg);
    }
  }
  return !in_selector;
}

void refusal_log::add(log_entry entry) {
  // A refusal like one of the last ten counts with it, moved to the front.
  std::size_t scanned = 0;
  for (auto it = entries_.begin(); it != entries_.end() && scanned < 10; ++it, ++scanned) {
    if (it->reason == entry.reason && it->context == entry.context
        && it->object == entry.object && it->username == entry.username) {
      auto count = it->count + 1;
      entries_.erase(it);
      entry.count = count;
      break;
    }
  }
  entries_.push_front(std::move(entry));
  while (entries_.size() > max_)
    entries_.pop_back();
}

void refusal_log::set_max(std::size_t n) {
  max_ = n;
  while (entries_.size() > max_)
    entries_.pop_back();
}

} // namespace stairkv::acl
