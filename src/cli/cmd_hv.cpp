// cmd_hv.cpp: `pxos archive create|list|extract` and `pxos hv validate|list|run`.
// `hv run` prints program output on stdout only; checks, stats and reasons go to stderr.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/mailbox_link.hpp"
#include "common/fs.hpp"
#include "common/progress.hpp"
#include "hv/archive.hpp"
#include "hv/hypervisor.hpp"
#include "hv/pack.hpp"
#include "image/pxi.hpp"
#include "isa/isa.hpp"

namespace pxos::cli {
namespace {

using Clock = std::chrono::steady_clock;
// Taken during static initialisation, i.e. right after the dynamic loader: the "process start"
// of --stats unless the caller passes its own spawn time in PXOS_T0_NS (bench/hv does).
const Clock::time_point g_static_t0 = Clock::now();

Clock::time_point process_t0() {
  if (const char* s = std::getenv("PXOS_T0_NS")) {
    char* end = nullptr;
    unsigned long long ns = std::strtoull(s, &end, 10);
    if (end && *end == 0 && ns > 0) return Clock::time_point(std::chrono::nanoseconds(ns));
  }
  return g_static_t0;
}

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct PolicyArgs {
  std::vector<std::string> grant, deny;
  void add(CLI::App* s) {
    s->add_option("--grant", grant, fmt::format("grant a capability the manifest asks for (repeatable; default policy: {})", vm::cap_list(hv::kDefaultGrants)))
        ->allow_extra_args(false)
        ->delimiter(',');
    s->add_option("--deny", deny, "deny a capability (repeatable; wins over --grant and the default policy)")
        ->allow_extra_args(false)
        ->delimiter(',');
  }
  hv::Policy policy() const {
    hv::Policy p;
    p.grant = parse(grant, "--grant");
    p.deny = parse(deny, "--deny");
    return p;
  }
  static vm::CapSet parse(const std::vector<std::string>& names, const char* flag) {
    return must(vm::parse_caps(names, flag));
  }
};

nlohmann::ordered_json names_json(const std::vector<std::string>& v) { return nlohmann::ordered_json(v); }

hv::RunLog open_log(const std::string& path) { return path.empty() ? hv::RunLog() : must(hv::RunLog::open(path)); }

void warn_log(const hv::RunLog& log) {
  if (!log.error().empty()) std::fprintf(stderr, "pxos: warning: %s\n", log.error().c_str());
}

void log_failure(hv::RunLog& log, const Error& e, std::string_view status) {
  nlohmann::ordered_json f;
  f["status"] = status;
  f["error"] = e.to_string();
  f["exit_status"] = errc_exit_status(e.code);
  log.record("result", f);
}

// ---- pxos archive ----
Register reg_archive(40, {"archive"}, [](CLI::App& app) {
  auto* a = app.add_subcommand("archive", "Create, list and extract .pxa archives (manifest + modules + data in one PNG)");
  a->require_subcommand(1);

  struct CreateArgs { std::string out, dir; bool validate = false; };
  auto c = std::make_shared<CreateArgs>();
  auto* cs = a->add_subcommand("create", "Pack DIR (manifest.json, *.pxasm assembled on the way in, *.pxi, data/) into OUT.pxa");
  cs->add_option("out", c->out, "the archive to write (atomically)")->required();
  cs->add_option("dir", c->dir, "the directory to pack")->required();
  cs->add_flag("--validate", c->validate, "run the hypervisor's checks (except the policy) and write nothing if one fails");
  cs->callback([c] {
    ProgressBar bar;  // a terminal only; nothing for small inputs
    hv::Archive ar = must(hv::pack_directory(c->dir, bar.feed()));
    uint64_t bytes = 0;
    for (const auto& e : ar.entries) bytes += e.data.size();
    // The manifest always gets hv validate's strict parse and runtime check: an archive whose
    // manifest can never load is refused here, not at its first run. (--validate adds the
    // module, link and entrypoint checks.)
    if (const hv::Entry* me = ar.manifest()) {
      std::string where = fmt::format("{}/{}", c->dir, hv::kManifestName);
      std::string_view text(reinterpret_cast<const char*>(me->data.data()), me->data.size());
      hv::Manifest man = must(hv::parse_manifest(text, where));
      must(hv::check_runtime(man, where));
    }
    bar.step("hashing and encoding the PNG", bytes);
    Bytes png = must(hv::encode_pxa(ar));
    if (c->validate) {
      bar.step("validating", bytes);
      hv::ValidateOptions vo;
      vo.check_policy = false;
      must(hv::open_image(png, c->out, vo));
    }
    bar.step("writing", png.size());
    must(write_file_atomic(c->out, png));
    bar.clear();
    size_t nmod = ar.modules().size();
    // The index hash names the contents (the same in archive list and hv list); sha256sum hashes
    // the PNG file, whose bytes also depend on the encoder.
    std::printf("%s: %zu entries (%zu module%s), %zu bytes, index sha256 %s\n", c->out.c_str(), ar.entries.size(), nmod,
                nmod == 1 ? "" : "s", png.size(), hex(ar.hash).c_str());
  });

  auto lpath = std::make_shared<std::string>();
  auto ljson = std::make_shared<bool>(false);
  auto* ls = a->add_subcommand("list", "List an archive's entries with their sizes and SHA-256");
  ls->add_option("archive", *lpath, ".pxa file")->required();
  ls->add_flag("--json", *ljson, "one JSON object: the archive and its entries");
  ls->callback([lpath, ljson] {
    Bytes file = must(read_file(*lpath));
    image::Pxi img = must(image::decode_pxi(file, *lpath));
    if (img.kind != image::Kind::Archive)
      throw Failure(Error{Errc::ArchiveInvalid, fmt::format("{}: holds a {} payload, not an archive", *lpath, image::kind_name(img.kind))});
    hv::Archive ar = must(hv::parse_archive(img.payload, *lpath));
    if (*ljson) {
      nlohmann::ordered_json j = {{"file", *lpath}, {"archive_version", hv::kArchiveVersion},
                                  {"index_sha256", hex(ar.hash)}, {"file_sha256", hex(sha256(file))},
                                  {"payload_bytes", ar.payload_bytes}, {"file_bytes", file.size()},
                                  {"pixels", {{"width", img.width}, {"height", img.height}}},
                                  {"entries", nlohmann::ordered_json::array()}};
      for (const auto& e : ar.entries)
        j["entries"].push_back({{"type", hv::type_name(e.type)}, {"name", e.name}, {"bytes", e.data.size()},
                                {"sha256", hex(e.sha)}});
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("%s: pxos archive v%u, %zu entries, %llu payload bytes in a %ux%u PNG of %zu bytes\n", lpath->c_str(),
                unsigned(hv::kArchiveVersion), ar.entries.size(), (unsigned long long)ar.payload_bytes, img.width, img.height,
                file.size());
    std::printf("archive sha256 (of the index): %s\n", hex(ar.hash).c_str());
    std::printf("%-9s %9s  %-64s  %s\n", "type", "bytes", "sha256", "name");
    for (const auto& e : ar.entries)
      std::printf("%-9s %9zu  %-64s  %s\n", std::string(hv::type_name(e.type)).c_str(), e.data.size(), hex(e.sha).c_str(),
                  e.name.c_str());
  });

  struct ExtractArgs { std::string archive, dir; };
  auto x = std::make_shared<ExtractArgs>();
  auto* xs = a->add_subcommand("extract", "Write an archive's entries into DIR (modules as bytecode .pxi images)");
  xs->add_option("archive", x->archive, ".pxa file")->required();
  xs->add_option("dir", x->dir, "destination directory (created if missing)")->required();
  xs->callback([x] {
    hv::Archive ar = must(hv::load_pxa(x->archive));
    must(hv::extract_archive(ar, x->dir));
    std::printf("extracted %zu entries from %s into %s\n", ar.entries.size(), x->archive.c_str(), x->dir.c_str());
  });
});

// ---- pxos hv ----
Register reg_hv(40, {"hv"}, [](CLI::App& app) {
  auto* h = app.add_subcommand("hv", "Hypervisor: validate, list and run .pxa archives in a sandboxed PixelVM");
  h->require_subcommand(1);

  // validate
  struct ValArgs { std::string archive, log; PolicyArgs pol; };
  auto v = std::make_shared<ValArgs>();
  auto* vs = h->add_subcommand("validate", "Check integrity, manifest, VM version, modules, link, entrypoints and capabilities");
  vs->add_option("archive", v->archive, ".pxa file")->required();
  {
    std::string steps = "Checks, in order (the first failing one ends validation):\n";
    for (const auto& step : hv::check_steps()) steps += fmt::format("  {:<14}{}\n", step.name, step.description);
    vs->footer(steps);
  }
  v->pol.add(vs);
  vs->add_option("--log", v->log, "append JSON-lines records to FILE");
  auto vjson = std::make_shared<bool>(false);
  vs->add_flag("--json", *vjson, "one JSON object: each check, in order, and the verdict (also when invalid)");
  vs->callback([v, vjson] {
    hv::Policy pol = v->pol.policy();
    hv::RunLog log = open_log(v->log);
    log.begin_run();
    nlohmann::ordered_json f;
    f["command"] = "validate";
    f["archive"] = v->archive;
    log.record("run_start", f);
    size_t reported = 0;  // steps done, in table order
    hv::ValidateOptions vo;
    vo.policy = pol;
    nlohmann::ordered_json jchecks = nlohmann::ordered_json::array();
    vo.sink = [&](const hv::Check& c) {
      if (*vjson) jchecks.push_back({{"check", c.name}, {"status", c.ok ? "ok" : "fail"}, {"detail", c.detail}});
      else std::printf("%-4s  %-12s  %s\n", c.ok ? "ok" : "FAIL", std::string(c.name).c_str(), c.detail.c_str());
      reported = size_t(c.id) + 1;
      hv::log_check(&log, c);
    };
    auto img = hv::open_image_file(v->archive, vo);
    auto print_json = [&](const char* verdict, const Error* e) {
      nlohmann::ordered_json j = {{"archive", v->archive}, {"status", verdict}, {"checks", jchecks}};
      if (e) j["error"] = {{"kind", errc_message(e->code)}, {"exit_status", errc_exit_status(e->code)}, {"message", e->to_string()}};
      std::printf("%s\n", j.dump().c_str());
    };
    if (!img) {
      for (const auto& step : hv::check_steps().subspan(reported))
        if (*vjson) jchecks.push_back({{"check", step.name}, {"status", "not checked"}, {"detail", ""}});
        else std::printf("%-4s  %-12s  %s\n", "--", std::string(step.name).c_str(), "not checked");
      if (*vjson) print_json("invalid", &img.error());
      std::fflush(stdout);
      log_failure(log, img.error(), "invalid");
      warn_log(log);
      throw Failure(img.error());
    }
    nlohmann::ordered_json r;
    r["status"] = "valid";
    r["exit_status"] = 0;
    log.record("result", r);
    warn_log(log);
    if (*vjson) print_json("valid", nullptr);
    else std::printf("%s: valid\n", v->archive.c_str());
  });

  // list
  auto lp = std::make_shared<std::string>();
  auto hjson = std::make_shared<bool>(false);
  auto* ls = h->add_subcommand("list", "Entrypoints and what each needs (capabilities, host calls, modules), and the limits");
  ls->add_option("archive", *lp, ".pxa file")->required();
  ls->add_flag("--json", *hjson, "one JSON object: manifest, limits and each entrypoint's needs");
  ls->callback([lp, hjson] {
    hv::ValidateOptions vo;
    vo.check_policy = false;
    hv::Image img = must(hv::open_image_file(*lp, vo));
    const auto& M = img.manifest;
    const auto& L = M.limits;
    if (*hjson) {
      hv::Policy def;
      auto caps = [](vm::CapSet set) {
        nlohmann::ordered_json a = nlohmann::ordered_json::array();
        for (auto c : vm::all_caps())
          if (set & vm::cap_bit(c)) a.push_back(vm::cap_name(c));
        return a;
      };
      nlohmann::ordered_json j = {{"file", *lp}, {"name", M.name}, {"version", M.version}, {"index_sha256", hex(img.archive.hash)},
                                  {"vm_version", M.vm_version.text}, {"capabilities", caps(M.caps)},
                                  {"limits", {{"max_steps", L.max_steps}, {"max_output_bytes", L.max_output_bytes},
                                              {"memory_words", L.memory_words}, {"timeout_ms", L.timeout_ms}}},
                                  {"entrypoints", nlohmann::ordered_json::array()}};
      for (const auto& e : img.entries)
        j["entrypoints"].push_back({{"name", e.name}, {"target", e.target()}, {"offset", e.offset}, {"needs", caps(e.needs)},
                                    {"host_calls", e.host_calls}, {"modules", e.modules},
                                    {"grant_needed", caps(e.needs & ~def.allows())}});
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("%s %s  (%s, sha256 %s)\n", M.name.c_str(), M.version.c_str(), lp->c_str(), hex(img.archive.hash).c_str());
    std::printf("runtime: vm_version '%s' (this build: %d); capabilities: %s\n", M.vm_version.text.c_str(), isa::kVmVersion,
                hv::cap_list(M.caps).c_str());
    std::printf("limits: %llu steps, %llu output bytes, %u memory words, %llu ms\n", (unsigned long long)L.max_steps,
                (unsigned long long)L.max_output_bytes, L.memory_words, (unsigned long long)L.timeout_ms);
    std::printf("entrypoints:\n");
    hv::Policy def;
    for (const auto& e : img.entries) {
      std::string mods;
      for (const auto& m : e.modules) mods += fmt::format("{}{}", mods.empty() ? "" : ", ", m);
      std::string calls;
      for (const auto& c : e.host_calls) calls += fmt::format("{}{}", calls.empty() ? "" : ", ", c);
      vm::CapSet missing = e.needs & ~def.allows();
      std::string verdict = missing ? fmt::format("run with --grant {}", hv::cap_list(missing)) : "runs under the default policy";
      std::printf("  %-12s %-22s offset %s\n", e.name.c_str(), e.target().c_str(), fmt::format("{:#06x}", e.offset).c_str());
      std::printf("      needs: %s%s\n", hv::cap_list(e.needs).c_str(), calls.empty() ? "" : fmt::format(" (host calls: {})", calls).c_str());
      std::printf("      modules: %s; %s\n", mods.c_str(), verdict.c_str());
    }
  });

  // run
  struct RunArgs {
    std::string archive, entry = "default", log;
    PolicyArgs pol;
    uint64_t seed = 0;
    bool stats = false, trace = false;
    hv::OperatorLimits caps;
    MailboxFlags mailbox;
  };
  auto r = std::make_shared<RunArgs>();
  auto* rs = h->add_subcommand("run", "Validate, then run ENTRY (default \"default\") under the manifest's limits");
  rs->add_option("archive", r->archive, ".pxa file")->required();
  rs->add_option("entry", r->entry, "entrypoint name (see pxos hv list)");
  r->pol.add(rs);
  auto* seed_opt = rs->add_option("--seed", r->seed, "seed of the random host call (same seed, same numbers)");
  rs->add_option("--log", r->log, "append JSON-lines records to FILE");
  rs->add_flag("--stats", r->stats, "report start-up phases and instructions executed on stderr");
  rs->add_flag("--trace", r->trace, "print each executed instruction and the stack to stderr");
  // Operator limits: each can only lower the manifest's (the archive's author picks the rest).
  rs->add_option("--max-steps", r->caps.max_steps, "at most N instructions, if the manifest allows more")->check(at_least("--max-steps", true));
  rs->add_option("--max-output", r->caps.max_output_bytes, "at most N bytes of output, if the manifest allows more")
      ->check(at_least("--max-output", true));
  rs->add_option("--timeout-ms", r->caps.timeout_ms, "at most this much wall time, if the manifest allows more")
      ->check(at_least("--timeout-ms", true));
  add_mailbox_flags(rs, r->mailbox);  // the capability itself is the policy's (manifest + --grant mailbox)
  rs->callback([r, seed_opt] {
    Clock::time_point t0 = process_t0();
    hv::Policy pol = r->pol.policy();
    hv::RunLog log = open_log(r->log);
    log.begin_run();
    {
      nlohmann::ordered_json f;
      f["command"] = "run";
      f["archive"] = r->archive;
      f["entry"] = r->entry;
      if (seed_opt->count()) f["seed"] = r->seed;
      f["grant"] = names_json(r->pol.grant);
      f["deny"] = names_json(r->pol.deny);
      log.record("run_start", f);
    }
    hv::ValidateOptions vo;
    vo.policy = pol;
    vo.entry = r->entry;
    vo.sink = [&](const hv::Check& c) { hv::log_check(&log, c); };
    auto img = hv::open_image_file(r->archive, vo);
    if (!img) {
      log_failure(log, img.error(), "invalid");
      warn_log(log);
      throw Failure(img.error());
    }
    Clock::time_point t_valid = Clock::now();
    hv::RunRequest req;
    req.entry = r->entry;
    if (seed_opt->count()) req.seed = r->seed;
    req.trace = r->trace;
    req.caps = r->caps;
    req.mailbox = must(connect_mailbox(r->mailbox));
    auto out = hv::run(*img, pol, req, &log);
    if (!out) {
      log_failure(log, out.error(), "refused");
      warn_log(log);
      throw Failure(out.error());
    }
    std::fflush(stdout);
    const vm::RunResult& res = out->result;
    if (r->stats) {
      std::fprintf(stderr, "stats: first instruction %.3f ms after process start (archive read, validated, linked and loaded at %.3f ms)%s\n",
                   ms_between(t0, out->first_instruction), ms_between(t0, t_valid),
                   std::getenv("PXOS_T0_NS") ? " [start: PXOS_T0_NS]" : " [start: static initialisation]");
      std::fprintf(stderr, "stats: %llu instructions in %.6f s (%.1f M instructions/s), %llu output bytes\n",
                   (unsigned long long)res.steps, res.seconds, res.seconds > 0 ? double(res.steps) / res.seconds / 1e6 : 0.0,
                   (unsigned long long)res.output_bytes);
    }
    warn_log(log);
    if (!res.halted) {
      Error e = res.trap.error();
      e.detail = fmt::format("{}: entry '{}': {}", r->archive, r->entry, e.detail);
      throw Failure(e);
    }
  });
});

}  // namespace
}  // namespace pxos::cli
