#pragma once

// The users of a node, by name (ACL SETUSER, DELUSER, LIST, an aclfile), and
// the log of refused calls and failed logins (ACL LOG). Owned by one actor
// (the gateway); a connection holds the shared_ptr of the user it logged in
// as, and a change replaces the user with a new object, so a script or a
// transaction running for a connection keeps a consistent view.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modules/acl/user.hpp"

namespace stairkv::acl {

using user_ptr = std::shared_ptr<const user>;

class registry {
public:
  // `all_channels_by_default`: acl-pubsub-default allchannels (new users may
  // use every channel) rather than Redis 7's resetchannels.
  explicit registry(bool all_channels_by_default = false);

  user_ptr find(std::string_view name) const;
  user_ptr default_user() const {
    return find("default");
  }
  const std::map<std::string, user_ptr, std::less<>>& users() const {
    return users_;
  }
  bool all_channels_by_default() const {
    return all_channels_by_default_;
  }
  // acl-pubsub-default changed: users made from now on (and reset) get it.
  void set_all_channels_by_default(bool all) {
    all_channels_by_default_ = all;
  }

  // ACL SETUSER name rules...: creates the user (off, -@all, no keys) when it
  // does not exist; applies every rule or none. Returns the error reply's
  // text ("ERR Error in ACL SETUSER modifier ..."), or "" when done.
  std::string set_user(std::string_view name, const std::vector<std::string>& rules);

  // ACL DELUSER: how many of `names` existed (the default user cannot go:
  // `refused` is set when it is among them, and nothing is deleted).
  std::size_t delete_users(const std::vector<std::string>& names, bool& refused);

  // requirepass: the default user's only password (empty: nopass).
  void set_default_password(std::string_view password);

  // An aclfile's text: `user <name> <rules...>` lines (blank lines and
  // lines starting with '#' ignored). On success the users become exactly
  // those of the file (plus the default user if the file does not name it)
  // and "" is returned; otherwise nothing changes and the errors, each with
  // `file:line`, are returned.
  std::string load(std::string_view text, std::string_view file);

  // The users as an aclfile holds them (ACL SAVE): one `user` line each.
  std::string save() const;

  // Replaces the set of users by another's (ACL LOAD after a successful parse).
  void replace_with(registry&& other) {
    users_ = std::move(other.users_);
  }

private:
  std::map<std::string, user_ptr, std::less<>> users_;
  bool all_channels_by_default_;
};

// Splits rule arguments as ACL SETUSER receives them into rules, joining a
// selector given in several arguments ("(+get" "~k*)" -> "(+get ~k*)").
// Returns false (with the argument where the selector began) when a
// parenthesis is not closed.
bool merge_selector_args(const std::vector<std::string_view>& args,
                         std::vector<std::string>& out, std::string& unmatched);

// ACL LOG: the most recent refusals first, similar ones counted together.
struct log_entry {
  std::int64_t count = 1;
  std::string reason;  // command, key, channel, auth
  std::string context; // toplevel, multi, lua
  std::string object;  // the command, key, channel, or AUTH
  std::string username;
  std::int64_t created_ms = 0; // the last time it happened
  std::string client_info;     // CLIENT LIST's line of the client
};

class refusal_log {
public:
  explicit refusal_log(std::size_t max_entries = 128) : max_(max_entries) {}
  void add(log_entry entry);
  void reset() {
    entries_.clear();
  }
  void set_max(std::size_t n);
  const std::deque<log_entry>& entries() const {
    return entries_;
  }

private:
  std::deque<log_entry> entries_;
  std::size_t max_;
};

} // namespace stairkv::acl
