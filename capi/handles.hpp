// The machinery shared by the C ABI: handle types, the live-handle registry, the
// thread-local last error, and the guard that turns every C++ exception into a status.
#pragma once

#include <cstring>
#include <string>
#include <typeinfo>
#include <vector>

#include "xraykit.h"
#include "xraykit/xraykit.hpp"

struct xrk_dataset {
  xraykit::Dataset data;
};
struct xrk_augmenter {
  xraykit::Augmenter augmenter;
};
struct xrk_classifier {
  xraykit::ResNetClassifier model;
};
struct xrk_evaluation {
  xraykit::Evaluation eval;
  std::vector<xraykit::EpochRecord> history;
};

namespace xrk {

/// Thrown inside the C layer for its own errors; the guard turns it into `status`.
struct Failure {
  xrk_status status;
  std::string message;
};

// The registry records each live handle with its type, so that a handle of one kind passed
// where another is expected is refused instead of being used as the wrong object.
void register_handle(const void* h, const std::type_info& type);
/// Removes a live handle of that type and returns true; false if it was not one. One step
/// under the registry's lock, so that two threads freeing one handle delete it once.
bool take_handle(const void* h, const std::type_info& type);
/// "live", "wrong kind" or "not live".
const char* handle_state(const void* h, const std::type_info& type);
void set_error(const std::string& message);
void log(int level, const std::string& message);

/// The handle, if it is live; XRK_ERR_INVALID_HANDLE naming the kind otherwise.
template <class T>
T* check(T* h, const char* kind) {
  if (h == nullptr) throw Failure{XRK_ERR_INVALID_HANDLE, std::string(kind) + " handle is NULL"};
  const std::string state = handle_state(h, typeid(T));
  if (state == "wrong kind") throw Failure{XRK_ERR_INVALID_HANDLE, std::string(kind) + " handle is a handle of another kind"};
  if (state != "live") throw Failure{XRK_ERR_INVALID_HANDLE, std::string(kind) + " handle is not live (freed, or never created)"};
  return h;
}

template <class T>
T* make(T* h) {
  register_handle(h, typeid(T));
  return h;
}

template <class T>
void release(T* h) {
  if (h != nullptr && take_handle(h, typeid(T))) delete h;
}

inline void need(const void* p, const char* what) {
  if (p == nullptr) throw Failure{XRK_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL"};
}

/// The caller's params, reading only the bytes its struct_size covers over the defaults.
template <class P>
P params_or_default(const P* given, P defaults) {
  if (given == nullptr) return defaults;
  if (given->struct_size < sizeof(std::uint32_t) || given->struct_size > 4 * sizeof(P))
    throw Failure{XRK_ERR_INVALID_ARGUMENT, "params.struct_size is not set: start from the *_default_params() function"};
  std::memcpy(static_cast<void*>(&defaults), given, std::min<std::size_t>(given->struct_size, sizeof(P)));
  defaults.struct_size = sizeof(P);
  return defaults;
}

/// Copies s with its NUL into buf; BUFFER_TOO_SMALL (after copying what fits) if it does not.
void string_out(const std::string& s, char* buf, std::size_t buf_size, std::size_t* needed);

/// The status for each kind of library error.
inline xrk_status status_of(xraykit::ErrorKind kind) {
  switch (kind) {
    case xraykit::ErrorKind::InvalidArgument: return XRK_ERR_INVALID_ARGUMENT;
    case xraykit::ErrorKind::Io: return XRK_ERR_IO;
    case xraykit::ErrorKind::Image: return XRK_ERR_IMAGE;
    case xraykit::ErrorKind::Dataset: return XRK_ERR_DATASET;
    case xraykit::ErrorKind::Model: return XRK_ERR_MODEL;
    case xraykit::ErrorKind::Other: break;
  }
  return XRK_ERR_INTERNAL;
}

/// Runs f, mapping every exception to a status and the thread's last error.
template <class F>
xrk_status guard(F&& f) noexcept {
  try {
    set_error("");
    f();
    return XRK_OK;
  } catch (const Failure& e) {
    set_error(e.message);
    return e.status;
  } catch (const xraykit::Error& e) {
    set_error(e.what());
    return status_of(e.kind());
  } catch (const std::exception& e) {
    set_error(std::string("internal error: ") + e.what());
    return XRK_ERR_INTERNAL;
  } catch (...) {
    set_error("internal error: unknown exception");
    return XRK_ERR_INTERNAL;
  }
}

}  // namespace xrk
