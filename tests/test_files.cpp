// Atomic saves: the file appears whole or not at all, nothing is left beside it, and a file
// planted under a temporary name is never written through (issue 12, item 8).
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>

#include "support.hpp"
#include "xraykit/error.hpp"
#include "xraykit/io.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("save_text replaces a file whole and leaves no temporary behind") {
  TempDir dir;
  const fs::path out = dir / "results.csv";
  save_text(out.string(), "first\n");
  save_text(out.string(), "second\n");
  CHECK(slurp(out) == "second\n");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file() || e.is_symlink();
  CHECK(entries == 1);
}

TEST_CASE("a symlink planted where the old temporary name was is not followed") {
  TempDir dir;
  const fs::path victim = dir / "victim.txt";
  save_text(victim.string(), "precious\n");
  const fs::path out = dir / "results.csv";
  // The name earlier versions wrote to first: NAME.tmp.PID.
  fs::create_symlink(victim, dir / ("results.csv.tmp." + std::to_string(::getpid())));
  save_text(out.string(), "new\n");
  CHECK(slurp(victim) == "precious\n");
  CHECK(slurp(out) == "new\n");
}

TEST_CASE("an unwritable place is an IoError naming the path") {
  CHECK_THROWS_WITH_AS(save_text("/nonexistent-dir/x.csv", "x"), doctest::Contains("/nonexistent-dir/x.csv"), IoError);
}
