// Completion records of run_experiment's stages (OUT_DIR/stages/NAME.json): what a finished
// stage added to the ExperimentState (result rows, example predictions, times), so that
// `experiment --resume` can load a finished stage instead of recomputing it. Numbers round-trip
// exactly (JSON doubles are written with the shortest exact representation); NaN is stored as
// null and ±infinity as "inf" / "-inf".

#include <cmath>

#include "core/error.hpp"
#include "metapinn/experiment_detail.hpp"

namespace metaeik::metapinn::detail {

namespace {

const std::vector<std::pair<const char*, double ExperimentRow::*>> kRowNumbers{
    {"at_rel_error", &ExperimentRow::at_rel_error},
    {"at_corr", &ExperimentRow::at_corr},
    {"v_rel_error", &ExperimentRow::v_rel_error},
    {"v_corr", &ExperimentRow::v_corr},
    {"residual", &ExperimentRow::residual},
    {"seconds", &ExperimentRow::seconds},
    {"at_rel_error_endo", &ExperimentRow::at_rel_error_endo},
    {"at_corr_endo", &ExperimentRow::at_corr_endo},
    {"at_rel_error_rest", &ExperimentRow::at_rel_error_rest},
    {"at_corr_rest", &ExperimentRow::at_corr_rest}};

core::Json number_json(double x) {
  if (std::isnan(x)) return nullptr;
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

double json_number(const core::Json& j) {
  if (j.is_null()) return NAN;
  if (j.is_string()) {
    METAEIK_CHECK(j == "inf" || j == "-inf",
                  "expected a number, null, \"inf\" or \"-inf\", got " << j.dump());
    return j == "inf" ? INFINITY : -INFINITY;
  }
  return j.get<double>();
}

core::Json numbers_json(const Eigen::VectorXd& v) {
  core::Json a = core::Json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(number_json(v[i]));
  return a;
}

core::Json numbers_json(const std::vector<double>& v) {
  core::Json a = core::Json::array();
  for (double x : v) a.push_back(number_json(x));
  return a;
}

Eigen::VectorXd json_vector(const core::Json& a) {
  Eigen::VectorXd v(Eigen::Index(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i) v[Eigen::Index(i)] = json_number(a[i]);
  return v;
}

std::vector<double> json_doubles(const core::Json& a) {
  std::vector<double> v;
  for (const auto& x : a) v.push_back(json_number(x));
  return v;
}

template <class Map>
std::set<typename Map::key_type> keys_of(const Map& m) {
  std::set<typename Map::key_type> k;
  for (const auto& [key, value] : m) k.insert(key);
  return k;
}

}  // namespace

StageMark mark_stage(const ExperimentState& st) {
  StageMark m;
  m.rows = st.rows.size();
  m.examples = keys_of(st.examples);
  m.method_seconds = keys_of(st.method_seconds);
  m.pass_times = keys_of(st.pass_times);
  m.geometry_seconds = keys_of(st.geometry_seconds);
  return m;
}

core::Json stage_record(const ExperimentState& st, const StageMark& since) {
  core::Json rows = core::Json::array();
  for (std::size_t i = since.rows; i < st.rows.size(); ++i) {
    const auto& r = st.rows[i];
    core::Json j = {
        {"method", r.method}, {"subject", r.subject}, {"map", r.map}, {"k", r.k}, {"seed", r.seed}};
    for (const auto& [name, field] : kRowNumbers) j[name] = number_json(r.*field);
    rows.push_back(j);
  }
  core::Json examples = core::Json::array();
  for (const auto& [key, ex] : st.examples)
    if (!since.examples.count(key))
      examples.push_back({{"method", key.first},
                          {"map", key.second},
                          {"times", numbers_json(ex.times)},
                          {"speed", numbers_json(ex.speed)},
                          {"residual", numbers_json(ex.residual)}});
  core::Json seconds = core::Json::object(), passes = core::Json::object(), geometry = core::Json::object();
  for (const auto& [m, s] : st.method_seconds)
    if (!since.method_seconds.count(m)) seconds[m] = number_json(s);
  for (const auto& [m, t] : st.pass_times)
    if (!since.pass_times.count(m))
      passes[m] = {{"context", numbers_json(t.context)}, {"query", numbers_json(t.query)}};
  for (const auto& [m, s] : st.geometry_seconds)
    if (!since.geometry_seconds.count(m)) geometry[m] = numbers_json(s);
  return {{"rows", rows},
          {"examples", examples},
          {"method_seconds", seconds},
          {"pass_times", passes},
          {"geometry_seconds", geometry}};
}

void load_stage_record(ExperimentState& st, const core::Json& record) {
  // Parsed into temporaries first: a malformed record throws before the state changes.
  std::vector<ExperimentRow> rows;
  for (const auto& j : record.at("rows")) {
    ExperimentRow r;
    r.method = j.at("method").get<std::string>();
    r.subject = j.at("subject").get<int>();
    r.map = j.at("map").get<int>();
    r.k = j.at("k").get<int>();
    r.seed = j.at("seed").get<std::uint64_t>();
    for (const auto& [name, field] : kRowNumbers) r.*field = json_number(j.at(name));
    rows.push_back(r);
  }
  std::map<std::pair<std::string, int>, Example> examples;
  for (const auto& j : record.at("examples")) {
    const int map = j.at("map").get<int>();
    METAEIK_CHECK(map >= 0 && map < int(st.corpus.maps.size()),
                  "example map " << map << " is not in the dataset");
    examples[{j.at("method").get<std::string>(), map}] = {
        json_vector(j.at("times")), json_vector(j.at("speed")), json_vector(j.at("residual"))};
  }
  std::map<std::string, double> seconds;
  for (const auto& [m, s] : record.at("method_seconds").items()) seconds[m] = json_number(s);
  std::map<std::string, PassTimes> passes;
  for (const auto& [m, t] : record.at("pass_times").items())
    passes[m] = {json_doubles(t.at("context")), json_doubles(t.at("query"))};
  std::map<std::string, std::vector<double>> geometry;
  for (const auto& [m, s] : record.at("geometry_seconds").items()) geometry[m] = json_doubles(s);

  st.rows.insert(st.rows.end(), rows.begin(), rows.end());
  for (auto& [k, v] : examples) st.examples[k] = std::move(v);
  for (auto& [k, v] : seconds) st.method_seconds[k] = v;
  for (auto& [k, v] : passes) st.pass_times[k] = std::move(v);
  for (auto& [k, v] : geometry) st.geometry_seconds[k] = std::move(v);
}

}  // namespace metaeik::metapinn::detail
