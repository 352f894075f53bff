#pragma once

// How the fuzz targets split an input into reads, the way a socket might: the
// first byte's top two bits pick either one fixed read size (its low six bits,
// plus two) or sizes drawn from a small generator seeded with that byte and the
// input's length, up to 16, 512 or 8192 bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace stairkv::fuzz {

template <class Feed>
void feed_in_pieces(const std::uint8_t* data, std::size_t size, Feed&& feed) {
  if (size == 0)
    return;
  const unsigned selector = data[0];
  const unsigned kind = selector >> 6;
  std::uint64_t state = (static_cast<std::uint64_t>(selector) << 32) ^ size
                        ^ 0x9e3779b97f4a7c15ull;
  auto next_size = [&]() -> std::size_t {
    if (kind == 0)
      return (selector & 63u) + 2;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const std::size_t bound = kind == 1 ? 16 : kind == 2 ? 512 : 8192;
    return 1 + static_cast<std::size_t>(state % bound);
  };
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t step = std::min(next_size(), size - pos);
    feed(data + pos, step);
    pos += step;
  }
}

} // namespace stairkv::fuzz
