#include "metapinn/fim_bridge.hpp"

#include <utility>

#include "core/error.hpp"

namespace metaeik::metapinn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// What backward needs: the solver and the recorded solve (a capsule in ctx->saved_data).
struct RecordHolder : torch::CustomClassHolder {
  const eikonal::FimSolver* solver = nullptr;
  eikonal::SolveRecord record;
};

Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.size(0));
}

torch::Tensor to_tensor(const Eigen::VectorXd& v, const torch::TensorOptions& like) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone().to(like);
}

class FimFunction : public torch::autograd::Function<FimFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor speed, torch::Tensor onset,
                               const eikonal::FimSolver* solver, const std::vector<int>* nodes) {
    eikonal::SpeedField field;
    field.location = eikonal::SpeedField::Location::kNode;
    field.speed = to_eigen(speed);
    const Eigen::VectorXd t0 = to_eigen(onset);
    std::vector<eikonal::Source> sources;
    for (std::size_t j = 0; j < nodes->size(); ++j) sources.push_back({(*nodes)[j], t0[Eigen::Index(j)]});
    auto holder = c10::make_intrusive<RecordHolder>();
    holder->solver = solver;
    const Eigen::VectorXd T = solver->solve(field, sources, holder->record).times;
    ctx->saved_data["record"] = c10::IValue::make_capsule(std::move(holder));
    ctx->saved_data["speed_dtype"] = c10::IValue(int64_t(speed.scalar_type()));
    ctx->saved_data["onset_dtype"] = c10::IValue(int64_t(onset.scalar_type()));
    return to_tensor(T, speed.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto capsule = ctx->saved_data["record"].toCapsule();
    const auto* holder = static_cast<const RecordHolder*>(capsule.get());
    const torch::Tensor& dT = grad_outputs[0];
    const auto device = dT.device();
    const auto speed_dtype = c10::ScalarType(ctx->saved_data["speed_dtype"].toInt());
    const auto onset_dtype = c10::ScalarType(ctx->saved_data["onset_dtype"].toInt());
    const eikonal::SolveGradient g = holder->solver->vjp(holder->record, to_eigen(dT));
    return {to_tensor(g.speed, torch::TensorOptions().dtype(speed_dtype).device(device)),
            to_tensor(g.onset, torch::TensorOptions().dtype(onset_dtype).device(device)), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fim_times(const eikonal::FimSolver& solver, const torch::Tensor& speed,
                        const std::vector<int>& nodes, const torch::Tensor& onset) {
  METAEIK_CHECK(speed.defined() && speed.dim() == 1, "fim_times: speed must be a vector [N]");
  METAEIK_CHECK(onset.defined() && onset.dim() == 1 && onset.size(0) == int64_t(nodes.size()),
                "fim_times: need one onset per source node, got "
                    << (onset.defined() ? onset.numel() : 0) << " onsets for " << nodes.size() << " nodes");
  METAEIK_CHECK(!nodes.empty(), "fim_times: no source nodes");
  for (int n : nodes)
    METAEIK_CHECK(n >= 0 && n < speed.size(0),
                  "fim_times: source node " << n << " is out of range [0, " << speed.size(0) << ")");
  METAEIK_CHECK(speed.is_floating_point() && onset.is_floating_point(),
                "fim_times: speed and onset must be floating point");
  return FimFunction::apply(speed, onset, &solver, &nodes);
}

}  // namespace metaeik::metapinn
