// hv_bench.cpp: bench/hv. (1) Start-up of `pxos hv run` on a 64 KiB archive: from posix_spawn to
// the first instruction (the child reports it with --stats against PXOS_T0_NS, the spawn time on
// the same monotonic clock), and the whole process's wall time. (2) Per-run overhead of the
// hypervisor (archive bytes -> validate -> link -> load -> run) over a bare VM run
// (Program::load -> run) on the VM benchmark programs, interleaved, medians.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "asm/assembler.hpp"
#include "common/fs.hpp"
#include "hv/hypervisor.hpp"
#include "hv/pack.hpp"

extern char** environ;

namespace {
using namespace pxos;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

[[noreturn]] void die(const std::string& s) {
  std::fprintf(stderr, "pxos_hv_bench: %s\n", s.c_str());
  std::exit(1);
}
template <class T>
T ok(Result<T> r) {
  if (!r) die(r.error().to_string());
  return std::move(*r);
}

// Spawns argv with PXOS_T0_NS set to the spawn time; returns {wall ms, stderr text}.
std::pair<double, std::string> spawn(const std::vector<std::string>& args) {
  int errp[2];
  if (pipe(errp) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
  posix_spawn_file_actions_addclose(&fa, errp[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PXOS_T0_NS=", 11) != 0) envs.emplace_back(*e);
  auto t0 = Clock::now();
  envs.push_back("PXOS_T0_NS=" + std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count()));
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) die("spawn " + args[0]);
  close(errp[1]);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = read(errp[0], buf, sizeof buf)) > 0) err.append(buf, size_t(n));
  close(errp[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die(args[0] + " failed: " + err);
  return {ms, err};
}

// The demo archive plus a generated 30 KiB module and incompressible data, to about 64 KiB of PNG.
Bytes archive_64k(const std::string& demo_dir, size_t target) {
  hv::Archive a = ok(hv::pack_directory(demo_dir));
  std::mt19937 rng(42);
  std::string src = "; generated: 5000 small functions\n";
  for (int i = 0; i < 5000; ++i) src += "f" + std::to_string(i) + ":\n  PUSH " + std::to_string(rng() % 1000000) + "\n  RET\n";
  isa::Module big = ok(assembler::assemble(src, "big.pxasm"));
  a.entries.push_back({hv::EntryType::Module, "big", isa::serialize(big).value(), {}, 0});
  hv::Entry pad{hv::EntryType::Data, "data/pad.bin", {}, {}, 0};
  a.entries.push_back(pad);
  for (;;) {
    Bytes png = ok(hv::encode_pxa(a));
    if (png.size() >= target) return png;
    auto& d = a.entries.back().data;
    for (size_t i = 0; i < std::max<size_t>(64, target - png.size()); ++i) d.push_back(uint8_t(rng()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string pxos = "build/pxos", demo = "examples/demo-archive", pxos_min;
  int runs = 7, spawns = 50;
  std::vector<std::string> programs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { if (i + 1 >= argc) die("missing value for " + a); return std::string(argv[++i]); };
    if (a == "--pxos") pxos = next();
    else if (a == "--demo") demo = next();
    else if (a == "--pxos-min") pxos_min = next();
    else if (a == "--runs") runs = std::stoi(next());
    else if (a == "--spawns") spawns = std::stoi(next());
    else programs.push_back(a);
  }

  // (1) start-up
  Bytes png = archive_64k(demo, 64 * 1024);
  std::string path = "/tmp/pxos_hv_bench_" + std::to_string(getpid()) + ".pxa";
  if (!write_file_atomic(path, png)) die("cannot write " + path);
  struct Startup { std::vector<double> first, wall; };
  auto measure = [&](const std::string& bin) {
    Startup s;
    for (int i = 0; i < spawns; ++i) {
      auto [ms, err] = spawn({bin, "hv", "run", path, "countdown", "--stats"});
      auto p = err.find("first instruction ");
      if (p == std::string::npos) die("no --stats line: " + err);
      s.first.push_back(std::stod(err.substr(p + 18)));
      s.wall.push_back(ms);
    }
    return s;
  };
  std::vector<double> truewall;
  for (int i = 0; i < spawns; ++i) truewall.push_back(spawn({"/bin/true"}).first);
  Startup full = measure(pxos);
  std::printf("## start-up: BIN hv run ARCHIVE countdown --stats (archive: demo + a 30 KiB module + data, %zu bytes of PNG)\n\n",
              png.size());
  std::printf("| figure (%d spawns each) | median | p90 |\n| --- | --- | --- |\n", spawns);
  std::printf("| %s: spawn -> first instruction | %.3f ms | %.3f ms |\n", pxos.c_str(), median(full.first), pct(full.first, 0.9));
  std::printf("| %s: spawn -> exit | %.3f ms | %.3f ms |\n", pxos.c_str(), median(full.wall), pct(full.wall, 0.9));
  double best = median(full.first);
  if (!pxos_min.empty()) {
    Startup min = measure(pxos_min);
    std::printf("| %s (archive + hv commands only): spawn -> first instruction | %.3f ms | %.3f ms |\n", pxos_min.c_str(),
                median(min.first), pct(min.first, 0.9));
    std::printf("| %s: spawn -> exit | %.3f ms | %.3f ms |\n", pxos_min.c_str(), median(min.wall), pct(min.wall, 0.9));
    std::printf("\ngoal: < 5 ms to the first instruction: %s for the hypervisor alone (%s), %s for the full pxos binary\n",
                median(min.first) < 5.0 ? "MET" : "NOT MET", pxos_min.c_str(), best < 5.0 ? "MET" : "NOT MET");
  } else {
    std::printf("\ngoal: < 5 ms to the first instruction: %s\n", best < 5.0 ? "MET" : "NOT MET");
  }
  std::printf("(/bin/true spawn -> exit, the cost of a process alone: median %.3f ms)\n\n", median(truewall));
  std::remove(path.c_str());

  // (2) overhead
  if (programs.empty()) return 0;
  std::printf("## per-run overhead: in-process, %d interleaved runs each, medians\n\n", runs);
  std::printf("| program | bare VM (load + run) | bare VM again (A/A control) | hypervisor (validate + link + load + run) | hypervisor's own work (validate + link + load) | own work / bare run |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  bool all_met = true;
  for (const auto& spec : programs) {
    auto colon = spec.rfind(':');
    std::string file = spec.substr(0, colon);
    uint32_t mem = colon == std::string::npos ? 1024 : uint32_t(std::stoul(spec.substr(colon + 1)));
    if (colon == std::string::npos) file = spec;
    std::string src = "start:\n" + ok(read_text(file));
    isa::Module mod = ok(assembler::assemble(src, file));
    hv::Archive a;
    std::string manifest = R"({"name":"bench","version":"1.0.0","entrypoints":{"default":"main:start"},)"
                           R"("runtime":{"vm_version":">=1","limits":{"max_steps":1000000000000,"max_output_bytes":1048576,)"
                           R"("memory_words":)" + std::to_string(mem) + R"(,"timeout_ms":600000}}})";
    a.entries.push_back({hv::EntryType::Manifest, "manifest.json", Bytes(manifest.begin(), manifest.end()), {}, 0});
    a.entries.push_back({hv::EntryType::Module, "main", isa::serialize(mod).value(), {}, 0});
    Bytes apng = ok(hv::encode_pxa(a));
    std::vector<double> bare, bare2, hvt, prep;
    std::string out_bare, out_hv, bare_error;
    auto bare_run = [&](std::vector<double>& into) {
      out_bare.clear();
      auto t0 = Clock::now();
      vm::VerifyOptions vo;
      vo.memory_words = mem;
      vm::Program prog = ok(vm::Program::load(mod, vo));
      vm::HostEnv env;
      vm::Machine m(prog, env);
      vm::RunOptions ro;
      ro.limits.memory_words = mem;
      ro.output = [&](std::string_view s) { out_bare += s; };
      auto res = m.run(ro);
      if (!res.halted) bare_error = res.trap.detail;
      into.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    };
    for (int r = 0; r < runs && bare_error.empty(); ++r) {
      bare_run(bare);
      if (!bare_error.empty()) break;
      {
        out_hv.clear();
        auto t0 = Clock::now();
        hv::Image img = ok(hv::open_image(apng, file, {}));
        auto t1 = Clock::now();
        hv::RunRequest req;
        req.output = [&](std::string_view s) { out_hv += s; };
        auto res = ok(hv::run(img, {}, req));
        if (!res.result.halted) die(file + ": " + res.result.trap.detail);
        hvt.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        prep.push_back(std::chrono::duration<double>(t1 - t0).count());
      }
      if (out_bare != out_hv) die(file + ": outputs differ");
      bare_run(bare2);  // A/A control: the same bare run again, to show the noise of placement
    }
    if (!bare_error.empty()) {  // the bare VM itself fails: nothing to compare
      std::printf("| %s | fails in the bare VM: %s | - | - | - | - |\n", file.c_str(), bare_error.c_str());
      continue;
    }
    double b = median(bare), b2 = median(bare2), h = median(hvt), own = median(prep) / b * 100;
    all_met = all_met && own < 2.0;
    std::printf("| %s | %.4f s | %.4f s (%+.2f %%) | %.4f s (%+.2f %%) | %.3f ms | %.3f %% |\n", file.c_str(), b, b2, (b2 / b - 1) * 100,
                h, (h / b - 1) * 100, median(prep) * 1e3, own);
  }
  std::printf("\ngoal: overhead < 2 %% (the hypervisor's own work per run, against the bare run): %s\n",
              all_met ? "MET on every program that runs" : "NOT MET");
  std::printf("(total-time differences move both ways by as much as the A/A control: the interpreted code is identical)\n");
  return 0;
}
