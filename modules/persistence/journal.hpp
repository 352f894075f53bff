#pragma once

// What a shard appends to the append-only file: one framed AofRecord (see
// records.proto and framing.hpp) per change, written straight into a reusable
// buffer in Protobuf's wire format, so that logging a write allocates nothing
// once the buffer has grown. A shard fills it during a batch and hands the bytes
// to the AOF writer after it.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace stairkv::persistence {

class journal {
public:
  // The key now holds `value` with `deadline_ms` (0: none).
  void put(std::string_view key, std::string_view value, std::int64_t deadline_ms);
  // The key is gone.
  void del(std::string_view key);
  // The key's deadline is now `deadline_ms` (0: none).
  void deadline(std::string_view key, std::int64_t deadline_ms);
  // Every key of shard `shard` of a staircase of `stairs` stairs is gone.
  void flush(std::uint32_t shard, std::uint32_t stairs);

  bool empty() const noexcept {
    return bytes_.empty();
  }

  // The frames recorded since the last call.
  std::string take() {
    return std::exchange(bytes_, {});
  }

private:
  void frame(std::string_view record);
  std::string bytes_;
  std::string record_; // one record, before it is framed
};

// The first frame of every append-only file: a FileHeader with the magic and
// the format version.
inline constexpr std::string_view file_magic = "stairkv";
inline constexpr std::uint32_t format_version = 1;
std::string file_header(std::int64_t created_ms);

} // namespace stairkv::persistence
