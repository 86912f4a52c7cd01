#include "core/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../support/cli.hpp"

namespace metaeik::core {
namespace {

struct Options {
  double tolerance = 1e-6;
  int iterations = 10;
  bool verbose = false;
  std::string method = "fim";
  std::vector<double> radii{1.0, 2.0};
  double nested_speed = 0.6;
};

Options read(const Json& j) {
  Options o;
  JsonReader r(j, "cfg.json");
  r.get("tolerance", o.tolerance, 0.0, 1.0);
  r.get("iterations", o.iterations, 1, 1000);
  r.get("verbose", o.verbose);
  r.get_choice("method", o.method, {"fim", "dijkstra"});
  r.get("radii", o.radii);
  auto solver = r.child("solver");
  solver.get("speed", o.nested_speed, 1e-9, 10.0);
  solver.finish();
  r.finish();
  return o;
}

std::string error_of(const Json& j) {
  try {
    read(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonReader, KeepsDefaultsAndReadsValues) {
  const Options d = read(Json::object());
  EXPECT_EQ(d.iterations, 10);
  EXPECT_EQ(d.method, "fim");
  const Options o =
      read(Json::parse(R"({"tolerance": 0.5, "iterations": 3, "verbose": true, "method": "dijkstra",
                                         "radii": [3, 4, 5], "solver": {"speed": 0.1}})"));
  EXPECT_DOUBLE_EQ(o.tolerance, 0.5);
  EXPECT_EQ(o.iterations, 3);
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.method, "dijkstra");
  EXPECT_EQ(o.radii, (std::vector<double>{3, 4, 5}));
  EXPECT_DOUBLE_EQ(o.nested_speed, 0.1);
}

TEST(JsonReader, ErrorsNameTheKeyPath) {
  EXPECT_EQ(error_of(Json::parse(R"({"tolerence": 1})")), "cfg.json: key 'tolerence': unknown key");
  EXPECT_EQ(error_of(Json::parse(R"({"solver": {"sped": 1}})")), "cfg.json: key 'solver.sped': unknown key");
  EXPECT_EQ(error_of(Json::parse(R"({"tolerance": "small"})")),
            "cfg.json: key 'tolerance': expected a number, got a string");
  EXPECT_EQ(error_of(Json::parse(R"({"iterations": 2.5})")),
            "cfg.json: key 'iterations': expected an integer, got a number");
  EXPECT_EQ(error_of(Json::parse(R"({"iterations": 0})")),
            "cfg.json: key 'iterations': value 0 is out of range [1, 1000]");
  // 4294967546 = 2^32 + 250 used to wrap to 250 and pass the range check.
  EXPECT_EQ(error_of(Json::parse(R"({"iterations": 4294967546})")),
            "cfg.json: key 'iterations': integer 4294967546 is out of range for this field");
  EXPECT_EQ(error_of(Json::parse(R"({"iterations": -4294967046})")),
            "cfg.json: key 'iterations': integer -4294967046 is out of range for this field");
  EXPECT_EQ(error_of(Json::parse(R"({"solver": {"speed": -1}})")),
            "cfg.json: key 'solver.speed': value -1 is out of range [1e-09, 10]");
  EXPECT_EQ(error_of(Json::parse(R"({"method": "bfs"})")),
            "cfg.json: key 'method': unknown value \"bfs\" (expected one of \"fim\", \"dijkstra\")");
  EXPECT_EQ(error_of(Json::parse(R"({"verbose": 1})")),
            "cfg.json: key 'verbose': expected a boolean, got an integer");
  EXPECT_EQ(error_of(Json::parse(R"({"radii": {"a": 1}})")),
            "cfg.json: key 'radii': has the wrong type (an object)");
  EXPECT_EQ(error_of(Json::parse(R"({"solver": 3})")),
            "cfg.json: key 'solver': expected an object, got an integer");
  EXPECT_EQ(error_of(Json::parse(R"([1, 2])")), "cfg.json: top level: expected an object, got an array");
}

TEST(JsonFile, LoadErrorsNameTheFile) {
  test::TempDir dir("config");
  const auto bad = dir / "bad.json";
  std::ofstream(bad) << "{\"a\": 1,,}";
  try {
    load_json_file(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), bad.string() + ": invalid JSON at byte 9");
  }
  try {
    load_json_file(dir / "missing.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "missing.json").string() + ": cannot open file");
  }
}

TEST(JsonFile, SaveLoadRoundTrip) {
  test::TempDir dir("config_rt");
  const Json j = Json::parse(R"({"x": [1.5, 2], "name": "lv", "nested": {"k": true}})");
  save_json_file(dir / "a.json", j);
  EXPECT_EQ(load_json_file(dir / "a.json"), j);
}

}  // namespace
}  // namespace metaeik::core
