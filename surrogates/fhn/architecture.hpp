#pragma once
// MLP architectures of the FitzHugh–Nagumo surrogate study and the 800-architecture zoo.
//
// An architecture string lists the hidden layers as <Activation><width> joined by '-', e.g.
// "SiLU64-Sigmoid64-Sigmoid64": Linear(in → 64) → SiLU → Linear(64 → 64) → Sigmoid → ... then
// Linear(→ 2) → Tanh. Torch-free: the network itself is built in surrogates/fhn/mlp.hpp.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace metaeik::surrogates::fhn {

enum class Activation { kReLU, kTanh, kSigmoid, kLeakyReLU, kELU, kSiLU };

/// Names as written in architecture strings: ReLU, Tanh, Sigmoid, LeakyReLU, ELU, SiLU.
const std::vector<std::string>& activation_names();
std::string to_string(Activation a);

struct Layer {
  Activation activation = Activation::kTanh;
  int width = 0;
};

struct Architecture {
  std::vector<Layer> layers;  ///< hidden layers, input side first

  /// Parses "SiLU64-Sigmoid64-Sigmoid64"; throws core::Error naming the string and the bad layer.
  static Architecture parse(const std::string& text);
  std::string to_string() const;
  int neurons() const;  ///< total hidden neurons
  /// Trainable parameters of the whole network with `inputs` inputs and 2 outputs.
  long parameters(int inputs) const;
  /// rectangle, funnel, bottleneck, diamond, bowtie, or irregular (see shape_class()).
  std::string shape_class() const;
};

/// Shape class of a width sequence: rectangle (all equal), funnel (non-decreasing), bottleneck
/// (non-increasing), diamond (rises then falls), bowtie (falls then rises), otherwise irregular.
std::string shape_class(const std::vector<int>& widths);

struct ZooEntry {
  std::string architecture;
  std::string shape;  ///< shape class
  int layers = 0;
  int neurons = 0;
};

struct ZooOptions {
  std::uint64_t seed = 0;                    ///< which random architectures each group holds
  int per_group = 100;                       ///< architectures per (layers, class) group
  int max_neurons = 256;                     ///< at most this many hidden neurons in total
  std::vector<int> widths{16, 32, 64, 128};  ///< allowed layer widths
};

/// The zoo: `per_group` random, distinct architectures for each of the 8 groups
/// 3 layers × {rectangle, funnel, bottleneck, diamond, bowtie} and 2 layers × {funnel, rectangle,
/// bottleneck}, in that group order (800 with the defaults). Deterministic given the seed.
std::vector<ZooEntry> make_zoo(const ZooOptions& options = {});

/// A fixed subset: the first `per_group` entries of every (layers, class) group, in zoo order.
std::vector<ZooEntry> zoo_subset(const std::vector<ZooEntry>& zoo, int per_group);

/// Zoo CSV (architecture,class,layers,neurons), written atomically / read with line-numbered errors.
void write_zoo_csv(const std::filesystem::path& path, const std::vector<ZooEntry>& zoo);
std::vector<ZooEntry> read_zoo_csv(const std::filesystem::path& path);

}  // namespace metaeik::surrogates::fhn
