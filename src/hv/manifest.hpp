// manifest.hpp: manifest.json, parsed strictly: unknown fields, wrong types and duplicate keys are
// errors naming their JSON path ("$.runtime.limits.max_steps"); then what this build can meet.
//
//  { "name": "demo", "version": "1.0.0",
//    "entrypoints": { "default": "main:start", ... },          module:label
//    "runtime": { "vm_version": ">=1",                         required
//                 "capabilities": ["clock"],                   optional, default []
//                 "limits": { "max_steps": N, "max_output_bytes": N,
//                             "memory_words": N, "timeout_ms": N } } }   each optional
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "vm/hostcalls.hpp"

namespace pxos::hv {

// A VM version requirement: clauses joined by ',' or spaces, all of which must hold.
// Clause: [op] integer, op one of >= <= > < = == (none means ==); or "*" (any version).
struct Requirement {
  enum class Op : uint8_t { Ge, Le, Gt, Lt, Eq };
  struct Clause { Op op = Op::Eq; int64_t v = 0; };
  std::string text;
  std::vector<Clause> clauses;
  bool satisfied_by(int64_t version) const;
};
// Error (ManifestInvalid, without a path prefix) on a malformed requirement.
Result<Requirement> parse_requirement(std::string_view text);

struct EntryPoint {
  std::string name;          // the key in "entrypoints"
  std::string module, label;  // from "module:label"
};

struct ManifestLimits {
  uint64_t max_steps = 0, max_output_bytes = 0, timeout_ms = 0;
  uint32_t memory_words = 0;
};

struct Manifest {
  std::string name, version;
  std::vector<EntryPoint> entrypoints;  // in file order
  Requirement vm_version;
  std::vector<std::string> capabilities;  // as written; check_runtime resolves them
  vm::CapSet caps = 0;                    // filled by check_runtime
  ManifestLimits limits;                  // defaults (policy.hpp) where the file leaves one out

  const EntryPoint* entry(std::string_view name) const;
  std::string entry_names() const;  // "countdown, default, sieve" (sorted)
};

// Syntax and schema (Errc::ManifestInvalid). `file` prefixes errors ("demo.pxa: manifest.json").
Result<Manifest> parse_manifest(std::string_view text, std::string_view file);
// What this build can meet (Errc::Unsupported): the VM version requirement against
// isa::kVmVersion, capability names in hostcalls.def, limits under the build's ceilings.
Status check_runtime(Manifest& m, std::string_view file);

}  // namespace pxos::hv
