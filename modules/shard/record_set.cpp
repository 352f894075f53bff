#include "modules/shard/record_set.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "modules/values/hash_table.hpp"
#include "modules/values/list_value.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::shard {

namespace {

absl::string_view as_lookup(std::string_view key) {
  return {key.data(), key.size()};
}

} // namespace

const char* type_name(value_type t) noexcept {
  switch (t) {
    case value_type::string:
      return "string";
    case value_type::hash:
      return "hash";
    case value_type::set:
      return "set";
    case value_type::list:
      return "list";
    case value_type::sorted_set:
      return "zset";
    case value_type::stream:
      return "stream";
  }
  return "none";
}

record_set::~record_set() {
  clear();
}

namespace {

void free_container(record* r) noexcept {
  if (!r->holds_container())
    return;
  switch (r->type()) {
    case value_type::hash:
    case value_type::set: // a set's large encoding is a table of members
      delete r->container<values::hash_table>();
      break;
    case value_type::list:
      delete r->container<values::list_value>();
      break;
    case value_type::sorted_set:
      delete r->container<values::sorted_set>();
      break;
    default:
      break;
  }
}

// Frees a record's block and its container.
void free_record(record* r) noexcept {
  free_container(r);
  std::free(r);
}

} // namespace

detached_container::~detached_container() {
  if (container_ == nullptr)
    return;
  switch (type_) {
    case value_type::hash:
    case value_type::set:
      delete static_cast<values::hash_table*>(container_);
      break;
    case value_type::list:
      delete static_cast<values::list_value*>(container_);
      break;
    case value_type::sorted_set:
      delete static_cast<values::sorted_set*>(container_);
      break;
    default:
      break;
  }
}

std::size_t record_set::container_elements(const record* r) noexcept {
  if (!r->holds_container())
    return 0;
  switch (r->type()) {
    case value_type::hash:
    case value_type::set:
      return r->container<values::hash_table>()->size();
    case value_type::list:
      return r->container<values::list_value>()->size();
    case value_type::sorted_set:
      return r->container<values::sorted_set>()->size();
    default:
      return 0;
  }
}

detached_container record_set::detach_container(record* r) noexcept {
  block_bytes_ -= container_bytes(r);
  detached_container taken{r->type(), r->container<void>()};
  r->set_type(r->type(), false);
  return taken;
}

std::int64_t record_set::container_bytes(const record* r) noexcept {
  if (!r->holds_container())
    return 0;
  switch (r->type()) {
    case value_type::hash:
    case value_type::set:
      return r->container<values::hash_table>()->bytes();
    case value_type::list:
      return r->container<values::list_value>()->bytes();
    case value_type::sorted_set:
      return r->container<values::sorted_set>()->bytes();
    default:
      return 0;
  }
}

record* record_set::allocate(std::size_t key_size, std::size_t capacity) {
  void* block = std::malloc(sizeof(record) + key_size + capacity);
  if (block == nullptr)
    throw std::bad_alloc{};
  auto* r = new (block) record();
  r->key_size_ = static_cast<std::uint32_t>(key_size);
  return r;
}

// Bytes available for the value without moving the block: what the allocator
// really handed out, which is often more than asked for.
static std::size_t value_capacity(const record* r) {
  return malloc_usable_size(const_cast<record*>(r)) - sizeof(record)
         - r->key().size();
}

void record_set::count_in(record* r) noexcept {
  block_bytes_ += static_cast<std::int64_t>(malloc_usable_size(r)) + container_bytes(r);
}

void record_set::count_out(record* r) noexcept {
  block_bytes_ -= static_cast<std::int64_t>(malloc_usable_size(r)) + container_bytes(r);
}

void record_set::add_dense(record* r) {
  r->set_slot(static_cast<std::uint32_t>(dense_.size()));
  dense_.push_back(r);
}

void record_set::remove_dense(record* r) noexcept {
  auto* last = dense_.back();
  dense_[r->slot()] = last;
  last->set_slot(r->slot());
  dense_.pop_back();
}

std::int64_t record_set::footprint(const record* r) noexcept {
  return static_cast<std::int64_t>(malloc_usable_size(const_cast<record*>(r))
                                   + 2 * sizeof(record*) + 1)
         + container_bytes(r);
}

std::int64_t record_set::memory() const noexcept {
  auto table = set_.capacity() * (sizeof(record*) + 1);
  return block_bytes_ + static_cast<std::int64_t>(table + dense_.capacity() * sizeof(record*));
}

record* record_set::find(std::string_view key) const {
  auto it = set_.find(as_lookup(key));
  return it == set_.end() ? nullptr : *it;
}

void record_set::prefetch(std::string_view key) const {
  set_.prefetch(as_lookup(key));
}

record* record_set::insert(std::string_view key, std::string_view value,
                           deadline_ms deadline, value_type type) {
  if (dense_.size() >= max_keys)
    throw std::bad_alloc{};
  auto* r = allocate(key.size(), value.size());
  std::memcpy(r->bytes_, key.data(), key.size());
  std::memcpy(r->value_bytes(), value.data(), value.size());
  r->value_size_ = static_cast<std::uint32_t>(value.size());
  r->deadline = deadline;
  r->set_type(type);
  set_.insert(r);
  add_dense(r);
  count_in(r);
  ++changes_;
  return r;
}

void record_set::replace(record* old_record, record* new_record) {
  auto it = set_.find(old_record);
  // The slot's key and hash do not change, only where the bytes live, so the
  // pointer is swapped in place instead of an erase and a re-insert.
  const_cast<record*&>(*it) = new_record;
  new_record->slot_and_type_ = old_record->slot_and_type_; // its type and position
  new_record->access = old_record->access;
  dense_[new_record->slot()] = new_record;
  count_out(old_record);
  count_in(new_record);
  ++changes_;
}

record* record_set::assign(record* r, std::string_view value, value_type type) {
  if (r->holds_container()) {
    block_bytes_ -= container_bytes(r);
    free_container(r);
  }
  r->set_type(type);
  // The block is kept when the value fits without wasting more than its own
  // size (or 64 bytes): a big value replaced by a small one must not keep the
  // big block.
  auto capacity = value_capacity(r);
  if (value.size() <= capacity
      && capacity - value.size() <= std::max<std::size_t>(value.size(), 64)) {
    std::memcpy(r->value_bytes(), value.data(), value.size());
    r->value_size_ = static_cast<std::uint32_t>(value.size());
    return r;
  }
  auto* moved = allocate(r->key_size_, value.size());
  std::memcpy(moved->bytes_, r->bytes_, r->key_size_);
  std::memcpy(moved->value_bytes(), value.data(), value.size());
  moved->value_size_ = static_cast<std::uint32_t>(value.size());
  moved->deadline = r->deadline;

  replace(r, moved);
  std::free(r);
  return moved;
}

record* record_set::assign_container(record* r, value_type type, void* container) {
  char pointer[sizeof container];
  std::memcpy(pointer, &container, sizeof container);
  r = assign(r, {pointer, sizeof pointer}, type);
  r->set_type(type, true);
  block_bytes_ += container_bytes(r);
  return r;
}

record* record_set::append(record* r, std::string_view more) {
  std::size_t size = r->value_size_ + more.size();
  if (size > value_capacity(r)) {
    // Grow by half again, so a value built by many appends is copied O(log n) times.
    auto* moved = allocate(r->key_size_, size + size / 2);
    std::memcpy(moved->bytes_, r->bytes_, r->key_size_ + r->value_size_);
    moved->value_size_ = r->value_size_;
    moved->deadline = r->deadline;

    replace(r, moved);
    std::free(r);
    r = moved;
  }
  std::memcpy(r->value_bytes() + r->value_size_, more.data(), more.size());
  r->value_size_ = static_cast<std::uint32_t>(size);
  return r;
}

void record_set::erase(record* r) {
  ++changes_;
  set_.erase(r);
  remove_dense(r);
  count_out(r);
  free_record(r);
}

void record_set::release(record* r) {
  ++changes_;
  set_.erase(r);
  remove_dense(r);
  count_out(r);
}

bool record_set::adopt(record* r) {
  ++changes_;
  if (set_.insert(r).second) {
    add_dense(r);
    count_in(r);
    return true;
  }
  free_record(r);
  return false;
}

void record_set::destroy(record* r) {
  free_record(r);
}

void record_set::clear() {
  ++changes_;
  for (auto* r : set_)
    free_record(r);
  set_.clear();
  std::vector<record*>{}.swap(dense_);
  block_bytes_ = 0;
}

} // namespace stairkv::shard
