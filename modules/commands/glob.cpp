#include "modules/commands/glob.hpp"

#include <cctype>

namespace stairkv::commands {

namespace {

char fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                     : c;
}

// Matches one bracket class starting after '['; advances `p` past the closing ']'.
bool match_class(std::string_view pattern, std::size_t& p, char c,
                 bool ignore_case) {
  bool negate = p < pattern.size() && pattern[p] == '^';
  if (negate)
    ++p;
  bool matched = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      ++p;
      matched |= fold(pattern[p], ignore_case) == fold(c, ignore_case);
      ++p;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-'
               && pattern[p + 2] != ']') {
      auto lo = fold(pattern[p], ignore_case);
      auto hi = fold(pattern[p + 2], ignore_case);
      if (lo > hi)
        std::swap(lo, hi);
      auto x = fold(c, ignore_case);
      matched |= x >= lo && x <= hi;
      p += 3;
    } else {
      matched |= fold(pattern[p], ignore_case) == fold(c, ignore_case);
      ++p;
    }
  }
  if (p < pattern.size())
    ++p; // the ']'
  return matched != negate;
}

} // namespace

// Iterative matcher with single-star backtracking: linear in practice and never
// exponential, whatever the pattern (Redis had to fix exactly that).
bool glob_match(std::string_view pattern, std::string_view text,
                bool ignore_case) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star = ++p;
        star_text = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        auto q = p + 1;
        if (match_class(pattern, q, text[t], ignore_case)) {
          p = q;
          ++t;
          continue;
        }
      } else {
        if (pc == '\\' && p + 1 < pattern.size())
          pc = pattern[++p];
        if (fold(pc, ignore_case) == fold(text[t], ignore_case)) {
          ++p;
          ++t;
          continue;
        }
      }
    }
    if (star == std::string_view::npos)
      return false;
    p = star;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

} // namespace stairkv::commands
