#include "monodomain/tissue_run.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/random.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/vti_io.hpp"

namespace metaeik::monodomain {
namespace {

/// Most grid nodes a config may ask for (far beyond any run here; 2D 10⁴ × 10⁴): a corrupted node
/// count must end in an error, not in a huge allocation (the regions map is allocated while reading).
constexpr std::int64_t kMaxNodes = 100000000;

std::array<double, 3> read_point(core::JsonReader& r, const std::string& key, const core::Json& value,
                                 int dims) {
  METAEIK_CHECK(value.is_array() && (value.size() == 2 || value.size() == 3),
                r.error_prefix(key) << "expected an array of 2 or 3 numbers");
  METAEIK_CHECK(static_cast<int>(value.size()) == dims || (dims == 2 && value.size() == 3),
                r.error_prefix(key) << "expected " << dims << " coordinates for a " << dims << "D grid, got "
                                    << value.size());
  std::array<double, 3> p{0, 0, 0};
  for (std::size_t a = 0; a < value.size(); ++a) {
    METAEIK_CHECK(value[a].is_number(), r.error_prefix(key) << "expected numbers");
    p[a] = value[a].get<double>();
  }
  return p;
}

/// float32 little-endian frames [frame][variable][node] (FORMAT.md).
class BinaryFrames {
 public:
  BinaryFrames(const std::filesystem::path& file, std::vector<int> vars)
      : path_(file), vars_(std::move(vars)) {
    const std::uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    METAEIK_CHECK(first == 1, "binary output needs a little-endian machine");
    os_.open(file, std::ios::binary);
    METAEIK_CHECK(os_.good(), file.string() << ": cannot open for writing");
  }
  void write(double t, const CellStates& s) {
    buffer_.resize(s.n_cells);
    for (int v : vars_) {
      const double* x = s.state(v);
      for (std::size_t c = 0; c < s.n_cells; ++c) buffer_[c] = static_cast<float>(x[c]);
      os_.write(reinterpret_cast<const char*>(buffer_.data()),
                static_cast<std::streamsize>(buffer_.size() * 4));
    }
    METAEIK_CHECK(os_.good(), path_.string() << ": write failed (disk full?)");
    times_.push_back(t);
  }
  void close() { os_.close(); }
  const std::vector<double>& times() const { return times_; }

 private:
  std::filesystem::path path_;
  std::vector<int> vars_;
  std::ofstream os_;
  std::vector<float> buffer_;
  std::vector<double> times_;
};

core::Json grid_json(const Grid& g) {
  return {{"nodes", {g.nx, g.ny, g.nz}},
          {"spacing_mm", {g.dx, g.dy, g.dz}},
          {"origin_mm", {0, 0, 0}},
          {"node_index", "i + nx*(j + ny*k)"},
          {"vertex_centred", true}};
}

/// Copy of states.bin with Gaussian noise of σ = noise × (max − min of the variable over all frames).
void write_noisy_copy(const std::filesystem::path& clean, const std::filesystem::path& noisy,
                      std::size_t frames, std::size_t vars, std::size_t n, double noise, std::uint64_t seed) {
  std::vector<float> block(n);
  std::vector<double> lo(vars, std::numeric_limits<double>::infinity()), hi(vars, -lo[0]);
  {
    std::ifstream is(clean, std::ios::binary);
    for (std::size_t f = 0; f < frames; ++f)
      for (std::size_t v = 0; v < vars; ++v) {
        is.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(n * 4));
        for (float x : block) lo[v] = std::min<double>(lo[v], x), hi[v] = std::max<double>(hi[v], x);
      }
  }
  auto rng = core::make_rng(seed, 0);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::ifstream is(clean, std::ios::binary);
  std::ofstream os(noisy, std::ios::binary);
  for (std::size_t f = 0; f < frames; ++f)
    for (std::size_t v = 0; v < vars; ++v) {
      is.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(n * 4));
      const double sigma = noise * (hi[v] - lo[v]);
      for (float& x : block) x = static_cast<float>(x + sigma * normal(rng));
      os.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n * 4));
    }
  METAEIK_CHECK(os.good(), noisy.string() << ": write failed");
}

}  // namespace

TissueConfig read_tissue_config(const core::Json& json, const std::string& source) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
  TissueConfig cfg;
  cfg.json = json;
  core::JsonReader r(json, source);
  std::string description;
  r.get("description", description);

  auto cell = r.child("cell");
  cell.get("model", cfg.model);
  {
    const auto& names = cell_model_names();
    METAEIK_CHECK(std::find(names.begin(), names.end(), cfg.model) != names.end(),
                  cell.error_prefix("model")
                      << "unknown cell model \"" << cfg.model << "\" (expected one of fhn, ms, ttp06)");
  }
  cell.get("variant", cfg.variant);
  cell.get("parameters", cfg.parameters);
  core::Json regions = core::Json::array();
  cell.get("regions", regions);
  METAEIK_CHECK(regions.is_array(), cell.error_prefix("regions")
                                        << "expected an array of {lo, hi, parameters}");
  cell.finish();
  make_cell_model(cfg.model, cfg.variant, cfg.parameters, source);  // validates variant and parameters

  Grid& g = cfg.tissue.grid;
  auto grid = r.child("grid");
  std::vector<double> size;
  std::vector<std::int64_t> nodes;  // not int: nlohmann would wrap 4294967297 to 1
  grid.get("size", size);
  grid.get("nodes", nodes);
  grid.require("dx", g.dx);
  METAEIK_CHECK(g.dx > 0, grid.error_prefix("dx") << "must be positive, got " << g.dx);
  g.dy = g.dz = g.dx;
  grid.get("dy", g.dy, 1e-9, 1e9);
  grid.get("dz", g.dz, 1e-9, 1e9);
  METAEIK_CHECK(size.empty() != nodes.empty(), grid.error_prefix("size")
                                                   << "give exactly one of 'size' (mm) and 'nodes'");
  const std::size_t dims = size.empty() ? nodes.size() : size.size();
  METAEIK_CHECK(dims == 2 || dims == 3, grid.error_prefix(size.empty() ? "nodes" : "size")
                                            << "expected 2 or 3 entries");
  const double h[3] = {g.dx, g.dy, g.dz};
  int n[3] = {1, 1, 1};
  for (std::size_t a = 0; a < dims; ++a) {
    if (!nodes.empty()) {
      METAEIK_CHECK(nodes[a] >= 1, grid.error_prefix("nodes") << "node counts must be >= 1");
      METAEIK_CHECK(nodes[a] <= kMaxNodes, grid.error_prefix("nodes")
                                               << "node count " << nodes[a] << " exceeds the limit of "
                                               << kMaxNodes);
      n[a] = static_cast<int>(nodes[a]);
    } else {
      METAEIK_CHECK(size[a] >= 0, grid.error_prefix("size") << "extents must be non-negative");
      const double cells = size[a] / h[a];
      METAEIK_CHECK(cells < kMaxNodes, grid.error_prefix("size")
                                           << "extent " << size[a] << " mm at spacing " << h[a]
                                           << " mm exceeds the limit of " << kMaxNodes << " nodes");
      n[a] = static_cast<int>(std::lround(cells)) + 1;
      if (std::abs(cells - std::round(cells)) > 1e-6)
        spdlog::warn(
            "{}: grid.size[{}] = {} mm is not a multiple of the spacing {} mm; using {} nodes ({} mm)",
            source, a, size[a], h[a], n[a], (n[a] - 1) * h[a]);
    }
  }
  g.nx = n[0], g.ny = n[1], g.nz = n[2];
  METAEIK_CHECK(static_cast<double>(g.nx) * g.ny * g.nz <= kMaxNodes,
                grid.error_prefix(size.empty() ? "nodes" : "size")
                    << "a grid of " << g.nx << " x " << g.ny << " x " << g.nz
                    << " nodes exceeds the limit of " << kMaxNodes << " nodes");
  grid.finish();

  auto diff = r.child("diffusion");
  diff.get("d_long", cfg.tissue.d_long, 0.0, 1e6);
  cfg.tissue.d_trans = cfg.tissue.d_long;
  diff.get("d_trans", cfg.tissue.d_trans, 0.0, 1e6);
  diff.get_choice("scheme", cfg.tissue.scheme, {"fd", "fem", "fem-svi"});
  diff.get_choice("svi_states", cfg.tissue.svi_states, {"all", "v"});
  diff.get("svi_tolerance", cfg.tissue.svi_tolerance, 0.0, 1e9);
  diff.get("svi_weight", cfg.tissue.svi_weight, 0.0, 1.0);
  std::vector<double> fibre;
  diff.get("fibre", fibre);
  if (!fibre.empty()) {
    METAEIK_CHECK(fibre.size() == dims || fibre.size() == 3, diff.error_prefix("fibre")
                                                                 << "expected " << dims << " components");
    double norm = 0;
    for (std::size_t a = 0; a < 3; ++a) cfg.tissue.fibre[a] = a < fibre.size() ? fibre[a] : 0.0;
    for (double x : cfg.tissue.fibre) norm += x * x;
    METAEIK_CHECK(norm > 0, diff.error_prefix("fibre") << "must be a non-zero vector");
  }
  diff.finish();

  auto time = r.child("time");
  time.require("dt", cfg.tissue.dt);
  time.require("duration", cfg.tissue.duration);
  METAEIK_CHECK(cfg.tissue.duration > 0, time.error_prefix("duration")
                                             << "must be positive, got " << cfg.tissue.duration);
  time.get_choice("splitting", cfg.tissue.splitting, {"godunov", "strang"});
  time.get("stop_when_activated", cfg.tissue.stop_when_activated);
  time.get("activation_threshold", cfg.tissue.activation_threshold);
  time.finish();

  core::Json stimuli = core::Json::array();
  r.get("stimuli", stimuli);
  METAEIK_CHECK(stimuli.is_array(), r.error_prefix("stimuli") << "expected an array of stimulus objects");
  const auto extent = g.extent();
  for (std::size_t s = 0; s < stimuli.size(); ++s) {
    const std::string key = "stimuli[" + std::to_string(s) + "]";
    METAEIK_CHECK(stimuli[s].is_object(), r.error_prefix(key) << "expected an object");
    core::JsonReader sr(stimuli[s], source, key);
    Stimulus st;
    core::Json lo, hi;
    sr.require("lo", lo);
    sr.require("hi", hi);
    st.lo = read_point(sr, "lo", lo, static_cast<int>(dims));
    st.hi = read_point(sr, "hi", hi, static_cast<int>(dims));
    std::string units = "mm";
    sr.get_choice("units", units, {"mm", "fraction"});
    if (units == "fraction")
      for (int a = 0; a < 3; ++a) st.lo[a] *= extent[a], st.hi[a] *= extent[a];
    sr.get("start", st.start, 0.0, 1e12);
    sr.get("duration", st.duration, 0.0, 1e12);
    sr.require("amplitude", st.amplitude);
    sr.get("period", st.period, 0.0, 1e12);
    sr.get("count", st.count, 0, 1 << 30);
    METAEIK_CHECK(st.count > 0 || st.period > 0, sr.error_prefix("count")
                                                     << "count 0 (unlimited) needs a period > 0");
    sr.finish();
    cfg.tissue.stimuli.push_back(st);
  }

  for (std::size_t k = 0; k < regions.size(); ++k) {
    METAEIK_CHECK(regions[k].is_object(), cell.error_prefix("regions")
                                              << "entry " << k << " is not an object");
    core::JsonReader rr(regions[k], source, "cell.regions[" + std::to_string(k) + "]");
    CellRegion region;
    core::Json lo, hi;
    rr.require("lo", lo);
    rr.require("hi", hi);
    region.lo = read_point(rr, "lo", lo, static_cast<int>(dims));
    region.hi = read_point(rr, "hi", hi, static_cast<int>(dims));
    rr.require("parameters", region.parameters);
    rr.finish();
    cfg.regions.push_back(region);
  }
  if (!cfg.regions.empty())  // validates every region's parameters
    make_regional_cell_model(cfg.model, cfg.variant, cfg.parameters, cfg.regions, cfg.tissue.grid, source);

  auto out = r.child("output");
  out.get("states", cfg.output.states);
  {
    auto model = make_cell_model(cfg.model, cfg.variant, cfg.parameters, source);
    for (const auto& s : cfg.output.states) {
      const auto& names = model->state_names();
      METAEIK_CHECK(std::find(names.begin(), names.end(), s) != names.end(),
                    out.error_prefix("states")
                        << "model " << model->name() << " has no state \"" << s << "\"");
    }
  }
  out.get("vti_interval", cfg.output.vti_interval, 0.0, 1e12);
  out.get("binary_interval", cfg.output.binary_interval, 0.0, 1e12);
  out.get("maps", cfg.output.maps);
  out.get("noise", cfg.output.noise, 0.0, 10.0);
  out.get("noise_seed", cfg.output.noise_seed);
  core::Json probes = core::Json::object();
  out.get("probes", probes);
  METAEIK_CHECK(probes.is_object(), out.error_prefix("probes") << "expected an object {name: [x, y, z]}");
  for (const auto& [name, value] : probes.items())
    cfg.output.probes.emplace_back(name, read_point(out, "probes." + name, value, static_cast<int>(dims)));
  out.finish();

  r.get("threads", cfg.threads, 0, 4096);
  r.finish();
  validate_tissue_config(cfg, source);
  return cfg;
}

void validate_tissue_config(const TissueConfig& cfg, const std::string& source) {
  const auto& t = cfg.tissue;
  if (is_fem_scheme(t.scheme)) {
    const auto D = diffusion_tensor(t);
    METAEIK_CHECK(D[1] == 0 && D[2] == 0 && D[5] == 0,
                  source << ": key 'diffusion.scheme': " << t.scheme
                         << " needs the fibre along a grid axis; use fd for oblique fibres");
  }
  const std::string problem = time_step_problem(t);
  METAEIK_CHECK(problem.empty(), source << ": key 'time.dt': " << problem);
  METAEIK_CHECK(t.duration > 0, source << ": key 'time.duration': must be positive, got " << t.duration);
  auto check_interval = [&](const char* key, double interval) {
    if (interval <= 0) return;
    const double steps = interval / t.dt;
    METAEIK_CHECK(std::abs(steps - std::round(steps)) < 1e-6 * std::max(1.0, steps),
                  source << ": key 'output." << key << "': " << interval
                         << " ms is not a multiple of dt = " << t.dt << " ms");
  };
  check_interval("vti_interval", cfg.output.vti_interval);
  check_interval("binary_interval", cfg.output.binary_interval);
}

TissueRunSummary run_tissue(const TissueConfig& cfg, const std::filesystem::path& out_dir, bool overwrite) {
  auto model = make_regional_cell_model(cfg.model, cfg.variant, cfg.parameters, cfg.regions, cfg.tissue.grid,
                                        "config");
  if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
  const Grid& g = cfg.tissue.grid;
  const std::size_t n = g.size();
  spdlog::info("tissue: model {}, grid {}×{}×{} nodes (dx {} mm, {} cells), dt {} ms, {} ms, {} threads",
               model->name(), g.nx, g.ny, g.nz, g.dx, n, cfg.tissue.dt, cfg.tissue.duration,
               omp_get_max_threads());

  core::AtomicDirectory dir(out_dir, overwrite);
  std::vector<int> vars;
  for (const auto& s : cfg.output.states) vars.push_back(model->state_index(s));

  std::vector<FrameSink> sinks;
  std::vector<std::pair<double, std::string>> pvd_entries;
  if (cfg.output.vti_interval > 0) {
    std::filesystem::create_directories(dir.path() / "frames");
    sinks.push_back({cfg.output.vti_interval, [&](double t, const CellStates& s) {
                       std::vector<GridArray> arrays;
                       for (std::size_t k = 0; k < vars.size(); ++k)
                         arrays.push_back({cfg.output.states[k],
                                           std::vector<double>(s.state(vars[k]), s.state(vars[k]) + n)});
                       char name[64];
                       std::snprintf(name, sizeof name, "frames/frame_%06zu.vti", pvd_entries.size());
                       write_vti(dir.path() / name, g, arrays);
                       pvd_entries.emplace_back(t, name);
                     }});
  }
  std::unique_ptr<BinaryFrames> binary;
  if (cfg.output.binary_interval > 0) {
    binary = std::make_unique<BinaryFrames>(dir.path() / "states.bin", vars);
    sinks.push_back(
        {cfg.output.binary_interval, [&](double t, const CellStates& s) { binary->write(t, s); }});
  }

  TissueRunSummary summary;
  summary.result = simulate_tissue(cfg.tissue, *model, sinks);
  const TissueResult& res = summary.result;

  for (const auto& [name, p] : cfg.output.probes) {
    const std::size_t node = g.nearest(p);
    summary.probes.push_back({name, p, node, res.activation_time[node], res.apd90[node]});
  }
  auto or_minus1 = [](const std::vector<double>& x) {
    std::vector<double> y(x);
    for (double& v : y)
      if (std::isnan(v)) v = -1;
    return y;
  };
  if (cfg.output.maps)
    write_vti(
        dir.path() / "maps.vti", g,
        {{"activation_time", or_minus1(res.activation_time), false}, {"apd90", or_minus1(res.apd90), false}});
  if (!pvd_entries.empty()) write_pvd(dir.path() / "states.pvd", pvd_entries);

  core::Json files = core::Json::array();
  if (binary) {
    binary->close();
    const auto& times = binary->times();
    core::Json header{{"file", "states.bin"},
                      {"dtype", "float32"},
                      {"byte_order", "little"},
                      {"layout", {"frame", "variable", "node"}},
                      {"shape", {times.size(), vars.size(), n}},
                      {"variables", cfg.output.states},
                      {"units", core::Json::array()},
                      {"times_ms", times},
                      {"interval_ms", cfg.output.binary_interval},
                      {"grid", grid_json(g)},
                      {"model", model->name()}};
    for (int v : vars)
      header["units"].push_back(v == 0 ? model->voltage_unit()
                                       : (cfg.model == "ttp06" && v <= 5 ? "mM" : "1"));
    if (cfg.output.noise > 0) {
      write_noisy_copy(dir.path() / "states.bin", dir.path() / "states_noisy.bin", times.size(), vars.size(),
                       n, cfg.output.noise, cfg.output.noise_seed);
      header["noisy_file"] = "states_noisy.bin";
      header["noise"] = {
          {"relative_sigma", cfg.output.noise},
          {"seed", cfg.output.noise_seed},
          {"definition", "sigma = noise * (max - min of the variable over all frames and nodes)"}};
    }
    core::save_json_file(dir.path() / "states.json", header);
  }

  core::write_file_atomically(dir.path() / "probes.csv", [&](std::ostream& os) {
    os << "name,x,y,z,node,activation_time,apd90\n" << std::setprecision(8);
    for (const auto& p : summary.probes) {
      const auto x = g.point(p.node);
      os << p.name << ',' << x[0] << ',' << x[1] << ',' << x[2] << ',' << p.node << ',' << p.activation_time
         << ',' << p.apd90 << '\n';
    }
  });

  std::size_t activated = 0;
  double t_max = 0;
  for (double t : res.activation_time)
    if (!std::isnan(t)) ++activated, t_max = std::max(t_max, t);
  core::Json probes = core::Json::object();
  for (const auto& p : summary.probes)
    probes[p.name] = {{"point_mm", p.point},
                      {"node", p.node},
                      {"activation_time_ms", p.activation_time},
                      {"apd90_ms", p.apd90}};
  core::Json s{{"model", model->name()},
               {"grid", grid_json(g)},
               {"dt_ms", cfg.tissue.dt},
               {"splitting", cfg.tissue.splitting},
               {"duration_ms", cfg.tissue.duration},
               {"t_end_ms", res.t_end},
               {"steps", res.steps},
               {"nodes", n},
               {"threads", omp_get_max_threads()},
               {"wall_seconds", res.wall_seconds},
               {"cell_steps_per_second", res.wall_seconds > 0 ? n * res.steps / res.wall_seconds : 0.0},
               {"activated_nodes", activated},
               {"last_activation_ms", t_max},
               {"probes", probes},
               {"frames_vti", pvd_entries.size()},
               {"frames_binary", binary ? binary->times().size() : 0},
               {"config", cfg.json}};
  core::save_json_file(dir.path() / "summary.json", s);
  dir.commit();
  spdlog::info("tissue: wrote {}", out_dir.string());
  return summary;
}

}  // namespace metaeik::monodomain
