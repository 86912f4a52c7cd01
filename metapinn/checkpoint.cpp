#include "metapinn/checkpoint.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/zip_check.hpp"

namespace metaeik::metapinn {
namespace {
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

void save_meta_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                          torch::optim::Optimizer& optimizer, const std::string& signature, int epoch,
                          double best) {
  torch::serialize::OutputArchive ar;
  model.save(ar);
  torch::serialize::OutputArchive opt;
  optimizer.save(opt);
  ar.write("optimizer", opt);
  ar.write("meta_signature", c10::IValue(signature));
  ar.write("meta_epoch", c10::IValue(int64_t(epoch)));
  ar.write("meta_best", c10::IValue(best));
  core::write_atomically(path, [&](const std::filesystem::path& tmp) { ar.save_to(tmp.string()); });
}

std::pair<int, double> load_meta_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                            torch::optim::Optimizer* optimizer, const std::string& signature,
                                            torch::Device device) {
  METAEIK_CHECK(std::filesystem::is_regular_file(path), path.string() << ": checkpoint not found");
  torch::serialize::InputArchive ar;
  // LibTorch reports a damaged archive with c10::Error or another std::exception, at any step.
  const auto read = [&](const char* what, const auto& step) {
    try {
      step();
    } catch (const core::Error&) {
      throw;
    } catch (const c10::Error& e) {
      METAEIK_FAIL(path.string() << ": " << what << " (" << first_line(e.what_without_backtrace()) << ")");
    } catch (const std::exception& e) {
      METAEIK_FAIL(path.string() << ": " << what << " (" << first_line(e.what()) << ")");
    }
  };
  c10::IValue sig, epoch, best;
  read("not a readable checkpoint", [&] {
    core::check_zip_archive(path);  // LibTorch's reader can crash on a damaged archive
    ar.load_from(path.string(), device);
    METAEIK_CHECK(ar.try_read("meta_signature", sig) && sig.isString(),
                  path.string() << ": not a MetaEikonal checkpoint (no architecture signature)");
  });
  METAEIK_CHECK(sig.toStringRef() == signature,
                path.string() << ": checkpoint architecture '" << sig.toStringRef()
                              << "' does not match the configured '" << signature << "'");
  read("checkpoint does not fit the model", [&] {
    model.load(ar);
    if (optimizer) {
      torch::serialize::InputArchive opt;
      ar.read("optimizer", opt);
      optimizer->load(opt);
    }
    ar.try_read("meta_epoch", epoch);
    ar.try_read("meta_best", best);
  });
  return {epoch.isInt() ? int(epoch.toInt()) : 0, best.isDouble() ? best.toDouble() : -INFINITY};
}

}  // namespace metaeik::metapinn
