#pragma once

// The error replies the server gives in more than one place, worded as Redis 7
// words them (client libraries map errors by their text). Without the leading
// '-' and the CRLF: reply_writer::error() frames them, as_reply() makes the
// whole RESP reply for code that records finished bytes.

#include <string>
#include <string_view>

namespace stairkv::protocol::errors {

inline constexpr std::string_view syntax = "ERR syntax error";
inline constexpr std::string_view not_an_integer =
  "ERR value is not an integer or out of range";
inline constexpr std::string_view not_a_float = "ERR value is not a valid float";
inline constexpr std::string_view overflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view decrement_overflow = "ERR decrement would overflow";
inline constexpr std::string_view nan_or_infinity =
  "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view string_too_long =
  "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view no_such_key = "ERR no such key";
inline constexpr std::string_view wrong_type =
  "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view shard_unavailable = "ERR shard unavailable";

// "ERR wrong number of arguments for '<command>' command" (`command` as Redis
// names it: lower case, "config|set" for a subcommand).
inline std::string wrong_arity(std::string_view command) {
  std::string msg = "ERR wrong number of arguments for '";
  msg.append(command);
  msg.append("' command");
  return msg;
}

// "ERR unknown subcommand '<sub>'. Try <CONTAINER> HELP." (`sub` as the client
// sent it, cut at 128 bytes as Redis does).
inline std::string unknown_subcommand(std::string_view sub, std::string_view container) {
  std::string msg = "ERR unknown subcommand '";
  msg.append(sub.substr(0, 128));
  msg.append("'. Try ");
  msg.append(container);
  msg.append(" HELP.");
  return msg;
}

// The RESP2 error reply: '-', the message, CRLF.
inline std::string as_reply(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out += '-';
  out.append(message);
  out.append("\r\n");
  return out;
}

} // namespace stairkv::protocol::errors
