// End-to-end `metaeikonal cell` and `metaeikonal tissue`: outputs, binary layout and one-line
// errors for bad configs.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "monodomain/vti_io.hpp"

namespace metaeik::monodomain {
namespace {

namespace fs = std::filesystem;

struct Run {
  int code;
  std::string err;
};

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("metaeik_monodomain_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

Run run_cli(const std::string& args) {
  const fs::path err = scratch("stderr.txt");
  const std::string cmd = std::string(METAEIK_CLI) + " -q " + args + " 2> " + err.string() + " > /dev/null";
  const int status = std::system(cmd.c_str());
  std::ifstream is(err);
  std::stringstream ss;
  ss << is.rdbuf();
  return {WEXITSTATUS(status), ss.str()};
}

std::string config(const std::string& name) { return std::string(METAEIK_SOURCE_DIR) + "/configs/" + name; }

fs::path write_config(const std::string& name, const core::Json& j) {
  const fs::path p = scratch(name);
  std::ofstream(p) << j.dump(2);
  return p;
}

core::Json aphyn() { return core::load_json_file(config("tissue/aphyn_slab.json")); }

TEST(TissueCli, NegativeTimeStepIsAOneLineError) {
  auto j = aphyn();
  j["time"]["dt"] = -0.01;
  const auto p = write_config("neg_dt.json", j);
  const auto r = run_cli("tissue --config " + p.string() + " -o " + scratch("out_neg").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: neg_dt.json: key 'time.dt': dt = -0.01 ms: the time step must be positive\n");
}

TEST(TissueCli, UnstableTimeStepIsAOneLineError) {
  const auto r = run_cli("tissue --config " + config("tissue/niederer.json") + " --dx 0.2 --dt 0.1 -o " +
                         scratch("out_unstable").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(
      r.err,
      "error: niederer.json: key 'time.dt': dt = 0.1 ms is unstable for explicit diffusion: must be <= "
      "0.05534 ms "
      "at dx = 0.2 mm (D_long = 0.0953, D_trans = 0.01258 mm^2/ms, fem-svi scheme, godunov splitting)\n");
  EXPECT_FALSE(fs::exists(scratch("out_unstable")));
}

TEST(TissueCli, UnknownModelIsAOneLineError) {
  auto j = aphyn();
  j["cell"]["model"] = "hodgkin_huxley";
  const auto p = write_config("bad_model.json", j);
  const auto r = run_cli("tissue --config " + p.string() + " -o " + scratch("out_model").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: bad_model.json: key 'cell.model': unknown cell model \"hodgkin_huxley\" (expected one of "
            "fhn, ms, "
            "ttp06)\n");
}

TEST(TissueCli, UnknownKeyAndStateAreOneLineErrors) {
  auto j = aphyn();
  j["output"]["states"] = {"V", "Ca_i"};
  auto r = run_cli("tissue --config " + write_config("bad_state.json", j).string() + " -o " +
                   scratch("o1").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: bad_state.json: key 'output.states': model ttp06-epi has no state \"Ca_i\"\n");
  j = aphyn();
  j["time"]["dtt"] = 0.1;
  r = run_cli("tissue --config " + write_config("bad_key.json", j).string() + " -o " +
              scratch("o2").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: bad_key.json: key 'time.dtt': unknown key\n");
}

TEST(TissueCli, UnknownSchemeAndBadSviOptionsAreOneLineErrors) {
  auto r = run_cli("tissue --config " + config("tissue/niederer.json") + " --scheme fem-sv -o " +
                   scratch("o3").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: niederer.json: key 'diffusion.scheme': unknown value \"fem-sv\" (expected one of \"fd\", "
            "\"fem\", \"fem-svi\")\n");
  auto j = core::load_json_file(config("tissue/niederer.json"));
  j["diffusion"]["svi_states"] = "gates";
  r = run_cli("tissue --config " + write_config("bad_svi.json", j).string() + " -o " +
              scratch("o4").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(
      r.err,
      "error: bad_svi.json: key 'diffusion.svi_states': unknown value \"gates\" (expected one of \"all\", "
      "\"v\")\n");
  j = core::load_json_file(config("tissue/niederer.json"));
  j["diffusion"]["svi_tolerance"] = -1;
  r = run_cli("tissue --config " + write_config("bad_tol.json", j).string() + " -o " +
              scratch("o5").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: bad_tol.json: key 'diffusion.svi_tolerance': value -1 is out of range [0, 1e+09]\n");
}

TEST(CellCli, TraceAndFeatures) {
  const fs::path out = scratch("ttp06.csv");
  const auto r = run_cli("cell --model ttp06 --variant epi --protocol " + config("cell/ttp06_1hz.json") +
                         " --beats 2 -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream is(out);
  std::string header;
  std::getline(is, header);
  EXPECT_EQ(header, "time,V,Ki,Nai,Cai,CaSR,Cass,Rprime,Xr1,Xr2,Xs,m,h,j,d,f,f2,fCass,s,r");
  std::ifstream fs_(scratch("ttp06_features.csv"));
  std::string line;
  int rows = 0;
  while (std::getline(fs_, line)) ++rows;
  EXPECT_EQ(rows, 3);  // header + 2 beats
  for (const char* model : {"ms", "fhn"}) {
    const auto rr = run_cli(std::string("cell --model ") + model + " --protocol " +
                            config(std::string("cell/") + model + "_default.json") + " -o " +
                            scratch(std::string(model) + ".csv").string());
    EXPECT_EQ(rr.code, 0) << rr.err;
  }
  const auto bad = run_cli("cell --model ms --variant epi --protocol " + config("cell/ms_default.json") +
                           " -o " + scratch("x.csv").string());
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err,
            "error: " + config("cell/ms_default.json") + ": model ms has no variants (got \"epi\")\n");
}

TEST(TissueCli, LstmSlabWritesParaViewAndBinaryOutputs) {
  const fs::path out = scratch("lstm");
  const auto r = run_cli("tissue --config lstm_slab --duration 40 --overwrite -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto header = core::load_json_file(out / "states.json");
  EXPECT_EQ(header["shape"], core::Json({41, 4, 576}));
  EXPECT_EQ(header["variables"], core::Json({"V", "Cai", "CaSR", "Cass"}));
  EXPECT_EQ(fs::file_size(out / "states.bin"), 4u * 41 * 4 * 576);
  // The first frame is the resting TTP06 epi state; V is the first variable.
  std::ifstream bin(out / "states.bin", std::ios::binary);
  float v0;
  bin.read(reinterpret_cast<char*>(&v0), 4);
  EXPECT_FLOAT_EQ(v0, -85.23f);
  EXPECT_TRUE(fs::exists(out / "states.pvd"));
  EXPECT_TRUE(fs::exists(out / "frames" / "frame_000004.vti"));
  Grid g;
  const auto at = read_vti_array(out / "maps.vti", "activation_time", &g);
  EXPECT_EQ(g.nx, 24);
  EXPECT_EQ(g.ny, 24);
  // Stimulated from the [0.8, 1]² corner: activated there first, last at the opposite corner.
  EXPECT_LT(at[g.index(23, 23, 0)], 2.0);
  EXPECT_GT(at[g.index(0, 0, 0)], at[g.index(12, 12, 0)]);
  const auto summary = core::load_json_file(out / "summary.json");
  EXPECT_EQ(summary["activated_nodes"], 576);
  // An existing directory is not replaced without --overwrite.
  const auto again = run_cli("tissue --config lstm_slab --duration 5 -o " + out.string());
  EXPECT_EQ(again.code, 1);
}

TEST(TissueCli, AphynSlabNoisyCopy) {
  auto j = aphyn();
  j["output"]["noise"] = 0.05;
  j["output"]["vti_interval"] = 0;
  const fs::path out = scratch("aphyn_noise");
  const auto r = run_cli("tissue --config " + write_config("aphyn_noise.json", j).string() +
                         " --duration 10 --overwrite -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto header = core::load_json_file(out / "states.json");
  EXPECT_EQ(header["noisy_file"], "states_noisy.bin");
  EXPECT_EQ(header["shape"], core::Json({11, 1, 576}));
  ASSERT_EQ(fs::file_size(out / "states_noisy.bin"), fs::file_size(out / "states.bin"));
  EXPECT_FALSE(fs::exists(out / "states.pvd"));
  // σ = 5 % of the V range over the run: the noisy copy differs by about that much on average.
  std::ifstream clean(out / "states.bin", std::ios::binary),
      noisy(out / "states_noisy.bin", std::ios::binary);
  std::vector<float> a(11 * 576), b(11 * 576);
  clean.read(reinterpret_cast<char*>(a.data()), a.size() * 4);
  noisy.read(reinterpret_cast<char*>(b.data()), b.size() * 4);
  float lo = a[0], hi = a[0];
  double sq = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    lo = std::min(lo, a[i]), hi = std::max(hi, a[i]), sq += (b[i] - a[i]) * (b[i] - a[i]);
  const double rms = std::sqrt(sq / a.size());
  EXPECT_NEAR(rms, 0.05 * (hi - lo), 0.1 * 0.05 * (hi - lo));
}

}  // namespace
}  // namespace metaeik::monodomain
