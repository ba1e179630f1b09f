// Auth: the password check, sessions, and the failed-login limit.
#include <doctest/doctest.h>

#include <thread>

#include "auth.hpp"

using namespace xraykit::web;
using namespace std::chrono_literals;

TEST_CASE("the password is checked exactly") {
  Auth auth("correct horse battery", 3600s, 3, 60s);
  CHECK(auth.password_ok("correct horse battery"));
  CHECK_FALSE(auth.password_ok("correct horse batter"));
  CHECK_FALSE(auth.password_ok("correct horse battery "));
  CHECK_FALSE(auth.password_ok(""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
}

TEST_CASE("sessions open, are known, close, and expire") {
  Auth auth("correct horse battery", 1s, 3, 60s);
  const std::string token = auth.open_session();
  CHECK(token.size() == 64);
  CHECK(auth.session_ok(token));
  CHECK_FALSE(auth.session_ok(""));
  CHECK_FALSE(auth.session_ok(token + "0"));
  CHECK(auth.open_session() != token);
  auth.close_session(token);
  CHECK_FALSE(auth.session_ok(token));
  const std::string brief = auth.open_session();
  std::this_thread::sleep_for(1100ms);
  CHECK_FALSE(auth.session_ok(brief));
}

TEST_CASE("failed logins lock a client out for the window, others are unaffected, success resets") {
  Auth auth("correct horse battery", 3600s, 3, 60s);
  int retry = 0;
  for (int i = 0; i < 3; ++i) {
    CHECK(auth.may_try("10.0.0.1", &retry));
    auth.record_failure("10.0.0.1");
  }
  CHECK_FALSE(auth.may_try("10.0.0.1", &retry));
  CHECK(retry > 0);
  CHECK(retry <= 61);
  CHECK(auth.may_try("10.0.0.2", &retry));
  auth.record_failure("10.0.0.2");
  auth.record_success("10.0.0.2");
  for (int i = 0; i < 2; ++i) auth.record_failure("10.0.0.2");
  CHECK(auth.may_try("10.0.0.2", &retry));
}
