#include "surrogates/aphyn/traces.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "surrogates/aphyn/config.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

using test::error_of;

std::filesystem::path write_file(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(AphynTraces, CsvRoundTripAnySampling) {
  test::TempDir dir("aphyn_csv");
  TraceSet set;
  set.time = {0, 0.5, 3.7, 10};
  set.names = {"a", "b"};
  set.values = {{1, 2, 3, 4}, {-85, 20, 0.125, -80}};
  write_trace_csv(dir / "t.csv", set);
  const auto back = read_trace_csv(dir / "t.csv");
  EXPECT_EQ(back.time, set.time);
  EXPECT_EQ(back.names, set.names);
  EXPECT_EQ(back.values, set.values);
}

TEST(AphynTraces, BadCsvErrorsNameFileLineAndColumn) {
  test::TempDir dir("aphyn_bad_csv");
  auto p = write_file(dir, "missing.csv", "time,a,b\n0,1,2\n1,3\n");
  EXPECT_EQ(error_of([&] { read_trace_csv(p); }), p.string() + ": line 3: expected 3 columns, got 2");
  p = write_file(dir, "text.csv", "time,a\n0,1\n1,high\n");
  EXPECT_EQ(error_of([&] { read_trace_csv(p); }),
            p.string() + ": line 3, column 'a': not a number: \"high\"");
  p = write_file(dir, "time.csv", "time,a\n0,1\n2,1\n2,1\n");
  EXPECT_EQ(error_of([&] { read_trace_csv(p); }),
            p.string() + ": line 4, column 'time': time 2 is not greater than the previous 2");
  p = write_file(dir, "nan.csv", "time,a\n0,1\n1,nan\n");
  EXPECT_EQ(error_of([&] { read_trace_csv(p); }), p.string() + ": line 3, column 'a': value is not finite");
  p = write_file(dir, "header.csv", "time\n0\n");
  EXPECT_EQ(error_of([&] { read_trace_csv(p); }),
            p.string() + ": line 1: expected a time column and at least one trace column");
  EXPECT_EQ(error_of([&] { read_trace_csv(dir / "none.csv"); }),
            (dir / "none.csv").string() + ": cannot open the trace file");
}

TEST(AphynTraces, PrepareNormalisesTrimsRestAndCutsHorizon) {
  // Rest at −85 mV for 10 ms, upstroke to +15 mV, plateau, back to rest; sampled every 2 ms.
  TraceSet set;
  set.names = {"ap", "flat", "short"};
  set.values.resize(3);
  for (int k = 0; k <= 100; ++k) {
    const double t = 2.0 * k;
    set.time.push_back(t);
    const double v = t < 10 ? -85 : (t < 12 ? -35 : (t < 150 ? 15 : -85));
    set.values[0].push_back(v);
    set.values[1].push_back(-80);
    set.values[2].push_back(t < 150 ? -85
                                    : (t < 160 ? 10 : -85));  // upstroke at 150 ms: too late for the horizon
  }
  PrepareOptions o;
  o.start_threshold = 0.3;
  o.horizon = 100;
  const auto out = prepare_traces(set, o, "unit");
  ASSERT_EQ(out.size(), 1u);
  const auto& tr = out[0];
  EXPECT_EQ(tr.name, "ap");
  EXPECT_DOUBLE_EQ(tr.v_min, -85);
  EXPECT_DOUBLE_EQ(tr.v_max, 15);
  // First sample ≥ 0.3 of the range is t = 10 ms (−35 mV = 0.5).
  ASSERT_EQ(tr.t.size(), 51u);  // 0, 2, ..., 100 ms after the start
  EXPECT_DOUBLE_EQ(tr.t.front(), 0);
  EXPECT_DOUBLE_EQ(tr.t.back(), 100);
  EXPECT_DOUBLE_EQ(tr.v[0], 0.5);
  EXPECT_DOUBLE_EQ(tr.v[1], 1.0);
  set.values.resize(2);
  set.names.resize(2);
  set.values[0].assign(set.time.size(), 0.0);
  EXPECT_EQ(error_of([&] { prepare_traces(set, o, "unit"); }),
            "unit: no usable trace (all flat, below start_threshold or shorter than the horizon 100 ms)");
}

TEST(AphynConfig, BadConfigsGiveOneLineErrorsNamingFileAndKey) {
  const std::filesystem::path base = "/data";
  auto parse = [&](const std::string& text) {
    return error_of([&] { read_aphyn_config(core::Json::parse(text), "cfg.json", base); });
  };
  const std::string data = R"("data": {"train": {"csv": "a.csv"}, "validation": {"csv": "b.csv"}})";
  EXPECT_EQ(parse("{" + data + R"(, "model": {"tau_inn": 0.3}})"),
            "cfg.json: key 'model.tau_inn': unknown key");
  EXPECT_EQ(parse("{" + data + R"(, "model": {"learn": ["tau_open"]}})"),
            "cfg.json: key 'model.learn': unknown time constant \"tau_open\" (expected tau_in, tau_out or "
            "tau_close)");
  EXPECT_EQ(parse("{" + data + R"(, "train": {"epochs": "many"}})"),
            "cfg.json: key 'train.epochs': expected an integer, got a string");
  EXPECT_EQ(parse(R"({"data": {"train": {"csv": "a.csv"}}})"),
            "cfg.json: key 'data.validation': is required");
  EXPECT_EQ(
      parse(R"({"data": {"train": {"csv": "a.csv", "simulate": "s.json"}, "validation": {"csv": "b.csv"}}})"),
      "cfg.json: key 'data.train.simulate': give exactly one of simulate, tissue_dir, csv (got 2)");
  EXPECT_EQ(parse("{" + data + R"(, "model": {"dt": -1}})").substr(0, 26), "cfg.json: key 'model.dt': ");
  const auto cfg = read_aphyn_config(core::Json::parse("{" + data + "}"), "cfg.json", base);
  EXPECT_EQ(cfg.data.train.csv, "/data/a.csv");
  // to_json is read back to the same settings.
  const auto again = read_aphyn_config(to_json(cfg), "again", base);
  EXPECT_EQ(to_json(again), to_json(cfg));
}

}  // namespace
}  // namespace metaeik::surrogates::aphyn
