#pragma once

// An ACL user as Redis 7 has them: on or off, its passwords (SHA-256), and
// selectors, each a set of commands (a bit per command and subcommand: the
// statistics slots of commands/command_table.hpp), key patterns with read and
// write permissions, and channel patterns. The root selector comes first; a
// call is allowed when any selector allows all of it. Rules are the words of
// ACL SETUSER and of an aclfile's `user` lines.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "modules/acl/command_facts.hpp"

namespace stairkv::acl {

struct key_pattern {
  std::string pattern;
  std::uint8_t access; // key_read | key_write
  bool operator==(const key_pattern& other) const {
    return pattern == other.pattern && access == other.access;
  }
};

// Why a call was refused.
enum class denial : std::uint8_t { none, command, key, channel };

class selector {
public:
  // Nothing allowed: -@all, no keys, no channels.
  selector();

  // Applies one rule (+get, -@all, +config|get, ~key*, %R~key*, allkeys,
  // resetkeys, &chan*, allchannels, resetchannels, allcommands, nocommands);
  // returns Redis's reason when it is not valid ("" when applied).
  std::string apply(std::string_view rule);

  // Whether this selector lets a call of `slot` with `argv` run; `keys` are the
  // call's keys (command_facts.hpp). `position` names the refused argument.
  denial check(std::size_t slot, const std::vector<std::string_view>& argv,
               const std::vector<key_ref>& keys, std::size_t& position) const;

  // Whether it allows every command, every key and every channel.
  bool unrestricted() const;

  // ACL GETUSER's fields: the command rules ("+@all -debug"), the key
  // patterns ("~* " or "~a* %R~b*"), the channel patterns ("&*", "&a*").
  std::string describe_commands() const;
  std::string describe_keys() const;
  std::string describe_channels() const;
  // ACL LIST's words for the selector: keys, channels, then the commands.
  std::string describe() const;

  bool all_keys() const {
    return all_keys_;
  }
  // allkeys, or a `*` pattern with `access`.
  bool every_key(std::uint8_t access) const;
  bool all_channels() const {
    return all_channels_;
  }
  bool allows_slot(std::size_t slot) const;

private:
  friend class user;
  void set_slot(std::size_t slot, bool on);
  // +cmd / -cmd: the command and, for a container, all of its subcommands.
  void change_command(std::size_t slot, bool on);
  void change_category(std::uint32_t category, bool on);
  bool channel_allowed(std::string_view channel, bool is_pattern) const;

  std::vector<std::uint64_t> commands_;
  bool future_commands_ = false; // set by +@all: commands added later are allowed
  // +select|0 on a command without subcommands: these first arguments only.
  std::unordered_map<std::size_t, std::vector<std::string>> first_args_;
  bool all_keys_ = false;
  std::vector<key_pattern> keys_;
  bool all_channels_ = false;
  std::vector<std::string> channels_;
};

class user {
public:
  explicit user(std::string name, bool all_channels_by_default = false);

  const std::string& name() const {
    return name_;
  }
  bool enabled() const {
    return enabled_;
  }
  bool nopass() const {
    return nopass_;
  }
  const std::vector<std::string>& passwords() const {
    return passwords_;
  }
  const std::vector<selector>& selectors() const {
    return selectors_;
  }
  const selector& root() const {
    return selectors_.front();
  }

  // Applies one rule: on, off, nopass, resetpass, >password, <password,
  // #hash, !hash, (selector rules), clearselectors, reset, and every selector
  // rule (applied to the root selector). Returns Redis's reason when it is
  // not valid ("" when applied; on failure the user may be half changed:
  // apply rules to a copy).
  std::string apply(std::string_view rule);

  // What `reset` and new selectors give for channels (acl-pubsub-default).
  void set_all_channels_by_default(bool all) {
    all_channels_by_default_ = all;
  }

  // Whether `password` is one of this user's (always, with nopass).
  bool password_ok(std::string_view password) const;

  // Whether a call may run; `position` names the refused key or channel.
  denial check(std::size_t slot, const std::vector<std::string_view>& argv,
               std::size_t& position) const;

  // Whether a selector lets this call run and gives `access` to every key
  // (SORT's BY and GET patterns name keys no spec finds: they need it).
  bool full_key_access(std::size_t slot, const std::vector<std::string_view>& argv,
                       std::uint8_t access) const;

  // No selector needs to look at a call: every command, key and channel.
  bool unrestricted() const {
    return unrestricted_;
  }

  // ACL LIST's and an aclfile's description, after `user <name> `.
  std::string describe() const;
  // ACL GETUSER's flags: on/off, nopass, and sanitize-payload or
  // skip-sanitize-payload when set.
  std::vector<std::string> flags() const;

private:
  void refresh();

  std::string name_;
  bool enabled_ = false;
  bool nopass_ = false;
  // sanitize-payload / skip-sanitize-payload, when one was given (Redis
  // shows neither until then).
  enum class sanitize : std::uint8_t { unset, on, skip } sanitize_ = sanitize::unset;
  bool all_channels_by_default_ = false;
  std::vector<std::string> passwords_; // SHA-256 in lower-case hex
  std::vector<selector> selectors_;    // the root first
  bool unrestricted_ = false;
};

// Bytes as lower-case hex (password hashes, ACL GENPASS).
std::string to_hex(const unsigned char* bytes, std::size_t n);

// The SHA-256 of a password in lower-case hex, as ACLs keep them.
std::string hash_password(std::string_view password);

// Whether `hash` is 64 lower-case hexadecimal characters.
bool valid_password_hash(std::string_view hash);

// Splits `text` into rules at spaces, keeping a parenthesised selector whole
// ("on >p (+get ~k*) -@all" -> "on", ">p", "(+get ~k*)", "-@all"); false when
// a parenthesis is not closed.
bool split_rules(std::string_view text, std::vector<std::string>& out);

} // namespace stairkv::acl
