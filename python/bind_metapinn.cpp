// Python bindings of the meta-PINN (the only binding TU with LibTorch): train a run, load it,
// personalise from context and query arrays, evaluate on a dataset.

#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "eikonal/dataset.hpp"
#include "metapinn/data.hpp"
#include "metapinn/personalize.hpp"
#include "metapinn/trainer.hpp"
#include "python/bindings.hpp"

namespace metaeik::python {

namespace {

namespace fs = std::filesystem;
using metapinn::LoadedModel;
using metapinn::Personalization;

/// A geometry prepared for one model (graph hierarchy, scaled coordinates) with its mask.
struct Geometry {
  metapinn::PreparedGeometry prepared;
  Eigen::VectorXi observed;
};

Geometry prepare(const LoadedModel& model, const geometry::Points& points, const geometry::Tets& tets,
                 const Eigen::VectorXi& observed) {
  METAEIK_CHECK(observed.size() == points.rows(),
                "observed: expected " << points.rows() << " values (one per point), got " << observed.size());
  METAEIK_CHECK(observed.sum() > 0, "observed: the observation mask is empty");
  return {metapinn::prepare_geometry(points, tets, observed, model.config.data,
                                     int(model.config.model.kernel_size), model.device),
          observed};
}

Personalization personalize(LoadedModel& model, const Geometry& g,
                            const std::vector<Eigen::VectorXd>& contexts, const Eigen::VectorXd& query) {
  METAEIK_CHECK(!contexts.empty(), "contexts: give at least one context map");
  const auto n = g.observed.size();
  for (std::size_t i = 0; i < contexts.size(); ++i)
    METAEIK_CHECK(contexts[i].size() == n, "contexts[" << i << "]: expected " << n
                                                       << " values (one per point), got "
                                                       << contexts[i].size());
  METAEIK_CHECK(query.size() == n,
                "query: expected " << n << " values (one per point), got " << query.size());
  return metapinn::personalize(model, g.prepared, contexts, query, g.observed);
}

/// A Dataset argument: a loaded Dataset or its directory.
metapinn::Corpus corpus_of(const py::handle& data) {
  if (py::isinstance<eikonal::Dataset>(data))
    return metapinn::Corpus::from_dataset(data.cast<const eikonal::Dataset&>());
  const std::string dir = py::str(py::module_::import("os").attr("fspath")(data));
  py::gil_scoped_release release;
  return metapinn::Corpus::from_dataset(eikonal::Dataset::load(dir));
}

py::dict metrics_dict(const metapinn::MapMetrics& m) {
  py::dict d;
  d["at_rel_error"] = m.at_rel_error;
  d["at_corr"] = m.at_corr;
  d["at_rel_error_endo"] = m.at_rel_error_endo;
  d["at_corr_endo"] = m.at_corr_endo;
  d["at_rel_error_rest"] = m.at_rel_error_rest;
  d["at_corr_rest"] = m.at_corr_rest;
  d["v_rel_error"] = m.v_rel_error;
  d["v_corr"] = m.v_corr;
  d["residual"] = m.residual;
  d["seconds"] = m.seconds;
  return d;
}

}  // namespace

void bind_metapinn(py::module_& m) {
  // LibTorch's own errors carry a C++ backtrace in what(); Python gets the first line only.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());
    }
  });

  m.def("set_threads", &metapinn::set_threads, py::arg("threads"),
        "Sets LibTorch's intra-op threads and OpenBLAS's own pool (process-wide).");

  m.def(
      "train",
      [](py::handle config, py::handle data, const fs::path& run_dir, bool resume, const std::string& device,
         int epochs) {
        std::string source;
        const core::Json json = json_argument(config, "train config", &source);
        auto cfg = metapinn::read_train_config(json, source);
        if (epochs >= 0) cfg.train.epochs = epochs;
        const auto corpus = corpus_of(data);
        py::gil_scoped_release release;
        metapinn::train(cfg, corpus, run_dir, resume, device);
      },
      py::arg("config"), py::arg("data"), py::arg("run_dir"), py::arg("resume") = false,
      py::arg("device") = "cpu", py::arg("epochs") = -1,
      "Meta-trains a meta-PINN like `metaeikonal train` (metapinn/trainer.hpp): config is a dict with the "
      "model/data/train keys of configs/train/*.json or the path of such a file; data a Dataset or its "
      "directory; run_dir receives config.json, last.pt, best.pt, log.csv. epochs >= 0 overrides "
      "train.epochs.");

  py::class_<Personalization>(m, "Personalization", "The result of one feed-forward personalisation.")
      .def_readonly("times", &Personalization::times, "#N predicted activation times (ms), a view.")
      .def_readonly("speed", &Personalization::speed, "#N predicted conduction velocity (mm/ms), a view.")
      .def_readonly("residual", &Personalization::residual, "#N PDE residual |∇T|·F − 1, a view.")
      .def_readonly("forward_seconds", &Personalization::forward_seconds,
                    "Wall time of the forward pass (s).");

  py::class_<Geometry>(
      m, "PreparedGeometry",
      "A mesh prepared for a model (graph hierarchy, scaled coordinates) with its observation "
      "mask; reuse it for every personalisation on that mesh.")
      .def_property_readonly("num_nodes", [](const Geometry& g) { return g.prepared.num_nodes; })
      .def_readonly("observed", &Geometry::observed, "#N int32, 1 = observed node.");

  py::class_<LoadedModel>(m, "MetaPinnModel",
                          "A trained meta-PINN loaded from a run directory (metapinn::load_model). Not for "
                          "concurrent use from several Python threads.")
      .def_property_readonly(
          "config", [](const LoadedModel& lm) { return to_python(metapinn::to_json(lm.config)); },
          "The run's resolved training config (dict).")
      .def_readonly("epoch", &LoadedModel::epoch, "Epoch of the loaded checkpoint.")
      .def_property_readonly("device", [](const LoadedModel& lm) { return lm.device.str(); })
      .def(
          "prepare",
          [](const LoadedModel& lm, const geometry::Points& points, const geometry::Tets& tets,
             const Eigen::VectorXi& observed) {
            py::gil_scoped_release release;
            return prepare(lm, points, tets, observed);
          },
          py::arg("points"), py::arg("tets"), py::arg("observed"),
          "Prepares a mesh (#N×3 points in mm, #T×4 tets, #N observation mask 1/0) for personalisation.")
      .def(
          "personalize",
          [](LoadedModel& lm, const Geometry& g, const std::vector<Eigen::VectorXd>& contexts,
             const Eigen::VectorXd& query) {
            py::gil_scoped_release release;
            return personalize(lm, g, contexts, query);
          },
          py::arg("geometry"), py::arg("contexts"), py::arg("query"),
          "One feed-forward personalisation (metapinn::personalize): contexts are k arrays of #N observed "
          "activation times (ms; used where observed) of the subject, query the query map's observations "
          "(only "
          "its earliest early_fraction are used). Returns a Personalization.")
      .def(
          "personalize",
          [](LoadedModel& lm, const geometry::Points& points, const geometry::Tets& tets,
             const Eigen::VectorXi& observed, const std::vector<Eigen::VectorXd>& contexts,
             const Eigen::VectorXd& query) {
            py::gil_scoped_release release;
            return personalize(lm, prepare(lm, points, tets, observed), contexts, query);
          },
          py::arg("points"), py::arg("tets"), py::arg("observed"), py::arg("contexts"), py::arg("query"),
          "The same on a mesh given as arrays (prepared for this call only).");

  m.def(
      "load_model",
      [](const fs::path& run_dir, const std::string& device, const std::string& checkpoint) {
        METAEIK_CHECK(checkpoint == "best" || checkpoint == "last",
                      "checkpoint: expected best or last, got '" << checkpoint << "'");
        return metapinn::load_model(run_dir, device, checkpoint);
      },
      py::arg("run_dir"), py::arg("device") = "cpu", py::arg("checkpoint") = "best",
      py::call_guard<py::gil_scoped_release>(),
      "Loads a run written by `metaeikonal train` or metaeikonal.train: config.json and best.pt (highest "
      "validation AT correlation) or last.pt. device 'cpu' or 'cuda'.");

  m.def(
      "map_metrics",
      [](const Personalization& p, const Eigen::VectorXd& truth, const Eigen::VectorXi& observed,
         py::handle speed_truth) {
        const Eigen::VectorXd v =
            speed_truth.is_none() ? Eigen::VectorXd() : speed_truth.cast<Eigen::VectorXd>();
        return metrics_dict(metapinn::map_metrics(p, truth, v, observed));
      },
      py::arg("personalization"), py::arg("truth"), py::arg("observed"), py::arg("speed_truth") = py::none(),
      "Metrics of one personalisation against the true times (and speeds): relative errors and Pearson "
      "correlations on all / observed / other nodes, mean |residual| (dict; velocity entries NaN without "
      "speed_truth).");

  m.def(
      "evaluate",
      [](LoadedModel& lm, py::handle data, int k, const std::string& split, std::uint64_t seed,
         const std::string& contexts, bool held_out, bool progress) {
        METAEIK_CHECK(k == -1 || k >= 1, "k: must be at least 1, got " << k);
        const auto corpus = corpus_of(data);
        metapinn::EvaluateOptions eo;
        eo.k = k > 0 ? k : lm.config.train.k;
        eo.split = split;
        eo.seed = seed;
        eo.contexts = held_out ? "first" : contexts;
        const auto& t = lm.config.train;
        if (held_out) {
          METAEIK_CHECK(t.holdout != "none", "held_out: the run held out no subjects");
          eo.subjects = metapinn::held_out_subjects(corpus, t.holdout, t.holdout_geometry);
        }
        std::vector<metapinn::EvaluationRow> rows;
        {
          py::gil_scoped_release release;
          rows = metapinn::evaluate(lm, corpus, eo, progress);
        }
        py::list out;
        for (const auto& r : rows) {
          py::dict d = metrics_dict(r.metrics);
          d["subject"] = r.subject;
          d["map"] = r.map;
          d["context_subject"] = r.context_subject;
          out.append(d);
        }
        return out;
      },
      py::arg("model"), py::arg("data"), py::arg("k") = -1, py::arg("split") = "test", py::arg("seed") = 1,
      py::arg("contexts") = "train", py::arg("held_out") = false, py::arg("progress") = true,
      "Personalises the model to every query map of a dataset like `metaeikonal evaluate` "
      "(metapinn::evaluate): data a Dataset or its directory, k context maps (-1 = the training k), query "
      "split, seed of the context choice, contexts 'train' / 'other' / 'first', held_out = only the subjects "
      "the run held out. Returns one dict of metrics per query map (subject, map, context_subject, at_corr, "
      "at_rel_error, v_corr, v_rel_error, residual, seconds, ...).");
}

}  // namespace metaeik::python
