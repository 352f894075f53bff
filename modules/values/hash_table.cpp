#include "modules/values/hash_table.hpp"

#include <malloc.h>
#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "modules/values/compact_hash.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::values {

namespace {

absl::string_view as_lookup(std::string_view s) {
  return {s.data(), s.size()};
}

std::int64_t usable(const void* block) {
  return static_cast<std::int64_t>(malloc_usable_size(const_cast<void*>(block)));
}

} // namespace

hash_table::~hash_table() {
  set_.for_each([](const slot& s) { std::free(s.e); });
}

std::uint32_t hash_table::scan_position(std::string_view field) noexcept {
  return static_cast<std::uint32_t>(XXH3_64bits(field.data(), field.size()) >> 32);
}

hash_table::entry* hash_table::make(std::string_view field, std::string_view value) {
  void* block = std::malloc(offsetof(entry, data) + field.size() + value.size());
  if (block == nullptr)
    throw std::bad_alloc{};
  auto* e = static_cast<entry*>(block);
  e->field_size = static_cast<std::uint32_t>(field.size());
  e->value_size = static_cast<std::uint32_t>(value.size());
  std::memcpy(e->data, field.data(), field.size());
  std::memcpy(e->data + field.size(), value.data(), value.size());
  return e;
}

hash_table* hash_table::from_compact(std::string_view bytes) {
  auto* table = new hash_table();
  compact_hash view{bytes};
  table->set_.reserve(view.size());
  view.for_each([&](std::string_view f, std::string_view v) { table->set(f, v); });
  return table;
}

bool hash_table::find(std::string_view field, std::string_view& value) const {
  const auto* slot = set_.find(as_lookup(field));
  if (slot == nullptr)
    return false;
  value = slot->e->value();
  return true;
}

bool hash_table::set(std::string_view field, std::string_view value) {
  auto* slot = set_.find(as_lookup(field));
  if (slot == nullptr) {
    auto* e = make(field, value);
    set_.insert(hash_table::slot{e, scan_position(field)});
    block_bytes_ += usable(e);
    return true;
  }
  auto* old = slot->e;
  auto room = usable(old) - static_cast<std::int64_t>(offsetof(entry, data) + old->field_size);
  if (static_cast<std::int64_t>(value.size()) <= room
      && room - static_cast<std::int64_t>(value.size()) <= 64) {
    std::memcpy(old->data + old->field_size, value.data(), value.size());
    old->value_size = static_cast<std::uint32_t>(value.size());
    return false;
  }
  auto* e = make(field, value);
  block_bytes_ += usable(e) - usable(old);
  // Same field, same hash: the slot's pointer is swapped in place.
  slot->e = e;
  std::free(old);
  return false;
}

bool hash_table::erase(std::string_view field) {
  auto* slot = set_.find(as_lookup(field));
  if (slot == nullptr)
    return false;
  auto* e = slot->e;
  set_.erase(as_lookup(field));
  block_bytes_ -= usable(e);
  std::free(e);
  return true;
}

void hash_table::write_compact(std::string& out) const {
  out.clear();
  append_varint(out, set_.size());
  set_.for_each([&](const hash_table::slot& s) {
    append_item(out, s.e->field());
    append_item(out, s.e->value());
  });
}

void hash_table::write_members(std::string& out) const {
  out.clear();
  append_varint(out, set_.size());
  set_.for_each([&](const hash_table::slot& s) { append_item(out, s.e->field()); });
}

std::int64_t hash_table::bytes() const noexcept {
  return static_cast<std::int64_t>(sizeof(hash_table)) + block_bytes_
         + static_cast<std::int64_t>(set_.capacity() * (sizeof(slot) + 1));
}

} // namespace stairkv::values
