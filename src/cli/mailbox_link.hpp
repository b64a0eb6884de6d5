// mailbox_link.hpp: how host commands (`pxos run`, `pxos hv run`) reach a running mailboxd: the
// --mailbox FILE / --shm NAME flags, and the connector that turns them into the VM's mailbox hook.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "common/error.hpp"

namespace pxos::cli {

// How long one `mailbox` host call waits for mailboxd: first for the v1 slot to be free, then
// for the answer. A live mailboxd answers in microseconds; this only bounds a stopped or hung
// one, so that the program traps with MailboxError instead of hanging.
inline constexpr uint32_t kMailboxTimeoutMs = 2000;

struct MailboxFlags {
  std::string file, shm;
  uint32_t timeout_ms = kMailboxTimeoutMs;
  bool given() const { return !file.empty() || !shm.empty(); }
};

inline void add_mailbox_flags(CLI::App* s, MailboxFlags& f) {
  s->add_option("--mailbox", f.file, "mailbox file a running `pxos mailboxd --file FILE` serves: the program's mailbox host call reaches it");
  s->add_option("--shm", f.shm, "the same through POSIX shared memory (`pxos mailboxd --shm NAME`)");
  s->add_option("--mailbox-timeout-ms", f.timeout_ms, "longest wait of one mailbox host call for mailboxd (default 2000)")
      ->check(CLI::Range(1u, 3600000u));
}

// The VM's hook (vm::HostEnv::mailbox): a version-1 command word in, {STATUS, RESP} out.
using MailboxHook = std::function<Result<std::pair<uint32_t, uint32_t>>(uint32_t cmd)>;
// Attaches to the area the flags name (checked: an existing regular file or shm object of a
// mailbox's size, MAGIC and VERSION, served by a live mailboxd) and returns the hook.
using MailboxConnector = std::function<Result<MailboxHook>(const MailboxFlags&)>;
// Defined in cmd_run.cpp; mailbox_link.cpp fills it when its row of src/cli/CMakeLists.txt is built.
MailboxConnector& mailbox_connector();

// No flag: an empty hook (the host call then traps "mailbox not connected"). Flags without the
// mailbox library built: Unsupported.
inline Result<MailboxHook> connect_mailbox(const MailboxFlags& f) {
  if (!f.given()) return MailboxHook{};
  if (!f.file.empty() && !f.shm.empty()) return fail(Errc::Usage, "--mailbox and --shm: give one of them");
  if (!mailbox_connector()) return fail(Errc::Unsupported, "--mailbox: this pxos was built without the mailbox module");
  return mailbox_connector()(f);
}

}  // namespace pxos::cli
