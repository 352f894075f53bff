#include "benchmarks/workload.hpp"

#include <stdexcept>

#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::bench {

namespace {

constexpr std::uint64_t max_ratio_side = 1'000'000;

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotate_left(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

bool parse_count(std::string_view text, std::uint64_t& out) {
  std::int64_t value = 0;
  if (!protocol::parse_int64(text, value) || value < 0 ||
      static_cast<std::uint64_t>(value) > max_ratio_side) {
    return false;
  }
  out = static_cast<std::uint64_t>(value);
  return true;
}

}  // namespace

void write_key_digits(char* out, std::uint64_t index) {
  for (std::size_t i = key_digits; i-- > 0;) {
    out[i] = static_cast<char>('0' + index % 10);
    index /= 10;
  }
}

std::string key_name(std::uint64_t index) {
  std::string key(key_prefix);
  key.resize(key_size);
  write_key_digits(&key[key_prefix.size()], index);
  return key;
}

random_generator::random_generator(std::uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

std::uint64_t random_generator::next() {
  const std::uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

std::uint64_t random_generator::below(std::uint64_t bound) {
  unsigned __int128 product = static_cast<unsigned __int128>(next()) * bound;
  auto low = static_cast<std::uint64_t>(product);
  if (low < bound) {
    // Products whose low half falls below 2^64 mod bound belong to an incomplete
    // last round of [0, bound); drawing again removes the bias they would add.
    const std::uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(next()) * bound;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t client_seed(std::uint64_t run_seed, std::uint64_t client) {
  std::uint64_t state = run_seed ^ (client * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

const char* command_name(command c) { return c == command::set ? "SET" : "GET"; }

bool parse_ratio(std::string_view text, command_ratio& out) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  command_ratio ratio;
  if (!parse_count(text.substr(0, colon), ratio.set) ||
      !parse_count(text.substr(colon + 1), ratio.get) || ratio.set + ratio.get == 0) {
    return false;
  }
  out = ratio;
  return true;
}

std::string format_ratio(const command_ratio& ratio) {
  return std::to_string(ratio.set) + ":" + std::to_string(ratio.get);
}

std::string make_value(std::size_t size) {
  static constexpr std::string_view pattern =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string value(size, '\0');
  for (std::size_t i = 0; i < size; ++i) value[i] = pattern[i % pattern.size()];
  return value;
}

request_generator::request_generator(std::uint64_t seed, std::uint64_t keys,
                                     command_ratio ratio)
    : random_(seed), keys_(keys), ratio_(ratio), ratio_total_(ratio.set + ratio.get) {
  if (keys == 0 || ratio_total_ == 0) throw std::invalid_argument("empty workload");
  if (ratio.get == 0) always_ = static_cast<int>(command::set);
  if (ratio.set == 0) always_ = static_cast<int>(command::get);
}

request_encoder::request_encoder(std::size_t value_size) {
  const std::string key = key_name(0);
  const std::string value = make_value(value_size);
  const auto build = [&](command cmd, std::initializer_list<std::string_view> args) {
    encoded& e = templates_[static_cast<std::size_t>(cmd)];
    append_command(e.bytes, args);
    // The key is the only argument that starts with the prefix: the value pattern
    // does not contain ':' and command names are upper case.
    e.digits_offset = e.bytes.find(key) + key_prefix.size();
  };
  build(command::set, {"SET", key, value});
  build(command::get, {"GET", key});
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  // A request is an array of bulk strings: on the wire exactly what the reply writer
  // produces for an array of bulks.
  protocol::reply_writer writer(out);
  writer.array(args.size());
  for (const std::string_view arg : args) writer.bulk(arg);
}

void append_set_pxat(std::string& out, std::string_view key, std::string_view value,
                     std::int64_t deadline_ms) {
  char digits[protocol::int64_buffer_size];
  const std::size_t length = protocol::format_int64(deadline_ms, digits);
  append_command(out, {"SET", key, value, "PXAT", std::string_view(digits, length)});
}

}  // namespace stairkv::bench
