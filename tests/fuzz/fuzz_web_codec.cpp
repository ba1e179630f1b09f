// libFuzzer target: the web app's decoders of client input (base64 credentials, URL-encoded
// forms, cookies). No crash, and base64 must give back what it encoded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "codec.hpp"

using namespace xraykit::web;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  base64_decode(text);
  url_decode(text);
  form_field(text, "password");
  cookie_value(text, "xrk_session");
  const std::vector<std::uint8_t> bytes(data, data + size);
  const auto back = base64_decode(base64_encode(bytes));
  if (!back || std::string(bytes.begin(), bytes.end()) != *back) std::abort();
  return 0;
}
