// standalone_driver.cpp: runs an LLVMFuzzerTestOneInput target without libFuzzer (g++ builds):
// replays every corpus file, then mutates them (flips, inserts, deletes, truncations, splices)
// for --seconds. The seed is printed so a failure can be replayed with --seed.
#include <chrono>
#include <csignal>
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
// The input under test, written to ./fuzz-crash.bin if the target aborts or crashes.
const std::vector<uint8_t>* g_current = nullptr;
extern "C" void on_crash(int sig) {
  if (g_current) {
    FILE* f = std::fopen("fuzz-crash.bin", "wb");
    if (f) { std::fwrite(g_current->data(), 1, g_current->size(), f); std::fclose(f); }
    const char msg[] = "fuzz: crashing input saved to fuzz-crash.bin\n";
    (void)!write(2, msg, sizeof msg - 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::vector<uint8_t> slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void mutate(std::vector<uint8_t>& d, std::mt19937_64& rng, const std::vector<std::vector<uint8_t>>& corpus) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  int rounds = 1 + int(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 8) {
      case 0: if (!d.empty()) d[pick(d.size())] ^= uint8_t(1u << (rng() % 8)); break;
      case 1: if (!d.empty()) d[pick(d.size())] = uint8_t(rng()); break;
      case 2: d.insert(d.begin() + ptrdiff_t(pick(d.size() + 1)), uint8_t(rng())); break;
      case 3: if (!d.empty()) d.erase(d.begin() + ptrdiff_t(pick(d.size()))); break;
      case 4: if (!d.empty()) d.resize(pick(d.size())); break;
      case 5: {  // interesting values
        static const uint8_t v[] = {0, 0xff, 0x7f, 0x80, 1, 0xfe};
        if (!d.empty()) d[pick(d.size())] = v[rng() % sizeof v];
        break;
      }
      case 6: {  // splice from another input
        const auto& o = corpus[pick(corpus.size())];
        if (!o.empty() && !d.empty()) {
          size_t a = pick(o.size()), n = 1 + pick(std::min<size_t>(64, o.size() - a));
          size_t at = pick(d.size());
          d.insert(d.begin() + ptrdiff_t(at), o.begin() + ptrdiff_t(a), o.begin() + ptrdiff_t(a + n));
        }
        break;
      }
      case 7: if (d.size() > 4) {  // duplicate a block
        size_t a = pick(d.size()), n = 1 + pick(std::min<size_t>(32, d.size() - a));
        std::vector<uint8_t> blk(d.begin() + ptrdiff_t(a), d.begin() + ptrdiff_t(a + n));
        d.insert(d.begin() + ptrdiff_t(pick(d.size())), blk.begin(), blk.end());
      } break;
    }
  }
  if (d.size() > (1u << 20)) d.resize(1u << 20);
}
}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  uint64_t seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 0);
    else inputs.emplace_back(a);
  }
  std::vector<std::vector<uint8_t>> corpus;
  for (auto& p : inputs) {
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) corpus.push_back(slurp(e.path()));
    } else if (std::filesystem::exists(p)) {
      corpus.push_back(slurp(p));
    }
  }
  if (corpus.empty()) corpus.push_back({});
  std::signal(SIGABRT, on_crash);
  std::signal(SIGSEGV, on_crash);
  for (auto& c : corpus) { g_current = &c; LLVMFuzzerTestOneInput(c.data(), c.size()); }
  std::printf("fuzz: replayed %zu corpus inputs; mutating for %.1f s with --seed %llu\n", corpus.size(), seconds,
              (unsigned long long)seed);
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  std::vector<uint8_t> d;
  while (std::chrono::steady_clock::now() < end) {
    for (int k = 0; k < 64; ++k, ++runs) {
      d = corpus[size_t(rng() % corpus.size())];
      mutate(d, rng, corpus);
      g_current = &d;
      LLVMFuzzerTestOneInput(d.data(), d.size());
    }
  }
  std::printf("fuzz: %llu mutated inputs, no crash\n", (unsigned long long)runs);
  return 0;
}
