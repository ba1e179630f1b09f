#pragma once
// Authentication for the web app: one shared password (compared in constant time), browser
// sessions behind an HttpOnly cookie, and a per-client limit on failed logins.
// Thread safety: every member is safe to call from the server's worker threads.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace xraykit::web {

/// Compares without an early exit, so that response time does not reveal how many leading
/// characters were right.
bool constant_time_equal(const std::string& a, const std::string& b);

/// A 256-bit random token, hex-encoded, from the operating system's generator.
std::string random_token();

/// Passwords shorter than this are refused at start: with guessing limited to a few
/// attempts a minute, 12 characters put the password out of reach of an online attack.
constexpr std::size_t kMinPasswordLength = 12;
/// API tokens are made by programs (e.g. `openssl rand -hex 16`), so they can be longer.
constexpr std::size_t kMinTokenLength = 32;

class Auth {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Check { Ok, Wrong, Throttled };

  /// InvalidArgument for a password shorter than kMinPasswordLength.
  Auth(std::string password, std::chrono::seconds session_lifetime, int max_failures, std::chrono::seconds window);

  /// API tokens: secrets for programs, given as `Authorization: Bearer TOKEN` only (never in
  /// the login form or HTTP Basic), so that a program's secret can be replaced without
  /// changing the people's password. Each at least kMinTokenLength characters, else
  /// InvalidArgument. Call before serving.
  void set_api_tokens(std::vector<std::string> tokens);

  /// The one password check, for every way a password arrives (login form, Bearer, Basic):
  /// checking and recording a failure are one step. A client (its address, or what a
  /// trusted proxy says it is) with `max_failures` wrong passwords within the window is
  /// Throttled for the rest of it, even with the right password; and so is everyone once
  /// 4 x `max_failures` wrong passwords arrive within a window from all clients together,
  /// so that many addresses (or one proxy) cannot multiply the guessing rate. Sessions keep
  /// working meanwhile. `retry_after_seconds` is set when Throttled.
  /// `as_bearer`: the candidate came as a Bearer token, so an API token is accepted too.
  Check check_password(const std::string& candidate, const std::string& client, int* retry_after_seconds,
                       bool as_bearer = false);

  /// A new session token after a successful login.
  std::string open_session();
  bool session_ok(const std::string& token);
  void close_session(const std::string& token);

  /// Clients with recent failures on record (the table shrinks as windows pass).
  std::size_t clients_on_record();

 private:
  struct Failures {
    int count = 0;
    Clock::time_point first;
  };
  // Both under mutex_.
  void forget_old(Clock::time_point now);
  int throttled_for(const Failures& f, int limit, Clock::time_point now) const;

  std::string password_;
  std::vector<std::string> tokens_;
  std::chrono::seconds lifetime_;
  int max_failures_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::map<std::string, Clock::time_point> sessions_;  // token -> expiry
  std::map<std::string, Failures> failures_;           // by client
  Failures all_failures_;                              // every client together
};

}  // namespace xraykit::web
