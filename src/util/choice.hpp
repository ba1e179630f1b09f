#pragma once
// Option values by name: one parser for every enum that has a to_string. Internal.
#include <initializer_list>
#include <string>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

/// The value among `all` whose to_string is `text`; InvalidArgument naming `what`, the text
/// and the choices otherwise.
template <class E>
E parse_choice(const std::string& text, std::initializer_list<E> all, const char* what) {
  std::string names;
  for (E e : all) {
    if (to_string(e) == text) return e;
    names += (names.empty() ? "" : ", ") + to_string(e);
  }
  throw InvalidArgument(fmt::format("unknown {} '{}' ({})", what, text, names));
}

}  // namespace xraykit
