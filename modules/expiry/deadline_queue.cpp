#include "modules/expiry/deadline_queue.hpp"

#include <algorithm>

namespace stairkv::expiry {

namespace {

// std heap functions build a max-heap; a later deadline compares "less".
struct later_first {
  bool operator()(const deadline_queue::entry& a,
                  const deadline_queue::entry& b) const noexcept {
    return a.deadline > b.deadline;
  }
};

} // namespace

void deadline_queue::add(std::string_view key, deadline_ms deadline) {
  heap_.push_back(entry{deadline, std::string{key}});
  key_bytes_ += heap_bytes(heap_.back().key);
  std::push_heap(heap_.begin(), heap_.end(), later_first{});
}

deadline_queue::entry deadline_queue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later_first{});
  auto e = std::move(heap_.back());
  heap_.pop_back();
  key_bytes_ -= heap_bytes(e.key);
  return e;
}

void deadline_queue::make_heap() {
  std::make_heap(heap_.begin(), heap_.end(), later_first{});
}

} // namespace stairkv::expiry
