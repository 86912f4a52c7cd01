#pragma once
// The LSTM tissue simulator (published architecture): a stacked torch::nn::LSTM over flattened,
// z-scored tissue frames (plus optional pacing-phase inputs) and a dense layer hidden → frame at
// every step, trained to predict the next frame. The z-score and [−1, 1] statistics of the
// training part are buffers of the module, so a checkpoint carries them.

#include <torch/torch.h>

#include <tuple>

namespace metaeik::surrogates::lstm {

struct LstmSimulatorOptions {
  LstmSimulatorOptions(int64_t frame_size, int64_t variables)
      : frame_size_(frame_size), variables_(variables) {}
  TORCH_ARG(int64_t, frame_size);        ///< variables × nodes (2 304 for 4 × 24 × 24)
  TORCH_ARG(int64_t, variables);         ///< attributes (length of the statistics buffers)
  TORCH_ARG(int64_t, extra_inputs) = 0;  ///< pacing-phase inputs appended to each frame
  TORCH_ARG(int64_t, hidden) = 64;
  TORCH_ARG(int64_t, layers) = 2;
  TORCH_ARG(double, dropout) = 0.2;
};

using LstmState = std::tuple<torch::Tensor, torch::Tensor>;  ///< (h, c), each [layers, batch, hidden]

class LstmSimulatorImpl : public torch::nn::Cloneable<LstmSimulatorImpl> {
 public:
  explicit LstmSimulatorImpl(LstmSimulatorOptions options);
  void reset() override;

  /// x [batch, steps, frame_size + extra_inputs] → next frames [batch, steps, frame_size] and the
  /// final state. `state` empty = zeros.
  std::tuple<torch::Tensor, LstmState> forward(const torch::Tensor& x,
                                               const torch::optional<LstmState>& state = {});

  LstmSimulatorOptions options;
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear dense{nullptr};
  torch::Tensor mean, std, min, max;  ///< [variables] statistics of the training part (buffers)
};
TORCH_MODULE(LstmSimulator);

}  // namespace metaeik::surrogates::lstm
