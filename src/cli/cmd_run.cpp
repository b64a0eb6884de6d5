// cmd_run.cpp: `pxos run`: load (assembling .pxasm on the fly), verify and run a program.
// Program output goes to stdout only; diagnostics, traces and stats go to stderr.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>

#include "cli/command.hpp"
#include "cli/loader.hpp"
#include "cli/mailbox_link.hpp"
#include "cli/pixelmap.hpp"
#include "common/fs.hpp"
#include "image/pxi.hpp"
#include "isa/decode.hpp"
#include "vm/machine.hpp"
#include "vm/trace.hpp"

namespace pxos::cli {
// The hook lives with its first user; mailbox_link.cpp fills it when its row is built.
MailboxConnector& mailbox_connector() {
  static MailboxConnector c;
  return c;
}

namespace {

struct RunArgs {
  std::string input;
  uint64_t max_steps = 0, max_output = 0, timeout_ms = 0, seed = 0;
  uint32_t memory_words = vm::kDefaultMemoryWords;
  bool trace = false, trace_json = false, stats = false, seeded = false, json = false, raw = false, no_raw = false;
  uint64_t trace_limit = 0;
  std::vector<std::string> grant, deny;
  std::string heatmap;
  MailboxFlags mailbox;
};

// --heatmap: each instruction's execution count painted on its bytes' pixels (a pixel shows the
// most-run instruction among its 3 bytes), drawn with the view's outlines, labels and legend.
void write_heatmap(const vm::Program& prog, const std::vector<uint64_t>& counts, const std::string& out,
                   const std::string& name) {
  const isa::Module& m = prog.module();
  Bytes payload = must(isa::serialize(m));
  image::PngImage heat;
  image::pxi_dims(payload.size(), heat.width, heat.height);
  heat.channels = 3;
  std::vector<uint64_t> px(size_t(heat.width) * heat.height, 0);
  uint64_t max = 0;
  size_t hottest = 0;
  const uint32_t code_at = isa::module_layout(payload).at(1).begin;  // where the code section starts
  for (size_t i = 0; i < counts.size() && i < prog.cells().size(); ++i) {
    uint32_t pc = prog.cells()[i].pc();
    auto d = isa::decode(m.code, pc);
    uint32_t end = d ? d->next : pc + 1;
    for (uint32_t b = code_at + pc; b < code_at + end; ++b) px[b / 3] = std::max(px[b / 3], counts[i]);
    if (counts[i] > max) max = counts[i], hottest = i;
  }
  for (uint64_t c : px) {
    image::Rgb col = heat_colour(c, max);
    heat.pixels.insert(heat.pixels.end(), {col.r, col.g, col.b});
  }
  MapSpec spec;
  spec.pixels = &heat;
  spec.regions = module_regions(payload);
  spec.labels = module_labels(m);
  spec.heat_max = max;
  spec.title = fmt::format("{}  heat-map", name);
  // 16x as `pxos view` draws, smaller when a large program would pass the PNG limits
  std::optional<image::Canvas> c;
  for (spec.scale = 16; !c; --spec.scale) {
    auto r = render_map(spec, out);
    if (r) c.emplace(std::move(*r));
    else if (spec.scale == 1) throw Failure(r.error());
  }
  must(write_file_atomic(out, must(image::png_encode(c->png()))));
  uint32_t hpc = prog.cells().empty() ? 0 : prog.cells()[hottest].pc();
  std::fprintf(stderr, "heatmap: wrote %s; hottest instruction at %#x (%s) ran %llu times\n", out.c_str(), hpc,
               prog.where(hpc).c_str(), (unsigned long long)max);
}

Register reg(20, {"run"}, [](CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* s = app.add_subcommand("run", "Run a program (.pxi, .pxasm, legacy PixelFS, or god-pixel key)");
  s->add_option("input", a->input, "program ('-': standard input)")->required();
  s->add_option("--max-steps", a->max_steps, "stop with a trap after N instructions (default: no limit)")->check(at_least("--max-steps"));
  s->add_option("--max-output", a->max_output, "stop after N bytes of output (default: no limit)")->check(at_least("--max-output"));
  s->add_option("--timeout-ms", a->timeout_ms, "stop after this much wall time (default: none)")->check(at_least("--timeout-ms"));
  s->add_option("--memory-words", a->memory_words, "data memory size in words (default 1024, max 65536)");
  s->add_option("--seed", a->seed, "seed of the random host call (default: fixed)");
  s->add_option("--grant", a->grant, fmt::format("grant a capability ({} are granted by default)", vm::cap_list(vm::kDefaultCaps)));
  s->add_option("--deny", a->deny, "deny a capability");
  s->add_flag("--trace", a->trace, "print each executed instruction and the stack to stderr (docs/debugging.md)");
  s->add_flag("--trace-json", a->trace_json, "the trace as one JSON object per line, for tools");
  s->add_option("--trace-limit", a->trace_limit, "trace the first N instructions only, then run on untraced")
      ->check(at_least("--trace-limit", true));
  s->add_flag("--stats", a->stats, "report instructions executed and time on stderr");
  s->add_flag("--json", a->json, "with --stats: the report as one JSON object on stderr");
  s->add_flag("--raw", a->raw, "run the file's bytes (an image's payload) as raw seed bytecode, with no PXBC header");
  s->add_flag("--no-raw", a->no_raw, "refuse raw seed bytecode (by default a raw payload or a file that is no image runs as one)");
  s->add_option("--heatmap", a->heatmap, "paint per-instruction execution counts on the program's pixels (PNG)");
  add_mailbox_flags(s, a->mailbox);  // --mailbox FILE / --shm NAME also grant the mailbox capability
  s->callback([a] {
    if (a->memory_words == 0 || a->memory_words > vm::kMaxMemoryWords)
      throw Failure(Error{Errc::Usage, fmt::format("--memory-words {}: must be 1..{}", a->memory_words, vm::kMaxMemoryWords)});
    if (a->raw && a->no_raw) throw Failure(Error{Errc::Usage, "--raw and --no-raw: choose one"});
    if (a->json && !a->stats) throw Failure(Error{Errc::Usage, "--json: reports the --stats figures; add --stats"});
    RawMode mode = a->raw ? RawMode::Force : a->no_raw ? RawMode::Refuse : RawMode::Auto;
    Loaded loaded = must(load_program(a->input, mode));
    vm::VerifyOptions vo;
    vo.memory_words = a->memory_words;
    auto loaded_prog = vm::Program::load(std::move(loaded.module), vo);
    if (!loaded_prog && loaded.raw && loaded_prog.error().code == Errc::VerifyError)
      // Taken as seed bytecode: say so, since the file may simply not be a program.
      throw Failure(Error{Errc::VerifyError, fmt::format("{} (read as raw seed bytecode{})", loaded_prog.error().detail,
                                                         a->raw ? ", as --raw asks" : "; --no-raw refuses raw input")});
    vm::Program prog = must(std::move(loaded_prog));
    vm::HostEnv env;
    env.granted = vm::kDefaultCaps;
    env.granted |= must(vm::parse_caps(a->grant, "--grant"));
    env.mailbox = must(connect_mailbox(a->mailbox));  // checked before the first instruction
    if (env.mailbox) env.granted |= vm::cap_bit(vm::Cap::mailbox);
    env.granted &= ~must(vm::parse_caps(a->deny, "--deny"));
    if (a->seed) env.seed = a->seed;
    vm::Machine machine(prog, env);
    vm::RunOptions ro;
    ro.limits.max_steps = a->max_steps;
    ro.limits.max_output_bytes = a->max_output;
    ro.limits.timeout_ms = a->timeout_ms;
    ro.limits.memory_words = a->memory_words;
    std::optional<vm::Tracer> tracer;
    if (a->trace || a->trace_json || a->trace_limit) {
      tracer.emplace(prog, stderr, a->trace_json ? vm::TraceFormat::json : vm::TraceFormat::text, a->trace_limit);
      ro.on_step = [&tracer](const vm::Machine& mm) { return (*tracer)(mm); };
    }
    std::vector<uint64_t> counts;
    if (!a->heatmap.empty()) ro.counts = &counts;
    vm::RunResult r = machine.run(ro);
    std::fflush(stdout);
    if (a->stats && a->json) {
      nlohmann::ordered_json j = {{"instructions", r.steps},
                          {"seconds", r.seconds},
                          {"instructions_per_second", r.seconds > 0 ? double(r.steps) / r.seconds : 0.0},
                          {"output_bytes", r.output_bytes},
                          {"halted", r.halted},
                          {"raw", loaded.raw}};
      std::string t = j.dump() + "\n";
      std::fwrite(t.data(), 1, t.size(), stderr);
    } else if (a->stats)
      std::fprintf(stderr, "stats: %llu instructions in %.6f s (%.1f M instructions/s), %llu output bytes\n",
                   (unsigned long long)r.steps, r.seconds, r.seconds > 0 ? double(r.steps) / r.seconds / 1e6 : 0.0,
                   (unsigned long long)r.output_bytes);
    if (!a->heatmap.empty()) write_heatmap(prog, counts, a->heatmap, a->input);  // a trapped run's too
    if (!r.halted) throw Failure(r.trap.error());
  });
});

}  // namespace
}  // namespace pxos::cli
