#pragma once

// Redis Cluster's key space: 16,384 hash slots, a key's slot the CRC16 (XMODEM)
// of its hash tag (the part between the first `{` and the next `}`, when that
// part is not empty) or of the whole key. Pure code: the shards (GETKEYSINSLOT),
// the gateway (redirects) and the cluster actor share it.

#include <cstdint>
#include <string_view>

namespace stairkv::cluster {

inline constexpr std::uint16_t slot_count = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis computes it.
std::uint16_t crc16(std::string_view bytes) noexcept;

// The part of `key` that decides its slot: its hash tag, or the whole key.
std::string_view hashed_part(std::string_view key) noexcept;

// The key's slot, 0 to 16383.
inline std::uint16_t key_slot(std::string_view key) noexcept {
  return static_cast<std::uint16_t>(crc16(hashed_part(key)) & (slot_count - 1));
}

} // namespace stairkv::cluster
