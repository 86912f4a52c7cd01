#pragma once
// Checkpoints of the meta models (meta-PINN, meta-FIM): parameters, optimiser state, the
// architecture signature they must match, the epoch and the best validation score.

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>

namespace metaeik::metapinn {

/// Writes `path` atomically.
void save_meta_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                          torch::optim::Optimizer& optimizer, const std::string& signature, int epoch,
                          double best);

/// Loads parameters (and the optimiser state when given) after checking `signature`; returns
/// (epoch, best), (0, −∞) where the file lacks them. Errors name the file.
std::pair<int, double> load_meta_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                            torch::optim::Optimizer* optimizer, const std::string& signature,
                                            torch::Device device);

}  // namespace metaeik::metapinn
