#pragma once

// Reading back the shard replies that get merged with others: a count to add up,
// an array whose elements join other shards' elements, SCAN's share. Shards
// answer in RESP2 (batch.hpp), so these are the only shapes to expect; anything
// else (an error) makes them return false.

#include <cstdint>
#include <string_view>

#include "modules/protocol/number.hpp"

namespace stairkv::shard {

// ":<n>\r\n"
inline bool read_count(std::string_view reply, std::int64_t& value) {
  if (reply.size() < 3 || reply.front() != ':')
    return false;
  return protocol::parse_int64(reply.substr(1, reply.size() - 3), value);
}

// "*<n>\r\n" and then its n elements, left encoded.
struct array_share {
  std::int64_t count = 0;
  std::string_view elements;
};

inline bool read_array(std::string_view reply, array_share& out) {
  auto eol = reply.find("\r\n");
  if (reply.empty() || reply.front() != '*' || eol == std::string_view::npos
      || !protocol::parse_int64(reply.substr(1, eol - 1), out.count))
    return false;
  out.elements = reply.substr(eol + 2);
  return true;
}

// SCAN's share: "*2\r\n:<looked>\r\n*<n>\r\n<keys>".
inline bool read_scan_share(std::string_view reply, std::int64_t& looked,
                            array_share& keys) {
  constexpr std::string_view header = "*2\r\n";
  if (reply.substr(0, header.size()) != header)
    return false;
  auto rest = reply.substr(header.size());
  auto eol = rest.find("\r\n");
  if (eol == std::string_view::npos || !read_count(rest.substr(0, eol + 2), looked))
    return false;
  return read_array(rest.substr(eol + 2), keys);
}

} // namespace stairkv::shard
