// hypervisor.hpp: validate an archive (integrity, manifest, runtime requirements, modules, link,
// entrypoints, capabilities), then run an entrypoint in a fresh PixelVM machine under the
// manifest's limits (fuel, output, memory, wall time) with only the granted capabilities.
//
//   file --decode_pxa--> Archive --parse_manifest/check_runtime--> Manifest
//        --verify_module (each)--> link --> Linked --Program::load--> Program (shared, read-only)
//   run(entry): policy check --> HostEnv + Machine (new per run) --> RunResult --> log
#pragma once
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "hv/archive.hpp"
#include "hv/linker.hpp"
#include "hv/manifest.hpp"
#include "hv/policy.hpp"
#include "hv/runlog.hpp"
#include "vm/hostcalls.hpp"
#include "vm/machine.hpp"
#include "vm/program.hpp"

namespace pxos::hv {

// Who may use what. The effective grant of a run is
//   manifest capabilities  AND  (defaults OR --grant)  AND NOT  --deny.
struct Policy {
  vm::CapSet defaults = kDefaultGrants;
  vm::CapSet grant = 0, deny = 0;
  vm::CapSet allows() const { return (defaults | grant) & ~deny; }
};
std::string cap_list(vm::CapSet s);  // "clock, random" or "none"

// The validation steps, in the order they run; validation stops at the first failing one.
//   X(name, "what it checks", step function in hypervisor.cpp)
// The CLI (hv validate) and the log take names and order from here; adding a step is one row
// and its function (a row without one fails to compile).
#define PXOS_HV_CHECKS(X)                                                                                         \
  X(archive, "PNG, .pxi hash, payload structure, index and entry hashes; a manifest entry", step_archive)         \
  X(manifest, "manifest.json parses and follows the schema", step_manifest)                                       \
  X(runtime, "this build meets vm_version, knows the capabilities and allows the limits", step_runtime)           \
  X(modules, "each module parses and verifies on its own", step_modules)                                          \
  X(link, "cross-module calls resolve, no import cycles, the linked program verifies", step_link)                 \
  X(entrypoints, "each entrypoint names a module of the archive and a label on an instruction", step_entrypoints) \
  X(capabilities, "every entry's needs are declared, and granted by the policy", step_capabilities)

enum class CheckId : uint8_t {
#define X(name, description, fn) name,
  PXOS_HV_CHECKS(X)
#undef X
};
struct CheckStep {
  CheckId id;
  std::string_view name, description;
};
std::span<const CheckStep> check_steps();  // the table, in order
const CheckStep& check_step(CheckId id);

struct Check {
  CheckId id = CheckId::archive;
  std::string_view name;  // check_step(id).name, for messages and the log
  bool ok = false;
  std::string detail;
};
using CheckSink = std::function<void(const Check&)>;

// What an entrypoint can reach (static analysis over all paths of the linked code; the ISA
// has no indirect jumps, so this is an over-approximation of what it can do).
struct EntryInfo {
  std::string name, module, label;
  uint32_t offset = 0;
  vm::CapSet needs = 0;
  std::vector<std::string> host_calls;  // names, sorted
  std::vector<std::string> modules;     // modules whose code it can reach, in link order
  std::string first_use[32];            // per capability bit: "main.pxasm:12 (clock_ms)"
  std::string target() const { return module + ":" + label; }
};

struct Image {
  std::string name;  // file name, for messages
  Archive archive;
  Manifest manifest;
  Linked linked;
  vm::Program program;
  std::vector<EntryInfo> entries;  // manifest order
  const EntryInfo* entry(std::string_view name) const;
};

struct ValidateOptions {
  Policy policy;
  // Set: the capability check covers only what this entry needs (hv run). Unset: every
  // capability the manifest declares must be granted (hv validate).
  std::optional<std::string> entry;
  bool check_policy = true;  // false: the capabilities check skips the policy (hv list, archive create)
  CheckSink sink;  // called once per check, as it completes
};

// Every check, in order; the first failing class ends validation with its error.
Result<Image> open_image(ByteView file, std::string_view name, const ValidateOptions& opt);
// The same from an archive already read (its integrity check passed in parse_archive).
Result<Image> open_archive(Archive archive, std::string_view name, const ValidateOptions& opt);
Result<Image> open_image_file(const std::string& path, const ValidateOptions& opt);

using HostMailbox = decltype(vm::HostEnv::mailbox);

// Limits the operator sets on the command line; each only lowers the manifest's (0 or unset
// leaves it as the manifest says).
struct OperatorLimits {
  uint64_t max_steps = 0, max_output_bytes = 0, timeout_ms = 0;
};

struct RunRequest {
  std::string entry = "default";
  std::optional<uint64_t> seed;                      // random host call seed (--seed)
  std::FILE* input = stdin;                          // for the input capability
  std::function<void(std::string_view)> output;      // program output; default stdout
  HostMailbox mailbox;                               // mailbox capability hook (unset: traps)
  bool trace = false;
  OperatorLimits caps;
};

struct RunOutcome {
  const EntryInfo* entry = nullptr;
  vm::CapSet granted = 0;
  vm::RunResult result;  // result.trap rewritten to name the module's source and line
  std::chrono::steady_clock::time_point first_instruction{};
};

// Runs one entrypoint in a new machine. Errors: unknown entry (NotFound, listing the entries),
// a needed capability not granted (CapabilityDenied). A trap is a RunOutcome with !halted.
Result<RunOutcome> run(const Image& img, const Policy& policy, const RunRequest& req, RunLog* log = nullptr);

// The log records of validation, shared by `hv validate` and `hv run`.
void log_check(RunLog* log, const Check& c);

}  // namespace pxos::hv
