#include "modules/protocol/reply_reader.hpp"

#include <algorithm>
#include <limits>
#include <cstring>
#include <utility>

#include "modules/protocol/number.hpp"

namespace stairkv::protocol {

namespace {

// Element slots reserved for an aggregate before its elements arrive: a declared count
// is not trusted with more.
constexpr std::uint64_t max_reserved_elements = 1024;

// RESP3 doubles: what strtold reads (including "inf" and "-inf"), plus "nan".
bool parse_double(std::string_view text, double& value) {
  if (text == "nan" || text == "-nan") {
    value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  long double parsed = 0;
  if (!parse_long_double(text, parsed)) return false;
  value = static_cast<double>(parsed);
  return true;
}

bool is_big_number(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void reply_reader::reset() { *this = reply_reader(); }

read_status reply_reader::fail(const char* message) {
  error_ = message;
  return read_status::malformed;
}

bool reply_reader::deliver(reply value) {
  for (;;) {
    if (stack_.empty()) {
      result_ = std::move(value);
      return true;
    }
    frame& top = stack_.back();
    top.value.elements.push_back(std::move(value));
    if (--top.remaining > 0) return false;
    const bool attribute = top.attribute;
    value = std::move(top.value);
    stack_.pop_back();
    // An attribute annotates the value that follows it; that value is what counts
    // towards the enclosing aggregate, so reading simply goes on.
    if (attribute) return false;
  }
}

read_status reply_reader::read(std::string_view input) {
  if (complete_) reset();
  if (*error_ != '\0') return read_status::malformed;
  const char* data = input.data();
  const std::size_t size = input.size();

  for (;;) {
    if (blob_type_ != 0) {
      if (size - position_ < blob_length_ + 2) return read_status::incomplete;
      if (data[position_ + blob_length_] != '\r' ||
          data[position_ + blob_length_ + 1] != '\n') {
        return fail("missing CRLF after bulk payload");
      }
      reply value;
      std::string_view payload(data + position_, blob_length_);
      if (blob_type_ == '=') {
        if (payload.size() < 4 || payload[3] != ':') return fail("invalid verbatim string");
        value.type = reply::kind::verbatim;
        value.format.assign(payload.substr(0, 3));
        payload.remove_prefix(4);
      } else {
        value.type = blob_type_ == '!' ? reply::kind::error : reply::kind::bulk;
      }
      value.text.assign(payload);
      position_ += blob_length_ + 2;
      blob_type_ = 0;
      if (deliver(std::move(value))) break;
      continue;
    }

    if (position_ == size) return read_status::incomplete;
    // Find the end of the header line, resuming an earlier search.
    const std::size_t from = position_ + 1 + line_searched_;
    const void* hit = from < size ? std::memchr(data + from, '\r', size - from) : nullptr;
    if (hit == nullptr) {
      line_searched_ = size > position_ + 1 ? size - position_ - 1 : 0;
      return read_status::incomplete;
    }
    const auto line_end = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
    line_searched_ = line_end - position_ - 1;
    if (line_end + 1 == size) return read_status::incomplete;
    if (data[line_end + 1] != '\n') return fail("missing LF after CR");

    const char type = data[position_];
    const std::string_view line(data + position_ + 1, line_end - position_ - 1);
    position_ = line_end + 2;
    line_searched_ = 0;

    reply value;
    switch (type) {
      case '+':
        value.type = reply::kind::simple;
        value.text.assign(line);
        break;
      case '-':
        value.type = reply::kind::error;
        value.text.assign(line);
        break;
      case ':':
        value.type = reply::kind::integer;
        if (!parse_int64(line, value.integer)) return fail("invalid integer");
        break;
      case '_':
        if (!line.empty()) return fail("invalid null");
        value.type = reply::kind::null;
        break;
      case '#':
        if (line != "t" && line != "f") return fail("invalid boolean");
        value.type = reply::kind::boolean;
        value.integer = line == "t" ? 1 : 0;
        break;
      case ',':
        value.type = reply::kind::double_value;
        if (!parse_double(line, value.number)) return fail("invalid double");
        value.text.assign(line);
        break;
      case '(':
        if (!is_big_number(line)) return fail("invalid big number");
        value.type = reply::kind::big_number;
        value.text.assign(line);
        break;
      case '$':
      case '!':
      case '=': {
        std::int64_t length = 0;
        if (!parse_int64(line, length) || length < -1) return fail("invalid bulk length");
        if (length == -1) {
          if (type != '$') return fail("invalid bulk length");
          value.type = reply::kind::null;
          break;
        }
        blob_type_ = type;
        blob_length_ = static_cast<std::size_t>(length);
        continue;
      }
      case '*':
      case '%':
      case '~':
      case '>':
      case '|': {
        std::int64_t count = 0;
        if (!parse_int64(line, count) || count < -1) return fail("invalid aggregate length");
        if (count == -1) {
          if (type != '*') return fail("invalid aggregate length");
          value.type = reply::kind::null;
          break;
        }
        auto elements = static_cast<std::uint64_t>(count);
        if (type == '%' || type == '|') {
          if (elements > UINT64_MAX / 2) return fail("invalid aggregate length");
          elements *= 2;
        }
        value.type = type == '%'   ? reply::kind::map
                     : type == '~' ? reply::kind::set
                     : type == '>' ? reply::kind::push
                                   : reply::kind::array;
        if (elements == 0) {
          if (type == '|') continue;  // an empty annotation of the next value
          break;
        }
        if (stack_.size() == max_reply_depth) return fail("reply nested too deep");
        value.elements.reserve(std::min(elements, max_reserved_elements));
        stack_.push_back({std::move(value), elements, type == '|'});
        continue;
      }
      default:
        return fail("unknown reply type byte");
    }
    if (deliver(std::move(value))) break;
  }
  complete_ = true;
  return read_status::complete;
}

read_result read_reply(std::string_view input, reply& out) {
  reply_reader reader;
  const read_status status = reader.read(input);
  if (status != read_status::complete) {
    return {status, 0, status == read_status::malformed ? reader.error().data() : ""};
  }
  out = std::move(reader.value());
  return {status, reader.consumed(), ""};
}

}  // namespace stairkv::protocol
