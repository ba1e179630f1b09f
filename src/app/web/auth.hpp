#pragma once
// Authentication for the web app: one shared password (compared in constant time), browser
// sessions behind an HttpOnly cookie, and a per-client limit on failed logins.
// Thread safety: every member is safe to call from the server's worker threads.
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace xraykit::web {

/// Compares without an early exit, so that response time does not reveal how many leading
/// characters were right.
bool constant_time_equal(const std::string& a, const std::string& b);

/// A 256-bit random token, hex-encoded, from the operating system's generator.
std::string random_token();

class Auth {
 public:
  using Clock = std::chrono::steady_clock;

  Auth(std::string password, std::chrono::seconds session_lifetime, int max_failures, std::chrono::seconds window);

  bool password_ok(const std::string& candidate) const { return constant_time_equal(candidate, password_); }

  /// A new session token after a successful login.
  std::string open_session();
  bool session_ok(const std::string& token);
  void close_session(const std::string& token);

  /// Whether `client` may try a password now; if not, how many seconds until it may.
  bool may_try(const std::string& client, int* retry_after_seconds);
  void record_failure(const std::string& client);
  void record_success(const std::string& client);

 private:
  std::string password_;
  std::chrono::seconds lifetime_;
  int max_failures_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::map<std::string, Clock::time_point> sessions_;  // token -> expiry
  struct Failures {
    int count = 0;
    Clock::time_point first;
  };
  std::map<std::string, Failures> failures_;
};

}  // namespace xraykit::web
