// Sweeps over the architecture zoo: jobs, shards, the results CSV, resumption and merging.

#include "surrogates/fhn/sweep.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"

namespace metaeik::surrogates::fhn {

SweepConfig read_sweep_config(const core::Json& json, const std::string& source,
                              const std::filesystem::path& base_dir) {
  core::JsonReader r(json, source);
  SweepConfig c;
  {
    auto z = r.child("zoo");
    z.get("seed", c.zoo.seed);
    z.get("per_group", c.per_group, 0, 100000);
    z.get("max_neurons", c.zoo.max_neurons, 1, 1000000);
    z.get("widths", c.zoo.widths);
    z.get("file", c.zoo_file);
    z.finish();
    if (!c.zoo_file.empty() && std::filesystem::path(c.zoo_file).is_relative())
      c.zoo_file = (base_dir / c.zoo_file).string();
  }
  r.get("extra", c.extra);
  for (std::size_t i = 0; i < c.extra.size(); ++i) {
    try {
      c.extra[i] = Architecture::parse(c.extra[i]).to_string();
    } catch (const core::Error& e) {
      METAEIK_FAIL(r.error_prefix("extra[" + std::to_string(i) + "]") << e.what());
    }
  }
  METAEIK_CHECK(r.has("studies") && r.json().at("studies").is_array() && !r.json().at("studies").empty(),
                r.error_prefix("studies") << "expected a non-empty array of study configs");
  core::Json studies_json;
  r.get("studies", studies_json);  // marks the key as known
  const core::Json& studies = r.json().at("studies");
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < studies.size(); ++i) {
    const std::string key = "studies[" + std::to_string(i) + "]";
    METAEIK_CHECK(studies[i].is_object(), r.error_prefix(key) << "expected an object");
    FhnConfig s = read_fhn_config(studies[i], source + " (" + key + ")", base_dir);
    const std::string id = s.problem.problem + "/" + s.kind;
    METAEIK_CHECK(!seen.count(id), r.error_prefix(key)
                                       << "problem " << s.problem.problem << " with kind " << s.kind
                                       << " is already studies[" << seen[id] << "]");
    seen[id] = i;
    c.studies.push_back(s);
  }
  r.finish();
  return c;
}

SweepConfig load_sweep_config(const std::filesystem::path& path) {
  return read_sweep_config(core::load_json_file(path), path.string(), path.parent_path());
}

core::Json to_json(const SweepConfig& c) {
  core::Json studies = core::Json::array();
  for (const auto& s : c.studies) studies.push_back(to_json(s));
  return {{"zoo",
           {{"seed", c.zoo.seed},
            {"per_group", c.per_group},
            {"max_neurons", c.zoo.max_neurons},
            {"widths", c.zoo.widths},
            {"file", c.zoo_file}}},
          {"extra", c.extra},
          {"studies", studies}};
}

std::vector<ZooEntry> sweep_architectures(const SweepConfig& c) {
  std::vector<ZooEntry> list = c.zoo_file.empty() ? make_zoo(c.zoo) : read_zoo_csv(c.zoo_file);
  if (c.per_group > 0) list = zoo_subset(list, c.per_group);
  std::set<std::string> have;
  for (const auto& e : list) have.insert(e.architecture);
  for (const auto& s : c.extra) {
    if (!have.insert(s).second) continue;
    const Architecture a = Architecture::parse(s);
    list.push_back({s, a.shape_class(), static_cast<int>(a.layers.size()), a.neurons()});
  }
  return list;
}

std::vector<SweepJob> sweep_jobs(const SweepConfig& c) {
  const auto archs = sweep_architectures(c);
  std::vector<SweepJob> jobs;
  for (std::size_t s = 0; s < c.studies.size(); ++s)
    for (const auto& e : archs) jobs.push_back({static_cast<int>(jobs.size()), static_cast<int>(s), e});
  return jobs;
}

Shard parse_shard(const std::string& text) {
  Shard s;
  const auto slash = text.find('/');
  try {
    METAEIK_CHECK(slash != std::string::npos, "");
    std::size_t a = 0, b = 0;
    s.index = std::stoi(text.substr(0, slash), &a);
    s.count = std::stoi(text.substr(slash + 1), &b);
    METAEIK_CHECK(a == slash && b == text.size() - slash - 1, "");
  } catch (const std::exception&) {
    METAEIK_FAIL("--shard: expected I/N (e.g. 2/4), got \"" << text << "\"");
  }
  METAEIK_CHECK(s.count >= 1 && s.index >= 1 && s.index <= s.count,
                "--shard: need 1 <= I <= N, got \"" << text << "\"");
  return s;
}

std::vector<SweepJob> shard_jobs(const std::vector<SweepJob>& jobs, const Shard& shard) {
  std::vector<SweepJob> out;
  for (const auto& j : jobs)
    if (j.index % shard.count == shard.index - 1) out.push_back(j);
  return out;
}

const std::string& results_header() {
  static const std::string h =
      "architecture,class,layers,neurons,parameters,kind,problem,val_mae,val_max_error,train_seconds,"
      "inference_seconds";
  return h;
}

namespace {

std::string format_row(const ResultRow& r) {
  std::ostringstream os;
  os.precision(6);
  os << r.architecture << ',' << r.shape << ',' << r.layers << ',' << r.neurons << ',' << r.parameters << ','
     << r.kind << ',' << r.problem << ',' << std::scientific << r.val_mae << ',' << r.val_max_error << ','
     << std::defaultfloat << r.train_seconds << ',' << r.inference_seconds;
  return os.str();
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  std::string x;
  while (std::getline(ss, x, ',')) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.push_back("");
  return f;
}

/// Appends a line with one write and a flush (a kill leaves at most a partial last line).
void append_line(const std::filesystem::path& path, const std::string& line) {
  std::ofstream os(path, std::ios::app | std::ios::binary);
  METAEIK_CHECK(os, path.string() << ": cannot append");
  const std::string l = line + "\n";
  os.write(l.data(), static_cast<std::streamsize>(l.size()));
  os.flush();
  METAEIK_CHECK(os, path.string() << ": write failed");
}

/// Drops a partial last line (no newline) left by a killed run.
void drop_partial_line(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.empty() || all.back() == '\n') return;
  spdlog::warn("{}: dropping an incomplete last line (interrupted write)", path.string());
  all.erase(all.rfind('\n') == std::string::npos ? 0 : all.rfind('\n') + 1);
  core::write_file_atomically(
      path, [&](std::ostream& os) { os << all; }, true);
}

}  // namespace

std::vector<ResultRow> read_results_csv(const std::filesystem::path& path) {
  drop_partial_line(path);
  std::ifstream in(path);
  METAEIK_CHECK(in, path.string() << ": cannot open results");
  std::string line;
  METAEIK_CHECK(std::getline(in, line) && line == results_header(),
                path.string() << ": line 1: expected the header " << results_header());
  std::vector<ResultRow> rows;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const auto f = split(line);
    const std::string where = path.string() + ": line " + std::to_string(n) + ": ";
    METAEIK_CHECK(f.size() == 11, where << "expected 11 fields, got " << f.size());
    ResultRow r;
    try {
      r.architecture = f[0], r.shape = f[1], r.layers = std::stoi(f[2]), r.neurons = std::stoi(f[3]);
      r.parameters = std::stol(f[4]), r.kind = f[5], r.problem = f[6];
      r.val_mae = std::stod(f[7]), r.val_max_error = std::stod(f[8]);
      r.train_seconds = std::stod(f[9]), r.inference_seconds = std::stod(f[10]);
    } catch (const std::exception&) {
      METAEIK_FAIL(where << "malformed number");
    }
    rows.push_back(r);
  }
  return rows;
}

void write_results_csv(const std::filesystem::path& path, const std::vector<ResultRow>& rows) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << results_header() << '\n';
    for (const auto& r : rows) os << format_row(r) << '\n';
  });
}

namespace {

void write_euler_line(const SweepConfig& c, const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return;
  std::ostringstream os;
  os << "problem,dt,samples,duration,seconds,mae,max_error\n";
  std::set<std::string> done;
  for (const auto& s : c.studies) {
    if (!done.insert(s.problem.problem).second) continue;
    const int samples = std::max(1, s.train.bench_samples);
    for (const auto& e :
         time_euler(s.problem, samples, 50.0, {0.5, 0.2, 0.1, 0.05, 0.02}, 0.01, s.train.threads, 1))
      os << s.problem.problem << ',' << e.dt << ',' << samples << ",50," << e.seconds << ',' << e.mae << ','
         << e.max_error << '\n';
  }
  core::write_file_atomically(path, [&](std::ostream& out) { out << os.str(); });
}

core::Json sweep_identity(const SweepConfig& c, const Shard& s) {
  return {{"config", to_json(c)}, {"shard", s.to_string()}};
}

}  // namespace

std::vector<ResultRow> run_sweep(const SweepConfig& c, const SweepOptions& o) {
  METAEIK_CHECK(!o.out.empty(), "sweep: no output directory");
  std::filesystem::create_directories(o.out);
  const auto id_path = o.out / "sweep.json";
  const core::Json id = sweep_identity(c, o.shard);
  if (std::filesystem::exists(id_path)) {
    const core::Json old = core::load_json_file(id_path);
    METAEIK_CHECK(old == id, o.out.string()
                                 << ": holds a different sweep or shard (sweep.json differs); use another "
                                    "output directory");
  } else {
    core::save_json_file(id_path, id);
  }
  const auto results = o.out / "results.csv";
  const auto itnn = o.out / "itnn.csv";
  if (!std::filesystem::exists(results)) write_results_csv(results, {});
  if (!std::filesystem::exists(itnn))
    core::write_file_atomically(
        itnn, [](std::ostream& os) { os << "architecture,problem,rollouts,diverged,false_equilibria\n"; });
  drop_partial_line(itnn);
  std::vector<ResultRow> rows = read_results_csv(results);
  std::set<std::string> done;
  for (const auto& r : rows) done.insert(r.key());
  const auto mine = shard_jobs(sweep_jobs(c), o.shard);
  std::vector<SweepJob> todo;
  for (const auto& j : mine) {
    const FhnConfig& s = c.studies[j.study];
    if (!done.count(ResultRow{j.entry.architecture, "", 0, 0, 0, s.kind, s.problem.problem}.key()))
      todo.push_back(j);
  }
  spdlog::info("sweep: shard {} has {} models, {} done, {} to train", o.shard.to_string(), mine.size(),
               mine.size() - todo.size(), todo.size());
  write_euler_line(c, o.out / "euler.csv");
  std::map<int, Dataset> data;
  std::size_t limit = o.max_models > 0 ? std::min<std::size_t>(todo.size(), o.max_models) : todo.size();
  {
    std::unique_ptr<core::ProgressBar> bar;
    if (o.progress) bar = std::make_unique<core::ProgressBar>("sweep " + o.shard.to_string(), limit);
    for (std::size_t n = 0; n < limit; ++n) {
      const SweepJob& j = todo[n];
      FhnConfig s = c.studies[j.study];
      s.architecture = j.entry.architecture;
      if (!data.count(j.study)) data.emplace(j.study, make_dataset(s.problem, s.data));
      const TrainResult t = train_surrogate(s, data.at(j.study), RunFiles{{}, false, false});
      ResultRow r{j.entry.architecture, j.entry.shape,   j.entry.layers,     j.entry.neurons,
                  t.parameters,         s.kind,          s.problem.problem,  t.val_mae,
                  t.val_max_error,      t.train_seconds, t.inference_seconds};
      if (s.kind == "itnn")
        append_line(itnn, r.architecture + "," + r.problem + "," + std::to_string(t.rollout.rollouts) + "," +
                              std::to_string(t.rollout.diverged) + "," +
                              std::to_string(t.rollout.false_equilibria));
      append_line(results, format_row(r));
      rows.push_back(r);
      spdlog::debug("sweep: {} {} {}: val MAE {:.3e}", r.problem, r.kind, r.architecture, r.val_mae);
      if (bar) {
        bar->advance();
        std::ostringstream os;
        os.precision(3);
        os << r.problem << "/" << r.kind << " " << r.architecture << " MAE " << r.val_mae;
        bar->set_status(os.str());
      }
    }
  }
  if (limit == todo.size()) write_sweep_summary(o.out);
  return rows;
}

std::vector<ResultRow> merge_sweeps(const std::vector<std::filesystem::path>& dirs,
                                    const std::filesystem::path& out) {
  METAEIK_CHECK(!dirs.empty(), "merge: no shard directories given");
  core::Json config;
  int count = 0;
  std::map<int, std::filesystem::path> shards;
  std::map<std::string, std::filesystem::path> owner;
  std::vector<ResultRow> rows;
  std::string itnn_rows;
  for (const auto& d : dirs) {
    METAEIK_CHECK(std::filesystem::exists(d / "sweep.json"),
                  d.string() << ": not a sweep directory (no sweep.json)");
    const core::Json id = core::load_json_file(d / "sweep.json");
    const Shard s = parse_shard(id.at("shard").get<std::string>());
    if (config.is_null()) config = id.at("config"), count = s.count;
    METAEIK_CHECK(id.at("config") == config, d.string()
                                                 << ": a different sweep config than " << dirs[0].string());
    METAEIK_CHECK(s.count == count, d.string() << ": shard " << s.to_string() << " of a split into "
                                               << s.count << ", not " << count);
    METAEIK_CHECK(!shards.count(s.index),
                  d.string() << ": shard " << s.to_string() << " is also " << shards[s.index].string());
    shards[s.index] = d;
    for (const auto& r : read_results_csv(d / "results.csv")) {
      METAEIK_CHECK(!owner.count(r.key()),
                    "merge: overlap: " << r.problem << "/" << r.kind << " " << r.architecture << " is in "
                                       << owner[r.key()].string() << " and " << d.string());
      owner[r.key()] = d;
      rows.push_back(r);
    }
    std::ifstream in(d / "itnn.csv");
    std::string line;
    for (std::getline(in, line); std::getline(in, line);)
      if (!line.empty()) itnn_rows += line + "\n";
  }
  for (int i = 1; i <= count; ++i)
    METAEIK_CHECK(shards.count(i), "merge: gap: shard " << i << "/" << count << " is missing");
  const SweepConfig c = read_sweep_config(config, (dirs[0] / "sweep.json").string() + " config", dirs[0]);
  std::size_t missing = 0;
  std::string example;
  for (const auto& j : sweep_jobs(c)) {
    const FhnConfig& s = c.studies[j.study];
    const std::string key = ResultRow{j.entry.architecture, "", 0, 0, 0, s.kind, s.problem.problem}.key();
    if (!owner.count(key)) {
      if (!missing++) example = s.problem.problem + "/" + s.kind + " " + j.entry.architecture;
    }
  }
  METAEIK_CHECK(missing == 0, "merge: gap: " << missing << " models have no row (e.g. " << example
                                             << "); finish that shard's sweep first");
  std::filesystem::create_directories(out);
  write_results_csv(out / "results.csv", rows);
  core::write_file_atomically(out / "itnn.csv", [&](std::ostream& os) {
    os << "architecture,problem,rollouts,diverged,false_equilibria\n" << itnn_rows;
  });
  std::filesystem::copy_file(shards[1] / "euler.csv", out / "euler.csv",
                             std::filesystem::copy_options::overwrite_existing);
  core::save_json_file(out / "sweep.json", {{"config", config}, {"shard", "1/1"}, {"merged_from", count}});
  write_sweep_summary(out);
  return rows;
}

}  // namespace metaeik::surrogates::fhn
