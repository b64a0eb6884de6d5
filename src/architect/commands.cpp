// commands.cpp: the default allow-list, loading a user's table, and filling argument holes.
#include "architect/commands.hpp"

#include <climits>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "architect/config.hpp"
#include "common/spawn.hpp"
#include "common/fs.hpp"

namespace pxos::architect {

size_t CommandSpec::arity() const {
  size_t n = 0;
  for (auto& a : argv) n += (a == "{file}" || a == "{arg}");
  return n;
}

std::string CommandSpec::usage(const std::string& name) const {
  std::string u = name;
  for (auto& a : argv) {
    if (a == "{file}") u += " FILE";
    if (a == "{arg}") u += " WORD";
  }
  return u;
}

CommandTable CommandTable::defaults() {
  CommandTable t;
  auto add = [&](std::string name, std::vector<std::string> argv, int timeout, std::string help) {
    t.commands[std::move(name)] = CommandSpec{std::move(argv), timeout, std::move(help), {}};
  };
  add("build", {"cmake", "--build", "build", "-j", "2"}, 600, "build the project (cmake --build build)");
  add("test", {"ctest", "--test-dir", "build", "--output-on-failure"}, 600, "run the test suite (ctest)");
  add("asm", {"{pxos}", "asm", "{file}", "-o", "{tmp}/out.pxi"}, 60, "assemble a .pxasm file");
  add("run", {"{pxos}", "run", "{file}"}, 60, "run a PixelVM program in the VM");
  add("gpu-check", {"{pxos}", "gpu", "check", "{file}"}, 120, "compile a .wgsl kernel through the GPU runtime");
  add("nasm-check", {"nasm", "-f", "elf64", "-o", "{tmp}/out.o", "{file}"}, 60, "assemble a NASM .asm file");
  add("status", {"git", "status", "--short"}, 30, "git status of the workspace");
  add("log", {"git", "log", "--oneline", "-n", "20"}, 30, "the last 20 commits");
  add("grep", {"git", "grep", "-n", "-I", "-e", "{arg}"}, 30, "search tracked files for a word");
  t.env_passthrough = {"HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "XDG_RUNTIME_DIR", "VK_DRIVER_FILES",
                       "VK_ICD_FILENAMES", "LD_LIBRARY_PATH"};
  return t;
}

Status CommandTable::load_file(const std::string& path, const Workspace& ws) {
  auto text = read_text(path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  {
    char buf[PATH_MAX];
    std::string r = ::realpath(path.c_str(), buf) ? buf : path;
    if (r == ws.root() || r.starts_with(ws.root() + "/"))
      return failf(Errc::Usage, "{}: a command table inside the workspace is refused (the model could rewrite it)", path);
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::Usage, "{}: {}", path, e.what());
  }
  if (!j.is_object()) return failf(Errc::Usage, "{}: expected an object", path);
  try {
    if (j.contains("commands")) {
      for (auto& [name, spec] : j["commands"].items()) {
        if (auto s = check_token(name); !s || name.find('/') != std::string::npos)
          return failf(Errc::Usage, "{}: bad command name \"{}\"", path, name);
        if (spec.is_null()) { commands.erase(name); continue; }  // null removes a default
        CommandSpec c;
        c.argv = spec.at("argv").get<std::vector<std::string>>();
        if (c.argv.empty()) return failf(Errc::Usage, "{}: command {} has an empty argv", path, name);
        c.timeout_s = spec.value("timeout_s", tun::kCommandTimeoutS);
        if (c.timeout_s < 1 || c.timeout_s > 3600) return failf(Errc::Usage, "{}: command {}: timeout_s out of 1..3600", path, name);
        c.help = spec.value("help", "");
        commands[name] = std::move(c);
      }
    }
    if (j.contains("env_passthrough")) env_passthrough = j["env_passthrough"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::Usage, "{}: {}", path, e.what());
  }
  return {};
}

Result<Expanded> expand(const CommandTable& table, const Workspace& ws, const std::string& name,
                        const std::vector<std::string>& args, const std::string& pxos_exe,
                        const std::string& tmpdir, const std::string& path_var, const ReadCheck& readable) {
  auto it = table.commands.find(name);
  if (it == table.commands.end()) {
    std::string list;
    for (auto& [n, c] : table.commands) list += (list.empty() ? "" : ", ") + c.usage(n);
    std::string shown;
    for (char c : name.substr(0, 40)) shown += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    return failf(Errc::SandboxDenied, "refused command \"{}\": not in the allow-list ({})", shown, list);
  }
  const CommandSpec& spec = it->second;
  if (!spec.unavailable.empty()) return failf(Errc::Unsupported, "command {} is unavailable: {}", name, spec.unavailable);
  if (args.size() != spec.arity())
    return failf(Errc::SandboxDenied, "refused command {}: takes {} argument(s) (usage: {}), got {}", name,
                 spec.arity(), spec.usage(name), args.size());
  Expanded e;
  e.timeout_s = spec.timeout_s;
  size_t k = 0;
  for (auto& t : spec.argv) {
    if (t == "{file}") {
      const std::string& a = args[k++];
      if (auto s = check_token(a); !s) return std::unexpected(s.error());
      auto r = ws.resolve(a, Access::Read);
      if (!r) return std::unexpected(r.error());
      if (auto s = readable(*r); !s) return std::unexpected(s.error());
      e.argv.push_back(ws.abs(*r));  // absolute: can never read as an option
    } else if (t == "{arg}") {
      const std::string& a = args[k++];
      if (auto s = check_token(a); !s) return std::unexpected(s.error());
      // A word is passed as is, but one that names a file or folder could be read by the program
      // (`asm .env` quotes the secret back in its diagnostic): the same rules as read_file.
      auto r = ws.resolve_arg(a);
      if (!r) return std::unexpected(r.error());
      if (*r)
        if (auto s = readable(**r); !s) return std::unexpected(s.error());
      e.argv.push_back(a);
    } else if (t == "{pxos}") {
      e.argv.push_back(pxos_exe);
    } else {
      std::string v = t;
      for (size_t p; (p = v.find("{tmp}")) != std::string::npos;) v.replace(p, 5, tmpdir);
      e.argv.push_back(v);
    }
  }
  std::string prog = os::find_program(e.argv[0], path_var);
  if (prog.empty()) return failf(Errc::Unsupported, "command {} is unavailable: {} is not installed", name, e.argv[0]);
  e.argv[0] = prog;
  return e;
}

}  // namespace pxos::architect
