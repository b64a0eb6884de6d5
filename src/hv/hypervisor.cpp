// hypervisor.cpp: validation in steps (the PXOS_HV_CHECKS table, each reported to a sink), entry
// analysis, the capability policy, and isolated runs (a new HostEnv and Machine per run).
#include "hv/hypervisor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/fs.hpp"
#include "hv/suggest.hpp"
#include "image/pxi.hpp"
#include "isa/decode.hpp"
#include "isa/isa.hpp"

namespace pxos::hv {
namespace {

using json = nlohmann::ordered_json;

json caps_json(vm::CapSet s) {
  json a = json::array();
  for (auto c : vm::all_caps())
    if (s & vm::cap_bit(c)) a.push_back(std::string(vm::cap_name(c)));
  return a;
}

std::string errc_name(Errc c) {
  switch (c) {
#define X(name, status, msg) \
  case Errc::name: return #name;
#include "common/errors.def"
#undef X
  }
  return "Unknown";
}

// Static reachability from `entry` over the linked code: fall-through, jump and call targets,
// and the instruction after each CALL (the callee returns there).
EntryInfo analyze(const Linked& L, const EntryPoint& ep, uint32_t entry) {
  EntryInfo info;
  info.name = ep.name;
  info.module = ep.module;
  info.label = ep.label;
  info.offset = entry;
  const auto& code = L.module.code;
  std::vector<uint8_t> seen(code.size(), 0);
  std::vector<uint32_t> work{entry};
  std::set<std::string> calls;
  std::vector<uint8_t> mods(L.segments.size(), 0);
  while (!work.empty()) {
    uint32_t pc = work.back();
    work.pop_back();
    while (pc < code.size() && !seen[pc]) {
      seen[pc] = 1;
      auto in = isa::decode(code, pc);
      if (!in) break;  // cannot happen after Program::load verified the code
      if (in->op == isa::Op::HOST_CALL) {
        if (const vm::HostCall* hc = vm::host_table()[size_t(in->operand)]) {
          calls.insert(std::string(hc->name));
          uint8_t bit = uint8_t(hc->cap);
          if (!(info.needs & vm::cap_bit(hc->cap)) && bit < 32)
            info.first_use[bit] = fmt::format("{} ({})", L.where(pc), hc->name);
          info.needs |= vm::cap_bit(hc->cap);
        }
      }
      if (in->info->fmt == isa::Fmt::ADDR) work.push_back(uint32_t(in->operand));
      if (!isa::falls_through(in->op)) break;
      pc = in->next;
    }
  }
  for (uint32_t pc = 0; pc < code.size(); ++pc)
    if (seen[pc])
      for (size_t s = 0; s < L.segments.size(); ++s)
        if (pc >= L.segments[s].base && pc < L.segments[s].base + L.segments[s].size) mods[s] = 1;
  for (size_t s = 0; s < L.segments.size(); ++s)
    if (mods[s]) info.modules.push_back(L.segments[s].module);
  info.host_calls.assign(calls.begin(), calls.end());
  return info;
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string s;
  for (const auto& x : v) s += fmt::format("{}{}", s.empty() ? "" : sep, x);
  return s.empty() ? "none" : s;
}

// Why the policy does not grant capability c (for the one-line refusal).
std::string refusal_hint(const Policy& p, vm::CapSet declared, vm::Cap c) {
  auto b = vm::cap_bit(c);
  if (!(declared & b)) return fmt::format("the manifest does not declare it (add \"{}\" to $.runtime.capabilities)", vm::cap_name(c));
  if (p.deny & b) return fmt::format("it is denied by --deny {}", vm::cap_name(c));
  return fmt::format("the default policy grants only {}: pass --grant {}", cap_list(p.defaults), vm::cap_name(c));
}

}  // namespace

std::string cap_list(vm::CapSet s) { return vm::cap_list(s); }

const EntryInfo* Image::entry(std::string_view n) const {
  for (const auto& e : entries)
    if (e.name == n) return &e;
  return nullptr;
}

void log_check(RunLog* log, const Check& c) {
  if (!log) return;
  json f;
  f["check"] = c.name;
  f["ok"] = c.ok;
  f["detail"] = c.detail;
  log->record("check", f);
}

namespace {

// What the steps share: the image being built, and what one step leaves for the next.
struct Validation {
  std::string_view name;  // the archive's file name, for messages
  const ValidateOptions& opt;
  Image img;
  std::string mf;  // "<name>: manifest.json"
  std::vector<isa::Module> mods;
  std::vector<std::string> mod_names;
};
using StepResult = Result<std::string>;  // the ok line's detail, or the error that ends validation

// archive: decoded (PNG, .pxi hash, payload, index and entry hashes) before the steps; here: a manifest.
StepResult step_archive(Validation& v) {
  if (!v.img.archive.manifest())
    return failf(Errc::ManifestInvalid, "{}: no manifest.json entry (pxos archive create takes it from DIR/manifest.json)", v.name);
  v.mf = fmt::format("{}: {}", v.name, kManifestName);
  return fmt::format("{} entries, {} payload bytes, sha256 {}", v.img.archive.entries.size(), v.img.archive.payload_bytes,
                     hex(v.img.archive.hash));
}

StepResult step_manifest(Validation& v) {
  const Entry* e = v.img.archive.manifest();
  auto m = parse_manifest(std::string_view(reinterpret_cast<const char*>(e->data.data()), e->data.size()), v.mf);
  if (!m) return std::unexpected(m.error());
  v.img.manifest = std::move(*m);
  const Manifest& M = v.img.manifest;
  return fmt::format("{} {}, {} entrypoint{}", M.name, M.version, M.entrypoints.size(), M.entrypoints.size() == 1 ? "" : "s");
}

StepResult step_runtime(Validation& v) {
  Manifest& M = v.img.manifest;  // check_runtime resolves the capability names into M.caps
  if (auto st = check_runtime(M, v.mf); !st) return std::unexpected(st.error());
  return fmt::format("vm_version '{}' met by VM {}; capabilities {}; limits {} steps, {} output bytes, {} memory words, {} ms",
                     M.vm_version.text.empty() ? "*" : M.vm_version.text, isa::kVmVersion, cap_list(M.caps),
                     M.limits.max_steps, M.limits.max_output_bytes, M.limits.memory_words, M.limits.timeout_ms);
}

StepResult step_modules(Validation& v) {
  auto entries = v.img.archive.modules();
  if (entries.empty()) return failf(Errc::ArchiveInvalid, "{}: the archive holds no modules", v.name);
  std::string detail;
  for (const Entry* e : entries) {
    auto m = isa::parse_module(e->data, fmt::format("{}: module '{}'", v.name, e->name));
    if (!m) return std::unexpected(m.error());
    if (auto st = verify_module(*m, e->name, v.img.manifest.limits.memory_words); !st) return std::unexpected(st.error());
    detail += fmt::format("{}{} ({} bytes)", detail.empty() ? "" : ", ", e->name, m->code.size());
    v.mods.push_back(std::move(*m));
    v.mod_names.push_back(e->name);
  }
  return fmt::format("{} verif{}: {}", v.mods.size(), v.mods.size() == 1 ? "ies" : "y", detail);
}

StepResult step_link(Validation& v) {
  std::vector<LinkInput> in;
  for (size_t i = 0; i < v.mods.size(); ++i) in.push_back({v.mod_names[i], &v.mods[i]});
  auto L = link(in, v.name);
  if (!L) return std::unexpected(L.error());
  v.img.linked = std::move(*L);
  vm::VerifyOptions vo;
  vo.memory_words = v.img.manifest.limits.memory_words;
  auto prog = vm::Program::load(v.img.linked.module, vo);
  if (!prog) return std::unexpected(prog.error());
  v.img.program = std::move(*prog);
  std::string graph;
  for (const auto& s : v.img.linked.segments)
    if (!s.imports.empty()) graph += fmt::format("{}{} -> {}", graph.empty() ? "" : "; ", s.module, join(s.imports));
  return fmt::format("{} bytes of code; imports: {}; no cycles", v.img.linked.module.code.size(), graph.empty() ? "none" : graph);
}

StepResult step_entrypoints(Validation& v) {
  Image& img = v.img;
  std::string detail;
  for (const auto& ep : img.manifest.entrypoints) {
    auto off = img.linked.resolve(ep.module, ep.label);
    if (!off) {
      std::string hint;
      if (img.linked.segment(ep.module)) {
        std::vector<std::string> labels;
        std::string prefix = ep.module + ":";  // symbol names are module:label
        for (const auto& sym : img.linked.module.symbols)
          if (sym.name.starts_with(prefix)) labels.push_back(sym.name.substr(prefix.size()));
        if (auto g = closest(ep.label, labels); !g.empty()) hint = fmt::format(" (did you mean '{}'?)", g);
      }
      return failf(Errc::NotFound, "{}: $.entrypoints.{}: \"{}\": {}{}", v.mf, ep.name, ep.module + ":" + ep.label,
                   off.error().detail, hint);
    }
    if (img.program.cell_at(*off) < 0)  // a label past the last instruction or inside one
      return failf(Errc::ManifestInvalid, "{}: $.entrypoints.{}: \"{}\": offset {:#06x} does not start an instruction", v.mf,
                   ep.name, ep.module + ":" + ep.label, *off);
    img.entries.push_back(analyze(img.linked, ep, *off));
    detail += fmt::format("{}{} -> {}:{} @{:#06x}", detail.empty() ? "" : ", ", ep.name, ep.module, ep.label, *off);
  }
  return detail;
}

StepResult step_capabilities(Validation& v) {
  const Image& img = v.img;
  const Manifest& M = img.manifest;
  for (const auto& e : img.entries)
    for (auto c : vm::all_caps())
      if ((e.needs & vm::cap_bit(c)) && !(M.caps & vm::cap_bit(c)))
        return failf(Errc::ManifestInvalid,
                     "{}: entry '{}' can call {} which needs capability '{}', but $.runtime.capabilities does not declare it",
                     v.mf, e.name, e.first_use[uint8_t(c)], vm::cap_name(c));
  vm::CapSet allowed = v.opt.policy.allows();
  vm::CapSet required = M.caps;
  const EntryInfo* for_entry = nullptr;
  if (v.opt.entry) {
    for_entry = img.entry(*v.opt.entry);
    required = for_entry ? for_entry->needs : 0;  // an unknown entry is reported by run()
  }
  if (!v.opt.check_policy) required = 0;
  for (auto c : vm::all_caps())
    if ((required & vm::cap_bit(c)) && !(allowed & vm::cap_bit(c))) {
      std::string what = for_entry ? fmt::format("entry '{}' needs capability '{}' ({})", for_entry->name, vm::cap_name(c),
                                                 for_entry->first_use[uint8_t(c)])
                                   : fmt::format("the manifest requires capability '{}'", vm::cap_name(c));
      return failf(Errc::CapabilityDenied, "{}: {}, which is not granted: {}", v.name, what,
                   refusal_hint(v.opt.policy, M.caps, c));
    }
  return fmt::format("declared: {}; granted by policy: {}", cap_list(M.caps), cap_list(M.caps & allowed));
}

constexpr CheckStep kSteps[] = {
#define X(name, description, fn) {CheckId::name, #name, description},
    PXOS_HV_CHECKS(X)
#undef X
};
constexpr StepResult (*kStepFns[])(Validation&) = {
#define X(name, description, fn) &fn,
    PXOS_HV_CHECKS(X)
#undef X
};

void report(const ValidateOptions& opt, CheckId id, bool ok, std::string detail) {
  if (opt.sink) opt.sink(Check{id, check_step(id).name, ok, std::move(detail)});
}

}  // namespace

std::span<const CheckStep> check_steps() { return kSteps; }
const CheckStep& check_step(CheckId id) { return kSteps[size_t(id)]; }

Result<Image> open_image(ByteView file, std::string_view name, const ValidateOptions& opt) {
  auto a = decode_pxa(file, name);
  if (!a) {
    report(opt, CheckId::archive, false, a.error().to_string());
    return std::unexpected(a.error());
  }
  return open_archive(std::move(*a), name, opt);
}

Result<Image> open_archive(Archive archive, std::string_view name, const ValidateOptions& opt) {
  Validation v{name, opt, {}, {}, {}, {}};
  v.img.name = std::string(name);
  v.img.archive = std::move(archive);
  for (const CheckStep& step : kSteps) {
    StepResult r = kStepFns[size_t(step.id)](v);
    if (!r) {
      report(opt, step.id, false, r.error().to_string());
      return std::unexpected(r.error());
    }
    report(opt, step.id, true, std::move(*r));
  }
  return std::move(v.img);
}

Result<Image> open_image_file(const std::string& path, const ValidateOptions& opt) {
  auto file = read_file(path, image::kMaxPayload * 2);
  if (!file) {
    report(opt, CheckId::archive, false, file.error().to_string());
    return std::unexpected(file.error());
  }
  return open_image(*file, path, opt);
}

Result<RunOutcome> run(const Image& img, const Policy& policy, const RunRequest& req, RunLog* log) {
  const EntryInfo* e = img.entry(req.entry);
  if (!e) {
    std::vector<std::string> names;
    for (const auto& x : img.entries) names.push_back(x.name);
    std::string guess = closest(req.entry, names);
    return failf(Errc::NotFound, "{}: no entrypoint '{}'{} (available: {})", img.name, req.entry,
                 guess.empty() ? "" : fmt::format(", did you mean '{}'?", guess), img.manifest.entry_names());
  }
  RunOutcome out;
  out.entry = e;
  out.granted = img.manifest.caps & policy.allows();
  for (auto c : vm::all_caps())
    if ((e->needs & vm::cap_bit(c)) && !(out.granted & vm::cap_bit(c)))
      return failf(Errc::CapabilityDenied, "{}: entry '{}' needs capability '{}' ({}), which is not granted: {}", img.name,
                   e->name, vm::cap_name(c), e->first_use[uint8_t(c)], refusal_hint(policy, img.manifest.caps, c));
  if (log) {
    json f;
    f["entry"] = e->name;
    f["target"] = e->target();
    f["offset"] = e->offset;
    f["modules"] = e->modules;
    f["needs"] = caps_json(e->needs);
    f["granted"] = caps_json(out.granted);
    log->record("entry", f);
  }

  // A fresh environment and machine: nothing carries over from any other run.
  vm::HostEnv env;
  env.granted = out.granted;
  if (req.seed) env.seed = *req.seed;
  env.input = req.input;
  env.mailbox = req.mailbox;
  vm::Machine machine(img.program, env);
  vm::RunOptions ro;
  const auto& L = img.manifest.limits;
  // The smaller of the two, where 0 means "no limit" on either side.
  auto lower = [](uint64_t manifest, uint64_t op) { return !op ? manifest : !manifest ? op : std::min(manifest, op); };
  ro.limits.max_steps = lower(L.max_steps, req.caps.max_steps);
  ro.limits.max_output_bytes = lower(L.max_output_bytes, req.caps.max_output_bytes);
  ro.limits.timeout_ms = lower(L.timeout_ms, req.caps.timeout_ms);
  ro.limits.memory_words = L.memory_words;
  ro.entry = e->offset;
  ro.trace = req.trace;
  ro.output = req.output;
  out.result = machine.run(ro);
  out.first_instruction = env.started;
  // The VM names the merged program; name the module's own source file and line instead.
  if (!out.result.halted && out.result.trap.at_instruction) out.result.trap.locate(img.linked.where(out.result.trap.pc));
  if (log) {
    json f;
    f["status"] = out.result.halted ? "halted" : "trap";
    f["steps"] = out.result.steps;
    f["seconds"] = out.result.seconds;
    f["output_bytes"] = out.result.output_bytes;
    f["exit_status"] = out.result.halted ? 0 : errc_exit_status(out.result.trap.code);
    log->record("result", f);
    if (!out.result.halted) {
      json t;
      t["code"] = errc_name(out.result.trap.code);
      t["kind"] = vm::trap_name(out.result.trap.kind);
      t["message"] = out.result.trap.detail;
      t["pc"] = out.result.trap_pc;
      if (const Segment* s = img.linked.segment_at(out.result.trap_pc)) {
        t["module"] = s->module;
        t["offset"] = out.result.trap_pc - s->base;
      }
      log->record("trap", t);
    }
  }
  return out;
}

}  // namespace pxos::hv
