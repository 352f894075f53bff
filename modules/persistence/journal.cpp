#include "modules/persistence/journal.hpp"

#include "modules/persistence/framing.hpp"

#include <atomic>
#include <random>

namespace stairkv::persistence {

namespace {

// Protobuf's wire format: a field is a tag (number << 3 | wire type) and either
// a varint (type 0) or a length and bytes (type 2). Fields holding their default
// (0, empty) are left out, as proto3 writes them.
constexpr std::uint8_t varint_type = 0;
constexpr std::uint8_t bytes_type = 2;

std::size_t varint_size(std::uint64_t n) {
  std::size_t size = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++size;
  }
  return size;
}

void put_tag(std::string& out, int field, std::uint8_t type) {
  out.push_back(static_cast<char>((field << 3) | type));
}

std::size_t bytes_field_size(std::string_view b) {
  return b.empty() ? 0 : 1 + varint_size(b.size()) + b.size();
}

void put_bytes_field(std::string& out, int field, std::string_view b) {
  if (b.empty())
    return;
  put_tag(out, field, bytes_type);
  append_varint(out, b.size());
  out.append(b.data(), b.size());
}

std::size_t varint_field_size(std::uint64_t n) {
  return n == 0 ? 0 : 1 + varint_size(n);
}

void put_varint_field(std::string& out, int field, std::uint64_t n) {
  if (n == 0)
    return;
  put_tag(out, field, varint_type);
  append_varint(out, n);
}

// A message field: tag, length, then the caller writes `size` bytes of body.
void open_message_field(std::string& out, int field, std::size_t size) {
  put_tag(out, field, bytes_type);
  append_varint(out, size);
}

} // namespace

void journal::frame(std::string_view record) {
  append_frame(bytes_, record);
}

void journal::put(std::string_view key, std::string_view value,
                  std::int64_t deadline_ms, std::uint8_t type) {
  auto deadline = static_cast<std::uint64_t>(deadline_ms);
  auto body = bytes_field_size(key) + bytes_field_size(value) + varint_field_size(deadline)
              + varint_field_size(type) + varint_field_size(db_);
  record_.clear();
  open_message_field(record_, 1, body); // AofRecord.put
  put_bytes_field(record_, 1, key);     // KeyRecord.key
  put_bytes_field(record_, 2, value);   // KeyRecord.value
  put_varint_field(record_, 3, deadline);
  put_varint_field(record_, 4, type);   // KeyRecord.type
  put_varint_field(record_, 5, db_);    // KeyRecord.db
  frame(record_);
}

namespace {

// AofRecord.hash_set, hash_del, set_add, set_del, zset_add and zset_del: a
// FieldChange.
void field_change(std::string& record, int choice, std::string_view key,
                  std::string_view items, std::uint8_t db) {
  record.clear();
  open_message_field(record, choice,
                     bytes_field_size(key) + bytes_field_size(items) + varint_field_size(db));
  put_bytes_field(record, 1, key);
  put_bytes_field(record, 2, items);
  put_varint_field(record, 3, db);
}

} // namespace

void journal::hash_set(std::string_view key, std::string_view pairs) {
  field_change(record_, 7, key, pairs, db_);
  frame(record_);
}

void journal::hash_del(std::string_view key, std::string_view fields) {
  field_change(record_, 8, key, fields, db_);
  frame(record_);
}

void journal::set_add(std::string_view key, std::string_view members) {
  field_change(record_, 9, key, members, db_);
  frame(record_);
}

void journal::set_del(std::string_view key, std::string_view members) {
  field_change(record_, 10, key, members, db_);
  frame(record_);
}

void journal::zset_add(std::string_view key, std::string_view pairs) {
  field_change(record_, 12, key, pairs, db_);
  frame(record_);
}

void journal::zset_del(std::string_view key, std::string_view members) {
  field_change(record_, 13, key, members, db_);
  frame(record_);
}

void journal::list_change(std::string_view key, std::uint64_t version,
                          persistence::list_change kind, std::int64_t a, std::int64_t b,
                          std::string_view items) {
  auto ua = static_cast<std::uint64_t>(a); // int64 on the wire: two's complement
  auto ub = static_cast<std::uint64_t>(b);
  auto k = static_cast<std::uint64_t>(kind);
  record_.clear();
  open_message_field(record_, 11,
                     bytes_field_size(key) + varint_field_size(version) + varint_field_size(k)
                       + varint_field_size(ua) + varint_field_size(ub)
                       + bytes_field_size(items) + varint_field_size(db_));
  put_bytes_field(record_, 1, key);
  put_varint_field(record_, 2, version);
  put_varint_field(record_, 3, k);
  put_varint_field(record_, 4, ua);
  put_varint_field(record_, 5, ub);
  put_bytes_field(record_, 6, items);
  put_varint_field(record_, 7, db_);
  frame(record_);
}

void journal::del(std::string_view key) {
  record_.clear();
  if (db_ != 0) {
    // AofRecord.del_in: the key and its database.
    open_message_field(record_, 14, bytes_field_size(key) + varint_field_size(db_));
    put_bytes_field(record_, 1, key);
    put_varint_field(record_, 2, db_);
    frame(record_);
    return;
  }
  // AofRecord.del, written even when empty: it is the oneof's choice.
  put_tag(record_, 2, bytes_type);
  append_varint(record_, key.size());
  record_.append(key.data(), key.size());
  frame(record_);
}

void journal::deadline(std::string_view key, std::int64_t deadline_ms) {
  auto deadline = static_cast<std::uint64_t>(deadline_ms);
  record_.clear();
  open_message_field(record_, 3,
                     bytes_field_size(key) + varint_field_size(deadline) + varint_field_size(db_));
  put_bytes_field(record_, 1, key);
  put_varint_field(record_, 2, deadline);
  put_varint_field(record_, 3, db_);
  frame(record_);
}

void journal::flush(std::uint32_t shard, std::uint32_t stairs, std::uint32_t db) {
  // ShardScope.database: 0 for every database, else the number plus one.
  std::uint64_t scope = db == every_database ? 0 : std::uint64_t{db} + 1;
  record_.clear();
  open_message_field(record_, 4,
                     varint_field_size(shard) + varint_field_size(stairs)
                       + varint_field_size(scope));
  put_varint_field(record_, 1, shard);
  put_varint_field(record_, 2, stairs);
  put_varint_field(record_, 3, scope);
  frame(record_);
}

void journal::databases(std::string_view map) {
  record_.clear();
  open_message_field(record_, 15, bytes_field_size(map)); // AofRecord.databases
  put_bytes_field(record_, 1, map);
  frame(record_);
}

void journal::enclose(std::size_t from, std::uint64_t group, std::uint64_t weight) {
  std::string_view records{bytes_.data() + from, bytes_.size() - from};
  auto body = varint_field_size(group) + varint_field_size(weight)
              + bytes_field_size(records);
  record_.clear();
  open_message_field(record_, 5, body); // AofRecord.share
  put_varint_field(record_, 1, group);
  put_varint_field(record_, 2, weight);
  put_bytes_field(record_, 3, records);
  bytes_.resize(from);
  frame(record_);
}

bool read_frame_length(std::string_view bytes, std::size_t& pos, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64 && pos < bytes.size(); shift += 7) {
    auto b = static_cast<std::uint8_t>(bytes[pos++]);
    out |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80u) == 0)
      return true;
  }
  return false;
}

bool read_share_header(std::string_view payload, std::uint64_t& group,
                       std::uint64_t& weight) {
  constexpr auto share_tag = static_cast<std::uint8_t>((5 << 3) | bytes_type);
  if (payload.empty() || static_cast<std::uint8_t>(payload[0]) != share_tag)
    return false;
  std::size_t at = 1;
  std::uint64_t body = 0;
  if (!read_frame_length(payload, at, body) || body > payload.size() - at)
    return false;
  payload = payload.substr(0, at + body);
  group = weight = 0;
  // enclose() writes group (1) and weight (2) first, as varints; a field at
  // its default is left out.
  std::uint64_t value = 0;
  while (at < payload.size()) {
    auto tag = static_cast<std::uint8_t>(payload[at]);
    if (tag != (1 << 3) && tag != (2 << 3))
      break;
    ++at;
    if (!read_frame_length(payload, at, value))
      return false;
    (tag == (1 << 3) ? group : weight) = value;
  }
  return true;
}

std::uint64_t next_group_number() {
  // Counted up from a random start drawn once per process, so a number is
  // never met again in the same append-only file, across restarts too.
  static std::atomic<std::uint64_t> next{[] {
    std::random_device source;
    auto start = (std::uint64_t{source()} << 32) ^ source();
    return start == 0 ? 1 : start;
  }()};
  auto n = next.fetch_add(1, std::memory_order_relaxed);
  return n == 0 ? next.fetch_add(1, std::memory_order_relaxed) : n;
}

std::string file_header(std::int64_t created_ms) {
  std::string record;
  put_bytes_field(record, 1, file_magic);
  put_varint_field(record, 2, format_version);
  put_varint_field(record, 3, static_cast<std::uint64_t>(created_ms));
  std::string out;
  append_frame(out, record);
  return out;
}

std::string function_libraries_frame(const std::vector<std::string>& codes) {
  std::string libraries;
  for (const auto& code : codes)
    put_bytes_field(libraries, 1, code); // FunctionLibraries.code
  std::string record;
  put_bytes_field(record, 6, libraries); // AofRecord.functions
  std::string out;
  append_frame(out, record);
  return out;
}

} // namespace stairkv::persistence
