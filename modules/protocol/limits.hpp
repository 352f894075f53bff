#pragma once

#include <cstddef>
#include <cstdint>

// Bounds on what a client may ask the protocol layer to hold. They match Redis 7 so that
// a client which works against Redis sees the same limits here, and each one exists to
// keep a single connection from making the server allocate without bound.
namespace stairkv::protocol {

// Longest accepted bulk argument (Redis `proto-max-bulk-len`, 512 MiB). The largest value
// a string key may hold; a longer declared length is rejected before any byte of the
// payload is buffered.
inline constexpr std::size_t max_bulk_length = std::size_t{512} * 1024 * 1024;

// Longest line the parser buffers while waiting for its terminator (Redis
// PROTO_INLINE_MAX_SIZE, 64 KiB): a whole inline request, and also a `*N` / `$N` header
// line, which is never legitimately more than a few bytes. Without this bound a client
// that never sends a newline would grow the query buffer forever.
inline constexpr std::size_t max_inline_length = std::size_t{64} * 1024;

// Largest argument count a multibulk request may declare (Redis rejects counts above
// INT_MAX). The count is a client's claim, not a promise: argument storage grows as
// arguments actually arrive and is reserved up front only up to
// `max_reserved_arguments`.
inline constexpr std::int64_t max_multibulk_count = INT32_MAX;

// How many argument slots may be reserved on the strength of a declared count alone
// (Redis reserves min(count, 1024) as well). Past this, storage grows geometrically with
// the arguments that really arrived.
inline constexpr std::size_t max_reserved_arguments = 1024;

// Before a client has authenticated (requirepass), Redis accepts only small requests:
// enough for AUTH or HELLO, too little for an anonymous peer to make the server buffer
// anything worth having.
inline constexpr std::int64_t unauthenticated_max_multibulk_count = 10;
inline constexpr std::int64_t unauthenticated_max_bulk_length = 16384;

}  // namespace stairkv::protocol
