// The adaptive Dormand–Prince integrator against analytic solutions, its step control, and
// gradients through its steps.
#include "surrogates/lstm/dormand_prince.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/errors.hpp"

namespace metaeik::surrogates::lstm {
namespace {

auto opts(double rtol, double atol) {
  DopriOptions o;
  o.rtol = rtol;
  o.atol = atol;
  return o;
}

TEST(DormandPrince, ExponentialDecayMatchesAnalyticSolution) {
  const auto y0 = torch::tensor({1.0, 2.0}, torch::kDouble);
  const std::vector<double> t{0, 0.5, 1, 2, 5};
  DopriStats st;
  const auto y =
      odeint_dopri5([](double, const torch::Tensor& y) { return -y; }, y0, t, opts(1e-8, 1e-10), &st);
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{5, 2}));
  for (std::size_t k = 0; k < t.size(); ++k) {
    EXPECT_NEAR(y[k][0].item<double>(), std::exp(-t[k]), 1e-7);
    EXPECT_NEAR(y[k][1].item<double>(), 2 * std::exp(-t[k]), 2e-7);
  }
  EXPECT_EQ(st.evaluations,
            1 + 6 * (st.accepted + st.rejected) + 1);  // f(t0), 6 per attempt, initial-step probe
}

TEST(DormandPrince, HarmonicOscillatorErrorFollowsTheTolerance) {
  // y'' = −ω² y as (x, v); x(t) = cos ωt, v(t) = −ω sin ωt. Ten periods.
  const double w = 2.0;
  auto f = [w](double, const torch::Tensor& y) { return torch::stack({y[1], -w * w * y[0]}); };
  const auto y0 = torch::tensor({1.0, 0.0}, torch::kDouble);
  const double T = 10 * 2 * M_PI / w;
  double previous_error = INFINITY;
  int previous_steps = 0;
  for (double tol : {1e-3, 1e-6, 1e-9}) {
    DopriStats st;
    const auto y = odeint_dopri5(f, y0, {0, T}, opts(tol, tol), &st);
    const double err =
        std::hypot(y[1][0].item<double>() - std::cos(w * T), y[1][1].item<double>() + w * std::sin(w * T));
    EXPECT_LT(err, 1000 * tol) << "tol " << tol;  // global error ≈ steps × local tolerance
    EXPECT_LT(err, previous_error);
    EXPECT_GT(st.accepted, previous_steps);  // tighter tolerance → more steps
    previous_error = err;
    previous_steps = st.accepted;
  }
}

TEST(DormandPrince, TooLargeFirstStepIsRejectedAndShrunk) {
  DopriOptions o = opts(1e-6, 1e-9);
  o.first_step = 5.0;
  DopriStats st;
  const auto y = odeint_dopri5([](double, const torch::Tensor& y) { return -3 * y; },
                               torch::tensor({1.0}, torch::kDouble), {0, 2}, o, &st);
  EXPECT_GT(st.rejected, 0);
  EXPECT_NEAR(y[1][0].item<double>(), std::exp(-6.0), 1e-7);
}

TEST(DormandPrince, StepsLandOnEveryOutputTime) {
  // A piecewise-time RHS: dy/dt = t, y(t) = t²/2 (exact for RK of order ≥ 2).
  std::vector<double> t;
  for (int k = 0; k <= 20; ++k) t.push_back(0.1 * k);
  const auto y = odeint_dopri5([](double tt, const torch::Tensor& y) { return torch::full_like(y, tt); },
                               torch::zeros({1}, torch::kDouble), t, opts(1e-6, 1e-9));
  for (std::size_t k = 0; k < t.size(); ++k) EXPECT_NEAR(y[k][0].item<double>(), t[k] * t[k] / 2, 1e-12);
}

TEST(DormandPrince, GradientsFlowThroughTheSteps) {
  // y' = a·y, y(T) = y0·exp(aT): dy/da = T·y(T), dy/dy0 = exp(aT).
  auto a = torch::tensor({-0.7}, torch::TensorOptions().dtype(torch::kDouble).requires_grad(true));
  auto y0 = torch::tensor({1.5}, torch::TensorOptions().dtype(torch::kDouble).requires_grad(true));
  const double T = 2;
  const auto y =
      odeint_dopri5([&](double, const torch::Tensor& y) { return a * y; }, y0, {0, T}, opts(1e-9, 1e-12));
  y[1][0].backward();
  const double yT = 1.5 * std::exp(-0.7 * T);
  EXPECT_NEAR(a.grad().item<double>(), T * yT, 1e-7);
  EXPECT_NEAR(y0.grad().item<double>(), std::exp(-0.7 * T), 1e-8);
}

TEST(DormandPrince, BadTimesAreErrors) {
  auto f = [](double, const torch::Tensor& y) { return y; };
  EXPECT_EQ(test::error_of([&] {
              odeint_dopri5(f, torch::zeros({1}), {0, 1, 1});
            }),
            "odeint_dopri5: output times must increase strictly (index 2)");
}

}  // namespace
}  // namespace metaeik::surrogates::lstm
