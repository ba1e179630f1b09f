// Atomic saves: the file appears whole or not at all, nothing is left beside it, and a file
// planted under a temporary name is never written through (issue 12, item 8).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "support.hpp"
#include "xraykit/error.hpp"
#include "xraykit/classifier.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A small predictions table: its CSV is the text these tests save.
std::vector<FilePrediction> results(const std::string& first_path) {
  FilePrediction ok;
  ok.path = first_path;
  ok.ok = true;
  ok.prediction.label = 1;
  ok.prediction.class_name = "PNEUMONIA";
  ok.prediction.probabilities = {0.25f, 0.75f};
  ok.prediction.ood_score = 0.5f;
  FilePrediction odd = ok;
  odd.path = "photo.png";
  odd.prediction.ood_score = 3.0f;
  FilePrediction bad;
  bad.path = "broken.jpeg";
  bad.error = "broken.jpeg: not an image";
  return {ok, odd, bad};
}

void save(const fs::path& path, const std::string& first_path) {
  save_predictions_csv(path.string(), {"NORMAL", "PNEUMONIA"}, results(first_path));
}

}  // namespace

TEST_CASE("the predictions CSV has one row per file: class, uncertain or the error") {
  TempDir dir;
  const fs::path out = dir / "p.csv";
  save(out, "a,\"b\".jpeg");
  CHECK(slurp(out) ==
        "path,label,p_NORMAL,p_PNEUMONIA,ood_score,error\n"
        "\"a,\"\"b\"\".jpeg\",PNEUMONIA,0.250000,0.750000,0.5000,\n"
        "photo.png,UNCERTAIN,0.250000,0.750000,3.0000,\n"
        "broken.jpeg,,,,,broken.jpeg: not an image\n");
}

TEST_CASE("a file name that a spreadsheet would run as a formula is defused") {
  auto rows = results("=HYPERLINK(\"http://x\")");
  CHECK(prediction_csv_row(rows[0], 2).rfind("\"'=HYPERLINK(\"\"http://x\"\")\",PNEUMONIA,", 0) == 0);
  rows[0].path = "@SUM(A1)";
  CHECK(prediction_csv_row(rows[0], 2).rfind("'@SUM(A1),", 0) == 0);
  rows[0].path = "-2+3.jpeg";
  CHECK(prediction_csv_row(rows[0], 2).rfind("'-2+3.jpeg,", 0) == 0);
  rows[0].path = "ok=fine.jpeg";  // only the first character makes a formula
  CHECK(prediction_csv_row(rows[0], 2).rfind("ok=fine.jpeg,", 0) == 0);
  // The rows and header are the pieces save_predictions_csv writes.
  TempDir dir;
  save(dir / "p.csv", "x.jpeg");
  const auto all = results("x.jpeg");
  CHECK(slurp(dir / "p.csv") == predictions_csv_header({"NORMAL", "PNEUMONIA"}) + prediction_csv_row(all[0], 2) +
                                    prediction_csv_row(all[1], 2) + prediction_csv_row(all[2], 2));
}

TEST_CASE("a save replaces a file whole and leaves no temporary behind") {
  TempDir dir;
  const fs::path out = dir / "results.csv";
  save(out, "first.jpeg");
  save(out, "second.jpeg");
  CHECK(slurp(out).find("second.jpeg") != std::string::npos);
  CHECK(slurp(out).find("first.jpeg") == std::string::npos);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file() || e.is_symlink();
  CHECK(entries == 1);
}

TEST_CASE("a symlink planted where the old temporary name was is not followed") {
  TempDir dir;
  const fs::path victim = dir / "victim.txt";
  { std::ofstream(victim) << "precious\n"; }
  const fs::path out = dir / "results.csv";
  // The name earlier versions wrote to first: NAME.tmp.PID.
  fs::create_symlink(victim, dir / ("results.csv.tmp." + std::to_string(::getpid())));
  save(out, "new.jpeg");
  CHECK(slurp(victim) == "precious\n");
  CHECK(slurp(out).find("new.jpeg") != std::string::npos);
}

TEST_CASE("a save removes the temporaries of writers that died, and nothing else") {
  TempDir dir;
  const fs::path out = dir / "results.csv";
  { std::ofstream(dir / "results.csv.tmp.dead01") << "half a file"; }  // its writer was killed
  { std::ofstream(dir / "results.csv.tmp.live01") << "being written"; }
  const int live = ::open((dir / "results.csv.tmp.live01").c_str(), O_RDONLY);
  REQUIRE(::flock(live, LOCK_EX) == 0);  // its writer is still at work
  { std::ofstream(dir / "victim.txt") << "precious\n"; }
  fs::create_symlink(dir / "victim.txt", dir / "results.csv.tmp.link01");
  { std::ofstream(dir / "results.csv.tmp.other12") << "not a temporary of ours"; }
  save(out, "a.jpeg");
  CHECK_FALSE(fs::exists(dir / "results.csv.tmp.dead01"));
  CHECK(fs::exists(dir / "results.csv.tmp.live01"));
  CHECK(fs::is_symlink(dir / "results.csv.tmp.link01"));
  CHECK(slurp(dir / "victim.txt") == "precious\n");
  CHECK(fs::exists(dir / "results.csv.tmp.other12"));
  CHECK(slurp(out).find("a.jpeg") != std::string::npos);
  ::close(live);
}

TEST_CASE("an unwritable place is an IoError naming the path") {
  CHECK_THROWS_WITH_AS(save("/nonexistent-dir/x.csv", "a.jpeg"), doctest::Contains("/nonexistent-dir/x.csv"), IoError);
}
