#include "auth.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit::web {

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Length differences still cost a full pass over the candidate.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string random_token() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) throw std::runtime_error("cannot read /dev/urandom");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

Auth::Auth(std::string password, std::chrono::seconds session_lifetime, int max_failures, std::chrono::seconds window)
    : password_(std::move(password)), lifetime_(session_lifetime), max_failures_(max_failures), window_(window) {
  if (password_.size() < kMinPasswordLength)
    throw xraykit::InvalidArgument(fmt::format("the password has {} characters; use at least {} (a passphrase of a few "
                                               "words), so that it cannot be guessed",
                                               password_.size(), kMinPasswordLength));
  // The limit for all clients together is 4 x max_failures: kept far from int's range.
  if (max_failures_ < 1 || max_failures_ > 100'000 || window_.count() < 1)
    throw xraykit::InvalidArgument("the failed-login limit must be in [1, 100000] per window of at least a second");
}

void Auth::set_api_tokens(std::vector<std::string> tokens) {
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i].size() < kMinTokenLength)
      throw xraykit::InvalidArgument(fmt::format("API token {} has {} characters; use at least {} (e.g. openssl rand -hex 16)",
                                                 i + 1, tokens[i].size(), kMinTokenLength));
  tokens_ = std::move(tokens);
}

void Auth::forget_old(Clock::time_point now) {
  for (auto it = failures_.begin(); it != failures_.end();)
    it = now - it->second.first > window_ ? failures_.erase(it) : std::next(it);
  if (now - all_failures_.first > window_) all_failures_ = {};
}

int Auth::throttled_for(const Failures& f, int limit, Clock::time_point now) const {
  if (f.count < limit) return 0;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(window_ - (now - f.first)).count()) + 1;
}

Auth::Check Auth::check_password(const std::string& candidate, const std::string& client, int* retry_after_seconds,
                                 bool as_bearer) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  // Expired records are read as empty here and pruned only when a failure is recorded, so a
  // correct password (every API request) costs no scan of the table.
  if (now - all_failures_.first > window_) all_failures_ = {};
  const auto found = failures_.find(client);
  const bool recent = found != failures_.end() && now - found->second.first <= window_;
  const int wait = std::max(recent ? throttled_for(found->second, max_failures_, now) : 0,
                            throttled_for(all_failures_, 4 * max_failures_, now));
  if (wait > 0) {
    if (retry_after_seconds) *retry_after_seconds = wait;
    return Check::Throttled;
  }
  bool ok = constant_time_equal(candidate, password_);
  if (as_bearer)
    for (const std::string& token : tokens_) ok |= constant_time_equal(candidate, token);  // no early exit
  if (ok) {
    if (found != failures_.end()) failures_.erase(found);
    return Check::Ok;
  }
  forget_old(now);
  for (Failures* f : {&failures_[client], &all_failures_}) {
    if (f->count == 0) f->first = now;
    ++f->count;
  }
  return Check::Wrong;
}

std::size_t Auth::clients_on_record() {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_old(Clock::now());
  return failures_.size();
}

std::string Auth::open_session() {
  std::string token = random_token();
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) it = it->second < now ? sessions_.erase(it) : std::next(it);
  sessions_[token] = now + lifetime_;
  return token;
}

bool Auth::session_ok(const std::string& token) {
  if (token.empty()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = sessions_.find(token);
  return it != sessions_.end() && it->second > Clock::now();
}

void Auth::close_session(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.erase(token);
}

}  // namespace xraykit::web
