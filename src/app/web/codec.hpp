#pragma once
// The small text codecs of the web app: base64, URL-encoded forms, cookies, page templates.
// Pure functions over strings (no server state), so each is unit-tested on its own.
// Malformed client input comes back as std::nullopt, never as an exception.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xraykit::web {

std::string base64_encode(const std::vector<std::uint8_t>& data);
/// Standard alphabet with optional '=' padding; nullopt on any other character.
std::optional<std::string> base64_decode(const std::string& text);

/// application/x-www-form-urlencoded value ('+' is a space); nullopt on a bad %-escape.
std::optional<std::string> url_decode(const std::string& text);
/// The first value of `name` in a form body; "" when absent, nullopt when the body is malformed.
std::optional<std::string> form_field(const std::string& body, const std::string& name);

/// The value of cookie `name` in a Cookie header; "" when absent.
std::string cookie_value(const std::string& header, const std::string& name);

std::string replace_all(std::string text, const std::string& from, const std::string& to);

}  // namespace xraykit::web
