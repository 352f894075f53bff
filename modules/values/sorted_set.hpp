#pragma once

// A large sorted set (Redis's skiplist encoding): members ordered by score,
// then by their bytes (memcmp order, a prefix before what extends it), with
// O(log n) insert, erase, score update and rank, and O(1) member to score.
//
// Two structures hold the same nodes. A skip list orders them: each node is
// one heap block holding its score, a link back, its forward links (one to
// four on average at p = 1/4, 32 at most) and, after them, the member's bytes.
// Every forward link also counts the elements it jumps over (its span), so a
// walk down from the top level adds up ranks on the way: rank, at_rank and
// the counts of a range are O(log n) too. A hash set of pointers to the same
// nodes, looked up by the member's bytes, answers ZSCORE and finds the node an
// update or erase starts from.
//
// Why a skip list rather than, say, a B-tree counting its subtrees: a B-tree
// would be denser (no per-element links, fewer blocks) and scan faster, but it
// moves elements between nodes when it splits and merges, so the member index
// could not simply point at an element, and every view handed out would be
// invalidated by the next write. A skip-list node never moves while it lives:
// the index keeps one pointer per member, a node whose new score keeps its
// place is updated where it is, and a member view stays good until that
// member goes. It also keeps the behaviour (and the cost profile of every
// command) the same as Redis's, with much less code to get right.
//
// Counts its bytes exactly, as hash_table.hpp does: the object, every block as
// the allocator sized it (the list's head included), and the index's slots and
// control bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include "modules/values/growing_set.hpp"

namespace stairkv::values {

// A bound of a score range: ZRANGEBYSCORE's "(1.5" is {1.5, exclusive=true}.
struct score_bound {
  double value;
  bool exclusive = false;
};

// A bound of a lex range: "[a" inclusive, "(a" exclusive, "-" minus infinity,
// "+" plus infinity. A finite bound's value views the text it was parsed from.
struct lex_bound {
  std::string_view value;
  bool exclusive = false;
  enum kind_t : std::uint8_t { finite, minus_infinity, plus_infinity } kind = finite;
};

// Parsing helpers the commands use, with Redis 7.0's rules (strtod over the
// text after an optional '(', the whole text consumed, NaN refused; so "inf",
// "-inf", "(+inf", " 1" and even "" and "(" (zero) are bounds, "1.5x", " " and
// "nan" are not). False is Redis's "ERR min or max is not a float".
bool parse_score_bound(std::string_view text, score_bound& out);
// "-", "+", "[x", "(x" ("[" and "(" bound at the empty member); false otherwise,
// Redis's "ERR min or max not valid string range item".
bool parse_lex_bound(std::string_view text, lex_bound& out);

// A score as ZADD, ZINCRBY and ZRANGESTORE's results take it (Redis's
// getDoubleFromObject): strtod over the whole text, no leading space, no
// overflow, no NaN; "inf", "-inf" and "+inf" are scores. False is Redis's
// "ERR value is not a valid float".
bool parse_score(std::string_view text, double& out);

// A score as one item of a packed list (values/packed.hpp): its 8 bytes in
// the machine's order. Only between the parts of one process (a planner and
// its shard); files use write_packed's fixed order.
void append_score(std::string& out, double score);
bool read_score(std::string_view item, double& out);

// One element of the serialised form (sorted_set::write_packed): the member
// as a packed item, then the score's IEEE-754 bits in 8 bytes, little endian.
void append_packed_element(std::string& out, std::string_view member, double score);

// Reads the serialised form element by element (the sets a gateway combines
// for ZUNION and its kind): false from next() at the end or on bytes that are
// no such form.
class packed_zset_reader {
public:
  explicit packed_zset_reader(std::string_view bytes);
  std::uint64_t size() const noexcept {
    return count_;
  }
  bool next(std::string_view& member, double& score);

private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t read_ = 0;
};

class sorted_set {
public:
  sorted_set();
  sorted_set(const sorted_set&) = delete;
  sorted_set& operator=(const sorted_set&) = delete;
  ~sorted_set();

  std::size_t size() const noexcept {
    return length_;
  }

  bool score(std::string_view member, double& out) const;

  // Inserts or updates; true when the member is new. Callers implement
  // NX/XX/GT/LT/INCR on top with score(). A score equal to the stored one
  // (0.0 against -0.0 too) changes nothing, as in Redis: the stored one stays.
  bool set(std::string_view member, double score);
  bool erase(std::string_view member);

  // 0-based rank from the lowest (reverse: from the highest); -1 when missing.
  std::int64_t rank(std::string_view member, bool reverse = false) const;

  // The element at 0-based rank from the lowest; false when out of range.
  bool at_rank(std::size_t rank, std::string_view& member, double& score) const;

  // Visits ranks [start, stop] (normalised by the caller: 0 <= start <= stop <
  // size()), lowest first, or highest first when reverse (rank 0 then being
  // the highest): f(member, score).
  template <class F>
  void range_by_rank(std::size_t start, std::size_t stop, bool reverse, F&& f) const {
    if (start > stop || stop >= length_)
      return;
    std::size_t n = stop - start + 1;
    if (!reverse) {
      for (node* x = node_at(start + 1); n > 0 && x != nullptr; --n, x = x->next())
        f(x->member(), x->score);
    } else {
      for (node* x = node_at(length_ - start); n > 0 && x != nullptr; --n, x = x->backward)
        f(x->member(), x->score);
    }
  }

  // The elements with min <= score <= max (either bound may be exclusive),
  // lowest first, or highest first when reverse (the walk then starts at
  // max); skips `offset` of them (a negative offset: none visited) and visits
  // at most `limit` (negative: no limit). Returns how many it visited.
  // O(log n + visited): the offset is skipped by rank, not by walking.
  template <class F>
  std::size_t range_by_score(score_bound min, score_bound max, bool reverse,
                             std::int64_t offset, std::int64_t limit, F&& f) const {
    if (offset < 0)
      return 0;
    std::size_t r = 0;
    node* x = reverse ? last_in_score(min, max, r) : first_in_score(min, max, r);
    x = skip(x, r, static_cast<std::uint64_t>(offset), reverse);
    std::size_t visited = 0;
    while (x != nullptr && limit != 0) {
      if (reverse ? !above_min(x->score, min) : !below_max(x->score, max))
        break;
      f(x->member(), x->score);
      ++visited;
      if (limit > 0)
        --limit;
      x = reverse ? x->backward : x->next();
    }
    return visited;
  }

  // The same over member bytes. Meaningful when all scores are equal, as Redis
  // says; otherwise, as in Redis, the search assumes member order and the walk
  // follows the set's order, ending at the first member past the far bound.
  template <class F>
  std::size_t range_by_lex(const lex_bound& min, const lex_bound& max, bool reverse,
                           std::int64_t offset, std::int64_t limit, F&& f) const {
    if (offset < 0)
      return 0;
    std::size_t r = 0;
    node* x = reverse ? last_in_lex(min, max, r) : first_in_lex(min, max, r);
    x = skip(x, r, static_cast<std::uint64_t>(offset), reverse);
    std::size_t visited = 0;
    while (x != nullptr && limit != 0) {
      if (reverse ? !lex_above_min(x->member(), min) : !lex_below_max(x->member(), max))
        break;
      f(x->member(), x->score);
      ++visited;
      if (limit > 0)
        --limit;
      x = reverse ? x->backward : x->next();
    }
    return visited;
  }

  // ZCOUNT and ZLEXCOUNT: O(log n), from the ranks of the range's ends.
  std::size_t count_by_score(score_bound min, score_bound max) const;
  std::size_t count_by_lex(const lex_bound& min, const lex_bound& max) const;

  // ZREMRANGEBYRANK/SCORE/LEX: removes and returns how many; f(member) sees
  // each removed member before it goes (the caller records them). Ranks are
  // normalised as in range_by_rank.
  template <class F>
  std::size_t erase_by_rank(std::size_t start, std::size_t stop, F&& f) {
    if (start > stop || stop >= length_)
      return 0;
    node* update[max_level];
    node* x = seek_rank(start + 1, update);
    std::size_t removed = 0;
    for (std::size_t n = stop - start + 1; n > 0 && x != nullptr; --n) {
      node* next = x->next();
      f(x->member());
      remove(x, update);
      ++removed;
      x = next;
    }
    return removed;
  }

  template <class F>
  std::size_t erase_by_score(score_bound min, score_bound max, F&& f) {
    node* update[max_level];
    node* x = seek_score(min, update);
    std::size_t removed = 0;
    while (x != nullptr && below_max(x->score, max)) {
      node* next = x->next();
      f(x->member());
      remove(x, update);
      ++removed;
      x = next;
    }
    return removed;
  }

  template <class F>
  std::size_t erase_by_lex(const lex_bound& min, const lex_bound& max, F&& f) {
    node* update[max_level];
    node* x = seek_lex(min, update);
    std::size_t removed = 0;
    while (x != nullptr && lex_below_max(x->member(), max)) {
      node* next = x->next();
      f(x->member());
      remove(x, update);
      ++removed;
      x = next;
    }
    return removed;
  }

  // ZPOPMIN/ZPOPMAX: removes up to count lowest (highest) elements, calling
  // f(member, score) before each is freed, in pop order. Returns how many.
  template <class F>
  std::size_t pop(std::size_t count, bool highest, F&& f) {
    node* update[max_level];
    std::size_t popped = 0;
    for (; popped < count && length_ > 0; ++popped) {
      node* x = highest ? tail_ : head_->next();
      f(x->member(), x->score);
      seek_node(x, update);
      remove(x, update);
    }
    return popped;
  }

  // The members whose scan position (the top 32 bits of their XXH3 hash)
  // lies in [begin, end), in no particular order: f(member, score).
  template <class F>
  void for_each_in(std::uint64_t begin, std::uint64_t end, F&& f) const {
    set_.for_each([&](const indexed& i) {
      if (i.position >= begin && i.position < end)
        f(i.x->member(), i.x->score);
    });
  }

  // Lowest first: f(member, score).
  template <class F>
  void for_each(F&& f) const {
    for (node* x = head_->next(); x != nullptr; x = x->next())
      f(x->member(), x->score);
  }

  // Bytes held: the object, every block, the index's slots and control bytes.
  std::int64_t bytes() const noexcept;

  // The serialisation: the element count as a varint, then each element
  // (lowest first) as its member (packed.hpp's append_item) and its score's
  // IEEE-754 bits in 8 bytes, little endian. Replaces what `out` held.
  void write_packed(std::string& out) const;
  // A set of those bytes; nullptr when they are malformed (truncated, a count
  // that does not match, trailing bytes, a NaN score, a member twice).
  static sorted_set* from_packed(std::string_view bytes);

  // For tests: order, back links, spans, levels, the index and the byte
  // count all agree with a recomputation.
  bool check_invariants() const;

  // Where a score or a member stands against one bound of a range (shared
  // with compact_zset, which must answer every range the same way).
  static bool above_min(double v, const score_bound& min) noexcept {
    return min.exclusive ? v > min.value : v >= min.value;
  }
  static bool below_max(double v, const score_bound& max) noexcept {
    return max.exclusive ? v < max.value : v <= max.value;
  }
  static bool lex_above_min(std::string_view m, const lex_bound& min) noexcept;
  static bool lex_below_max(std::string_view m, const lex_bound& max) noexcept;
  // Redis's tests before a search: a range that can hold nothing.
  static bool score_range_empty(const score_bound& min, const score_bound& max) noexcept;
  static bool lex_range_empty(const lex_bound& min, const lex_bound& max) noexcept;
  // memcmp order, a prefix first.
  static int compare_members(std::string_view a, std::string_view b) noexcept;

private:
  static constexpr int max_level = 32;

  struct node;
  struct link {
    node* forward;
    std::size_t span; // elements from this node to `forward` (to the end when null)
  };
  // One block: this header, `height` links, then the member's bytes.
  struct node {
    double score;
    node* backward; // null at the first element
    std::uint32_t member_size;
    std::uint8_t height;

    link* links() const noexcept {
      return reinterpret_cast<link*>(
        reinterpret_cast<char*>(const_cast<node*>(this)) + sizeof(node));
    }
    std::string_view member() const noexcept {
      return {reinterpret_cast<const char*>(links() + height), member_size};
    }
    node* next() const noexcept {
      return links()[0].forward;
    }
  };
  static_assert(sizeof(node) % alignof(link) == 0, "links follow the node's fields");

  static node* make(std::string_view member, double score, int height);

  // Whether x sorts before (score, member).
  static bool before(const node* x, double score, std::string_view member) noexcept {
    return x->score < score
           || (x->score == score && compare_members(x->member(), member) < 0);
  }
  // Whether x sorts after (score, member).
  static bool after(const node* x, double score, std::string_view member) noexcept {
    return x->score > score
           || (x->score == score && compare_members(x->member(), member) > 0);
  }


  int random_height() noexcept;

  // The node at 1-based rank r; null when out of range.
  node* node_at(std::size_t r) const noexcept;
  // 1-based rank of a node in the list.
  std::size_t rank_of(const node* x) const noexcept;
  // The first (last) element in a range, its 1-based rank in r; null when none.
  node* first_in_score(const score_bound& min, const score_bound& max,
                       std::size_t& r) const noexcept;
  node* last_in_score(const score_bound& min, const score_bound& max,
                      std::size_t& r) const noexcept;
  node* first_in_lex(const lex_bound& min, const lex_bound& max, std::size_t& r) const noexcept;
  node* last_in_lex(const lex_bound& min, const lex_bound& max, std::size_t& r) const noexcept;
  // From x at rank r, `offset` elements on (back when reverse); null past an end.
  node* skip(node* x, std::size_t r, std::uint64_t offset, bool reverse) const noexcept;

  // Each fills update[i] with the last node before the target on level i, for
  // every level in use, and returns the target (null at the end).
  node* seek_rank(std::size_t r, node** update) const noexcept;
  node* seek_score(const score_bound& min, node** update) const noexcept;
  node* seek_lex(const lex_bound& min, node** update) const noexcept;
  void seek_node(const node* x, node** update) const noexcept;

  // Links x in at its key's place, with its own height.
  void link_in(node* x) noexcept;
  // Unlinks x (update from a seek to it); update then fits x's successor.
  void unlink(node* x, node** update) noexcept;
  // Unlinks x, drops it from the index and frees it.
  void remove(node* x, node** update) noexcept;

  // The index's slot: the node, and its member's scan position (ZSCAN's
  // cursor walks those: a scan reads the slots in a row and touches only the
  // nodes it returns).
  struct indexed {
    node* x;
    std::uint32_t position;
  };
  static std::uint32_t scan_position(std::string_view member) noexcept;

  struct hasher {
    using is_transparent = void;
    std::size_t operator()(absl::string_view member) const {
      return absl::Hash<absl::string_view>{}(member);
    }
    std::size_t operator()(const node* x) const {
      auto m = x->member();
      return (*this)(absl::string_view{m.data(), m.size()});
    }
    std::size_t operator()(const indexed& i) const {
      return (*this)(i.x);
    }
  };
  struct equal {
    using is_transparent = void;
    static absl::string_view member_of(const node* x) {
      auto m = x->member();
      return {m.data(), m.size()};
    }
    static absl::string_view member_of(absl::string_view m) {
      return m;
    }
    static absl::string_view member_of(const indexed& i) {
      return member_of(i.x);
    }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return member_of(a) == member_of(b);
    }
  };

  node* head_;           // a block of max_level links, no member
  node* tail_ = nullptr; // the highest element
  std::size_t length_ = 0;
  int level_ = 1; // levels in use: the tallest element's height, at least 1
  std::uint64_t random_;
  growing_set<indexed, hasher, equal> set_; // grows without a stall
  std::int64_t block_bytes_ = 0;
};

} // namespace stairkv::values
