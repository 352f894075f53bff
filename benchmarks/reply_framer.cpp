#include "benchmarks/reply_framer.hpp"

#include <cstdint>
#include <cstring>
#include <utility>

#include "modules/protocol/number.hpp"

namespace stairkv::bench {

frame_status reply_framer::fail(std::string_view message) {
  error_.assign(message);
  return frame_status::malformed;
}

frame_status reply_framer::next(std::string_view input, reply_summary& summary) {
  if (input.empty()) return frame_status::incomplete;
  const char type = input[0];
  if (reader_active_ || (type != '+' && type != '-' && type != ':' && type != '$')) {
    return decode_fully(input, summary);
  }

  const void* cr = std::memchr(input.data(), '\r', input.size());
  if (cr == nullptr) return frame_status::incomplete;
  const auto line_end =
      static_cast<std::size_t>(static_cast<const char*>(cr) - input.data());
  if (line_end + 1 == input.size()) return frame_status::incomplete;
  if (input[line_end + 1] != '\n') return fail("missing LF after CR");
  const std::string_view line = input.substr(1, line_end - 1);
  const std::size_t header_size = line_end + 2;

  switch (type) {
    case '+':
      summary = {reply_summary::kind::status, header_size, line};
      return frame_status::complete;
    case '-':
      summary = {reply_summary::kind::error, header_size, line};
      return frame_status::complete;
    case ':': {
      std::int64_t value = 0;
      if (!protocol::parse_int64(line, value)) return fail("invalid integer");
      summary = {reply_summary::kind::integer, header_size, {}};
      return frame_status::complete;
    }
    default: {  // '$'
      std::int64_t length = 0;
      if (!protocol::parse_int64(line, length) || length < -1) {
        return fail("invalid bulk length");
      }
      if (length == -1) {
        summary = {reply_summary::kind::null, header_size, {}};
        return frame_status::complete;
      }
      const std::size_t total = header_size + static_cast<std::size_t>(length) + 2;
      if (input.size() < total) return frame_status::incomplete;
      if (input[total - 2] != '\r' || input[total - 1] != '\n') {
        return fail("missing CRLF after bulk payload");
      }
      summary = {reply_summary::kind::bulk, total, {}};
      return frame_status::complete;
    }
  }
}

frame_status reply_framer::decode_fully(std::string_view input, reply_summary& summary) {
  reader_active_ = true;
  const protocol::read_status status = reader_.read(input);
  if (status == protocol::read_status::incomplete) return frame_status::incomplete;
  reader_active_ = false;
  if (status == protocol::read_status::malformed) {
    const std::string message(reader_.error());
    reader_.reset();
    return fail(message);
  }
  using protocol_kind = protocol::reply::kind;
  protocol::reply& value = reader_.value();
  summary = {reply_summary::kind::other, reader_.consumed(), {}};
  switch (value.type) {
    case protocol_kind::error:
      summary.type = reply_summary::kind::error;
      break;
    case protocol_kind::simple:
      summary.type = reply_summary::kind::status;
      break;
    case protocol_kind::null:
      summary.type = reply_summary::kind::null;
      break;
    case protocol_kind::integer:
      summary.type = reply_summary::kind::integer;
      break;
    case protocol_kind::bulk:
      summary.type = reply_summary::kind::bulk;
      break;
    default:
      break;
  }
  if (summary.type == reply_summary::kind::error ||
      summary.type == reply_summary::kind::status) {
    text_ = std::move(value.text);
    summary.text = text_;
  }
  return frame_status::complete;
}

}  // namespace stairkv::bench
