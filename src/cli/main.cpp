// main.cpp: the `pxos` command. Collects the registered subcommands, parses, and turns a
// pxos::Failure into one line on stderr and the error's exit status.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "cli/command.hpp"

namespace pxos::cli {
namespace {
struct Entry { int order; Setup setup; };
std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}
int g_exit_code = 0;
}  // namespace

Register::Register(int order, Setup setup) { registry().push_back({order, setup}); }
void set_exit_code(int code) { g_exit_code = code; }

}  // namespace pxos::cli

int main(int argc, char** argv) {
  using namespace pxos;
  CLI::App app{"pxos: a pixel-native computing stack (PixelVM, .pxi images, hypervisor, god pixels, "
               "WGSL kernels, mailbox, microkernel, architect)", "pxos"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pxos 0.1.0");
  auto& reg = cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.order < b.order; });
  for (auto& e : reg) e.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Failure& f) {
    std::fflush(stdout);
    std::fprintf(stderr, "pxos: %s\n", f.err.to_string().c_str());
    return errc_exit_status(f.err.code);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "pxos: internal error: %s\n", e.what());
    return 70;
  }
  std::fflush(stdout);
  return cli::g_exit_code;
}
