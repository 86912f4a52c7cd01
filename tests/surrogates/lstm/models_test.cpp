// The LSTM simulator's one-step output against the LSTM equations computed by hand from the
// torch::nn::LSTM weights, the latent-ODE pieces, and config errors.
#include <gtest/gtest.h>

#include <cmath>

#include "surrogates/lstm/latent_ode.hpp"
#include "surrogates/lstm/lstm_config.hpp"
#include "surrogates/lstm/lstm_simulator.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::surrogates::lstm {
namespace {

TEST(LstmSimulator, OneStepEqualsTheLstmEquationsByHand) {
  torch::manual_seed(3);
  const int64_t D = 12, E = 3, H = 5;
  LstmSimulator sim(LstmSimulatorOptions(D, 2).extra_inputs(E).hidden(H).layers(2).dropout(0.2));
  sim->eval();
  const auto x = torch::randn({2, 1, D + E});
  const auto h0 = torch::randn({2, 2, H}), c0 = torch::randn({2, 2, H});
  torch::NoGradGuard ng;
  auto [y, state] = sim->forward(x, LstmState{h0, c0});
  // i, f, g, o gates in torch's order; layer l input is the previous layer's h.
  auto in = x.select(1, 0);
  torch::Tensor h;
  for (int l = 0; l < 2; ++l) {
    const auto sfx = std::to_string(l);
    const auto& p = sim->lstm->named_parameters();
    const auto gates = torch::matmul(in, p["weight_ih_l" + sfx].t()) + p["bias_ih_l" + sfx] +
                       torch::matmul(h0[l], p["weight_hh_l" + sfx].t()) + p["bias_hh_l" + sfx];
    const auto ch = gates.chunk(4, 1);
    const auto c = torch::sigmoid(ch[1]) * c0[l] + torch::sigmoid(ch[0]) * torch::tanh(ch[2]);
    h = torch::sigmoid(ch[3]) * torch::tanh(c);
    EXPECT_TRUE(torch::allclose(std::get<1>(state)[l], c, 1e-5, 1e-6)) << "layer " << l;
    EXPECT_TRUE(torch::allclose(std::get<0>(state)[l], h, 1e-5, 1e-6)) << "layer " << l;
    in = h;
  }
  const auto expect = torch::matmul(h, sim->dense->weight.t()) + sim->dense->bias;
  EXPECT_TRUE(torch::allclose(y.select(1, 0), expect, 1e-5, 1e-6));
  EXPECT_EQ(y.size(2), D);
}

TEST(LstmSimulator, SequenceEqualsStepByStepFeeding) {
  torch::manual_seed(4);
  LstmSimulator sim(LstmSimulatorOptions(6, 2).hidden(4));
  sim->eval();
  torch::NoGradGuard ng;
  const auto x = torch::randn({1, 7, 6});
  auto [y, s] = sim->forward(x);
  auto [y1, s1] = sim->forward(x.narrow(1, 0, 4));
  auto [y2, s2] = sim->forward(x.narrow(1, 4, 3), s1);
  EXPECT_TRUE(torch::allclose(y.narrow(1, 4, 3), y2, 1e-5, 1e-6));
  EXPECT_THROW(sim->forward(torch::randn({1, 2, 5})), c10::Error);
}

TEST(LatentOde, EncoderRunsBackwardsAndElboMatchesItsFormula) {
  torch::manual_seed(5);
  LatentOde m(LatentOdeModuleOptions(4, 1).latent(3).ode_hidden(6).recognition_hidden(5).decoder_hidden(6));
  torch::NoGradGuard ng;
  const auto x = torch::randn({2, 5, 4});
  auto [mu, logvar] = m->encode(x);
  ASSERT_EQ(mu.sizes(), (torch::IntArrayRef{2, 3}));
  // Only the first frame changed: the backwards RNN sees it last, so μ must change.
  auto x2 = x.clone();
  x2.select(1, 0).add_(1.0);
  EXPECT_FALSE(torch::allclose(std::get<0>(m->encode(x2)), mu));
  // A constant-in-time flow: decode at t = 0 equals the decoder of z0.
  const auto traj = m->decode_trajectory(mu, {0, 0.1, 0.2}, DopriOptions{});
  ASSERT_EQ(traj.sizes(), (torch::IntArrayRef{2, 3, 4}));
  EXPECT_TRUE(torch::allclose(traj.select(1, 0), m->decoder->forward(mu), 1e-5, 1e-6));
  // −ELBO by hand for one sample, σ = 0.5.
  const auto a = torch::tensor({{1.0f, 2.0f}}), b = torch::tensor({{0.5f, 2.5f}});
  const auto m0 = torch::tensor({{0.3f}}), lv = torch::tensor({{-0.2f}});
  const double nll = 0.5 * ((0.25 + 0.25) / 0.25 + 2 * std::log(2 * M_PI * 0.25));
  const double kl = 0.5 * (0.09 + std::exp(-0.2) - 1 + 0.2);
  EXPECT_NEAR(negative_elbo(a, b, m0, lv, 0.5).item<double>(), nll + kl, 1e-5);
}

TEST(LstmConfig, UnknownKeysAndBadValuesAreOneLineErrors) {
  auto err = [](const char* text) {
    return test::error_of([&] { read_lstm_config(core::Json::parse(text), "quick.json"); });
  };
  EXPECT_EQ(err(R"({"lstm": {"hiden": 64}})"), "quick.json: key 'lstm.hiden': unknown key");
  EXPECT_EQ(err(R"({"model": "gru"})"),
            "quick.json: key 'model': unknown value \"gru\" (expected one of \"lstm\", \"latent-ode\")");
  EXPECT_EQ(err(R"({"data": {"window": 1}})"),
            "quick.json: key 'data.window': value 1 is out of range [2, 1e+06]");
  EXPECT_EQ(err(R"({"data": {"train_fraction": "0.8"}})"),
            "quick.json: key 'data.train_fraction': expected a number, got a string");
  const auto c =
      read_lstm_config(core::Json::parse(R"({"model": "latent-ode", "lstm": {"hidden": 8}})"), "x");
  EXPECT_EQ(c.model, "latent-ode");
  EXPECT_EQ(c.lstm.hidden, 8);
  EXPECT_EQ(read_lstm_config(to_json(c), "x").lstm.hidden, 8);  // round trip
}

}  // namespace
}  // namespace metaeik::surrogates::lstm
