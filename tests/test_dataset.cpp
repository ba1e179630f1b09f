// Dataset on synthetic trees and manifests that the test writes itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "support.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

// ROOT/{cats,dogs}: `per_patient` images for each of `patients` patients per class, named
// personN_bacteria_M.png so the built-in rules find the patient.
void make_tree(const fs::path& root, int patients, int per_patient, int size = 40) {
  int m = 0;
  for (const char* cls : {"cats", "dogs"})
    for (int p = 0; p < patients; ++p)
      for (int k = 0; k < per_patient; ++k)
        write_png(root / cls / ("person" + std::to_string(p + (cls[0] == 'd' ? 1000 : 0)) + "_bacteria_" +
                                std::to_string(m++) + ".png"),
                  pattern_image(size, size + 10, 1, m));
}

bool disjoint(const Split& s) {
  std::set<std::string> train;
  for (std::size_t i = 0; i < s.train.size(); ++i) train.insert(s.train.patient(i));
  for (std::size_t i = 0; i < s.val.size(); ++i)
    if (train.count(s.val.patient(i))) return false;
  return true;
}

DatasetOptions small(int size = 32) {
  DatasetOptions o;
  o.image_size = size;
  o.threads = 2;
  return o;
}

}  // namespace

TEST_CASE("patient ids from Kermany file names") {
  CHECK(patient_from_filename("person123_bacteria_456.jpeg") == "person123");
  CHECK(patient_from_filename("person1_virus_7.jpeg") == "person1");
  CHECK(patient_from_filename("IM-0115-0001.jpeg") == "IM-0115");
  CHECK(patient_from_filename("NORMAL2-IM-0427-0001.jpeg") == "NORMAL2-IM-0427");
  CHECK(patient_from_filename("scan.png") == "");
}

TEST_CASE("folder tree: classes, counts, ignored and skipped files") {
  TempDir dir;
  make_tree(dir.path(), 3, 2);
  write_bytes(dir / "cats/.hidden.png", {1, 2, 3});
  write_bytes(dir / "cats/notes.txt", {'h', 'i'});
  write_bytes(dir / "README.md", {'x'});
  write_bytes(dir / "cats/corrupt.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
  write_bytes(dir / "dogs/empty.jpg", {});
  write_png(dir / "cats/nested/person77_virus_1.png", pattern_image(8, 8, 1));

  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  CHECK(d.classes() == std::vector<std::string>{"cats", "dogs"});
  CHECK(d.class_counts() == std::vector<std::int64_t>{7, 6});
  CHECK(d.patient_counts() == std::vector<std::int64_t>{4, 3});
  CHECK(d.ignored() == 3);
  REQUIRE(d.skipped().size() == 2);
  std::string reasons;
  for (const auto& s : d.skipped()) reasons += s.path + " -> " + s.reason + "\n";
  CHECK(reasons.find("corrupt.png -> ") != std::string::npos);
  CHECK(reasons.find("empty.jpg -> empty file") != std::string::npos);
  CHECK(d.image_size() == 32);
  CHECK(d.channels() == 1);
  CHECK(d.summary().find("13 images (7 cats, 6 dogs) from 7 patients") != std::string::npos);
  const std::string detail = d.detailed_summary();
  CHECK(detail.find("corrupt.png") != std::string::npos);
  CHECK(detail.find("ignored (hidden or not an image): 3") != std::string::npos);

  SUBCASE("strict mode names the first bad file") {
    DatasetOptions o = small();
    o.strict = true;
    CHECK_THROWS_WITH_AS(Dataset::from_folder(dir.path().string(), o), doctest::Contains("corrupt.png"), DatasetError);
  }
}

TEST_CASE("pneumonia kinds: PNEUMONIA split into BACTERIAL and VIRAL by file name, folders and manifests") {
  TempDir dir;
  write_png(dir / "NORMAL/IM-0001-0001.png", pattern_image(40, 40, 1, 1));
  write_png(dir / "NORMAL/IM-0002-0001.png", pattern_image(40, 40, 1, 2));
  write_png(dir / "PNEUMONIA/person1_bacteria_1.png", pattern_image(40, 40, 1, 3));
  write_png(dir / "PNEUMONIA/person1_bacteria_2.png", pattern_image(40, 40, 1, 4));
  write_png(dir / "PNEUMONIA/person2_virus_3.png", pattern_image(40, 40, 1, 5));
  write_png(dir / "PNEUMONIA/person3_unknown.png", pattern_image(40, 40, 1, 6));
  DatasetOptions o = small();
  o.pneumonia_kinds = true;
  const Dataset d = Dataset::from_folder(dir.path().string(), o);
  CHECK(d.classes() == std::vector<std::string>{"NORMAL", "BACTERIAL", "VIRAL"});
  CHECK(d.class_counts() == std::vector<std::int64_t>{2, 2, 1});
  REQUIRE(d.skipped().size() == 1);
  CHECK(d.skipped()[0].reason.find("neither _bacteria_ nor _virus_") != std::string::npos);
  // The manifest this dataset writes (three-class labels) reads back the same, and a
  // NORMAL/PNEUMONIA manifest is split like the folders.
  { std::ofstream(dir / "three.csv") << d.to_csv(); }
  const Dataset back = Dataset::from_csv((dir / "three.csv").string(), small());
  CHECK(back.classes() == std::vector<std::string>{"BACTERIAL", "NORMAL", "VIRAL"});  // a manifest's labels, sorted
  CHECK(back.class_counts() == std::vector<std::int64_t>{2, 2, 1});
  { std::ofstream(dir / "two.csv") << "path,label\nNORMAL/IM-0001-0001.png,NORMAL\nPNEUMONIA/person2_virus_3.png,PNEUMONIA\n"; }
  CHECK(Dataset::from_csv((dir / "two.csv").string(), o).class_counts() == std::vector<std::int64_t>{1, 0, 1});
  // Requested classes pick among the kinds; data without PNEUMONIA cannot be split.
  o.classes = {"NORMAL", "VIRAL"};
  const Dataset nv = Dataset::from_folder(dir.path().string(), o);
  CHECK(nv.class_counts() == std::vector<std::int64_t>{2, 1});
  CHECK(nv.skipped().size() == 3);
  o.classes.clear();
  make_tree(dir / "pets", 2, 1);
  CHECK_THROWS_WITH_AS(Dataset::from_folder((dir / "pets").string(), o), doctest::Contains("no PNEUMONIA class"), DatasetError);
}

TEST_CASE("folder links are not followed into folders already listed (issue 12, item 10)") {
  TempDir dir;
  fs::create_directories(dir / "NORMAL" / "deeper");
  fs::create_directories(dir / "PNEUMONIA");
  write_png(dir / "NORMAL" / "a.png", pattern_image(16, 16, 1, 1));
  write_png(dir / "NORMAL" / "deeper" / "b.png", pattern_image(16, 16, 1, 2));
  write_png(dir / "PNEUMONIA" / "c.png", pattern_image(16, 16, 1, 3));
  fs::create_directory_symlink(".", dir / "NORMAL" / "self");                // a loop
  fs::create_directory_symlink("..", dir / "NORMAL" / "deeper" / "up");     // another loop
  fs::create_directory_symlink("../NORMAL", dir / "PNEUMONIA" / "other");  // another class
  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  CHECK(d.size() == 3);
  CHECK(d.class_counts() == std::vector<std::int64_t>{2, 1});
}

TEST_CASE("three channels and pixel access") {
  TempDir dir;
  make_tree(dir.path(), 2, 1);
  DatasetOptions o = small(16);
  o.channels = 3;
  const Dataset d = Dataset::from_folder(dir.path().string(), o);
  CHECK(d.channels() == 3);
  const Image img = d.image(0);
  CHECK(img.pixels.size() == 16u * 16 * 3);
  CHECK(std::equal(img.pixels.begin(), img.pixels.end(), d.pixels(0)));
  CHECK_THROWS_AS(d.label(d.size()), InvalidArgument);
}

TEST_CASE("empty, missing and one-class trees") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(Dataset::from_folder((dir / "missing").string()), doctest::Contains("no such folder"), IoError);
  fs::create_directories(dir / "empty/a");
  fs::create_directories(dir / "empty/b");
  CHECK_THROWS_WITH_AS(Dataset::from_folder((dir / "empty").string()), doctest::Contains("no usable images"),
                       DatasetError);
  write_png(dir / "one/only/a.png", pattern_image(8, 8, 1));
  write_png(dir / "one/only/b.png", pattern_image(8, 8, 1));
  const Dataset d = Dataset::from_folder((dir / "one").string(), small());
  CHECK(d.size() == 2);
  REQUIRE_FALSE(d.warnings().empty());
  CHECK(d.detailed_summary().find("only one class") != std::string::npos);
  DatasetOptions o = small();
  o.strict = true;
  CHECK_THROWS_WITH_AS(Dataset::from_folder((dir / "one").string(), o), doctest::Contains("only one class"),
                       DatasetError);
}

TEST_CASE("an unreadable entry is skipped with a reason") {
  TempDir dir;
  make_tree(dir.path(), 2, 1);
  // A symlink loop cannot be read even by root, unlike a chmod 000 folder.
  fs::create_directory_symlink("loop", dir / "cats/loop");
  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  CHECK(d.size() == 4);
  REQUIRE(d.skipped().size() == 1);
  CHECK(d.skipped()[0].path.find("loop") != std::string::npos);
  CHECK(d.skipped()[0].reason.find("unreadable") != std::string::npos);
}

TEST_CASE("oversized images are refused by the pixel limit") {
  TempDir dir;
  make_tree(dir.path(), 2, 1);
  write_bytes(dir / "cats/bomb.png", png_header_only(60000, 60000));
  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  REQUIRE(d.skipped().size() == 1);
  CHECK(d.skipped()[0].reason.find("above the limit") != std::string::npos);
}

TEST_CASE("CSV manifest: relative paths, patient column, unknown labels") {
  TempDir dir;
  write_png(dir / "img/a.png", pattern_image(20, 20, 1, 1));
  write_png(dir / "img/b.png", pattern_image(20, 20, 1, 2));
  write_png(dir / "img/c.png", pattern_image(20, 20, 1, 3));
  {
    std::ofstream csv(dir / "m.csv");
    csv << "path,label,patient\n"
           "img/a.png,NORMAL,p1\n"
           "img/b.png,PNEUMONIA,p2\n"
           "\"img/c.png\",PNEUMONIA,p2\n"
           "img/missing.png,NORMAL,p3\n"
           "img/a.png,COVID,p4\n"
           "just-one-field\n";
  }
  DatasetOptions o = small();
  o.classes = {"NORMAL", "PNEUMONIA"};
  const Dataset d = Dataset::from_csv((dir / "m.csv").string(), o);
  CHECK(d.size() == 3);
  CHECK(d.class_counts() == std::vector<std::int64_t>{1, 2});
  CHECK(d.patient(2) == "p2");
  CHECK(d.num_patients() == 2);
  std::string reasons;
  for (const auto& s : d.skipped()) reasons += s.path + " -> " + s.reason + "\n";
  CHECK(reasons.find("unknown label 'COVID'") != std::string::npos);
  CHECK(reasons.find("missing.png -> ") != std::string::npos);
  CHECK(reasons.find("m.csv:7 -> expected") != std::string::npos);

  o.strict = true;
  CHECK_THROWS_WITH_AS(Dataset::from_csv((dir / "m.csv").string(), o), doctest::Contains("m.csv:7"), DatasetError);
  {
    std::ofstream csv(dir / "only-missing.csv");
    csv << "img/a.png,NORMAL\nimg/missing.png,NORMAL\nimg/b.png,PNEUMONIA\n";
  }
  CHECK_THROWS_WITH_AS(Dataset::from_csv((dir / "only-missing.csv").string(), o), doctest::Contains("missing.png"),
                       DatasetError);
  CHECK_THROWS_AS(Dataset::from_csv((dir / "none.csv").string()), IoError);
}

TEST_CASE("a manifest from elsewhere cannot point outside its folder") {
  TempDir dir;
  write_png(dir / "outside.png", pattern_image(20, 20, 1, 4));
  write_png(dir / "m/img/a.png", pattern_image(20, 20, 1, 1));
  write_png(dir / "m/img/b.png", pattern_image(20, 20, 1, 2));
  {
    std::ofstream csv(dir / "m/list.csv");
    csv << "img/a.png,NORMAL,p1\n"
           "img/./b.png,PNEUMONIA,p2\n"
           "img/../../outside.png,PNEUMONIA,p3\n"
        << (dir / "outside.png").string() << ",NORMAL,p4\n"
           "img/../img/a.png,NORMAL,p5\n";
  }
  DatasetOptions o = small();
  const Dataset trusting = Dataset::from_csv((dir / "m/list.csv").string(), o);
  CHECK(trusting.size() == 5);  // a manifest of one's own may point anywhere
  o.manifest_paths_inside = true;
  const Dataset d = Dataset::from_csv((dir / "m/list.csv").string(), o);
  CHECK(d.size() == 3);  // a.png, b.png and img/../img/a.png (which stays inside)
  REQUIRE(d.skipped().size() == 2);
  for (const auto& s : d.skipped()) CHECK(s.reason == "the path leads out of the manifest's folder");
  CHECK(d.skipped()[0].path.find("list.csv:3") != std::string::npos);
}

TEST_CASE("a dataset written as a manifest reads back the same") {
  TempDir dir;
  write_png(dir / "NORMAL/person1_a.png", pattern_image(20, 20, 1, 1));
  write_png(dir / "PNEUMONIA/person2_bacteria_3.png", pattern_image(20, 20, 1, 2));
  write_png(dir / "PNEUMONIA/odd, \"name\".png", pattern_image(20, 20, 1, 3));
  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  REQUIRE(d.size() == 3);
  {
    std::ofstream csv(dir / "all.csv");
    csv << d.to_csv();
  }
  const Dataset back = Dataset::from_csv((dir / "all.csv").string(), small());
  REQUIRE(back.size() == d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    CHECK(back.label(i) == d.label(i));
    CHECK(back.patient(i) == d.patient(i));
    CHECK(back.image(i).pixels == d.image(i).pixels);
  }
  CHECK(back.classes() == d.classes());
  const Dataset memory = Dataset::from_images({pattern_image(20, 20, 1)}, {0}, {"a"}, {}, small());
  CHECK_THROWS_WITH_AS(memory.to_csv(), doctest::Contains("no file"), InvalidArgument);
}

TEST_CASE("patient regex and file-name fallback") {
  TempDir dir;
  for (int i = 0; i < 4; ++i) {
    write_png(dir / "a" / ("subj" + std::to_string(i / 2) + "_scan" + std::to_string(i) + ".png"), pattern_image(8, 8, 1, i));
    write_png(dir / "b" / ("subj" + std::to_string(5 + i / 2) + "_scan" + std::to_string(i) + ".png"), pattern_image(8, 8, 1, i));
  }
  const Dataset by_name = Dataset::from_folder(dir.path().string(), small());
  CHECK(by_name.num_patients() == 8);  // no rule matches: every image is its own patient
  CHECK(by_name.detailed_summary().find("8 image(s) had no recognisable patient id") != std::string::npos);

  DatasetOptions o = small();
  o.patient_regex = "^(subj\\d+)_";
  const Dataset by_regex = Dataset::from_folder(dir.path().string(), o);
  CHECK(by_regex.num_patients() == 4);
  CHECK(by_regex.patient(0) == "subj0");

  o.patient_regex = "([unclosed";
  CHECK_THROWS_WITH_AS(Dataset::from_folder(dir.path().string(), o), doctest::Contains("patient_regex"), InvalidArgument);
}

TEST_CASE("split is patient-disjoint, stratified, seeded") {
  TempDir dir;
  make_tree(dir.path(), 20, 3, 16);
  const Dataset d = Dataset::from_folder(dir.path().string(), small(16));
  const Split s = d.split(0.25, 7);
  CHECK(disjoint(s));
  CHECK(s.train.size() + s.val.size() == d.size());
  CHECK(s.val.class_counts() == std::vector<std::int64_t>{15, 15});  // 5 of 20 patients x 3 each
  CHECK(describe_split(s).find("patients on both sides: 0") != std::string::npos);

  const Split again = d.split(0.25, 7);
  const Split other = d.split(0.25, 8);
  std::vector<std::size_t> a, b, c;
  for (std::size_t i = 0; i < s.val.size(); ++i) a.push_back(s.val.id(i));
  for (std::size_t i = 0; i < again.val.size(); ++i) b.push_back(again.val.id(i));
  for (std::size_t i = 0; i < other.val.size(); ++i) c.push_back(other.val.id(i));
  CHECK(a == b);
  CHECK(a != c);

  CHECK_THROWS_AS(d.split(0.0, 1), InvalidArgument);
  CHECK_THROWS_AS(d.split(1.0, 1), InvalidArgument);
}

TEST_CASE("split refuses a class with a single patient") {
  TempDir dir;
  write_png(dir / "a/person1_virus_1.png", pattern_image(8, 8, 1));
  write_png(dir / "a/person1_virus_2.png", pattern_image(8, 8, 1));
  write_png(dir / "b/person2_virus_3.png", pattern_image(8, 8, 1));
  write_png(dir / "b/person3_virus_4.png", pattern_image(8, 8, 1));
  const Dataset d = Dataset::from_folder(dir.path().string(), small());
  CHECK_THROWS_WITH_AS(d.split(0.5, 1), doctest::Contains("class 'a' has only one patient"), DatasetError);
}

TEST_CASE("k-fold: every sample validates exactly once, folds patient-disjoint") {
  TempDir dir;
  make_tree(dir.path(), 10, 2, 16);
  const Dataset d = Dataset::from_folder(dir.path().string(), small(16));
  const auto folds = d.kfold(5, 3);
  REQUIRE(folds.size() == 5);
  std::vector<int> seen(d.size(), 0);
  for (const auto& f : folds) {
    CHECK(disjoint(f));
    CHECK(f.val.class_counts() == std::vector<std::int64_t>{4, 4});
    for (std::size_t i = 0; i < f.val.size(); ++i) ++seen[f.val.id(i)];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  CHECK_THROWS_AS(d.kfold(1, 0), InvalidArgument);
  CHECK_THROWS_AS(d.kfold(11, 0), DatasetError);
}

TEST_CASE("class weights and normalised batches") {
  std::vector<Image> imgs;
  std::vector<int> labels = {0, 1, 1, 1};
  for (int i = 0; i < 4; ++i) imgs.push_back(Image{8, 8, 1, std::vector<std::uint8_t>(64, static_cast<std::uint8_t>(i * 50))});
  DatasetOptions o;
  o.image_size = 8;
  const Dataset d = Dataset::from_images(imgs, labels, {"n", "p"}, {}, o);
  const auto w = d.class_weights();
  CHECK(w[0] == doctest::Approx(2.0));        // 4 / (2 * 1)
  CHECK(w[1] == doctest::Approx(4.0 / 6.0));  // 4 / (2 * 3)

  Normalization norm;
  norm.mean = {0.5f};
  norm.stddev = {0.25f};
  const Batch b = d.batch({3, 0}, norm);
  CHECK(b.n == 2);
  CHECK(b.channels == 1);
  CHECK(b.images.size() == 2u * 64);
  CHECK(b.labels == std::vector<std::int64_t>{1, 0});
  CHECK(b.ids == std::vector<std::size_t>{3, 0});
  CHECK(b.images[0] == doctest::Approx((150 / 255.0 - 0.5) / 0.25));
  CHECK(b.images[64] == doctest::Approx(-2.0));

  CHECK_THROWS_AS(Dataset::from_images(imgs, {0, 1}, {"n", "p"}), InvalidArgument);
  CHECK_THROWS_AS(Dataset::from_images(imgs, {0, 1, 2, 1}, {"n", "p"}, {}, o), InvalidArgument);
}
