// The web app's codecs: malformed client input comes back as nullopt, never an exception.
#include <doctest/doctest.h>

#include "codec.hpp"

using namespace xraykit::web;

TEST_CASE("base64 round trips every length and refuses other characters") {
  for (std::size_t n = 0; n < 10; ++n) {
    std::vector<std::uint8_t> data;
    for (std::size_t i = 0; i < n; ++i) data.push_back(static_cast<std::uint8_t>(250 - 37 * i));
    const std::string text = base64_encode(data);
    CHECK(text.size() == (n + 2) / 3 * 4);
    const auto back = base64_decode(text);
    REQUIRE(back.has_value());
    CHECK(std::vector<std::uint8_t>(back->begin(), back->end()) == data);
  }
  CHECK(base64_encode({'M', 'a', 'n'}) == "TWFu");
  CHECK(base64_decode("dXNlcjpzZWNyZXQ=") == std::optional<std::string>("user:secret"));
  CHECK_FALSE(base64_decode("dXNl cjp").has_value());
  CHECK_FALSE(base64_decode("a=b").has_value());
}

TEST_CASE("form fields decode %-escapes and '+', and refuse bad escapes") {
  CHECK(url_decode("a+b%20c%2Fd") == std::optional<std::string>("a b c/d"));
  CHECK_FALSE(url_decode("%zz").has_value());
  CHECK_FALSE(url_decode("abc%4").has_value());
  CHECK_FALSE(url_decode("%").has_value());
  CHECK(form_field("user=x&password=p%40ss+word", "password") == std::optional<std::string>("p@ss word"));
  CHECK(form_field("user=x", "password") == std::optional<std::string>(""));
  CHECK(form_field("", "password") == std::optional<std::string>(""));
  CHECK_FALSE(form_field("password=%zz", "password").has_value());
  CHECK(form_field("a&&password=1&password=2", "password") == std::optional<std::string>("1"));
}

TEST_CASE("cookies are found by exact name") {
  CHECK(cookie_value("a=1; xrk_session=abc; b=2", "xrk_session") == "abc");
  CHECK(cookie_value("xrk_session_old=zzz", "xrk_session") == "");
  CHECK(cookie_value("", "xrk_session") == "");
  CHECK(cookie_value("xrk_session=", "xrk_session") == "");
}

TEST_CASE("replace_all replaces every occurrence, including in its own output's neighbourhood") {
  CHECK(replace_all("{{A}} and {{A}}", "{{A}}", "x") == "x and x");
  CHECK(replace_all("aaa", "a", "aa") == "aaaaaa");
  CHECK(replace_all("none", "{{A}}", "x") == "none");
}
