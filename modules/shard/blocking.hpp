#pragma once

// A client blocked in BLPOP, BRPOP, BLMPOP, BLMOVE or BRPOPLPUSH: one object
// shared by its gateway and the shards of every key it waits on. A shard holds
// it in the key's queue (first blocked, first served) and serves it the moment
// a change leaves the key holding a list with elements; the gateway serves it
// a null when its timeout passes, or drops it when the client leaves. Whoever
// claims it first answers it: the claim is one atomic exchange, so a client
// waiting on keys of several shards is served exactly once, and nothing on
// the request path takes a lock.

#include <atomic>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "modules/shard/batch.hpp"

namespace stairkv::shard {

// A shard to the gateway of a waiter it served: (woken_atom, tag, serial, key,
// reply, end), the reply being what the pop answers (block_args::form), `end`
// the list_end it popped from (to put the elements back if the client left).
using woken_atom = caf::atom_constant<caf::atom("woken")>;

struct blocked_pop {
  // How to pop and answer (the waiter index in it is unused).
  block_args request;
  caf::actor gateway;
  std::uint64_t tag = 0;    // the client's connection at its gateway
  std::uint64_t serial = 0; // which of the client's blocking commands

  // True for exactly one caller: the one that answers the client.
  bool claim() noexcept {
    bool expected = false;
    return served_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }
  bool served() const noexcept {
    return served_.load(std::memory_order_acquire);
  }

private:
  std::atomic<bool> served_{false};
};

// What a shard tells a gateway after serving a waiter.
struct wakeup {
  waiter_ptr waiter;
  std::string key;
  std::string reply;
};

} // namespace stairkv::shard
