// Auth: one password check for every path, sessions, and the failed-login limits.
#include <doctest/doctest.h>

#include <thread>

#include "auth.hpp"
#include "xraykit/error.hpp"

using namespace xraykit::web;
using namespace std::chrono_literals;

namespace {
constexpr const char* kPassword = "correct horse battery";
}

TEST_CASE("the password is checked exactly, and short passwords are refused at start") {
  Auth auth(kPassword, 3600s, 3, 60s);
  int retry = 0;
  CHECK(auth.check_password(kPassword, "a", &retry) == Auth::Check::Ok);
  CHECK(auth.check_password("correct horse batter", "b", &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password("correct horse battery ", "c", &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password("", "d", &retry) == Auth::Check::Wrong);
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_THROWS_WITH_AS(Auth("eleven char", 3600s, 3, 60s), doctest::Contains("at least 12"), xraykit::InvalidArgument);
  // A limit so large that 4 x it (all clients together) overflows int: found by fuzz_http.
  CHECK_THROWS_AS(Auth("twelve chars", 3600s, 1 << 30, 60s), xraykit::InvalidArgument);
  CHECK_THROWS_AS(Auth("twelve chars", 3600s, 0, 60s), xraykit::InvalidArgument);
}

TEST_CASE("API tokens are accepted as Bearer tokens only, and their failures count like the password's") {
  Auth auth(kPassword, 3600s, 3, 60s);
  const std::string token(40, 'k');
  auth.set_api_tokens({token, std::string(32, 'm')});
  int retry = 0;
  CHECK(auth.check_password(token, "a", &retry, /*as_bearer=*/true) == Auth::Check::Ok);
  CHECK(auth.check_password(std::string(32, 'm'), "a", &retry, true) == Auth::Check::Ok);
  CHECK(auth.check_password(kPassword, "a", &retry, true) == Auth::Check::Ok);  // the password still works
  CHECK(auth.check_password(token, "b", &retry, /*as_bearer=*/false) == Auth::Check::Wrong);  // not in the form
  CHECK(auth.check_password(std::string(40, 'x'), "b", &retry, true) == Auth::Check::Wrong);
  CHECK(auth.check_password(std::string(40, 'y'), "b", &retry, true) == Auth::Check::Wrong);
  CHECK(auth.check_password(token, "b", &retry, true) == Auth::Check::Throttled);  // the client's limit
  CHECK_THROWS_WITH_AS(auth.set_api_tokens({token, "short token"}), doctest::Contains("API token 2 has 11 characters"),
                       xraykit::InvalidArgument);
}

TEST_CASE("sessions open, are known, close, and expire") {
  Auth auth(kPassword, 1s, 3, 60s);
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

TEST_CASE("a client with too many wrong passwords waits, even with the right one, and others do not") {
  Auth auth(kPassword, 3600s, 3, 60s);
  int retry = 0;
  for (int i = 0; i < 3; ++i) CHECK(auth.check_password("guess", "10.0.0.1", &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password(kPassword, "10.0.0.1", &retry) == Auth::Check::Throttled);
  CHECK(retry > 0);
  CHECK(retry <= 61);
  CHECK(auth.check_password(kPassword, "10.0.0.2", &retry) == Auth::Check::Ok);
  // A success clears a client's record.
  CHECK(auth.check_password("guess", "10.0.0.3", &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password(kPassword, "10.0.0.3", &retry) == Auth::Check::Ok);
  for (int i = 0; i < 2; ++i) CHECK(auth.check_password("guess", "10.0.0.3", &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password(kPassword, "10.0.0.3", &retry) == Auth::Check::Ok);
}

TEST_CASE("many clients together cannot multiply the guessing rate") {
  Auth auth(kPassword, 3600s, 3, 60s);
  int retry = 0;
  for (int i = 0; i < 12; ++i)  // 4 x 3 failures from 12 addresses, one each
    CHECK(auth.check_password("guess", "10.0.1." + std::to_string(i), &retry) == Auth::Check::Wrong);
  CHECK(auth.check_password("guess", "10.0.2.1", &retry) == Auth::Check::Throttled);
  CHECK(auth.check_password(kPassword, "10.0.2.2", &retry) == Auth::Check::Throttled);
}

TEST_CASE("the failure table forgets clients once their window has passed") {
  Auth auth(kPassword, 3600s, 3, 1s);
  int retry = 0;
  for (int i = 0; i < 3; ++i) CHECK(auth.check_password("guess", "client " + std::to_string(i), &retry) == Auth::Check::Wrong);
  CHECK(auth.clients_on_record() == 3);
  std::this_thread::sleep_for(2100ms);
  CHECK(auth.clients_on_record() == 0);
  CHECK(auth.check_password(kPassword, "client 0", &retry) == Auth::Check::Ok);
}
