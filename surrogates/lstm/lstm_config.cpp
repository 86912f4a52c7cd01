#include "surrogates/lstm/lstm_config.hpp"

namespace metaeik::surrogates::lstm {

LstmRunConfig read_lstm_config(const core::Json& json, const std::string& source) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
  LstmRunConfig c;
  core::JsonReader r(json, source);
  std::string description;
  r.get("description", description);
  r.get_choice("model", c.model, {"lstm", "latent-ode"});
  r.get("tissue_config", c.tissue_config);
  {
    auto d = r.child("data");
    d.get("variables", c.data.variables);
    METAEIK_CHECK(!c.data.variables.empty(), d.error_prefix("variables")
                                                 << "must name at least one variable");
    d.get("train_fraction", c.data.train_fraction, 0.01, 0.99);
    d.get("validation_fraction", c.data.validation_fraction, 0.0, 0.9);
    d.get("window", c.data.window, 2, 1000000);
    d.get("stride", c.data.stride, 1, 1000000);
    d.get("max_windows", c.data.max_windows, 0, 100000000);
    d.get("max_validation_windows", c.data.max_validation_windows, 0, 100000);
    d.finish();
  }
  {
    auto p = r.child("phase");
    p.get("enabled", c.phase.enabled);
    p.get("period_ms", c.phase.period_ms, 1e-6, 1e9);
    p.get("stimulus_start_ms", c.phase.stimulus_start_ms);
    p.get("stimulus_duration_ms", c.phase.stimulus_duration_ms, 0.0, 1e9);
    p.finish();
  }
  {
    auto l = r.child("lstm");
    l.get("hidden", c.lstm.hidden, 1, 100000);
    l.get("layers", c.lstm.layers, 1, 16);
    l.get("dropout", c.lstm.dropout, 0.0, 0.99);
    l.get("lr", c.lstm.lr, 1e-12, 10.0);
    l.get("batch_size", c.lstm.batch_size, 1, 100000);
    l.get("epochs", c.lstm.epochs, 0, 100000);
    l.get("input_noise", c.lstm.input_noise, 0.0, 100.0);
    l.get("free_run_steps", c.lstm.free_run_steps, 0, 1000000);
    l.get("stimulus_weight", c.lstm.stimulus_weight, 1e-6, 1e6);
    l.get("stimulus_weight_ms", c.lstm.stimulus_weight_ms, 0.0, 1e9);
    l.finish();
  }
  {
    auto o = r.child("latent_ode");
    o.get("latent", c.latent_ode.latent, 1, 100000);
    o.get("ode_hidden", c.latent_ode.ode_hidden, 1, 100000);
    o.get("recognition_hidden", c.latent_ode.recognition_hidden, 1, 100000);
    o.get("decoder_hidden", c.latent_ode.decoder_hidden, 1, 100000);
    o.get("obs_std", c.latent_ode.obs_std, 1e-6, 1e6);
    o.get("time_scale_ms", c.latent_ode.time_scale_ms, 1e-6, 1e9);
    o.get("rtol", c.latent_ode.rtol, 1e-12, 1.0);
    o.get("atol", c.latent_ode.atol, 1e-12, 1.0);
    o.get("lr", c.latent_ode.lr, 1e-12, 10.0);
    o.get("batch_size", c.latent_ode.batch_size, 1, 100000);
    o.get("epochs", c.latent_ode.epochs, 0, 100000);
    o.get("window", c.latent_ode.window, 0, 1000000);
    o.get("max_windows", c.latent_ode.max_windows, 0, 100000000);
    o.finish();
  }
  {
    auto t = r.child("train");
    t.get("seed", c.train.seed);
    t.get("threads", c.train.threads, 0, 1024);
    t.get("checkpoint_every", c.train.checkpoint_every, 1, 100000000);
    t.get("clip_norm", c.train.clip_norm, 0.0, 1e9);
    t.finish();
  }
  r.finish();
  return c;
}

core::Json to_json(const LstmRunConfig& c) {
  return {{"model", c.model},
          {"tissue_config", c.tissue_config},
          {"data",
           {{"variables", c.data.variables},
            {"train_fraction", c.data.train_fraction},
            {"validation_fraction", c.data.validation_fraction},
            {"window", c.data.window},
            {"stride", c.data.stride},
            {"max_windows", c.data.max_windows},
            {"max_validation_windows", c.data.max_validation_windows}}},
          {"phase",
           {{"enabled", c.phase.enabled},
            {"period_ms", c.phase.period_ms},
            {"stimulus_start_ms", c.phase.stimulus_start_ms},
            {"stimulus_duration_ms", c.phase.stimulus_duration_ms}}},
          {"lstm",
           {{"hidden", c.lstm.hidden},
            {"layers", c.lstm.layers},
            {"dropout", c.lstm.dropout},
            {"lr", c.lstm.lr},
            {"batch_size", c.lstm.batch_size},
            {"epochs", c.lstm.epochs},
            {"input_noise", c.lstm.input_noise},
            {"free_run_steps", c.lstm.free_run_steps},
            {"stimulus_weight", c.lstm.stimulus_weight},
            {"stimulus_weight_ms", c.lstm.stimulus_weight_ms}}},
          {"latent_ode",
           {{"latent", c.latent_ode.latent},
            {"ode_hidden", c.latent_ode.ode_hidden},
            {"recognition_hidden", c.latent_ode.recognition_hidden},
            {"decoder_hidden", c.latent_ode.decoder_hidden},
            {"obs_std", c.latent_ode.obs_std},
            {"time_scale_ms", c.latent_ode.time_scale_ms},
            {"rtol", c.latent_ode.rtol},
            {"atol", c.latent_ode.atol},
            {"lr", c.latent_ode.lr},
            {"batch_size", c.latent_ode.batch_size},
            {"epochs", c.latent_ode.epochs},
            {"window", c.latent_ode.window},
            {"max_windows", c.latent_ode.max_windows}}},
          {"train",
           {{"seed", c.train.seed},
            {"threads", c.train.threads},
            {"checkpoint_every", c.train.checkpoint_every},
            {"clip_norm", c.train.clip_norm}}}};
}

}  // namespace metaeik::surrogates::lstm
