// Architecture strings, shape classes and the 800-architecture zoo.

#include "surrogates/fhn/architecture.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::surrogates::fhn {
namespace {

using test::error_of;

TEST(FhnArchitecture, ParsesAndRoundTrips) {
  const Architecture a = Architecture::parse("SiLU64-Sigmoid64-Sigmoid64");
  ASSERT_EQ(a.layers.size(), 3u);
  EXPECT_EQ(a.layers[0].activation, Activation::kSiLU);
  EXPECT_EQ(a.layers[1].activation, Activation::kSigmoid);
  EXPECT_EQ(a.layers[2].width, 64);
  EXPECT_EQ(a.to_string(), "SiLU64-Sigmoid64-Sigmoid64");
  EXPECT_EQ(a.neurons(), 192);
  // 3 inputs: (3·64 + 64) + 2 · (64·64 + 64) + (64·2 + 2)
  EXPECT_EQ(a.parameters(3), 256 + 2 * 4160 + 130);
  EXPECT_EQ(Architecture::parse("LeakyReLU16-ELU128").to_string(), "LeakyReLU16-ELU128");
}

TEST(FhnArchitecture, BadStringsAreOneLineErrorsNamingTheLayer) {
  EXPECT_EQ(
      error_of([] { Architecture::parse("SiLU64-Foo32"); }),
      "architecture \"SiLU64-Foo32\": layer 2 \"Foo32\": unknown activation \"Foo\" (expected one of ReLU, "
      "Tanh, Sigmoid, LeakyReLU, ELU, SiLU)");
  EXPECT_EQ(
      error_of([] { Architecture::parse("SiLU"); }),
      "architecture \"SiLU\": layer 1 \"SiLU\": expected an activation followed by a width, e.g. SiLU64");
  EXPECT_EQ(error_of([] { Architecture::parse("Tanh0"); }),
            "architecture \"Tanh0\": layer 1 \"Tanh0\": width must be in [1, 999999]");
  EXPECT_EQ(
      error_of([] { Architecture::parse("Tanh16-"); }),
      "architecture \"Tanh16-\": layer 2 \"\": expected an activation followed by a width, e.g. SiLU64");
  EXPECT_EQ(error_of([] { Architecture::parse(""); }),
            "architecture \"\": no layers (expected e.g. SiLU64-Sigmoid64-Sigmoid64)");
}

TEST(FhnArchitecture, ShapeClasses) {
  EXPECT_EQ(shape_class({64, 64, 64}), "rectangle");
  EXPECT_EQ(shape_class({16, 64, 64}), "funnel");
  EXPECT_EQ(shape_class({128, 32}), "bottleneck");
  EXPECT_EQ(shape_class({16, 128, 32}), "diamond");
  EXPECT_EQ(shape_class({64, 16, 64}), "bowtie");
  EXPECT_EQ(shape_class({16, 64, 16, 64}), "irregular");
}

TEST(FhnZoo, HoldsExactly800UniqueArchitecturesInThePublishedClasses) {
  const auto zoo = make_zoo();
  ASSERT_EQ(zoo.size(), 800u);
  std::set<std::string> unique;
  std::map<std::string, int> per_class;
  std::map<std::pair<int, std::string>, int> per_group;
  for (const auto& e : zoo) {
    unique.insert(e.architecture);
    ++per_class[e.shape];
    ++per_group[{e.layers, e.shape}];
    const Architecture a = Architecture::parse(e.architecture);
    EXPECT_LE(a.neurons(), 256) << e.architecture;
    EXPECT_EQ(a.neurons(), e.neurons);
    EXPECT_EQ(a.shape_class(), e.shape) << e.architecture;
    EXPECT_EQ(static_cast<int>(a.layers.size()), e.layers);
    for (const auto& l : a.layers)
      EXPECT_TRUE(l.width == 16 || l.width == 32 || l.width == 64 || l.width == 128);
  }
  EXPECT_EQ(unique.size(), 800u);
  EXPECT_EQ(
      per_class,
      (std::map<std::string, int>{
          {"rectangle", 200}, {"funnel", 200}, {"bottleneck", 200}, {"diamond", 100}, {"bowtie", 100}}));
  EXPECT_EQ(per_group.size(), 8u);
  for (const auto& [g, n] : per_group) EXPECT_EQ(n, 100) << g.first << " " << g.second;
  EXPECT_EQ(per_group.count({2, "diamond"}), 0u);
}

TEST(FhnZoo, IsDeterministicGivenTheSeedAndDiffersAcrossSeeds) {
  const auto a = make_zoo(), b = make_zoo();
  ZooOptions other;
  other.seed = 7;
  const auto c = make_zoo(other);
  ASSERT_EQ(a.size(), c.size());
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].architecture, b[i].architecture);
    same += a[i].architecture == c[i].architecture;
  }
  EXPECT_LT(same, 100);
}

TEST(FhnZoo, SubsetTakesTheFirstOfEveryGroup) {
  const auto zoo = make_zoo();
  const auto sub = zoo_subset(zoo, 5);
  ASSERT_EQ(sub.size(), 40u);
  EXPECT_EQ(sub[0].architecture, zoo[0].architecture);
  EXPECT_EQ(sub[5].architecture, zoo[100].architecture);
  std::set<std::string> classes;
  for (const auto& e : sub) classes.insert(e.shape);
  EXPECT_EQ(classes.size(), 5u);
}

TEST(FhnZoo, CsvRoundTripAndLineNumberedErrors) {
  test::TempDir tmp("fhn_zoo");
  const auto zoo = zoo_subset(make_zoo(), 2);
  write_zoo_csv(tmp / "zoo.csv", zoo);
  const auto back = read_zoo_csv(tmp / "zoo.csv");
  ASSERT_EQ(back.size(), zoo.size());
  for (std::size_t i = 0; i < zoo.size(); ++i) EXPECT_EQ(back[i].architecture, zoo[i].architecture);
  {
    std::ofstream os(tmp / "bad.csv");
    os << "architecture,class,layers,neurons\nTanh16-Tanh16,rectangle,2,32\nTanh16-Bad8,x,2,24\n";
  }
  const std::string bad = (tmp / "bad.csv").string();
  EXPECT_EQ(
      error_of([&] { read_zoo_csv(bad); }),
      bad +
          ": line 3: architecture \"Tanh16-Bad8\": layer 2 \"Bad8\": unknown activation \"Bad\" (expected "
          "one of ReLU, Tanh, Sigmoid, LeakyReLU, ELU, SiLU)");
}

}  // namespace
}  // namespace metaeik::surrogates::fhn
