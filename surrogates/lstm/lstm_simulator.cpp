#include "surrogates/lstm/lstm_simulator.hpp"

namespace metaeik::surrogates::lstm {

LstmSimulatorImpl::LstmSimulatorImpl(LstmSimulatorOptions o) : options(std::move(o)) { reset(); }

void LstmSimulatorImpl::reset() {
  const int64_t in = options.frame_size() + options.extra_inputs();
  lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(in, options.hidden())
                                                     .num_layers(options.layers())
                                                     .dropout(options.layers() > 1 ? options.dropout() : 0.0)
                                                     .batch_first(true)));
  dense = register_module("dense", torch::nn::Linear(options.hidden(), options.frame_size()));
  mean = register_buffer("mean", torch::zeros({options.variables()}));
  std = register_buffer("std", torch::ones({options.variables()}));
  min = register_buffer("min", -torch::ones({options.variables()}));
  max = register_buffer("max", torch::ones({options.variables()}));
}

std::tuple<torch::Tensor, LstmState> LstmSimulatorImpl::forward(const torch::Tensor& x,
                                                                const torch::optional<LstmState>& state) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options.frame_size() + options.extra_inputs(),
              "LstmSimulator: input must be [batch, steps, ", options.frame_size() + options.extra_inputs(),
              "], got ", x.sizes());
  auto [h, s] = lstm->forward(x, state);
  return {dense->forward(h), s};
}

}  // namespace metaeik::surrogates::lstm
