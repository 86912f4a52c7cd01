// Dataset configs: the built-in paper default, reading (one-line errors naming the key) and
// writing (to_json). Generation itself is in dataset_generate.cpp.

#include <cmath>
#include <regex>

#include "core/fs.hpp"
#include "core/random.hpp"
#include "eikonal/dataset_generate.hpp"

namespace metaeik::eikonal {

namespace fs = std::filesystem;
using core::Json;

namespace {

// The generator seed stream of generated geometries (dataset_generate.cpp numbers its other streams
// 1–5 << 32 the same way).
constexpr std::uint64_t kStreamGenerator = 4ULL << 32;

GeometrySpec biv_geometry(const std::string& name, std::uint64_t seed, double endo_s, double endo_l,
                          double epi_s, double epi_l, double rv_x, double rv_y, double rv_z, double rv_wall) {
  GeometrySpec g;
  g.name = name;
  g.generator.shape = "biv";
  g.generator.target_nodes = 2000;
  g.generator.seed = seed;
  g.generator.lv_endo_short_radius = endo_s;
  g.generator.lv_endo_long_radius = endo_l;
  g.generator.lv_epi_short_radius = epi_s;
  g.generator.lv_epi_long_radius = epi_l;
  g.generator.rv_endo_radius_x = rv_x;
  g.generator.rv_endo_radius_y = rv_y;
  g.generator.rv_endo_radius_z = rv_z;
  g.generator.rv_wall_thickness = rv_wall;
  return g;
}

void check_positive(core::JsonReader& r, const std::string& key, double value) {
  METAEIK_CHECK(value > 0 && std::isfinite(value), r.error_prefix(key) << "must be positive, got " << value);
}

GeometrySpec read_geometry(const Json& j, const std::string& source, int index, std::uint64_t seed,
                           const fs::path& base_dir) {
  const std::string prefix = "geometries[" + std::to_string(index) + "]";
  core::JsonReader r(j, source, prefix);
  GeometrySpec g;
  r.get("name", g.name);
  if (g.name.empty()) g.name = "geom_" + std::to_string(index);
  METAEIK_CHECK(std::regex_match(g.name, std::regex("[A-Za-z0-9_.-]+")),
                r.error_prefix("name")
                    << "\"" << g.name << "\" must consist of letters, digits, '_', '-', '.'");
  const bool has_file = r.has("file"), has_gen = r.has("generator");
  METAEIK_CHECK(has_file != has_gen,
                source << ": key '" << prefix << "': give exactly one of 'generator' and 'file'");
  if (has_gen) {
    auto gr = r.child("generator");
    g.generator.shape = "biv";
    g.generator.seed = core::mix_seed(seed ^ (kStreamGenerator + std::uint64_t(index)));
    geometry::read_generator_options(gr, g.generator);
    gr.finish();
  } else {
    g.from_file = true;
    std::string file;
    r.get("file", file);
    g.file =
        (file.empty() || fs::path(file).is_absolute() || base_dir.empty()) ? fs::path(file) : base_dir / file;
    g.file = g.file.lexically_normal();
    METAEIK_CHECK(fs::is_regular_file(g.file), r.error_prefix("file")
                                                   << g.file.string() << " does not exist");
    r.get("surface_array", g.surface_array);
    if (r.has("surface_map")) {
      const Json& m = r.json().at("surface_map");
      METAEIK_CHECK(m.is_object(), r.error_prefix("surface_map")
                                       << "expected an object {\"file label\": our label}, got "
                                       << core::json_type_name(m));
      auto mr = r.child("surface_map");
      for (const auto& item : m.items()) {
        int from = 0, to = 0;
        try {
          std::size_t pos = 0;
          from = std::stoi(item.key(), &pos);
          METAEIK_CHECK(pos == item.key().size(), "");
        } catch (...) {
          METAEIK_FAIL(mr.error_prefix(item.key()) << "file label must be an integer");
        }
        mr.get(item.key(), to, 0, 4);
        g.surface_map[from] = to;
      }
    }
    r.get_choice("aha", g.aha, {"shape", "none"});
  }
  r.finish();
  return g;
}

Json geometry_to_json(const GeometrySpec& g) {
  Json j{{"name", g.name}};
  if (!g.from_file) {
    j["generator"] = geometry::generator_to_json(g.generator);
  } else {
    j["file"] = g.file.string();
    j["surface_array"] = g.surface_array;
    Json m = Json::object();
    for (const auto& [from, to] : g.surface_map) m[std::to_string(from)] = to;
    j["surface_map"] = m;
    j["aha"] = g.aha;
  }
  return j;
}

}  // namespace

DatasetConfig default_dataset_config() {
  DatasetConfig c;
  // Four BiV shapes: reference (Land et al. LV + RV), larger/dilated, smaller/thinner RV,
  // elongated with a thick RV wall. All ~2000 nodes.
  c.geometries = {
      biv_geometry("biv_0", 11, 7.0, 17.0, 10.0, 20.0, 12.0, 11.0, 15.0, 3.0),
      biv_geometry("biv_1", 12, 8.0, 18.0, 11.0, 21.0, 13.0, 12.0, 16.0, 3.0),
      biv_geometry("biv_2", 13, 6.5, 16.0, 9.5, 19.0, 11.0, 10.0, 14.0, 2.5),
      biv_geometry("biv_3", 14, 7.0, 19.0, 10.5, 22.5, 12.5, 11.5, 17.0, 3.5),
  };
  return c;
}

DatasetConfig read_dataset_config(core::JsonReader& r, const fs::path& base_dir) {
  const std::string source = [&] {
    // The reader's error prefix is "<source>: key '<path>': "; recover <source> for our messages.
    const std::string p = r.error_prefix("");
    return p.substr(0, p.rfind(": key '"));
  }();
  DatasetConfig c = default_dataset_config();
  r.get("seed", c.seed);
  if (r.has("geometries")) {
    Json list;
    r.get("geometries", list);
    METAEIK_CHECK(list.is_array() && !list.empty(), r.error_prefix("geometries")
                                                        << "expected a non-empty array, got "
                                                        << core::json_type_name(list));
    c.geometries.clear();
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      c.geometries.push_back(read_geometry(list[i], source, int(i), c.seed, base_dir));
      METAEIK_CHECK(names.insert(c.geometries.back().name).second,
                    source << ": key 'geometries[" << i << "].name': \"" << c.geometries.back().name
                           << "\" is used twice");
    }
  }
  {
    auto s = r.child("scars");
    s.get_choice("kind", c.scars.kind, {"aha", "blob"});
    if (s.has("aha_groups")) {
      s.get("aha_groups", c.scars.aha_groups);
      METAEIK_CHECK(!c.scars.aha_groups.empty(), s.error_prefix("aha_groups") << "must not be empty");
      for (std::size_t i = 0; i < c.scars.aha_groups.size(); ++i) {
        METAEIK_CHECK(!c.scars.aha_groups[i].empty(), s.error_prefix("aha_groups[" + std::to_string(i) + "]")
                                                          << "must not be empty");
        for (int seg : c.scars.aha_groups[i])
          METAEIK_CHECK(seg >= 1 && seg <= 18, s.error_prefix("aha_groups[" + std::to_string(i) + "]")
                                                   << "segment " << seg << " is not an AHA segment 1-18");
      }
    }
    s.get("blob_count", c.scars.blob_count, 1, 1000);
    auto b = s.child("blob");
    b.get("bumps", c.scars.blob.bumps, 1, 100);
    b.get("min_radius", c.scars.blob.min_radius);
    b.get("max_radius", c.scars.blob.max_radius);
    check_positive(b, "min_radius", c.scars.blob.min_radius);
    METAEIK_CHECK(c.scars.blob.max_radius >= c.scars.blob.min_radius,
                  b.error_prefix("max_radius") << c.scars.blob.max_radius << " is smaller than min_radius "
                                               << c.scars.blob.min_radius);
    b.finish();
    s.get("border_width", c.scars.border_width);
    METAEIK_CHECK(c.scars.border_width >= 0 && std::isfinite(c.scars.border_width),
                  s.error_prefix("border_width") << "must be >= 0, got " << c.scars.border_width);
    s.finish();
  }
  r.get("healthy_speed", c.healthy_speed);
  check_positive(r, "healthy_speed", c.healthy_speed);
  r.get("scar_speed", c.scar_speed);
  check_positive(r, "scar_speed", c.scar_speed);
  r.get("maps_per_subject", c.maps_per_subject, 1, 1000000);
  r.get("sources_per_map", c.sources_per_map, 1, 1000);
  {
    auto s = r.child("split");
    s.get("train", c.train, 0, c.maps_per_subject);
    s.get("val", c.val, 0, c.maps_per_subject);
    METAEIK_CHECK(c.train + c.val <= c.maps_per_subject,
                  s.error_prefix("val") << "train " << c.train << " + val " << c.val
                                        << " exceeds maps_per_subject " << c.maps_per_subject);
    int test = c.maps_per_subject - c.train - c.val;
    if (s.has("test")) {
      s.get("test", test, 0, c.maps_per_subject);
      METAEIK_CHECK(c.train + c.val + test == c.maps_per_subject,
                    s.error_prefix("test") << "train " << c.train << " + val " << c.val << " + test " << test
                                           << " must equal maps_per_subject " << c.maps_per_subject);
    }
    s.finish();
  }
  r.get_choice("origins", c.origins, {"any", "endocardial"});
  {
    auto o = r.child("observation");
    o.get("surface_labels", c.observation.surface_labels);
    METAEIK_CHECK(!c.observation.surface_labels.empty(), o.error_prefix("surface_labels")
                                                             << "must not be empty");
    for (int l : c.observation.surface_labels)
      METAEIK_CHECK(l >= 0 && l <= 4, o.error_prefix("surface_labels")
                                          << "label " << l << " is not a surface label 0-4");
    o.get("fraction", c.observation.fraction);
    METAEIK_CHECK(c.observation.fraction > 0 && c.observation.fraction <= 1,
                  o.error_prefix("fraction") << "must be in (0, 1], got " << c.observation.fraction);
    o.finish();
  }
  {
    auto n = r.child("noise");
    n.get("std_ms", c.noise.std_ms);
    METAEIK_CHECK(c.noise.std_ms >= 0 && std::isfinite(c.noise.std_ms),
                  n.error_prefix("std_ms") << "must be >= 0, got " << c.noise.std_ms);
    n.get("percent_of_range", c.noise.percent_of_range);
    METAEIK_CHECK(c.noise.percent_of_range >= 0 && c.noise.percent_of_range <= 100,
                  n.error_prefix("percent_of_range")
                      << "must be in [0, 100], got " << c.noise.percent_of_range);
    METAEIK_CHECK(!(c.noise.std_ms > 0 && c.noise.percent_of_range > 0),
                  n.error_prefix("percent_of_range") << "give either std_ms or percent_of_range, not both");
    n.finish();
  }
  {
    auto s = r.child("solver");
    s.get("tolerance", c.solver.tolerance);
    check_positive(s, "tolerance", c.solver.tolerance);
    s.get("max_iterations", c.solver.max_iterations, 1, 1000000000);
    s.get("threads", c.solver.threads, 0, 4096);
    s.finish();
  }
  r.finish();
  return c;
}

DatasetConfig load_dataset_config(const fs::path& path) {
  METAEIK_CHECK(fs::is_regular_file(path), path.string() << ": config file does not exist");
  const Json j = core::load_json_file(path);
  core::JsonReader r(j, path.string());
  return read_dataset_config(r, path.parent_path());
}

Json to_json(const DatasetConfig& c) {
  Json geoms = Json::array();
  for (const auto& g : c.geometries) geoms.push_back(geometry_to_json(g));
  return Json{{"seed", c.seed},
              {"geometries", geoms},
              {"scars",
               {{"kind", c.scars.kind},
                {"aha_groups", c.scars.aha_groups},
                {"blob_count", c.scars.blob_count},
                {"blob",
                 {{"bumps", c.scars.blob.bumps},
                  {"min_radius", c.scars.blob.min_radius},
                  {"max_radius", c.scars.blob.max_radius}}},
                {"border_width", c.scars.border_width}}},
              {"healthy_speed", c.healthy_speed},
              {"scar_speed", c.scar_speed},
              {"maps_per_subject", c.maps_per_subject},
              {"sources_per_map", c.sources_per_map},
              {"split", {{"train", c.train}, {"val", c.val}, {"test", c.maps_per_subject - c.train - c.val}}},
              {"origins", c.origins},
              {"observation",
               {{"surface_labels", c.observation.surface_labels}, {"fraction", c.observation.fraction}}},
              {"noise", {{"std_ms", c.noise.std_ms}, {"percent_of_range", c.noise.percent_of_range}}},
              {"solver",
               {{"tolerance", c.solver.tolerance},
                {"max_iterations", c.solver.max_iterations},
                {"threads", c.solver.threads}}}};
}

}  // namespace metaeik::eikonal
