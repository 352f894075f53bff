#include "modules/memory/budget.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>

// jemalloc's control interface, when jemalloc is the process's allocator (the
// node links it; tests and sanitizer builds may not). A weak reference: null
// when it is absent.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace stairkv::memory {

namespace {

std::int64_t resident_bytes() {
  auto* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  long long pages_total = 0;
  long long pages_resident = 0;
  if (std::fscanf(f, "%lld %lld", &pages_total, &pages_resident) != 2)
    pages_resident = 0;
  std::fclose(f);
  return pages_resident * sysconf(_SC_PAGESIZE);
}

bool read_jemalloc(std::int64_t& allocated) {
  if (mallctl == nullptr)
    return false;
  // Statistics are a snapshot taken at the last "epoch" write: advance it first.
  std::uint64_t epoch = 1;
  std::size_t len = sizeof(epoch);
  if (mallctl("epoch", &epoch, &len, &epoch, len) != 0)
    return false;
  std::size_t value = 0;
  len = sizeof(value);
  if (mallctl("stats.allocated", &value, &len, nullptr, 0) != 0)
    return false;
  allocated = static_cast<std::int64_t>(value);
  return true;
}

} // namespace

allocator_figures read_allocator(bool with_resident) {
  allocator_figures f;
  if (with_resident)
    f.resident = resident_bytes();
  if (read_jemalloc(f.allocated)) {
    f.allocator = "jemalloc";
    return f;
  }
  auto mi = mallinfo2();
  f.allocated = static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
  return f;
}

std::int64_t budget::dataset_limit() const noexcept {
  auto l = limit();
  return std::max<std::int64_t>(0, l - std::max<std::int64_t>(0, overhead()));
}

std::int64_t budget::refresh() {
  return refresh(read_allocator(false));
}

std::int64_t budget::refresh(const allocator_figures& f) {
  // Without allocator statistics (a sanitizer's allocator keeps none) the tables'
  // own count is all there is.
  auto tables = dataset();
  auto allocated = std::max(f.allocated, tables);
  overhead_.store(allocated - tables, std::memory_order_relaxed);
  dataset_at_reading_.store(tables, std::memory_order_relaxed);
  auto seen = peak_.load(std::memory_order_relaxed);
  while (allocated > seen
         && !peak_.compare_exchange_weak(seen, allocated, std::memory_order_relaxed)) {
  }
  return allocated;
}

void budget::refresh_before_refusal(std::int64_t now_ms) {
  auto tables_changed
    = dataset() != dataset_at_reading_.load(std::memory_order_relaxed);
  auto last = read_at_ms_.load(std::memory_order_relaxed);
  if (tables_changed || now_ms - last >= refusal_recheck_ms || now_ms < last) {
    read_at_ms_.store(now_ms, std::memory_order_relaxed);
    refresh();
  }
}

bool budget::refuses_growth(std::int64_t now_ms) {
  if (current_policy() != policy::noeviction || !over_limit())
    return false;
  refresh_before_refusal(now_ms);
  return over_limit();
}

void budget::refresh_if_due(std::int64_t now_ms) {
  auto last = refreshed_at_ms_.load(std::memory_order_relaxed);
  if (now_ms - last < refresh_interval_ms)
    return;
  if (!refreshed_at_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed))
    return; // another thread is at it
  refresh();
}

} // namespace stairkv::memory
