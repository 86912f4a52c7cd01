#include "surrogates/lstm/dormand_prince.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::surrogates::lstm {

namespace {

// Butcher tableau of Dormand–Prince 5(4); b5 is also the last row of a (FSAL).
constexpr double kA[6][6] = {{1.0 / 5},
                             {3.0 / 40, 9.0 / 40},
                             {44.0 / 45, -56.0 / 15, 32.0 / 9},
                             {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                             {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                             {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
constexpr double kC[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
constexpr double kB5[7] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0};
constexpr double kB4[7] = {5179.0 / 57600, 0,       7571.0 / 16695, 393.0 / 640, -92097.0 / 339200,
                           187.0 / 2100,   1.0 / 40};

/// RMS norm of the error scaled by atol + rtol·max(|y0|, |y1|) (detached).
double error_norm(const torch::Tensor& err, const torch::Tensor& y0, const torch::Tensor& y1,
                  const DopriOptions& o) {
  torch::NoGradGuard ng;
  const auto scale = o.atol + o.rtol * torch::max(y0.abs(), y1.abs());
  return (err / scale).pow(2).mean().sqrt().item<double>();
}

/// Hairer, Nørsett & Wanner (1993), II.4: a first step from two function evaluations.
double initial_step(const OdeFunction& f, double t0, const torch::Tensor& y0, const torch::Tensor& f0,
                    const DopriOptions& o, DopriStats& st) {
  torch::NoGradGuard ng;
  const auto scale = o.atol + o.rtol * y0.abs();
  const double d0 = (y0 / scale).pow(2).mean().sqrt().item<double>();
  const double d1 = (f0 / scale).pow(2).mean().sqrt().item<double>();
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const auto y1 = y0 + h0 * f0;
  const auto f1 = f(t0 + h0, y1);
  ++st.evaluations;
  const double d2 = ((f1 - f0) / scale).pow(2).mean().sqrt().item<double>() / h0;
  const double h1 =
      std::max(d1, d2) <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / std::max(d1, d2), 1.0 / 5);
  return std::min(100 * h0, h1);
}

}  // namespace

torch::Tensor odeint_dopri5(const OdeFunction& f, const torch::Tensor& y0, const std::vector<double>& times,
                            const DopriOptions& o, DopriStats* stats) {
  METAEIK_CHECK(!times.empty(), "odeint_dopri5: no output times");
  for (std::size_t i = 1; i < times.size(); ++i)
    METAEIK_CHECK(times[i] > times[i - 1],
                  "odeint_dopri5: output times must increase strictly (index " << i << ")");
  DopriStats local;
  DopriStats& st = stats ? *stats : local;
  std::vector<torch::Tensor> out{y0};
  double t = times[0];
  torch::Tensor y = y0;
  torch::Tensor k1 = f(t, y);
  ++st.evaluations;
  double h = o.first_step > 0 ? o.first_step : initial_step(f, t, y, k1, o, st);
  int attempts = 0;
  for (std::size_t next = 1; next < times.size(); ++next) {
    const double target = times[next];
    while (t < target) {
      METAEIK_CHECK(++attempts <= o.max_steps,
                    "odeint_dopri5: more than " << o.max_steps << " steps (stiff or unstable?)");
      const bool last = t + h >= target - 1e-12 * std::max(1.0, std::abs(target));
      const double step = last ? target - t : h;
      torch::Tensor k[7];
      k[0] = k1;
      for (int s = 1; s < 7; ++s) {
        torch::Tensor acc = y;
        for (int j = 0; j < s; ++j)
          if (kA[s - 1][j] != 0) acc = acc + (step * kA[s - 1][j]) * k[j];
        k[s] = f(t + kC[s] * step, acc);  // k[6] is f at the 5th-order solution (FSAL)
      }
      st.evaluations += 6;
      torch::Tensor y5 = y;
      for (int j = 0; j < 6; ++j)
        if (kB5[j] != 0) y5 = y5 + (step * kB5[j]) * k[j];
      torch::Tensor err = torch::zeros_like(y);
      for (int j = 0; j < 7; ++j)
        if (kB5[j] != kB4[j]) err = err + (step * (kB5[j] - kB4[j])) * k[j];
      const double e = error_norm(err, y, y5, o);
      METAEIK_CHECK(std::isfinite(e), "odeint_dopri5: non-finite error estimate at t = " << t);
      const double factor =
          e == 0 ? o.max_factor : std::clamp(o.safety * std::pow(e, -1.0 / 5), o.min_factor, o.max_factor);
      if (e <= 1) {
        ++st.accepted;
        t = last ? target : t + step;
        y = y5;
        k1 = k[6];
        // A step shortened to land on an output time does not shrink the next one.
        h = last ? std::max(h, step * factor) : step * factor;
      } else {
        ++st.rejected;
        h = step * factor;
      }
    }
    out.push_back(y);
  }
  return torch::stack(out);
}

}  // namespace metaeik::surrogates::lstm
