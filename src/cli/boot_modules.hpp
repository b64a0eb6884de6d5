// boot_modules.hpp: what `pxos mailboxd --module SPEC` serves to the kernel's MODULE requests:
// a .pxasm/.pxi file, a god-pixel key or self-bootstrapping PNG, or ARCHIVE.pxa:ENTRY, each
// resolved on the host with every hash checked, into PXBC bytes plus the limits that apply.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "mailbox/server.hpp"

namespace pxos::cli {

// Limits for modules that carry none (an archive entry's manifest overrides them).
struct BootDefaults {
  uint32_t caps = 0;          // capability bits (hostcalls.def)
  uint64_t seed = 0;          // 0: the VM's default seed
  uint64_t max_steps = 0, max_output = 0;
  uint32_t memory_words = 0;  // 0: the VM's default
};

// The source the server calls per MODULE N: defined in cmd_mailbox.cpp, filled by
// boot_modules.cpp when that row of src/cli/CMakeLists.txt is built.
using ModuleSourceFactory = std::function<mailbox::ModuleSource(std::vector<std::string> specs, BootDefaults d)>;
ModuleSourceFactory& module_source_factory();

}  // namespace pxos::cli
