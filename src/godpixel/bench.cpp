// bench.cpp: put/get medians per payload size; the reference is the zstd CLI on the same file.
#include "godpixel/bench.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/fs.hpp"
#include "common/spawn.hpp"
#include "godpixel/config.hpp"
#include "godpixel/object.hpp"
#include "godpixel/store.hpp"


namespace pxos::god {
namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Program-like bytes: a stream of PixelVM-ish instructions (opcode, then a small operand for the
// pushes and jumps) from a fixed LCG, so zstd sees realistic, moderately compressible code.
Bytes program_like(uint64_t n, uint32_t salt) {
  Bytes b;
  b.reserve(n + 8);
  uint64_t s = 0x9e3779b97f4a7c15ull ^ salt;
  auto next = [&] { s = s * 6364136223846793005ull + 1442695040888963407ull; return uint32_t(s >> 33); };
  static const uint8_t ops[] = {0x01, 0x03, 0x04, 0x05, 0x10, 0x12, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41, 0x42};
  while (b.size() < n) {
    uint32_t r = next();
    uint8_t op = ops[r % sizeof ops];
    b.push_back(op);
    if (op == 0x01 || op == 0x30 || op == 0x31) {
      uint32_t v = (r >> 8) % (op == 0x01 ? 100 : 4096);
      for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
    }
  }
  b.resize(n);
  if (n >= 4) put_u32le(b.data(), salt);
  return b;
}

Result<double> run_process(std::vector<std::string> args) {
  auto t0 = Clock::now();
  auto st = os::run_inherit(args);
  if (!st) return std::unexpected(st.error());
  auto t1 = Clock::now();
  if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) return failf(Errc::Io, "{} failed", args[0]);
  return secs(t0, t1);
}

std::string fmt_time(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.2f} ms", s * 1e3);
  return fmt::format("{:.2f} s", s);
}
std::string fmt_size(uint64_t n) {
  if (n >= (1u << 20)) return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} KiB", n >> 10);
}

}  // namespace

Status run_bench(const BenchOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  std::string sdir = o.dir + "/store";
  fs::remove_all(sdir, ec);
  auto st = Store::open(sdir, true, 32);
  if (!st) return std::unexpected(st.error());
  fmt::print("| payload | zstd ratio | put (median) | put MB/s | get warm (median) | get MB/s | get cold (open + get) |"
             " zstd CLI compress | zstd CLI decompress |\n");
  fmt::print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  uint32_t salt = 1;
  for (uint64_t n : o.sizes) {
    std::vector<double> put, get, cold, zc, zd;
    uint64_t stored = 0;
    for (int r = 0; r < o.runs; ++r) {
      Bytes p = program_like(n, salt++);  // a new program each run: every put really writes
      auto t0 = Clock::now();
      auto pr = st->put(p, image::Kind::Raw);
      auto t1 = Clock::now();
      if (!pr) return std::unexpected(pr.error());
      put.push_back(secs(t0, t1));
      stored = pr->entry.stored;
      auto t2 = Clock::now();
      auto g = st->get(pr->entry.key);
      auto t3 = Clock::now();
      if (!g || *g != p) return failf(Errc::Internal, "bench: get returned other bytes");
      get.push_back(secs(t2, t3));
      auto t4 = Clock::now();
      auto s2 = Store::open(sdir, false);
      auto g2 = s2 ? s2->get(pr->entry.key) : Result<Bytes>(std::unexpected(s2.error()));
      auto t5 = Clock::now();
      if (!g2 || *g2 != p) return failf(Errc::Internal, "bench: cold get returned other bytes");
      cold.push_back(secs(t4, t5));
      if (o.zstd_cli) {
        std::string in = o.dir + "/payload.bin", z = in + ".zst", back = in + ".back";
        if (auto w = write_file_atomic(in, p); !w) return w;
        auto c = run_process({"zstd", "-q", "-3", "-f", in, "-o", z});
        if (!c) return std::unexpected(c.error());
        auto d = run_process({"zstd", "-q", "-d", "-f", z, "-o", back});
        if (!d) return std::unexpected(d.error());
        zc.push_back(*c);
        zd.push_back(*d);
      }
    }
    double mb = double(n) / 1e6;
    fmt::print("| {} | {:.2f}:1 | {} | {:.3g} | {} | {:.3g} | {} | {} ({:.3g} MB/s) | {} ({:.3g} MB/s) |\n", fmt_size(n),
               double(n) / double(stored), fmt_time(median(put)), mb / median(put), fmt_time(median(get)),
               mb / median(get), fmt_time(median(cold)), o.zstd_cli ? fmt_time(median(zc)) : "-",
               o.zstd_cli ? mb / median(zc) : 0.0, o.zstd_cli ? fmt_time(median(zd)) : "-",
               o.zstd_cli ? mb / median(zd) : 0.0);
    std::fflush(stdout);
  }
  fs::remove_all(sdir, ec);
  return {};
}

}  // namespace pxos::god
