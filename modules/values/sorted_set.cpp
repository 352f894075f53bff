#include "modules/values/sorted_set.hpp"

#include <malloc.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "modules/values/packed.hpp"

namespace stairkv::values {

namespace {

absl::string_view as_lookup(std::string_view s) {
  return {s.data(), s.size()};
}

std::int64_t usable(const void* block) {
  return static_cast<std::int64_t>(malloc_usable_size(const_cast<void*>(block)));
}

std::uint64_t splitmix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Every set its own sequence: a counter and the object's address, mixed.
std::uint64_t fresh_seed(const void* self) noexcept {
  static std::atomic<std::uint64_t> counter{0};
  auto n = counter.fetch_add(1, std::memory_order_relaxed);
  auto seed = splitmix(n ^ splitmix(reinterpret_cast<std::uintptr_t>(self)));
  return seed == 0 ? 1 : seed; // xorshift never leaves zero
}

// Where a lex bound sits among members: -1 below all, 1 above all, 0 finite.
int infinity_of(const lex_bound& b) noexcept {
  return b.kind == lex_bound::minus_infinity ? -1 : b.kind == lex_bound::plus_infinity ? 1 : 0;
}

// memcmp order, a prefix before what extends it.
int compare_bytes(std::string_view a, std::string_view b) noexcept {
  auto common = std::min(a.size(), b.size());
  int c = common == 0 ? 0 : std::memcmp(a.data(), b.data(), common);
  if (c != 0)
    return c;
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// Redis's test before a lex search: min above max, or equal with either end
// open (an infinite end counts as open), holds nothing.
bool lex_empty(const lex_bound& min, const lex_bound& max) noexcept {
  int a = infinity_of(min);
  int b = infinity_of(max);
  int c = a != b ? a - b : a != 0 ? 0 : compare_bytes(min.value, max.value);
  return c > 0 || (c == 0 && (min.exclusive || max.exclusive || a != 0));
}

bool score_empty(const score_bound& min, const score_bound& max) noexcept {
  return min.value > max.value
         || (min.value == max.value && (min.exclusive || max.exclusive));
}

} // namespace

bool parse_score_bound(std::string_view text, score_bound& out) {
  bool exclusive = !text.empty() && text[0] == '(';
  // strtod wants a terminator; like Redis's strings, the copy also ends the
  // number at an embedded NUL.
  std::string number{text.substr(exclusive ? 1 : 0)};
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (*end != '\0' || std::isnan(value))
    return false;
  out = score_bound{value, exclusive};
  return true;
}

bool parse_score(std::string_view text, double& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  std::string number{text};
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(number.c_str(), &end);
  if (static_cast<std::size_t>(end - number.c_str()) != number.size() || std::isnan(value))
    return false;
  if (errno == ERANGE && (std::isinf(value) || value == 0.0))
    return false;
  out = value;
  return true;
}

void append_score(std::string& out, double score) {
  char bytes[sizeof score];
  std::memcpy(bytes, &score, sizeof score);
  append_item(out, std::string_view{bytes, sizeof bytes});
}

bool read_score(std::string_view item, double& out) {
  if (item.size() != sizeof out)
    return false;
  std::memcpy(&out, item.data(), sizeof out);
  return true;
}

bool parse_lex_bound(std::string_view text, lex_bound& out) {
  if (text.empty())
    return false;
  // Redis reads "+" and "-" up to a terminator: a NUL right after them ends
  // the item there.
  bool alone = text.size() == 1 || text[1] == '\0';
  switch (text[0]) {
  case '+':
    if (!alone)
      return false;
    out = lex_bound{{}, true, lex_bound::plus_infinity};
    return true;
  case '-':
    if (!alone)
      return false;
    out = lex_bound{{}, true, lex_bound::minus_infinity};
    return true;
  case '(':
    out = lex_bound{text.substr(1), true, lex_bound::finite};
    return true;
  case '[':
    out = lex_bound{text.substr(1), false, lex_bound::finite};
    return true;
  default:
    return false;
  }
}

sorted_set::sorted_set() : random_(fresh_seed(this)) {
  head_ = make({}, 0, max_level);
  block_bytes_ = usable(head_);
}

sorted_set::~sorted_set() {
  node* x = head_->next();
  while (x != nullptr) {
    node* next = x->next();
    std::free(x);
    x = next;
  }
  std::free(head_);
}

sorted_set::node* sorted_set::make(std::string_view member, double score, int height) {
  auto links_size = static_cast<std::size_t>(height) * sizeof(link);
  void* block = std::malloc(sizeof(node) + links_size + member.size());
  if (block == nullptr)
    throw std::bad_alloc{};
  auto* x = static_cast<node*>(block);
  x->score = score;
  x->backward = nullptr;
  x->member_size = static_cast<std::uint32_t>(member.size());
  x->height = static_cast<std::uint8_t>(height);
  for (int i = 0; i < height; ++i)
    x->links()[i] = link{nullptr, 0};
  if (!member.empty())
    std::memcpy(reinterpret_cast<char*>(x->links() + height), member.data(), member.size());
  return x;
}

std::uint32_t sorted_set::scan_position(std::string_view member) noexcept {
  return static_cast<std::uint32_t>(XXH3_64bits(member.data(), member.size()) >> 32);
}

int sorted_set::compare_members(std::string_view a, std::string_view b) noexcept {
  return compare_bytes(a, b);
}

bool sorted_set::score_range_empty(const score_bound& min, const score_bound& max) noexcept {
  return score_empty(min, max);
}

bool sorted_set::lex_range_empty(const lex_bound& min, const lex_bound& max) noexcept {
  return lex_empty(min, max);
}

bool sorted_set::lex_above_min(std::string_view m, const lex_bound& min) noexcept {
  if (min.kind != lex_bound::finite)
    return min.kind == lex_bound::minus_infinity;
  int c = compare_members(m, min.value);
  return min.exclusive ? c > 0 : c >= 0;
}

bool sorted_set::lex_below_max(std::string_view m, const lex_bound& max) noexcept {
  if (max.kind != lex_bound::finite)
    return max.kind == lex_bound::plus_infinity;
  int c = compare_members(m, max.value);
  return max.exclusive ? c < 0 : c <= 0;
}

int sorted_set::random_height() noexcept {
  // xorshift64*; each pair of low bits both zero (a chance of 1/4) adds a
  // level, and 64 bits hold the 31 pairs the highest level needs.
  random_ ^= random_ >> 12;
  random_ ^= random_ << 25;
  random_ ^= random_ >> 27;
  std::uint64_t r = random_ * 0x2545f4914f6cdd1dULL;
  int height = 1;
  while (height < max_level && (r & 3) == 0) {
    ++height;
    r >>= 2;
  }
  return height;
}

bool sorted_set::score(std::string_view member, double& out) const {
  const auto* slot = set_.find(as_lookup(member));
  if (slot == nullptr)
    return false;
  out = slot->x->score;
  return true;
}

bool sorted_set::set(std::string_view member, double score) {
  auto* slot = set_.find(as_lookup(member));
  if (slot == nullptr) {
    node* x = make(member, score, random_height());
    try {
      set_.insert(indexed{x, scan_position(member)});
    } catch (...) {
      std::free(x);
      throw;
    }
    block_bytes_ += usable(x);
    link_in(x);
    return true;
  }
  node* x = slot->x;
  if (x->score == score)
    return false;
  node* prev = x->backward;
  node* next = x->next();
  if ((prev == nullptr || before(prev, score, x->member()))
      && (next == nullptr || after(next, score, x->member()))) {
    x->score = score; // its place stays: the links do too
    return false;
  }
  node* update[max_level];
  seek_node(x, update);
  unlink(x, update);
  x->score = score;
  link_in(x);
  return false;
}

bool sorted_set::erase(std::string_view member) {
  auto* slot = set_.find(as_lookup(member));
  if (slot == nullptr)
    return false;
  node* x = slot->x;
  node* update[max_level];
  seek_node(x, update);
  remove(x, update);
  return true;
}

std::int64_t sorted_set::rank(std::string_view member, bool reverse) const {
  const auto* slot = set_.find(as_lookup(member));
  if (slot == nullptr)
    return -1;
  auto r = rank_of(slot->x);
  return static_cast<std::int64_t>(reverse ? length_ - r : r - 1);
}

bool sorted_set::at_rank(std::size_t rank, std::string_view& member, double& score) const {
  if (rank >= length_)
    return false;
  node* x = node_at(rank + 1);
  member = x->member();
  score = x->score;
  return true;
}

std::size_t sorted_set::count_by_score(score_bound min, score_bound max) const {
  std::size_t first = 0;
  std::size_t last = 0;
  if (first_in_score(min, max, first) == nullptr || last_in_score(min, max, last) == nullptr)
    return 0;
  return last >= first ? last - first + 1 : 0;
}

std::size_t sorted_set::count_by_lex(const lex_bound& min, const lex_bound& max) const {
  std::size_t first = 0;
  std::size_t last = 0;
  if (first_in_lex(min, max, first) == nullptr || last_in_lex(min, max, last) == nullptr)
    return 0;
  return last >= first ? last - first + 1 : 0;
}

sorted_set::node* sorted_set::node_at(std::size_t r) const noexcept {
  if (r == 0 || r > length_)
    return nullptr;
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr && passed + p->links()[i].span <= r) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
    if (passed == r)
      return p;
  }
  return nullptr;
}

std::size_t sorted_set::rank_of(const node* x) const noexcept {
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    // Forward while the next node is x or before it.
    while (p->links()[i].forward != nullptr
           && !after(p->links()[i].forward, x->score, x->member())) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
    if (p == x)
      return passed;
  }
  return passed;
}

sorted_set::node* sorted_set::first_in_score(const score_bound& min, const score_bound& max,
                                             std::size_t& r) const noexcept {
  if (length_ == 0 || score_empty(min, max) || !above_min(tail_->score, min)
      || !below_max(head_->next()->score, max))
    return nullptr;
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr && !above_min(p->links()[i].forward->score, min)) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
  }
  node* x = p->next(); // not null: the highest is above min
  if (!below_max(x->score, max))
    return nullptr;
  r = passed + 1;
  return x;
}

sorted_set::node* sorted_set::last_in_score(const score_bound& min, const score_bound& max,
                                            std::size_t& r) const noexcept {
  if (length_ == 0 || score_empty(min, max) || !above_min(tail_->score, min)
      || !below_max(head_->next()->score, max))
    return nullptr;
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr && below_max(p->links()[i].forward->score, max)) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
  }
  // Not the head: the lowest is below max.
  if (!above_min(p->score, min))
    return nullptr;
  r = passed;
  return p;
}

sorted_set::node* sorted_set::first_in_lex(const lex_bound& min, const lex_bound& max,
                                           std::size_t& r) const noexcept {
  if (length_ == 0 || lex_empty(min, max)
      || !lex_above_min(tail_->member(), min) || !lex_below_max(head_->next()->member(), max))
    return nullptr;
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr
           && !lex_above_min(p->links()[i].forward->member(), min)) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
  }
  node* x = p->next();
  if (x == nullptr || !lex_below_max(x->member(), max))
    return nullptr;
  r = passed + 1;
  return x;
}

sorted_set::node* sorted_set::last_in_lex(const lex_bound& min, const lex_bound& max,
                                          std::size_t& r) const noexcept {
  if (length_ == 0 || lex_empty(min, max)
      || !lex_above_min(tail_->member(), min) || !lex_below_max(head_->next()->member(), max))
    return nullptr;
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr
           && lex_below_max(p->links()[i].forward->member(), max)) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
  }
  if (p == head_ || !lex_above_min(p->member(), min))
    return nullptr;
  r = passed;
  return p;
}

sorted_set::node* sorted_set::skip(node* x, std::size_t r, std::uint64_t offset,
                                   bool reverse) const noexcept {
  if (x == nullptr || offset == 0)
    return x;
  if (reverse)
    return offset >= r ? nullptr : node_at(r - static_cast<std::size_t>(offset));
  return offset > length_ - r ? nullptr : node_at(r + static_cast<std::size_t>(offset));
}

sorted_set::node* sorted_set::seek_rank(std::size_t r, node** update) const noexcept {
  node* p = head_;
  std::size_t passed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr && passed + p->links()[i].span < r) {
      passed += p->links()[i].span;
      p = p->links()[i].forward;
    }
    update[i] = p;
  }
  return p->next();
}

sorted_set::node* sorted_set::seek_score(const score_bound& min, node** update) const noexcept {
  node* p = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr && !above_min(p->links()[i].forward->score, min))
      p = p->links()[i].forward;
    update[i] = p;
  }
  return p->next();
}

sorted_set::node* sorted_set::seek_lex(const lex_bound& min, node** update) const noexcept {
  node* p = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr
           && !lex_above_min(p->links()[i].forward->member(), min))
      p = p->links()[i].forward;
    update[i] = p;
  }
  return p->next();
}

void sorted_set::seek_node(const node* x, node** update) const noexcept {
  node* p = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (p->links()[i].forward != nullptr
           && before(p->links()[i].forward, x->score, x->member()))
      p = p->links()[i].forward;
    update[i] = p;
  }
}

void sorted_set::link_in(node* x) noexcept {
  node* update[max_level];
  std::size_t rank[max_level]; // of update[i], 0 the head
  node* p = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (p->links()[i].forward != nullptr
           && before(p->links()[i].forward, x->score, x->member())) {
      rank[i] += p->links()[i].span;
      p = p->links()[i].forward;
    }
    update[i] = p;
  }
  int height = x->height;
  for (int i = level_; i < height; ++i) {
    // A level new to the list: the head's link there spans it all.
    rank[i] = 0;
    update[i] = head_;
    head_->links()[i] = link{nullptr, length_};
  }
  level_ = std::max(level_, height);
  for (int i = 0; i < height; ++i) {
    link& before_x = update[i]->links()[i];
    x->links()[i].forward = before_x.forward;
    x->links()[i].span = before_x.span - (rank[0] - rank[i]);
    before_x.forward = x;
    before_x.span = rank[0] - rank[i] + 1;
  }
  for (int i = height; i < level_; ++i)
    ++update[i]->links()[i].span; // jumps over x now
  x->backward = update[0] == head_ ? nullptr : update[0];
  if (x->next() != nullptr)
    x->next()->backward = x;
  else
    tail_ = x;
  ++length_;
}

void sorted_set::unlink(node* x, node** update) noexcept {
  for (int i = 0; i < level_; ++i) {
    link& l = update[i]->links()[i];
    if (l.forward == x) {
      l.span += x->links()[i].span - 1;
      l.forward = x->links()[i].forward;
    } else {
      --l.span;
    }
  }
  if (x->next() != nullptr)
    x->next()->backward = x->backward;
  else
    tail_ = x->backward;
  while (level_ > 1 && head_->links()[level_ - 1].forward == nullptr)
    --level_;
  --length_;
}

void sorted_set::remove(node* x, node** update) noexcept {
  unlink(x, update);
  set_.erase(x);
  block_bytes_ -= usable(x);
  std::free(x);
}

std::int64_t sorted_set::bytes() const noexcept {
  return static_cast<std::int64_t>(sizeof(sorted_set)) + block_bytes_
         + static_cast<std::int64_t>(set_.capacity() * (sizeof(indexed) + 1));
}

void append_packed_element(std::string& out, std::string_view member, double score) {
  append_item(out, member);
  std::uint64_t bits = 0;
  std::memcpy(&bits, &score, sizeof bits);
  for (int b = 0; b < 8; ++b)
    out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
}

packed_zset_reader::packed_zset_reader(std::string_view bytes) : bytes_(bytes) {
  if (!read_varint(bytes_, pos_, count_))
    count_ = 0;
}

bool packed_zset_reader::next(std::string_view& member, double& score) {
  if (read_ >= count_)
    return false;
  std::uint64_t size = 0;
  if (!read_varint(bytes_, pos_, size) || size > bytes_.size() - pos_
      || bytes_.size() - pos_ - size < 8) {
    count_ = read_;
    return false;
  }
  member = bytes_.substr(pos_, static_cast<std::size_t>(size));
  pos_ += static_cast<std::size_t>(size);
  std::uint64_t bits = 0;
  for (int b = 0; b < 8; ++b)
    bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + b])) << (8 * b);
  pos_ += 8;
  std::memcpy(&score, &bits, sizeof score);
  ++read_;
  return true;
}

void sorted_set::write_packed(std::string& out) const {
  out.clear();
  append_varint(out, length_);
  for (node* x = head_->next(); x != nullptr; x = x->next())
    append_packed_element(out, x->member(), x->score);
}

sorted_set* sorted_set::from_packed(std::string_view bytes) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_varint(bytes, pos, count))
    return nullptr;
  // Each element takes at least 9 bytes: a bigger count cannot be right (and
  // must not size the index).
  if (count > (bytes.size() - pos) / 9)
    return nullptr;
  auto set = std::make_unique<sorted_set>();
  set->set_.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t size = 0;
    if (!read_varint(bytes, pos, size) || size > 0xffffffffULL || size > bytes.size() - pos
        || bytes.size() - pos - size < 8)
      return nullptr;
    auto member = bytes.substr(pos, static_cast<std::size_t>(size));
    pos += static_cast<std::size_t>(size);
    std::uint64_t bits = 0;
    for (int b = 0; b < 8; ++b)
      bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[pos + b])) << (8 * b);
    pos += 8;
    double score = 0;
    std::memcpy(&score, &bits, sizeof score);
    if (std::isnan(score) || set->set_.contains(as_lookup(member)))
      return nullptr;
    set->set(member, score);
  }
  if (pos != bytes.size())
    return nullptr;
  return set.release();
}

bool sorted_set::check_invariants() const {
  if (level_ < 1 || level_ > max_level || head_->height != max_level)
    return false;
  // Level 0: order, back links, the index, the blocks.
  absl::flat_hash_map<const node*, std::size_t> position;
  std::vector<std::size_t> per_level(max_level, 0);
  std::int64_t blocks = usable(head_);
  const node* prev = nullptr;
  int tallest = 1;
  std::size_t n = 0;
  for (node* x = head_->next(); x != nullptr; x = x->next()) {
    ++n;
    if (x->backward != prev || x->height < 1 || x->height > max_level || std::isnan(x->score))
      return false;
    if (prev != nullptr && !before(prev, x->score, x->member()))
      return false;
    const auto* slot = set_.find(as_lookup(x->member()));
    if (slot == nullptr || slot->x != x || slot->position != scan_position(x->member()))
      return false;
    position[x] = n;
    for (int i = 0; i < x->height; ++i)
      ++per_level[i];
    tallest = std::max<int>(tallest, x->height);
    blocks += usable(x);
    prev = x;
  }
  if (n != length_ || n != set_.size() || tail_ != prev || level_ != tallest)
    return false;
  if (blocks != block_bytes_)
    return false;
  // Every level in use: its chain holds exactly the nodes that tall, and each
  // span is the distance in ranks (to the end after the chain's last).
  for (int i = 0; i < level_; ++i) {
    const node* p = head_;
    std::size_t at = 0;
    std::size_t chained = 0;
    for (;;) {
      const link& l = p->links()[i];
      if (l.forward == nullptr) {
        if (l.span != length_ - at)
          return false;
        break;
      }
      if (l.forward->height <= i)
        return false;
      auto found = position.find(l.forward);
      if (found == position.end())
        return false;
      auto to = found->second;
      if (to <= at || l.span != to - at)
        return false;
      ++chained;
      p = l.forward;
      at = to;
    }
    if (chained != per_level[i])
      return false;
  }
  return bytes()
         == static_cast<std::int64_t>(sizeof(sorted_set)) + blocks
              + static_cast<std::int64_t>(set_.capacity() * (sizeof(indexed) + 1));
}

} // namespace stairkv::values
