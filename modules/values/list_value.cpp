#include "modules/values/list_value.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>

#include "modules/values/packed.hpp"

namespace stairkv::values {

namespace {

// Past this an element does not fit a chunk's 32-bit offsets (Redis's own
// proto-max-bulk-len is 512 MiB by default).
constexpr std::size_t max_element = std::size_t{1} << 31;
// Redis's SIZE_SAFETY_LIMIT: the bytes a count-limited chunk takes at most.
constexpr std::uint32_t safety_bytes = 8192;
// Redis's FILL_MAX: the most entries a count-limited chunk takes.
constexpr std::int64_t max_fill = 32767;
// A chunk's block smaller than this is never shrunk.
constexpr std::size_t sparse_floor = 512;

std::int64_t usable(const void* block) {
  return static_cast<std::int64_t>(malloc_usable_size(const_cast<void*>(block)));
}

std::uint32_t capacity_of(const void* block, std::size_t header) {
  auto room = static_cast<std::size_t>(usable(block)) - header;
  return static_cast<std::uint32_t>(
    std::min<std::size_t>(room, std::numeric_limits<std::uint32_t>::max()));
}

// The bytes an element's entry takes: its length twice, its bytes.
std::size_t entry_size(std::size_t n) {
  if (n > max_element)
    throw std::length_error("list element too long");
  return 2 * varint_size(n) + n;
}

// Writes the entry of `element` at `at` (entry_size bytes).
void write_entry(char* at, std::string_view element) {
  char length[10];
  std::size_t k = 0;
  std::uint64_t n = element.size();
  while (n >= 0x80) {
    length[k++] = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  length[k++] = static_cast<char>(n);
  std::memcpy(at, length, k);
  if (!element.empty())
    std::memcpy(at + k, element.data(), element.size());
  char* back = at + k + element.size();
  for (std::size_t i = 0; i < k; ++i)
    back[i] = length[k - 1 - i]; // the varint's first byte last
}

} // namespace

list_value::list_value(list_limits limits) : bytes_(static_cast<std::int64_t>(sizeof(list_value))) {
  set_limits(limits);
}

list_value::~list_value() {
  clear();
}

void list_value::set_limits(list_limits limits) noexcept {
  auto n = limits.max_chunk;
  if (n >= 0) {
    max_entries_ = static_cast<std::uint32_t>(std::clamp<std::int64_t>(n, 1, max_fill));
    max_bytes_ = safety_bytes;
  } else {
    max_entries_ = std::numeric_limits<std::uint32_t>::max();
    max_bytes_ = std::uint32_t{4096} << (-std::max<std::int64_t>(n, -5) - 1);
  }
}

bool list_value::fits(const chunk* c, std::size_t entry_size) const noexcept {
  return c->count < max_entries_ && c->used() + entry_size <= max_bytes_;
}

std::size_t list_value::growth_cap() const noexcept {
  return max_bytes_;
}

list_value::chunk* list_value::allocate(std::size_t capacity) {
  void* block = std::malloc(sizeof(chunk) + capacity);
  if (block == nullptr)
    throw std::bad_alloc{};
  bytes_ += usable(block);
  auto* c = static_cast<chunk*>(block);
  c->capacity = capacity_of(block, sizeof(chunk));
  c->begin = c->end = c->count = 0;
  return c;
}

void list_value::release(chunk* c) noexcept {
  bytes_ -= usable(c);
  std::free(c);
}

void list_value::clear() noexcept {
  for (std::size_t slot = 0; slot < chunk_count_; ++slot)
    release(chunk_at(slot));
  if (slots_ != nullptr) {
    bytes_ -= usable(slots_);
    std::free(slots_);
  }
  slots_ = nullptr;
  slot_capacity_ = first_ = chunk_count_ = size_ = 0;
}

// --- The row of chunks ---

void list_value::resize_slots(std::size_t capacity) {
  chunk** fresh = nullptr;
  std::size_t fresh_capacity = 0;
  if (capacity > 0) {
    void* block = std::malloc(capacity * sizeof(chunk*));
    if (block == nullptr)
      throw std::bad_alloc{};
    bytes_ += usable(block);
    fresh = static_cast<chunk**>(block);
    fresh_capacity = static_cast<std::size_t>(usable(block)) / sizeof(chunk*);
  }
  // Centred: room for chunks at both ends.
  std::size_t first = (fresh_capacity - chunk_count_) / 2;
  if (chunk_count_ > 0)
    std::memcpy(fresh + first, slots_ + first_, chunk_count_ * sizeof(chunk*));
  if (slots_ != nullptr) {
    bytes_ -= usable(slots_);
    std::free(slots_);
  }
  slots_ = fresh;
  slot_capacity_ = fresh_capacity;
  first_ = first;
}

void list_value::insert_slot(std::size_t slot, chunk* c) {
  const auto n = chunk_count_;
  // A quarter kept free once there are a few, so a recentring pays for itself.
  if (n == slot_capacity_ || (n >= 2 && (n + 1) * 4 > slot_capacity_ * 3))
    resize_slots(std::max<std::size_t>(slot_capacity_ * 2, n == 0 ? 1 : 4));
  bool front = slot <= n - slot; // move the shorter side
  if (front ? first_ == 0 : first_ + n == slot_capacity_) {
    if (n >= 2) {
      auto first = (slot_capacity_ - n) / 2;
      std::memmove(slots_ + first, slots_ + first_, n * sizeof(chunk*));
      first_ = first;
    } else {
      front = !front;
    }
  }
  if (front) {
    std::memmove(slots_ + first_ - 1, slots_ + first_, slot * sizeof(chunk*));
    --first_;
  } else {
    std::memmove(slots_ + first_ + slot + 1, slots_ + first_ + slot, (n - slot) * sizeof(chunk*));
  }
  slots_[first_ + slot] = c;
  ++chunk_count_;
}

// The caller has released the chunks of those slots.
void list_value::erase_slots(std::size_t slot, std::size_t n) {
  if (n == 0)
    return;
  const auto after = chunk_count_ - slot - n;
  if (slot <= after) {
    std::memmove(slots_ + first_ + n, slots_ + first_, slot * sizeof(chunk*));
    first_ += n;
  } else {
    std::memmove(slots_ + first_ + slot, slots_ + first_ + slot + n, after * sizeof(chunk*));
  }
  chunk_count_ -= n;
  if (chunk_count_ == 0)
    resize_slots(0);
  else if (slot_capacity_ > 16 && chunk_count_ * 8 < slot_capacity_)
    resize_slots(slot_capacity_ / 2);
}

// --- Within a chunk ---

list_value::chunk* list_value::make_room(std::size_t slot, std::size_t front, std::size_t back) {
  chunk* c = chunk_at(slot);
  const std::size_t used = c->used();
  const std::size_t need = used + front + back;
  const std::size_t capacity = c->capacity;
  // Room enough, misplaced: the entries move once, the slack shared by both
  // sides, when that leaves enough slack to pay for the move (or the block
  // may not grow).
  if (capacity >= need && (capacity - need >= used / 2 || capacity >= growth_cap())) {
    std::size_t begin = front + (capacity - need) / 2;
    std::memmove(c->data() + begin, c->data() + c->begin, used);
    c->begin = static_cast<std::uint32_t>(begin);
    c->end = static_cast<std::uint32_t>(begin + used);
    return c;
  }
  // Otherwise a block twice as big, up to the chunk limit (or just what an
  // entry bigger than that needs).
  std::size_t target = std::min<std::size_t>(std::max<std::size_t>(capacity * 2, 32), growth_cap());
  target = std::max(target, need);
  if (front == 0 && c->begin == 0) {
    auto before = usable(c);
    void* block = std::realloc(c, sizeof(chunk) + target);
    if (block == nullptr)
      throw std::bad_alloc{};
    c = static_cast<chunk*>(block);
    bytes_ += usable(block) - before;
    c->capacity = capacity_of(block, sizeof(chunk));
    slots_[first_ + slot] = c;
    return c;
  }
  chunk* fresh = allocate(target);
  // The new slack where it was asked for.
  std::size_t leftover = fresh->capacity - need;
  std::size_t begin = front + (back == 0 ? leftover : front == 0 ? 0 : leftover / 2);
  std::memcpy(fresh->data() + begin, c->data() + c->begin, used);
  fresh->begin = static_cast<std::uint32_t>(begin);
  fresh->end = static_cast<std::uint32_t>(begin + used);
  fresh->count = c->count;
  release(c);
  slots_[first_ + slot] = fresh;
  return fresh;
}

char* list_value::resize_gap(std::size_t slot, std::size_t offset, std::size_t old_size,
                             std::size_t new_size) {
  chunk* c = chunk_at(slot);
  std::size_t front_part = offset - c->begin;
  std::size_t back_part = c->end - offset - old_size;
  if (new_size <= old_size) {
    auto d = static_cast<std::uint32_t>(old_size - new_size);
    if (front_part <= back_part) {
      std::memmove(c->data() + c->begin + d, c->data() + c->begin, front_part);
      c->begin += d;
      return c->data() + offset + d;
    }
    std::memmove(c->data() + offset + new_size, c->data() + offset + old_size, back_part);
    c->end -= d;
    return c->data() + offset;
  }
  auto d = new_size - old_size;
  bool front_room = c->begin >= d;
  bool back_room = c->capacity - c->end >= d;
  if (!front_room && !back_room) {
    auto relative = offset - c->begin;
    c = front_part <= back_part ? make_room(slot, d, 0) : make_room(slot, 0, d);
    offset = c->begin + relative;
    front_room = c->begin >= d;
    back_room = c->capacity - c->end >= d;
  }
  if (front_room && (front_part <= back_part || !back_room)) {
    std::memmove(c->data() + c->begin - d, c->data() + c->begin, front_part);
    c->begin -= static_cast<std::uint32_t>(d);
    return c->data() + offset - d;
  }
  std::memmove(c->data() + offset + new_size, c->data() + offset + old_size, back_part);
  c->end += static_cast<std::uint32_t>(d);
  return c->data() + offset;
}

// A block mostly slack after removals: one half its size or less, the slack
// where pushes will want it (an end chunk keeps room to grow, a middle chunk
// keeps none).
void list_value::shrink_if_sparse(std::size_t slot) {
  chunk* c = chunk_at(slot);
  const std::size_t used = c->used();
  if (c->capacity <= sparse_floor || used * 4 >= c->capacity)
    return;
  const bool head = slot == 0, tail = slot + 1 == chunk_count_;
  chunk* fresh = allocate(head || tail ? used * 2 : used);
  std::size_t leftover = fresh->capacity - used;
  std::size_t begin = head && tail ? leftover / 2 : head ? leftover : 0;
  std::memcpy(fresh->data() + begin, c->data() + c->begin, used);
  fresh->begin = static_cast<std::uint32_t>(begin);
  fresh->end = static_cast<std::uint32_t>(begin + used);
  fresh->count = c->count;
  release(c);
  slots_[first_ + slot] = fresh;
}

// An end chunk that takes no more, now that a new end chunk is past it:
// its slack is of no more use, so it goes unless it is a sliver (one copy a
// chunk, against the pushes that filled it).
void list_value::settle(std::size_t slot) {
  chunk* c = chunk_at(slot);
  const std::size_t used = c->used();
  const std::size_t slack = c->capacity - used;
  if (slack < 32 || slack < c->capacity / 16)
    return;
  chunk* fresh = allocate(used);
  if (fresh->capacity >= c->capacity) { // the allocator rounds it back up
    release(fresh);
    return;
  }
  std::memcpy(fresh->data(), c->data() + c->begin, used);
  fresh->end = static_cast<std::uint32_t>(used);
  fresh->count = c->count;
  release(c);
  slots_[first_ + slot] = fresh;
}

// A chunk of one entry, at `slot` of the row: a list's first chunk just fits
// it; a chunk beside others has room for a few more, its slack on the side
// pushes come from.
void list_value::new_chunk(std::size_t slot, std::string_view element, std::size_t entry_size,
                           bool at_front) {
  std::size_t capacity = entry_size;
  if (chunk_count_ > 0 && max_entries_ > 1 && entry_size < growth_cap())
    capacity = std::max(
      entry_size, std::min<std::size_t>(growth_cap() / 4,
                                        entry_size * std::min<std::uint32_t>(max_entries_, 8)));
  chunk* c = allocate(capacity);
  try {
    insert_slot(slot, c);
  } catch (...) {
    release(c);
    throw;
  }
  std::size_t begin = at_front ? c->capacity - entry_size : 0;
  write_entry(c->data() + begin, element);
  c->begin = static_cast<std::uint32_t>(begin);
  c->end = static_cast<std::uint32_t>(begin + entry_size);
  c->count = 1;
  ++size_;
}

void list_value::erase_entry(std::size_t slot, std::size_t offset, std::size_t entry_size) {
  chunk* c = chunk_at(slot);
  if (c->count == 1) {
    release(c);
    --size_;
    erase_slots(slot, 1);
    return;
  }
  resize_gap(slot, offset, entry_size, 0);
  --c->count;
  --size_;
  shrink_if_sparse(slot);
}

// --- Finding elements ---

std::uint32_t list_value::entry_offset(const chunk* c, std::size_t k) noexcept {
  const char* p = nullptr;
  if (k <= c->count / 2) {
    p = c->data() + c->begin;
    for (std::size_t i = 0; i < k; ++i)
      next_entry(p);
  } else {
    p = c->data() + c->end;
    for (std::size_t i = k; i < c->count; ++i)
      previous_entry(p);
  }
  return static_cast<std::uint32_t>(p - c->data());
}

list_value::position list_value::locate(std::size_t index) const noexcept {
  std::size_t slot = 0;
  if (index < size_ / 2) {
    while (index >= chunk_at(slot)->count)
      index -= chunk_at(slot++)->count;
  } else {
    std::size_t back = size_ - 1 - index; // from the tail
    slot = chunk_count_ - 1;
    while (back >= chunk_at(slot)->count)
      back -= chunk_at(slot--)->count;
    index = chunk_at(slot)->count - 1 - back;
  }
  return {slot, entry_offset(chunk_at(slot), index)};
}

// --- The ends ---

void list_value::push_back(std::string_view element) {
  auto size = entry_size(element.size());
  if (chunk_count_ > 0 && fits(chunk_at(chunk_count_ - 1), size)) {
    auto slot = chunk_count_ - 1;
    char* at = resize_gap(slot, chunk_at(slot)->end, 0, size);
    write_entry(at, element);
    ++chunk_at(slot)->count;
    ++size_;
    return;
  }
  new_chunk(chunk_count_, element, size, false);
  if (chunk_count_ >= 2)
    settle(chunk_count_ - 2);
}

void list_value::push_front(std::string_view element) {
  auto size = entry_size(element.size());
  if (chunk_count_ > 0 && fits(chunk_at(0), size)) {
    char* at = resize_gap(0, chunk_at(0)->begin, 0, size);
    write_entry(at, element);
    ++chunk_at(0)->count;
    ++size_;
    return;
  }
  new_chunk(0, element, size, true);
  if (chunk_count_ >= 2)
    settle(1);
}

bool list_value::pop_front(std::string& out) {
  if (size_ == 0)
    return false;
  const chunk* c = chunk_at(0);
  const char* p = c->data() + c->begin;
  out.assign(next_entry(p));
  erase_entry(0, c->begin, static_cast<std::size_t>(p - (c->data() + c->begin)));
  return true;
}

bool list_value::pop_back(std::string& out) {
  if (size_ == 0)
    return false;
  auto slot = chunk_count_ - 1;
  const chunk* c = chunk_at(slot);
  const char* p = c->data() + c->end;
  out.assign(previous_entry(p));
  auto offset = static_cast<std::size_t>(p - c->data());
  erase_entry(slot, offset, c->end - offset);
  return true;
}

// --- By index and by value ---

bool list_value::at(std::int64_t index, std::string& out) const {
  auto n = static_cast<std::int64_t>(size_);
  if (index < 0)
    index += n;
  if (index < 0 || index >= n)
    return false;
  auto where = locate(static_cast<std::size_t>(index));
  const char* p = chunk_at(where.slot)->data() + where.offset;
  out.assign(next_entry(p));
  return true;
}

// Puts `element` at byte `offset` of chunk `slot` (an entry boundary): into
// that chunk when it takes it; at a full chunk's edge, into the neighbour past
// that edge when it takes it, else into a new chunk there; inside a full
// chunk, after splitting it there.
void list_value::insert_at(std::size_t slot, std::size_t offset, std::string_view element) {
  auto size = entry_size(element.size());
  chunk* c = chunk_at(slot);
  if (fits(c, size)) {
    char* at = resize_gap(slot, offset, 0, size);
    write_entry(at, element);
    ++chunk_at(slot)->count;
    ++size_;
    return;
  }
  if (offset == c->begin) {
    if (slot > 0 && fits(chunk_at(slot - 1), size)) {
      char* at = resize_gap(slot - 1, chunk_at(slot - 1)->end, 0, size);
      write_entry(at, element);
      ++chunk_at(slot - 1)->count;
      ++size_;
    } else {
      new_chunk(slot, element, size, true);
    }
    return;
  }
  if (offset == c->end) {
    if (slot + 1 < chunk_count_ && fits(chunk_at(slot + 1), size)) {
      char* at = resize_gap(slot + 1, chunk_at(slot + 1)->begin, 0, size);
      write_entry(at, element);
      ++chunk_at(slot + 1)->count;
      ++size_;
    } else {
      new_chunk(slot + 1, element, size, false);
    }
    return;
  }
  // The entries from `offset` on go to a chunk of their own after this one;
  // the element then goes at the edge between them.
  std::uint32_t moved = 0;
  for (const char* p = c->data() + offset; p != c->data() + c->end; ++moved)
    next_entry(p);
  const std::size_t bytes = c->end - offset;
  chunk* rest = allocate(bytes);
  try {
    insert_slot(slot + 1, rest);
  } catch (...) {
    release(rest);
    throw;
  }
  std::memcpy(rest->data(), c->data() + offset, bytes);
  rest->end = static_cast<std::uint32_t>(bytes);
  rest->count = moved;
  c->end = static_cast<std::uint32_t>(offset);
  c->count -= moved;
  insert_at(slot, offset, element);
}

bool list_value::set(std::int64_t index, std::string_view element) {
  auto n = static_cast<std::int64_t>(size_);
  if (index < 0)
    index += n;
  if (index < 0 || index >= n)
    return false;
  auto size = entry_size(element.size());
  auto where = locate(static_cast<std::size_t>(index));
  chunk* c = chunk_at(where.slot);
  const char* p = c->data() + where.offset;
  next_entry(p);
  auto old_size = static_cast<std::size_t>(p - (c->data() + where.offset));
  if (c->count == 1 || c->used() - old_size + size <= max_bytes_) {
    write_entry(resize_gap(where.slot, where.offset, old_size, size), element);
    return true;
  }
  // Too big for its chunk now: out, then in as an insertion would put it.
  char* gap = resize_gap(where.slot, where.offset, old_size, 0);
  --c->count;
  --size_;
  insert_at(where.slot, static_cast<std::size_t>(gap - c->data()), element);
  return true;
}

bool list_value::insert(std::string_view pivot, std::string_view element, bool before) {
  for (std::size_t slot = 0; slot < chunk_count_; ++slot) {
    const chunk* c = chunk_at(slot);
    const char* p = c->data() + c->begin;
    const char* end = c->data() + c->end;
    while (p != end) {
      const char* start = p;
      if (next_entry(p) == pivot) {
        insert_at(slot, static_cast<std::size_t>((before ? start : p) - c->data()), element);
        return true;
      }
    }
  }
  return false;
}

// Merges neighbours among chunks [from, to] while two together fit a chunk:
// the smaller one's entries join the bigger one.
void list_value::merge_around(std::size_t from, std::size_t to) {
  if (chunk_count_ < 2)
    return;
  to = std::min(to, chunk_count_ - 1);
  std::size_t i = from;
  while (i < to) {
    chunk* a = chunk_at(i);
    chunk* b = chunk_at(i + 1);
    const std::uint64_t count = std::uint64_t{a->count} + b->count;
    const std::size_t au = a->used(), bu = b->used();
    if (count > max_entries_ || au + bu > max_bytes_) {
      ++i;
      continue;
    }
    if (au >= bu) {
      if (a->capacity - a->end < bu)
        a = make_room(i, 0, bu);
      std::memcpy(a->data() + a->end, b->data() + b->begin, bu);
      a->end += static_cast<std::uint32_t>(bu);
      a->count += b->count;
      release(b);
      erase_slots(i + 1, 1);
    } else {
      if (b->begin < au)
        b = make_room(i + 1, au, 0);
      std::memcpy(b->data() + b->begin - au, a->data() + a->begin, au);
      b->begin -= static_cast<std::uint32_t>(au);
      b->count += a->count;
      release(a);
      erase_slots(i, 1);
    }
    --to;
  }
}

std::size_t list_value::remove(std::string_view element, std::int64_t count) {
  if (size_ == 0)
    return 0;
  const std::size_t quota = count == 0  ? std::numeric_limits<std::size_t>::max()
                            : count > 0 ? static_cast<std::size_t>(count)
                                        : static_cast<std::size_t>(-(count + 1)) + 1;
  std::size_t removed = 0;
  if (count >= 0) {
    // Head first: per chunk, the kept entries slide down over the removed
    // ones, each run of them moved once.
    std::size_t slot = 0, touched = chunk_count_;
    while (slot < chunk_count_ && removed < quota) {
      chunk* c = chunk_at(slot);
      char* data = c->data();
      const char* p = data + c->begin;
      const char* end = data + c->end;
      char* write = data + c->begin;
      const char* run = p; // kept, not moved yet
      std::size_t here = 0;
      while (p != end && removed + here < quota) {
        const char* start = p;
        if (next_entry(p) != element)
          continue;
        auto kept = static_cast<std::size_t>(start - run);
        if (write != run)
          std::memmove(write, run, kept);
        write += kept;
        run = p;
        ++here;
      }
      if (here == 0) {
        ++slot;
        continue;
      }
      auto kept = static_cast<std::size_t>(end - run);
      if (write != run)
        std::memmove(write, run, kept);
      c->end = static_cast<std::uint32_t>(write + kept - data);
      c->count -= static_cast<std::uint32_t>(here);
      size_ -= here;
      removed += here;
      touched = std::min(touched, slot);
      if (c->count == 0) {
        release(c);
        erase_slots(slot, 1);
      } else {
        shrink_if_sparse(slot);
        ++slot;
      }
    }
    if (removed > 0)
      merge_around(touched == 0 ? 0 : touched - 1, slot);
    return removed;
  }
  // Tail first: the mirror image, kept entries sliding up.
  std::size_t slot = chunk_count_, touched = 0;
  while (slot > 0 && removed < quota) {
    const auto here_slot = slot - 1;
    chunk* c = chunk_at(here_slot);
    char* data = c->data();
    const char* p = data + c->end;
    const char* begin = data + c->begin;
    char* write = data + c->end; // the kept entries start here
    const char* run = p;         // kept, not moved yet: [p, run)
    std::size_t here = 0;
    while (p != begin && removed + here < quota) {
      const char* stop = p;
      if (previous_entry(p) != element)
        continue;
      auto kept = static_cast<std::size_t>(run - stop);
      if (write != run)
        std::memmove(write - kept, stop, kept);
      write -= kept;
      run = p;
      ++here;
    }
    --slot;
    if (here == 0)
      continue;
    auto kept = static_cast<std::size_t>(run - begin);
    if (write != run)
      std::memmove(write - kept, begin, kept);
    c->begin = static_cast<std::uint32_t>(write - kept - data);
    c->count -= static_cast<std::uint32_t>(here);
    size_ -= here;
    removed += here;
    touched = std::max(touched, here_slot);
    if (c->count == 0) {
      release(c);
      erase_slots(here_slot, 1);
    } else {
      shrink_if_sparse(here_slot);
    }
  }
  if (removed > 0)
    merge_around(slot == 0 ? 0 : slot - 1, touched + 1);
  return removed;
}

void list_value::trim(std::int64_t start, std::int64_t stop) {
  std::size_t first = 0, last = 0;
  if (!normalize_range(start, stop, size_, first, last)) {
    clear();
    return;
  }
  // The head: whole chunks, then the head of the chunk the range starts in.
  std::size_t drop = first, whole = 0;
  while (drop > 0 && chunk_at(whole)->count <= drop) {
    drop -= chunk_at(whole)->count;
    size_ -= chunk_at(whole)->count;
    release(chunk_at(whole));
    ++whole;
  }
  erase_slots(0, whole);
  if (drop > 0) {
    chunk* c = chunk_at(0);
    c->begin = entry_offset(c, drop);
    c->count -= static_cast<std::uint32_t>(drop);
    size_ -= drop;
    shrink_if_sparse(0);
  }
  // The tail, likewise.
  drop = size_ - (last - first + 1);
  whole = 0;
  while (drop > 0 && chunk_at(chunk_count_ - 1 - whole)->count <= drop) {
    chunk* c = chunk_at(chunk_count_ - 1 - whole);
    drop -= c->count;
    size_ -= c->count;
    release(c);
    ++whole;
  }
  erase_slots(chunk_count_ - whole, whole);
  if (drop > 0) {
    auto slot = chunk_count_ - 1;
    chunk* c = chunk_at(slot);
    c->end = entry_offset(c, c->count - drop);
    c->count -= static_cast<std::uint32_t>(drop);
    size_ -= drop;
    shrink_if_sparse(slot);
  }
}

void list_value::positions(std::string_view element, std::int64_t rank, std::int64_t count,
                           std::int64_t maxlen, std::vector<std::int64_t>& out) const {
  // Matches to pass over before the first one collected.
  std::uint64_t skip = rank > 0   ? static_cast<std::uint64_t>(rank) - 1
                       : rank < 0 ? static_cast<std::uint64_t>(-(rank + 1))
                                  : 0;
  std::size_t want = count > 0 ? static_cast<std::size_t>(count)
                               : std::numeric_limits<std::size_t>::max();
  std::size_t compare = maxlen > 0 ? static_cast<std::size_t>(maxlen)
                                   : std::numeric_limits<std::size_t>::max();
  std::size_t found = 0;
  auto match = [&](std::size_t index) {
    if (skip > 0) {
      --skip;
      return false;
    }
    out.push_back(static_cast<std::int64_t>(index));
    return ++found == want;
  };
  if (rank >= 0) {
    std::size_t index = 0;
    for (std::size_t slot = 0; slot < chunk_count_; ++slot) {
      const chunk* c = chunk_at(slot);
      const char* p = c->data() + c->begin;
      const char* end = c->data() + c->end;
      for (; p != end; ++index) {
        if (compare-- == 0)
          return;
        if (next_entry(p) == element && match(index))
          return;
      }
    }
    return;
  }
  std::size_t index = size_;
  for (std::size_t slot = chunk_count_; slot > 0; --slot) {
    const chunk* c = chunk_at(slot - 1);
    const char* p = c->data() + c->end;
    const char* begin = c->data() + c->begin;
    while (p != begin) {
      --index;
      if (compare-- == 0)
        return;
      if (previous_entry(p) == element && match(index))
        return;
    }
  }
}

// --- Serialisation ---

void list_value::write_packed(std::string& out) const {
  // An entry is never shorter than its item: the chunks' bytes bound the size.
  std::size_t bound = varint_size(size_);
  for (std::size_t slot = 0; slot < chunk_count_; ++slot)
    bound += chunk_at(slot)->used();
  out.reserve(out.size() + bound);
  append_varint(out, size_);
  for_each([&](std::string_view e) { append_item(out, e); });
}

list_value* list_value::from_packed(std::string_view bytes, list_limits limits) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  // Every item takes a byte at least.
  if (!read_varint(bytes, pos, count) || count > bytes.size() - pos)
    return nullptr;
  auto list = std::make_unique<list_value>(limits);
  packed_reader reader{bytes.substr(pos)};
  std::string_view item;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!reader.next(item) || item.size() > max_element)
      return nullptr;
    list->push_back(item);
  }
  if (reader.position() != bytes.size() - pos)
    return nullptr; // bytes after the last element
  return list.release();
}

// --- Checking ---

std::int64_t list_value::recount(bool check_limits) const {
  auto total = static_cast<std::int64_t>(sizeof(list_value));
  if (chunk_count_ > 0 && (slots_ == nullptr || first_ + chunk_count_ > slot_capacity_))
    return -1;
  if (slots_ != nullptr) {
    if (slot_capacity_ != static_cast<std::size_t>(usable(slots_)) / sizeof(chunk*))
      return -1;
    total += usable(slots_);
  }
  std::size_t elements = 0;
  for (std::size_t slot = 0; slot < chunk_count_; ++slot) {
    const chunk* c = chunk_at(slot);
    if (c->count == 0 || c->begin > c->end || c->end > c->capacity
        || c->capacity != capacity_of(c, sizeof(chunk)))
      return -1;
    if (check_limits && c->count > 1 && (c->count > max_entries_ || c->used() > max_bytes_))
      return -1;
    // Forwards and backwards, the entries must tile [begin, end) alike.
    const char* p = c->data() + c->begin;
    const char* end = c->data() + c->end;
    std::vector<std::string_view> forwards;
    while (p < end)
      forwards.push_back(next_entry(p));
    if (p != end || forwards.size() != c->count)
      return -1;
    const char* begin = c->data() + c->begin;
    for (auto i = forwards.size(); i > 0; --i)
      if (p <= begin || previous_entry(p) != forwards[i - 1])
        return -1;
    if (p != begin)
      return -1;
    elements += c->count;
    total += usable(c);
  }
  return elements == size_ ? total : -1;
}

} // namespace stairkv::values
