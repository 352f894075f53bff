#include "modules/values/dump.hpp"

#include <xxhash.h>

namespace stairkv::values {

namespace {

constexpr std::size_t trailer = 2 + 8;

void put_le(std::string& out, std::uint64_t n, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t n = 0;
  for (int i = 0; i < bytes; ++i)
    n |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return n;
}

} // namespace

std::string dump_payload(std::uint8_t type, std::string_view bytes) {
  std::string out;
  out.reserve(1 + bytes.size() + trailer);
  out.push_back(static_cast<char>(type));
  out.append(bytes.data(), bytes.size());
  put_le(out, dump_version, 2);
  put_le(out, XXH64(out.data(), out.size(), 0), 8);
  return out;
}

bool read_dump_payload(std::string_view payload, std::uint8_t& type, std::string_view& bytes) {
  if (payload.size() < 1 + trailer)
    return false;
  auto body = payload.size() - 8;
  if (get_le(payload, body, 8) != XXH64(payload.data(), body, 0))
    return false;
  if (get_le(payload, body - 2, 2) != dump_version)
    return false;
  type = static_cast<std::uint8_t>(payload[0]);
  bytes = payload.substr(1, payload.size() - 1 - trailer);
  return true;
}

} // namespace stairkv::values
