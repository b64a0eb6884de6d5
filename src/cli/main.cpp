// main.cpp: the `pxos` command. Collects the registered subcommands, parses, and turns a
// pxos::Failure into one line on stderr and the error's exit status.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/command.hpp"
#include "cli/usage.hpp"
#include "pxos_version.hpp"
#include "common/os.hpp"

namespace pxos::cli {
namespace {
struct Entry { int order; std::vector<std::string_view> names; Setup setup; Tree tree; };
std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}
int g_exit_code = 0;

// True when stdout is a pipe or socket whose reader has gone (POLLERR on the write end).
bool stdout_reader_gone() {
  struct stat st{};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return false;
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

// Everything printed through stdio is checked once, at the end: a full disk is one line and a
// non-zero exit (never lost output with status 0); a closed pipe (`pxos disasm x | head`) is a
// quiet exit, as SIGPIPE would have been, but with our status rather than a signal death.
// `reported`: an error line was already printed; one line per failure, so stay silent then.
int finish_stdout(int status, bool reported = false) {
  std::fflush(stdout);
  int e = os::stdout_errno();
  if (!e && !std::ferror(stdout)) return status;
  if (e == EPIPE || stdout_reader_gone()) return status ? status : errc_exit_status(Errc::PipeClosed);
  if (!reported) std::fprintf(stderr, "pxos: stdout: write failed: %s\n", e ? std::strerror(e) : "I/O error");
  return status ? status : errc_exit_status(Errc::Io);
}
}  // namespace

Register::Register(int order, std::initializer_list<std::string_view> names, Setup setup, Tree tree) {
  registry().push_back({order, std::vector<std::string_view>(names), setup, tree});
}

// The command word of argv (`run` in `pxos run x.pxi`), or empty when the first argument is a flag
// (`pxos --help`): then every command is built.
std::string_view command_word(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  return argv[1];
}

bool names(const Entry& e, std::string_view w) { return std::ranges::find(e.names, w) != e.names.end(); }

std::vector<std::string> top_names(CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) out.push_back(s->get_name());
  return out;
}

// Runs one setup and holds it to its declared names: every command it adds at the top is named,
// and every name exists afterwards (a later order may extend one, as the llm files do).
void run_setup(CLI::App& app, const Entry& e) {
  auto before = top_names(app);
  e.setup(app);
  auto after = top_names(app);
  for (const auto& n : after)
    if (std::ranges::find(before, n) == before.end() && !names(e, n))
      throw Failure(Error{Errc::Internal, fmt::format("command '{}' is added by a setup whose Register does not name it "
                                                      "(src/cli/command.hpp)", n)});
  for (std::string_view n : e.names)
    if (std::ranges::find(after, n) == after.end())
      throw Failure(Error{Errc::Internal, fmt::format("a Register names command '{}' but its setup does not add it", n)});
}

// Builds the commands argv needs: those whose setups name its command word; all of them for a
// top-level flag, `help`, a command that reads the whole tree (Tree::All), or a word no setup
// names (so that CLI11 and pre_parse see every command for their listings and suggestions).
void setup_commands(CLI::App& app, int argc, char** argv) {
  auto& reg = registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.order < b.order; });
  std::string_view w = command_word(argc, argv);
  bool some = !w.empty() && std::ranges::any_of(reg, [&](const Entry& e) { return names(e, w); }) &&
              std::ranges::none_of(reg, [&](const Entry& e) { return e.tree == Tree::All && names(e, w); });
  for (auto& e : reg)
    if (!some || names(e, w)) run_setup(app, e);
}
void set_exit_code(int code) { g_exit_code = code; }

}  // namespace pxos::cli

int main(int argc, char** argv) {
  using namespace pxos;
  CLI::App app{"pxos: a pixel-native computing stack (PixelVM, .pxi images, hypervisor, god pixels, "
               "WGSL kernels, mailbox, microkernel, architect)", "pxos"};
  app.require_subcommand(1);
  app.formatter(cli::make_formatter());  // before the commands are added: they inherit it
  app.set_version_flag("--version", "pxos " PXOS_VERSION " (commit " PXOS_COMMIT ", " PXOS_BUILD_TYPE " build)");
  // Settled by cli::pre_parse before CLI11 sees argv; here so that it is listed and completed.
  app.add_subcommand("help", "Show a command's help: pxos help [COMMAND...]")->allow_extras();
  // A closed pipe is an EPIPE error that each writer reports (Errc::PipeClosed), not a death.
  std::signal(SIGPIPE, SIG_IGN);
  os::install_checked_stdout();
  try {
    cli::setup_commands(app, argc, argv);
    if (auto settled = cli::pre_parse(app, argc, argv)) return cli::finish_stdout(*settled);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli::report_parse_error(app, e);
    return cli::finish_stdout(rc, rc != 0);
  } catch (const Failure& f) {
    int status = errc_exit_status(f.err.code);
    if (f.err.code == Errc::PipeClosed) return cli::finish_stdout(status, true);  // quiet: nobody reads
    std::fflush(stdout);
    std::fprintf(stderr, "pxos: %s\n", f.err.to_string().c_str());
    return cli::finish_stdout(status, true);
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "pxos: out of memory\n");
    return cli::finish_stdout(70, true);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "pxos: internal error: %s\n", e.what());
    return cli::finish_stdout(70, true);
  }
  return cli::finish_stdout(cli::g_exit_code);
}
