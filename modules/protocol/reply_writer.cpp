#include "modules/protocol/reply_writer.hpp"

#include <algorithm>

#include "modules/protocol/number.hpp"

namespace stairkv::protocol {

void reply_writer::line(char type, std::string_view text) {
  const std::size_t start = out_.size() + 1;
  out_.push_back(type);
  out_.append(text);
  for (std::size_t i = start; i < out_.size(); ++i) {
    if (out_[i] == '\r' || out_[i] == '\n') out_[i] = ' ';
  }
  out_.append("\r\n", 2);
}

void reply_writer::header(char type, std::int64_t value) {
  char buffer[1 + int64_buffer_size + 2];
  buffer[0] = type;
  std::size_t length = 1 + format_int64(value, buffer + 1);
  buffer[length++] = '\r';
  buffer[length++] = '\n';
  out_.append(buffer, length);
}

void reply_writer::ok() { out_.append("+OK\r\n", 5); }

void reply_writer::simple(std::string_view text) { line('+', text); }

void reply_writer::error(std::string_view message) { line('-', message); }

void reply_writer::integer(std::int64_t value) { header(':', value); }

void reply_writer::bulk(std::string_view bytes) {
  header('$', static_cast<std::int64_t>(bytes.size()));
  out_.append(bytes);
  out_.append("\r\n", 2);
}

void reply_writer::bulk_integer(std::int64_t value) {
  char digits[int64_buffer_size];
  bulk(std::string_view(digits, format_int64(value, digits)));
}

void reply_writer::null() {
  if (resp3_) {
    out_.append("_\r\n", 3);
  } else {
    out_.append("$-1\r\n", 5);
  }
}

void reply_writer::null_array() {
  if (resp3_) {
    out_.append("_\r\n", 3);
  } else {
    out_.append("*-1\r\n", 5);
  }
}

void reply_writer::array(std::size_t count) {
  header('*', static_cast<std::int64_t>(count));
}

void reply_writer::map(std::size_t count) {
  if (resp3_) {
    header('%', static_cast<std::int64_t>(count));
  } else {
    header('*', static_cast<std::int64_t>(count * 2));
  }
}

void reply_writer::set(std::size_t count) {
  header(resp3_ ? '~' : '*', static_cast<std::int64_t>(count));
}

void reply_writer::push(std::size_t count) {
  header(resp3_ ? '>' : '*', static_cast<std::int64_t>(count));
}

void reply_writer::boolean(bool value) {
  if (resp3_) {
    out_.append(value ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_.append(value ? ":1\r\n" : ":0\r\n", 4);
  }
}

void reply_writer::double_value(double value) {
  char text[double_buffer_size];
  const std::size_t length = format_double(value, text);
  if (resp3_) {
    out_.push_back(',');
    out_.append(text, length);
    out_.append("\r\n", 2);
  } else {
    bulk(std::string_view(text, length));
  }
}

void reply_writer::verbatim(std::string_view text, std::string_view format) {
  if (!resp3_) {
    bulk(text);
    return;
  }
  header('=', static_cast<std::int64_t>(text.size() + 4));
  out_.append(format.substr(0, 3));
  out_.append(3 - std::min<std::size_t>(format.size(), 3), ' ');
  out_.push_back(':');
  out_.append(text);
  out_.append("\r\n", 2);
}

void reply_writer::big_number(std::string_view digits) {
  if (!resp3_) {
    bulk(digits);
    return;
  }
  out_.push_back('(');
  for (char c : digits)
    out_.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_.append("\r\n", 2);
}

}  // namespace stairkv::protocol
