// usage.cpp: git-style usage errors and help for `pxos` (see usage.hpp): the argv pre-scan,
// the one-line rendering of CLI11's parse errors, suggestions and the help formatter.
#include "cli/usage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace pxos::cli {
namespace {

int usage_status() { return errc_exit_status(Errc::Usage); }

void print_out(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
}

// The visible subcommands of `app` (a hidden one has no group) and their aliases.
std::vector<std::string> command_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    names.push_back(sub->get_name());
    for (const auto& a : sub->get_aliases()) names.push_back(a);
  }
  return names;
}

// Every option spelling `app` (and its parents, whose flags such as --help apply) accepts.
std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app; app = app->get_parent())
    for (const CLI::Option* o : app->get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
      for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
  return names;
}

CLI::App* find_command(CLI::App* app, std::string_view name) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; }))
    if (sub->check_name(std::string(name))) return sub;
  return nullptr;
}

bool has_positionals(const CLI::App* app) {
  return !app->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
}

// The deepest command CLI11 had reached when it threw.
const CLI::App* deepest_parsed(const CLI::App& root) {
  const CLI::App* app = &root;
  for (;;) {
    auto subs = app->get_subcommands();
    if (subs.empty()) return app;
    app = subs.front();
  }
}

void usage_error(const std::string& where, const std::string& msg, const std::string& help_path) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: %s; see '%s'\n", where.c_str(), msg.c_str(), help_path.c_str());
}

std::string help_of(const CLI::App* app) {
  const CLI::App* parent = app->get_parent();
  return app->help(parent ? command_path(parent) : "");
}

// `pxos help [CMD...]`: the help of that command, or one line when there is none.
int run_help(CLI::App& root, int argc, char** argv, int from) {
  CLI::App* app = &root;
  for (int i = from; i < argc; ++i) {
    std::string_view w = argv[i];
    if (w.starts_with('-')) continue;  // `pxos help run --all`: the flags change nothing
    CLI::App* sub = find_command(app, w);
    if (!sub) {
      usage_error(command_path(app), fmt::format("unknown command '{}'{}", w, did_you_mean(nearest(w, command_names(app)))),
                  command_path(&root) + " help" + (app == &root ? "" : " " + command_path(app).substr(root.get_name().size() + 1)));
      return usage_status();
    }
    app = sub;
  }
  print_out(help_of(app));
  return 0;
}

class PxosFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    std::string s = CLI::Formatter::make_option_name(opt, positional);
    // CLI11 writes a negated flag ("!--non-causal") as "--non-causal{false}": drop the mark.
    for (size_t b; (b = s.find('{')) != std::string::npos;) {
      size_t e = s.find('}', b);
      s.erase(b, e == std::string::npos ? std::string::npos : e - b + 1);
    }
    return s;
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    // As CLI11's, less the "=default" (shown once, in the description).
    std::string out;
    if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
    if (opt->get_type_size() != 0) {
      if (!opt->get_type_name().empty()) out += " " + get_label(opt->get_type_name());
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
      else if (opt->get_expected_min() > 1) out += fmt::format(" x {}", opt->get_expected());
      if (opt->get_required()) out += " " + get_label("REQUIRED");
    }
    if (!opt->get_envname().empty()) out += " (" + get_label("Env") + ":" + opt->get_envname() + ")";
    return out;
  }
  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string d = sentence(opt->get_description());
    const std::string& def = opt->get_default_str();
    if (opt->get_type_size() != 0 && !def.empty() && d.find("default") == std::string::npos)
      d += fmt::format(" (default {})", def);
    return d;
  }
  std::string make_description(const CLI::App* app) const override {
    // The root's starts with the program's name ("pxos: ..."), which stays lower case.
    std::string d = CLI::Formatter::make_description(app);
    return app->get_parent() ? sentence(d) : d;
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    // Same layout as CLI11's; the description capitalised like the options'.
    std::string d = sentence(sub->get_description());
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true), d, column_width_);
    return out.str();
  }
};

}  // namespace

std::string sentence(std::string s) {
  if (!s.empty() && std::islower(static_cast<unsigned char>(s[0]))) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string command_path(const CLI::App* app) {
  std::string s = app->get_name();
  for (const CLI::App* p = app->get_parent(); p; p = p->get_parent()) s = p->get_name() + " " + s;
  return s;
}

std::shared_ptr<CLI::Formatter> make_formatter() { return std::make_shared<PxosFormatter>(); }

std::optional<int> pre_parse(CLI::App& root, int argc, char** argv) {
  CLI::App* app = &root;
  bool options_here = false;  // a flag at this level (--help, --version, an option) goes to CLI11
  for (int i = 1; i < argc; ++i) {
    std::string_view w = argv[i];
    if (app->get_subcommands([](CLI::App*) { return true; }).empty()) return std::nullopt;  // a leaf: CLI11's job
    if (w == "--") return std::nullopt;
    if (w.size() > 1 && w.starts_with('-')) {
      options_here = true;
      std::string name(w.substr(0, w.find('=')));
      const CLI::Option* o = app->get_option_no_throw(name);
      if (o && o->get_expected_max() != 0 && w.find('=') == std::string_view::npos) ++i;  // its value
      continue;
    }
    if (app == &root && w == "help") return run_help(root, argc, argv, i + 1);
    if (CLI::App* sub = find_command(app, w)) {
      app = sub;
      options_here = false;
      continue;
    }
    if (has_positionals(app)) return std::nullopt;
    std::string where = command_path(app);
    usage_error(where, fmt::format("unknown command '{}'{}", w, did_you_mean(nearest(w, command_names(app)))),
                root.get_name() + " help" + where.substr(root.get_name().size()));
    return usage_status();
  }
  // A group alone (`pxos gpu`, `pxos`): list its commands, as `git remote` lists remotes.
  if (!options_here && app->get_require_subcommand_min() > 0) {
    print_out(help_of(app));
    return 0;
  }
  return std::nullopt;
}

int report_parse_error(CLI::App& root, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e) ||
      dynamic_cast<const CLI::CallForVersion*>(&e)) {
    std::ostringstream out, err;
    int rc = root.exit(e, out, err);
    print_out(out.str());
    return rc;
  }
  const CLI::App* app = deepest_parsed(root);
  std::string where = command_path(app);
  std::string help = root.get_name() + " help" + where.substr(root.get_name().size());
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    for (const std::string& w : root.remaining(true)) {
      if (w.size() > 1 && w.starts_with('-')) {
        std::string name = w.substr(0, w.find('='));
        usage_error(where, fmt::format("unknown option '{}'{}", name, did_you_mean(nearest(name, option_names(app)))), help);
      } else if (!app->get_subcommands([](const CLI::App*) { return true; }).empty()) {
        usage_error(where, fmt::format("unknown command '{}'{}", w, did_you_mean(nearest(w, command_names(app)))), help);
      } else {
        usage_error(where, fmt::format("unexpected argument '{}'", w), help);
      }
      return usage_status();
    }
  }
  // Anything else in CLI11's words, folded onto one line.
  std::string msg = e.what();
  for (char& c : msg)
    if (c == '\n') c = ' ';
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  if (!msg.empty()) msg[0] = char(std::tolower(static_cast<unsigned char>(msg[0])));
  usage_error(where, msg, help);
  return usage_status();
}

}  // namespace pxos::cli
