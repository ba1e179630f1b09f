// Gate: at most `workers` run, at most `queue` more wait, and a ticket always gives its place back.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gate.hpp"

using namespace xraykit::web;

TEST_CASE("the gate admits workers + queue and turns the next away at once") {
  Gate gate(1, 1);
  auto first = gate.enter();
  REQUIRE(first.has_value());
  CHECK(gate.admitted() == 1);
  std::atomic<bool> second_running{false};
  std::thread waiter([&] {
    auto second = gate.enter();  // waits for the first to leave
    second_running = second.has_value();
  });
  while (gate.admitted() < 2) std::this_thread::yield();
  CHECK_FALSE(gate.enter().has_value());  // one running, one waiting: full
  CHECK_FALSE(second_running);
  first.reset();
  waiter.join();
  CHECK(second_running);
  CHECK(gate.admitted() == 0);
}

TEST_CASE("a ticket gives its place back when the work throws") {
  Gate gate(2, 0);
  try {
    auto ticket = gate.enter();
    REQUIRE(ticket.has_value());
    CHECK(gate.admitted() == 1);
    throw std::runtime_error("decoding failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(gate.admitted() == 0);
  auto a = gate.enter(), b = gate.enter();
  CHECK(a.has_value());
  CHECK(b.has_value());
  CHECK_FALSE(gate.enter().has_value());
}
