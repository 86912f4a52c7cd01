#include "surrogates/fhn/architecture.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/random.hpp"

namespace metaeik::surrogates::fhn {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"ReLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "SiLU"};
  return names;
}

std::string to_string(Activation a) { return activation_names()[static_cast<int>(a)]; }

Architecture Architecture::parse(const std::string& text) {
  METAEIK_CHECK(!text.empty(), "architecture \"\": no layers (expected e.g. SiLU64-Sigmoid64-Sigmoid64)");
  Architecture arch;
  std::stringstream ss(text);
  std::string token;
  int index = 0;
  std::vector<std::string> tokens;
  while (std::getline(ss, token, '-')) tokens.push_back(token);
  if (text.back() == '-') tokens.push_back("");
  for (const auto& tok : tokens) {
    ++index;
    const std::string where =
        "architecture \"" + text + "\": layer " + std::to_string(index) + " \"" + tok + "\": ";
    std::size_t digit = tok.find_first_of("0123456789");
    METAEIK_CHECK(digit != std::string::npos && digit > 0 &&
                      tok.find_first_not_of("0123456789", digit) == std::string::npos,
                  where << "expected an activation followed by a width, e.g. SiLU64");
    const std::string name = tok.substr(0, digit);
    const auto& names = activation_names();
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::ostringstream os;
      for (std::size_t i = 0; i < names.size(); ++i) os << (i ? ", " : "") << names[i];
      METAEIK_FAIL(where << "unknown activation \"" << name << "\" (expected one of " << os.str() << ")");
    }
    const std::string digits = tok.substr(digit);
    METAEIK_CHECK(digits.size() <= 6 && std::stoi(digits) > 0, where << "width must be in [1, 999999]");
    arch.layers.push_back({static_cast<Activation>(it - names.begin()), std::stoi(digits)});
  }
  return arch;
}

std::string Architecture::to_string() const {
  std::string s;
  for (std::size_t i = 0; i < layers.size(); ++i)
    s += (i ? "-" : "") + fhn::to_string(layers[i].activation) + std::to_string(layers[i].width);
  return s;
}

int Architecture::neurons() const {
  int n = 0;
  for (const auto& l : layers) n += l.width;
  return n;
}

long Architecture::parameters(int inputs) const {
  long p = 0;
  int in = inputs;
  for (const auto& l : layers) p += long(in) * l.width + l.width, in = l.width;
  return p + long(in) * 2 + 2;
}

std::string Architecture::shape_class() const {
  std::vector<int> widths;
  for (const auto& l : layers) widths.push_back(l.width);
  return fhn::shape_class(widths);
}

std::string shape_class(const std::vector<int>& widths) {
  std::vector<int> signs;  // sign of every non-zero change, consecutive repeats merged
  for (std::size_t i = 1; i < widths.size(); ++i) {
    const int s = (widths[i] > widths[i - 1]) - (widths[i] < widths[i - 1]);
    if (s != 0 && (signs.empty() || signs.back() != s)) signs.push_back(s);
  }
  if (signs.empty()) return "rectangle";
  if (signs == std::vector<int>{1}) return "funnel";
  if (signs == std::vector<int>{-1}) return "bottleneck";
  if (signs == std::vector<int>{1, -1}) return "diamond";
  if (signs == std::vector<int>{-1, 1}) return "bowtie";
  return "irregular";
}

namespace {

/// Every width sequence of `layers` layers of the given class within the neuron budget.
std::vector<std::vector<int>> width_patterns(const ZooOptions& o, int layers, const std::string& shape) {
  std::vector<std::vector<int>> out;
  std::vector<int> w(layers, 0);
  std::vector<std::size_t> idx(layers, 0);
  const std::size_t nw = o.widths.size();
  for (;;) {
    for (int l = 0; l < layers; ++l) w[l] = o.widths[idx[l]];
    if (std::accumulate(w.begin(), w.end(), 0) <= o.max_neurons && shape_class(w) == shape) out.push_back(w);
    int l = layers - 1;
    while (l >= 0 && ++idx[l] == nw) idx[l--] = 0;
    if (l < 0) break;
  }
  return out;
}

}  // namespace

std::vector<ZooEntry> make_zoo(const ZooOptions& o) {
  METAEIK_CHECK(o.per_group > 0, "zoo: per_group must be positive, got " << o.per_group);
  METAEIK_CHECK(!o.widths.empty(), "zoo: widths must not be empty");
  const std::vector<std::pair<int, std::string>> groups{{3, "rectangle"}, {3, "funnel"},    {3, "bottleneck"},
                                                        {3, "diamond"},   {3, "bowtie"},    {2, "funnel"},
                                                        {2, "rectangle"}, {2, "bottleneck"}};
  const int na = static_cast<int>(activation_names().size());
  std::vector<ZooEntry> zoo;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto [layers, shape] = groups[g];
    const auto patterns = width_patterns(o, layers, shape);
    long combos = 1;
    for (int l = 0; l < layers; ++l) combos *= na;
    const long total = static_cast<long>(patterns.size()) * combos;
    METAEIK_CHECK(total >= o.per_group, "zoo: only " << total << " distinct " << layers << "-layer " << shape
                                                     << " architectures exist, " << o.per_group
                                                     << " requested");
    // Fisher–Yates on the candidate indices with the raw 64-bit stream (portable, unlike std::shuffle).
    std::vector<long> order(total);
    std::iota(order.begin(), order.end(), 0L);
    core::Rng rng = core::make_rng(o.seed, g);
    for (long i = total - 1; i > 0; --i)
      std::swap(order[i], order[rng() % static_cast<std::uint64_t>(i + 1)]);
    for (int k = 0; k < o.per_group; ++k) {
      const long c = order[k];
      const auto& w = patterns[c / combos];
      long a = c % combos;
      Architecture arch;
      for (int l = 0; l < layers; ++l, a /= na)
        arch.layers.push_back({static_cast<Activation>(a % na), w[l]});
      zoo.push_back({arch.to_string(), shape, layers, arch.neurons()});
    }
  }
  return zoo;
}

std::vector<ZooEntry> zoo_subset(const std::vector<ZooEntry>& zoo, int per_group) {
  METAEIK_CHECK(per_group > 0, "zoo subset: per_group must be positive, got " << per_group);
  std::map<std::pair<int, std::string>, int> taken;
  std::vector<ZooEntry> out;
  for (const auto& e : zoo)
    if (taken[{e.layers, e.shape}]++ < per_group) out.push_back(e);
  return out;
}

void write_zoo_csv(const std::filesystem::path& path, const std::vector<ZooEntry>& zoo) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << "architecture,class,layers,neurons\n";
    for (const auto& e : zoo)
      os << e.architecture << ',' << e.shape << ',' << e.layers << ',' << e.neurons << '\n';
  });
}

std::vector<ZooEntry> read_zoo_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  METAEIK_CHECK(in, path.string() << ": cannot open zoo file");
  std::string line;
  METAEIK_CHECK(std::getline(in, line) && line == "architecture,class,layers,neurons",
                path.string() << ": line 1: expected the header architecture,class,layers,neurons");
  std::vector<ZooEntry> zoo;
  std::set<std::string> seen;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::string where = path.string() + ": line " + std::to_string(number) + ": ";
    std::stringstream ss(line);
    std::string arch;
    std::getline(ss, arch, ',');
    Architecture a;
    try {
      a = Architecture::parse(arch);
    } catch (const core::Error& e) {
      METAEIK_FAIL(where << e.what());
    }
    METAEIK_CHECK(seen.insert(a.to_string()).second, where << "duplicate architecture " << arch);
    zoo.push_back({a.to_string(), a.shape_class(), static_cast<int>(a.layers.size()), a.neurons()});
  }
  METAEIK_CHECK(!zoo.empty(), path.string() << ": no architectures");
  return zoo;
}

}  // namespace metaeik::surrogates::fhn
