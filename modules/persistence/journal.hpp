#pragma once

// What a shard appends to the append-only file: one framed AofRecord (see
// records.proto and framing.hpp) per change, written straight into a reusable
// buffer in Protobuf's wire format, so that logging a write allocates nothing
// once the buffer has grown. A shard fills it during a batch and hands the bytes
// to the AOF writer after it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stairkv::persistence {

// The kinds of list change (records.proto ListChange.Kind).
enum class list_change : std::uint8_t {
  push_left = 1,
  push_right = 2,
  pop_left = 3,
  pop_right = 4,
  set = 5,
  insert = 6,
  remove = 7,
  trim = 8,
};

class journal {
public:
  // The key now holds `value` with `deadline_ms` (0: none); `type` is the
  // value's (shard::value_type; 0, a string), its bytes serialised.
  void put(std::string_view key, std::string_view value, std::int64_t deadline_ms,
           std::uint8_t type = 0);
  // The hash `key` now holds these fields with these values (`pairs`: a
  // packed list, values/packed.hpp, field then value), beside its others.
  void hash_set(std::string_view key, std::string_view pairs);
  // The hash `key` no longer has these fields (packed).
  void hash_del(std::string_view key, std::string_view fields);
  // The set `key` now has these members (packed), beside its others.
  void set_add(std::string_view key, std::string_view members);
  // The set `key` no longer has these members (packed).
  void set_del(std::string_view key, std::string_view members);
  // These members of the sorted set `key` now have these scores: packed
  // member, score-as-text pairs (the text round-trips: "%.17g", "inf").
  void zset_add(std::string_view key, std::string_view pairs);
  // The sorted set no longer has these packed members.
  void zset_del(std::string_view key, std::string_view members);
  // The list `key` changed as `kind` says (with `a`, `b` and the packed
  // `items` as ListChange describes), reaching `version`.
  void list_change(std::string_view key, std::uint64_t version, persistence::list_change kind,
                   std::int64_t a, std::int64_t b, std::string_view items);
  // The key is gone.
  void del(std::string_view key);
  // The key's deadline is now `deadline_ms` (0: none).
  void deadline(std::string_view key, std::int64_t deadline_ms);
  // Every key of shard `shard` of a staircase of `stairs` stairs is gone,
  // of database `db` or of every one.
  void flush(std::uint32_t shard, std::uint32_t stairs, std::uint32_t db = every_database);
  // The node's numbering of its databases now (DatabaseMap: byte n is the
  // shards' database that number n names).
  void databases(std::string_view map);

  // The database of the keys the records after this name (0 until told).
  void select(std::uint8_t db) noexcept {
    db_ = db;
  }
  static constexpr std::uint32_t every_database = 0xffffffffu;

  bool empty() const noexcept {
    return bytes_.empty();
  }

  // Bytes recorded since the last take(): where a group's share begins.
  std::size_t size() const noexcept {
    return bytes_.size();
  }

  // Turns the frames recorded from `from` on into one GroupShare of `group`
  // with `weight` (records.proto), written even when it holds no change: its
  // weight still counts towards the group's whole.
  void enclose(std::size_t from, std::uint64_t group, std::uint64_t weight);

  // The frames recorded since the last call.
  std::string take() {
    return std::exchange(bytes_, {});
  }

private:
  void frame(std::string_view record);
  std::uint8_t db_ = 0;
  std::string bytes_;
  std::string record_; // one record, before it is framed
};

// A fresh group number (GroupShare.group): unique in the process, and drawn
// from a random start, so never met twice in one append-only file.
std::uint64_t next_group_number();

// A group's shares add up to this weight (GroupShare.weight).
inline constexpr std::uint64_t whole_group = std::uint64_t{1} << 32;

// Splits `weight` into `parts` shares that add up to it exactly: share `i`.
inline std::uint64_t share_of(std::uint64_t weight, std::size_t parts, std::size_t i) {
  auto each = weight / parts;
  return each + (i < weight % parts ? 1 : 0);
}

// Calls `on_share(group, weight)` for every GroupShare among the whole frames
// at the start of `frames` (what a shard hands the writer): the writer keeps
// count of the groups still open with it. Reads only the frames' first bytes.
template <class OnShare>
void visit_group_shares(std::string_view frames, OnShare on_share);

// Whether an AofRecord's bytes are a GroupShare; if so, its group and weight
// (read without parsing the records it holds).
bool read_share_header(std::string_view payload, std::uint64_t& group,
                       std::uint64_t& weight);

// Reads the frame length at `pos` of `bytes` (a varint); false when it runs
// past the end.
bool read_frame_length(std::string_view bytes, std::size_t& pos, std::uint64_t& out);

template <class OnShare>
void visit_group_shares(std::string_view frames, OnShare on_share) {
  std::size_t pos = 0;
  std::uint64_t length = 0;
  while (pos < frames.size() && read_frame_length(frames, pos, length)) {
    if (length + 4 > frames.size() - pos)
      return;
    std::uint64_t group = 0, weight = 0;
    if (read_share_header(frames.substr(pos, length), group, weight))
      on_share(group, weight);
    pos += length + 4; // payload and checksum
  }
}

// The first frame of every append-only file: a FileHeader with the magic and
// the format version.
inline constexpr std::string_view file_magic = "stairkv";
// Version 2 added GroupShare, version 3 FunctionLibraries; older files read
// as before.
inline constexpr std::uint32_t format_version = 3;
inline constexpr std::uint32_t oldest_format_version = 1;
std::string file_header(std::int64_t created_ms);

// One framed AofRecord holding the function libraries `codes`
// (FunctionLibraries in records.proto).
std::string function_libraries_frame(const std::vector<std::string>& codes);

} // namespace stairkv::persistence
