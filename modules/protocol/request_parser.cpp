#include "modules/protocol/request_parser.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "modules/protocol/limits.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::protocol {

namespace {

// isspace() in the "C" locale, without the locale lookup and the signed-char pitfall.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

request_parser::request_parser() = default;

std::size_t request_parser::bytes_needed_hint() const {
  if (mode_ != mode::multibulk_args || bulk_length_ < 0) return 0;
  const std::size_t end = cursor_ + static_cast<std::size_t>(bulk_length_) + 2;
  return end > available_ ? end - available_ : 0;
}

void request_parser::reset() {
  auto unauthenticated = unauthenticated_;
  *this = request_parser();
  unauthenticated_ = unauthenticated; // a connection setting, not parse state
}

std::size_t request_parser::memory_usage() const {
  return args_.capacity() * sizeof(std::string_view) +
         spans_.capacity() * sizeof(argument_span) + scratch_.capacity() +
         error_.capacity();
}

request_parser::status request_parser::parse(const char* data, std::size_t size) {
  consumed_ = 0;
  args_.clear();
  if (failed_) return status::error;
  // Storage sized for one huge request is not kept for the rest of the connection.
  if (args_.capacity() > max_reserved_arguments) std::vector<std::string_view>().swap(args_);

  std::size_t start = 0;  // first byte of the command being parsed
  for (;;) {
    if (mode_ == mode::idle) {
      if (start == size) {
        consumed_ = start;
        return status::need_more;
      }
      start_command(data[start]);
    }
    const char* command = data + start;
    const std::size_t available = size - start;
    available_ = available;
    const step result = mode_ == mode::inline_request ? parse_inline(command, available)
                                                      : parse_multibulk(command, available);
    switch (result) {
      case step::need_more:
        consumed_ = start;
        return status::need_more;
      case step::error:
        consumed_ = start;
        return status::error;
      case step::empty_command:
        start += cursor_;
        mode_ = mode::idle;
        continue;
      case step::command:
        args_.reserve(spans_.size());
        for (const argument_span& span : spans_) {
          const char* base = span.in_scratch ? scratch_.data() : command;
          args_.emplace_back(base + span.offset, span.length);
        }
        consumed_ = start + cursor_;
        mode_ = mode::idle;
        return status::command;
    }
  }
}

void request_parser::start_command(char first_byte) {
  // Like Redis, the first byte alone decides the request type.
  mode_ = first_byte == '*' ? mode::multibulk_count : mode::inline_request;
  cursor_ = 0;
  line_searched_ = 0;
  pending_args_ = 0;
  bulk_length_ = -1;
  spans_.clear();
  if (spans_.capacity() > max_reserved_arguments) std::vector<argument_span>().swap(spans_);
  scratch_.clear();
}

request_parser::step request_parser::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  return step::error;
}

// Looks for `terminator` in the line starting at cursor_, resuming where the previous
// call stopped so that a line arriving in pieces is searched once. A line longer than
// max_inline_length is refused as soon as that many bytes are here without a terminator,
// which is when Redis refuses it too; the search never looks further than that, so
// the outcome does not depend on how the input was split.
request_parser::line_search request_parser::find_line_end(const char* command,
                                                          std::size_t size, char terminator,
                                                          std::size_t& end) {
  const std::size_t limit = std::min(size, cursor_ + max_inline_length + 1);
  const std::size_t from = cursor_ + line_searched_;
  if (from < limit) {
    const void* hit = std::memchr(command + from, terminator, limit - from);
    if (hit != nullptr) {
      end = static_cast<std::size_t>(static_cast<const char*>(hit) - command);
      bytes_examined_ += end + 1 - from;
      line_searched_ = end - cursor_;
      return line_search::found;
    }
    bytes_examined_ += limit - from;
    line_searched_ = limit - cursor_;
  }
  return size - cursor_ > max_inline_length ? line_search::too_long : line_search::partial;
}

request_parser::step request_parser::parse_multibulk(const char* command, std::size_t size) {
  if (mode_ == mode::multibulk_count) {
    std::size_t line_end = 0;
    switch (find_line_end(command, size, '\r', line_end)) {
      case line_search::too_long:
        return fail("Protocol error: too big mbulk count string");
      case line_search::partial:
        return step::need_more;
      case line_search::found:
        break;
    }
    if (line_end + 1 == size) return step::need_more;  // the '\n' is still to come
    std::int64_t count = 0;
    bytes_examined_ += line_end + 1;
    if (command[line_end + 1] != '\n' ||
        !parse_int64(std::string_view(command + 1, line_end - 1), count) ||
        count > max_multibulk_count) {
      return fail("Protocol error: invalid multibulk length");
    }
    if (unauthenticated_ && count > unauthenticated_max_multibulk_count)
      return fail("Protocol error: unauthenticated multibulk length");
    cursor_ = line_end + 2;
    line_searched_ = 0;
    if (count <= 0) return step::empty_command;
    pending_args_ = count;
    // The count is only a claim: reserve for what a normal command needs and let
    // storage grow with the arguments that really arrive.
    spans_.reserve(std::min(static_cast<std::size_t>(count), max_reserved_arguments));
    mode_ = mode::multibulk_args;
  }

  while (pending_args_ > 0) {
    if (bulk_length_ < 0) {
      if (cursor_ == size) return step::need_more;
      // Checked before the line is complete, so that a client sending garbage learns
      // at once rather than after 64 KiB.
      if (command[cursor_] != '$') {
        std::string message = "Protocol error: expected '$', got ' '";
        message[message.size() - 2] = command[cursor_];
        return fail(std::move(message));
      }
      std::size_t line_end = 0;
      switch (find_line_end(command, size, '\r', line_end)) {
        case line_search::too_long:
          return fail("Protocol error: too big bulk count string");
        case line_search::partial:
          return step::need_more;
        case line_search::found:
          break;
      }
      if (line_end + 1 == size) return step::need_more;
      std::int64_t length = 0;
      bytes_examined_ += line_end + 1 - cursor_;
      if (command[line_end + 1] != '\n' ||
          !parse_int64(std::string_view(command + cursor_ + 1, line_end - cursor_ - 1),
                       length) ||
          length < 0 || static_cast<std::uint64_t>(length) > max_bulk_length) {
        return fail("Protocol error: invalid bulk length");
      }
      if (unauthenticated_ && length > unauthenticated_max_bulk_length)
        return fail("Protocol error: unauthenticated bulk length");
      cursor_ = line_end + 2;
      line_searched_ = 0;
      bulk_length_ = length;
    }
    const auto length = static_cast<std::size_t>(bulk_length_);
    if (size - cursor_ < length + 2) return step::need_more;
    bytes_examined_ += 2;
    if (command[cursor_ + length] != '\r' || command[cursor_ + length + 1] != '\n') {
      return fail("Protocol error: expected CRLF after bulk");
    }
    spans_.push_back({cursor_, length, false});
    cursor_ += length + 2;
    bulk_length_ = -1;
    --pending_args_;
  }
  return step::command;
}

request_parser::step request_parser::parse_inline(const char* command, std::size_t size) {
  std::size_t newline = 0;
  switch (find_line_end(command, size, '\n', newline)) {
    case line_search::too_long:
      return fail("Protocol error: too big inline request");
    case line_search::partial:
      return step::need_more;
    case line_search::found:
      break;
  }
  // "\r\n" and a bare "\n" both end the line.
  std::size_t length = newline;
  if (length > 0 && command[length - 1] == '\r') --length;
  if (!split_inline(command, length)) {
    return fail("Protocol error: unbalanced quotes in request");
  }
  cursor_ = newline + 1;
  return spans_.empty() ? step::empty_command : step::command;
}

// Splits an inline line into words exactly as Redis's sdssplitargs does: words are
// separated by spaces; "double quotes" understand \n \r \t \b \a \xHH and a backslash
// before any other character; 'single quotes' understand only \'; a closing quote must
// be followed by a space or the end of the line. A quote may open in the middle of a
// word (a"b c" is the single word `ab c`). Unlike Redis, which works on C strings, a
// NUL byte is an ordinary character. Returns false on unbalanced quotes.
bool request_parser::split_inline(const char* line, std::size_t length) {
  bytes_examined_ += length;
  std::size_t p = 0;
  for (;;) {
    while (p < length && is_space(line[p])) ++p;
    if (p == length) return true;

    const std::size_t word_start = p;
    bool in_scratch = false;  // the word had quotes and is rebuilt in scratch_
    std::size_t scratch_start = 0;
    bool in_double_quotes = false;
    bool in_single_quotes = false;
    for (;;) {
      if (in_double_quotes) {
        if (p == length) return false;
        if (line[p] == '\\' && p + 3 < length && line[p + 1] == 'x' &&
            is_hex_digit(line[p + 2]) && is_hex_digit(line[p + 3])) {
          scratch_.push_back(
              static_cast<char>(hex_value(line[p + 2]) * 16 + hex_value(line[p + 3])));
          p += 4;
        } else if (line[p] == '\\' && p + 1 < length) {
          char c = line[p + 1];
          switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'a': c = '\a'; break;
            default: break;
          }
          scratch_.push_back(c);
          p += 2;
        } else if (line[p] == '"') {
          if (p + 1 < length && !is_space(line[p + 1])) return false;
          ++p;
          break;
        } else {
          scratch_.push_back(line[p++]);
        }
      } else if (in_single_quotes) {
        if (p == length) return false;
        if (line[p] == '\\' && p + 1 < length && line[p + 1] == '\'') {
          scratch_.push_back('\'');
          p += 2;
        } else if (line[p] == '\'') {
          if (p + 1 < length && !is_space(line[p + 1])) return false;
          ++p;
          break;
        } else {
          scratch_.push_back(line[p++]);
        }
      } else {
        // Only these end an unquoted word; \v and \f belong to it, as in Redis.
        if (p == length || line[p] == ' ' || line[p] == '\n' || line[p] == '\r' ||
            line[p] == '\t') {
          break;
        }
        if (line[p] == '"' || line[p] == '\'') {
          if (!in_scratch) {
            in_scratch = true;
            scratch_start = scratch_.size();
            scratch_.append(line + word_start, p - word_start);
          }
          (line[p] == '"' ? in_double_quotes : in_single_quotes) = true;
        } else if (in_scratch) {
          scratch_.push_back(line[p]);
        }
        ++p;
      }
    }
    if (in_scratch) {
      spans_.push_back({scratch_start, scratch_.size() - scratch_start, true});
    } else {
      spans_.push_back({word_start, p - word_start, false});
    }
  }
}

}  // namespace stairkv::protocol
