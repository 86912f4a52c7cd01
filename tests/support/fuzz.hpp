#pragma once
// Deterministic fuzzing of file readers: seeded mutations of a valid file (truncations, bit flips,
// overwritten / inserted / deleted / duplicated bytes, decimal numbers and binary words replaced by
// huge, negative or odd values), each of which must end in a one-line core::Error or a valid
// result — no other exception, no slow case, no file left behind, bounded memory.
//
//   test::FuzzReport r = test::fuzz_file(bytes, seed, 2000, dir, [&](const std::string& b) {
//     write_bytes(dir / "mesh.vtu", b);
//     read_mesh(dir / "mesh.vtu");
//   });
//   test::expect_clean(r, "vtu");

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"

namespace metaeik::test {

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// One seeded mutation of `s`; `what` says which (for reproducing a failing case).
inline std::string mutate(const std::string& s, core::Rng& rng, std::string& what) {
  static const char* const kNumbers[] = {"99999999999999999999",
                                         "18446744073709551615",
                                         "9223372036854775807",
                                         "4294967295",
                                         "2147483648",
                                         "2147483647",
                                         "1000000000",
                                         "-1",
                                         "-2147483649",
                                         "0",
                                         "-0",
                                         "1e308",
                                         "1e999",
                                         "-1e999",
                                         "nan",
                                         "3.5"};
  static const std::uint64_t kWords[] = {0xFFFFFFFFFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, 0x00000000FFFFFFFFull,
                                         0x000000007FFFFFFFull, 0x0000000080000000ull, 0x0000010000000000ull,
                                         0x0000000040000000ull, 0x0000000000000000ull, 0x0000000000010000ull};
  auto pick = [&](std::size_t n) { return n == 0 ? std::size_t(0) : std::size_t(rng() % n); };
  std::string out = s;
  const std::size_t n = s.size();
  std::ostringstream w;
  switch (rng() % 8) {
    case 0: {  // truncation
      const std::size_t keep = pick(n);
      out.resize(keep);
      w << "truncate to " << keep;
      break;
    }
    case 1: {  // bit flips
      const int k = 1 + int(rng() % 4);
      w << "flip bits";
      for (int i = 0; i < k && n > 0; ++i) {
        const std::size_t p = pick(n);
        const int bit = int(rng() % 8);
        out[p] = char(static_cast<unsigned char>(out[p]) ^ (1u << bit));
        w << " " << p << ":" << bit;
      }
      break;
    }
    case 2: {  // random bytes overwritten
      const int k = 1 + int(rng() % 8);
      w << "overwrite bytes at";
      for (int i = 0; i < k && n > 0; ++i) {
        const std::size_t p = pick(n);
        out[p] = char(rng() & 0xFF);
        w << " " << p;
      }
      break;
    }
    case 3: {  // random bytes inserted
      const std::size_t p = pick(n + 1), k = 1 + pick(16);
      std::string ins(k, '\0');
      for (auto& c : ins) c = char(rng() & 0xFF);
      out.insert(p, ins);
      w << "insert " << k << " bytes at " << p;
      break;
    }
    case 4: {  // a range deleted
      const std::size_t p = pick(n), k = 1 + pick(32);
      out.erase(p, k);
      w << "delete " << k << " bytes at " << p;
      break;
    }
    case 5: {                                                 // a decimal number replaced
      std::vector<std::pair<std::size_t, std::size_t>> runs;  // [begin, end) of digit runs
      for (std::size_t i = 0; i < n;) {
        if (std::isdigit(static_cast<unsigned char>(s[i]))) {
          std::size_t j = i;
          while (j < n && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == 'e')) ++j;
          runs.emplace_back(i > 0 && s[i - 1] == '-' ? i - 1 : i, j);
          i = j;
        } else {
          ++i;
        }
      }
      if (runs.empty()) break;
      const auto [b, e] = runs[pick(runs.size())];
      const char* num = kNumbers[pick(std::size(kNumbers))];
      out.replace(b, e - b, num);
      w << "number at " << b << " -> " << num;
      break;
    }
    case 6: {  // a chunk duplicated elsewhere
      const std::size_t a = pick(n), k = 1 + pick(64), b = pick(n + 1);
      out.insert(b, s.substr(a, k));
      w << "duplicate " << k << " bytes from " << a << " at " << b;
      break;
    }
    default: {  // a binary word (4 or 8 bytes, little endian) replaced
      const std::size_t width = rng() % 2 ? 8 : 4;
      if (n < width) break;
      const std::size_t p = pick(n - width + 1);
      const std::uint64_t v = kWords[pick(std::size(kWords))];
      for (std::size_t i = 0; i < width; ++i) out[p + i] = char((v >> (8 * i)) & 0xFF);
      w << "word" << 8 * width << " at " << p << " -> 0x" << std::hex << v;
      break;
    }
  }
  what = w.str();
  return out;
}

struct FuzzReport {
  int cases = 0;
  int errors = 0;  ///< clean core::Error
  int valid = 0;   ///< read without error
  double max_case_s = 0;
  long peak_rss_mb = 0;
  std::vector<std::string> failures;  ///< the first few bad cases, reproducible from their description
};

/// Runs `cases` seeded mutations of `original` through `run` (which writes them into `dir` and reads
/// them back). A case fails if `run` throws anything but a one-line core::Error, takes longer than
/// `max_case_s`, or leaves a new entry in `dir` other than those it had after the first case.
inline FuzzReport fuzz_file(const std::string& original, std::uint64_t seed, int cases,
                            const std::filesystem::path& dir,
                            const std::function<void(const std::string&)>& run, double max_case_s = 2.0) {
  FuzzReport r;
  const bool trace = std::getenv("METAEIK_FUZZ_TRACE") != nullptr;
  std::set<std::filesystem::path> entries;
  auto listing = [&] {
    std::set<std::filesystem::path> s;
    for (const auto& e : std::filesystem::directory_iterator(dir)) s.insert(e.path().filename());
    return s;
  };
  auto fail = [&](int i, const std::string& what, const std::string& why) {
    if (r.failures.size() < 12) r.failures.push_back("case " + std::to_string(i) + " (" + what + "): " + why);
  };
  for (int i = 0; i < cases; ++i) {
    core::Rng rng = core::make_rng(seed, std::uint64_t(i));
    std::string what;
    const std::string bytes = mutate(original, rng, what);
    if (trace) {  // METAEIK_FUZZ_TRACE=FILE: print each case and keep its bytes in FILE before running it
      std::fprintf(stderr, "[fuzz] case %d: %s\n", i, what.c_str());
      write_bytes(std::getenv("METAEIK_FUZZ_TRACE"), bytes);
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      run(bytes);
      ++r.valid;
    } catch (const core::Error& e) {
      ++r.errors;
      const std::string msg = e.what();
      if (msg.empty() || msg.find('\n') != std::string::npos || msg.find('\r') != std::string::npos)
        fail(i, what, "error message is not one line: \"" + msg + "\"");
    } catch (const std::exception& e) {
      fail(i, what, std::string("escaped std::exception (not core::Error): ") + e.what());
    } catch (...) {
      fail(i, what, "escaped a non-std exception");
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.max_case_s = std::max(r.max_case_s, s);
    if (s > max_case_s) fail(i, what, "took " + std::to_string(s) + " s");
    if (i == 0) {
      entries = listing();
    } else if (listing() != entries) {
      fail(i, what, "left a file behind in " + dir.string());
      entries = listing();
    }
    ++r.cases;
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  r.peak_rss_mb = u.ru_maxrss / 1024;
  return r;
}

/// Asserts that no case failed and memory stayed bounded; prints the tally (the cases per reader).
inline void expect_clean(const FuzzReport& r, const std::string& reader, long max_rss_mb = 1536) {
  std::printf("[fuzz] %s: %d cases, %d errors, %d valid, slowest %.3f s, peak RSS %ld MB\n", reader.c_str(),
              r.cases, r.errors, r.valid, r.max_case_s, r.peak_rss_mb);
  for (const auto& f : r.failures) ADD_FAILURE() << reader << ": " << f;
  EXPECT_LE(r.peak_rss_mb, max_rss_mb) << reader << ": a corrupted file made the reader allocate too much";
}

}  // namespace metaeik::test
