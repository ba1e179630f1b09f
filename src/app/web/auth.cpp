#include "auth.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

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
    : password_(std::move(password)), lifetime_(session_lifetime), max_failures_(max_failures), window_(window) {}

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

bool Auth::may_try(const std::string& client, int* retry_after_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = failures_.find(client);
  if (it == failures_.end()) return true;
  const auto elapsed = Clock::now() - it->second.first;
  if (elapsed > window_) {
    failures_.erase(it);
    return true;
  }
  if (it->second.count < max_failures_) return true;
  if (retry_after_seconds)
    *retry_after_seconds = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(window_ - elapsed).count()) + 1;
  return false;
}

void Auth::record_failure(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& f = failures_[client];
  if (f.count == 0) f.first = Clock::now();
  ++f.count;
}

void Auth::record_success(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.erase(client);
}

}  // namespace xraykit::web
