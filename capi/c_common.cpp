// Version, errors, logging and the handle registry of the C ABI.
#include <mutex>
#include <unordered_map>

#include "handles.hpp"

namespace xrk {
namespace {

std::mutex registry_mutex;
std::unordered_map<const void*, const std::type_info*>& registry() {
  static std::unordered_map<const void*, const std::type_info*> live;
  return live;
}

thread_local std::string last_error;

std::mutex log_mutex;
xrk_log_fn log_fn = nullptr;
void* log_user = nullptr;

}  // namespace

void register_handle(const void* h, const std::type_info& type) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry()[h] = &type;
}

bool take_handle(const void* h, const std::type_info& type) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  const auto it = registry().find(h);
  if (it == registry().end() || *it->second != type) return false;
  registry().erase(it);
  return true;
}

const char* handle_state(const void* h, const std::type_info& type) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  const auto it = registry().find(h);
  if (it == registry().end()) return "not live";
  return *it->second == type ? "live" : "wrong kind";
}

void set_error(const std::string& message) { last_error = message; }

void log(int level, const std::string& message) {
  xrk_log_fn fn;
  void* user;
  {
    std::lock_guard<std::mutex> lock(log_mutex);
    fn = log_fn;
    user = log_user;
  }
  // Called outside the lock: a callback that sets another callback must not deadlock.
  if (fn) fn(level, message.c_str(), user);
}

void string_out(const std::string& s, char* buf, std::size_t buf_size, std::size_t* needed) {
  if (needed) *needed = s.size() + 1;
  if (buf == nullptr && buf_size == 0 && needed) return;  // a size query
  need(buf, "buf");
  if (buf_size == 0) throw Failure{XRK_ERR_BUFFER_TOO_SMALL, "buffer size is 0"};
  const std::size_t n = std::min(s.size(), buf_size - 1);
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
  if (n < s.size())
    throw Failure{XRK_ERR_BUFFER_TOO_SMALL, "buffer of " + std::to_string(buf_size) + " bytes is too small; " +
                                                std::to_string(s.size() + 1) + " needed"};
}

}  // namespace xrk

extern "C" {

const char* xrk_version(void) { return XRAYKIT_VERSION_STRING; }
const char* xrk_last_error(void) { return xrk::last_error.c_str(); }

const char* xrk_status_string(xrk_status status) {
  switch (status) {
    case XRK_OK: return "ok";
    case XRK_ERR_INVALID_ARGUMENT: return "invalid argument";
    case XRK_ERR_INVALID_HANDLE: return "invalid handle";
    case XRK_ERR_IO: return "input/output error";
    case XRK_ERR_IMAGE: return "not an accepted image";
    case XRK_ERR_DATASET: return "dataset error";
    case XRK_ERR_MODEL: return "model error";
    case XRK_ERR_CANCELLED: return "cancelled";
    case XRK_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case XRK_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

void xrk_set_log_callback(xrk_log_fn fn, void* user_data) {
  std::lock_guard<std::mutex> lock(xrk::log_mutex);
  xrk::log_fn = fn;
  xrk::log_user = user_data;
}

}  // extern "C"
