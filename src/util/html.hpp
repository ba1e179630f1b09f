#pragma once
// Escaping text for HTML, shared by the reports, the model card and the web app. Header-only
// so that the web app (outside the library) uses the same rule. Internal.
#include <string>

namespace xraykit {

inline std::string escape_html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace xraykit
