#pragma once

// The function libraries (FUNCTION LOAD) as persistence sees them: the script
// runner, which owns them, puts the whole set here after every change; a
// snapshot or rewrite writes what is here; loading a file leaves here what
// the file says, for the runner to load at start. Changes are rare (never on
// a request path), so a mutex guards them.

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stairkv::persistence {

class function_catalog {
public:
  void set(std::vector<std::string> codes) {
    std::lock_guard<std::mutex> guard{mutex_};
    codes_ = std::move(codes);
  }
  std::vector<std::string> get() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return codes_;
  }

private:
  mutable std::mutex mutex_;
  std::vector<std::string> codes_;
};

using function_catalog_ptr = std::shared_ptr<function_catalog>;

} // namespace stairkv::persistence
