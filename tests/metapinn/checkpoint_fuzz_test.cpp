// Fuzzed checkpoints: seeded corruptions of a small meta-model checkpoint (LibTorch's zip archive)
// must each end in a one-line error naming the file or a loaded model, fast and with bounded memory.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "../support/cli.hpp"
#include "../support/fuzz.hpp"
#include "metapinn/checkpoint.hpp"

namespace metaeik::metapinn {
namespace {

struct Small : torch::nn::Module {
  Small()
      : a(register_module("a", torch::nn::Linear(4, 3))), b(register_module("b", torch::nn::Linear(3, 2))) {}
  torch::nn::Linear a, b;
};

TEST(CheckpointFuzz, CorruptedCheckpointsGiveOneLineErrorsOrLoad) {
  test::TempDir dir("ckpt_fuzz");
  torch::manual_seed(0);
  auto model = std::make_shared<Small>();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  model->b->forward(model->a->forward(torch::ones({1, 4}))).sum().backward();
  optimizer.step();  // so that the optimiser state is not empty
  const auto path = dir / "last.pt";
  save_meta_checkpoint(path, *model, optimizer, "small-4-3-2", 7, 0.5);
  const auto [epoch, best] = load_meta_checkpoint(path, *model, &optimizer, "small-4-3-2", torch::kCPU);
  ASSERT_EQ(epoch, 7);
  ASSERT_EQ(best, 0.5);

  const std::string original = test::read_bytes(path);
  // One flipped byte in the first tensor's data (not in a header's padding, which no CRC covers):
  // the CRC check names the damaged entry.
  const std::size_t header = original.rfind(std::string("PK\x03\x04"), original.find("/data/0"));
  ASSERT_NE(header, std::string::npos);
  const auto u16 = [&](std::size_t at) {
    return std::size_t(std::uint8_t(original[at])) | std::size_t(std::uint8_t(original[at + 1])) << 8;
  };
  std::string flipped = original;
  flipped[header + 30 + u16(header + 26) + u16(header + 28)] ^= 0x20;
  test::write_bytes(path, flipped);
  try {
    load_meta_checkpoint(path, *model, &optimizer, "small-4-3-2", torch::kCPU);
    ADD_FAILURE() << "a flipped byte was not noticed";
  } catch (const core::Error& e) {
    const std::string prefix = path.string() + ": damaged checkpoint archive (";
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
  }

  const auto r = test::fuzz_file(original, 11, 3000, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(path, bytes);
    auto fresh = std::make_shared<Small>();
    torch::optim::AdamW opt(fresh->parameters(), torch::optim::AdamWOptions(1e-3));
    load_meta_checkpoint(path, *fresh, &opt, "small-4-3-2", torch::kCPU);
  });
  test::expect_clean(r, "checkpoint");
  EXPECT_GT(r.errors, r.cases / 2);  // most corruptions are caught, not silently loaded
}

}  // namespace
}  // namespace metaeik::metapinn
