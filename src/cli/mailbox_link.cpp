// mailbox_link.cpp: the client side of `--mailbox FILE` / `--shm NAME`: attach to the area
// (never create or initialise it), refuse one no mailboxd serves, and send each host call as a
// version-1 command with a bounded wait, guarded against the file shrinking under the mapping.
#include "cli/mailbox_link.hpp"

#include <chrono>
#include <memory>

#include "common/os.hpp"
#include "mailbox/area.hpp"
#include "mailbox/client.hpp"

namespace pxos::cli {
namespace {

struct Link {
  mailbox::Area area;
  std::unique_ptr<mailbox::Client> client;
  os::SigbusTrap trap;  // while the link lives, a truncated file is an error, not a crash
  std::chrono::milliseconds timeout{kMailboxTimeoutMs};
};

Result<MailboxHook> connect(const MailboxFlags& f) {
  long holder = 0;
  auto a = f.file.empty() ? mailbox::Area::attach_shm(f.shm, &holder) : mailbox::Area::attach_file(f.file, &holder);
  if (!a) return std::unexpected(a.error());
  std::string what = a->name();
  std::string start = f.file.empty() ? "--shm " + f.shm : "--file " + f.file;
  if (holder == 0)
    return failf(Errc::MailboxError, "{}: no mailboxd serves it (its lock is free: a mailboxd left it); start `pxos mailboxd {}`",
                 what, start);
  auto link = std::make_shared<Link>();
  link->area = std::move(*a);
  link->timeout = std::chrono::milliseconds(f.timeout_ms);
  bool ok = os::guard_mapped(link->area.base(), link->area.size(),
                             [&] { link->client = std::make_unique<mailbox::Client>(link->area); });
  if (!ok) return failf(Errc::MailboxError, "{}: the file shrank under the mapping (SIGBUS)", what);
  return MailboxHook([link, what](uint32_t cmd) -> Result<std::pair<uint32_t, uint32_t>> {
    Result<mailbox::Reply> r = mailbox::Reply{};
    bool fine = os::guard_mapped(link->area.base(), link->area.size(),
                                 [&] { r = link->client->call(cmd, 0, 0, link->timeout); });
    if (!fine) return failf(Errc::MailboxError, "{}: the file shrank under the mapping (SIGBUS)", what);
    if (!r)
      return failf(Errc::MailboxError, "{}: command 0x{:08x}: {} ({} ms)", what, cmd, r.error().detail,
                   link->timeout.count());
    return std::pair{r->status, r->resp};
  });
}

const bool registered = [] {
  mailbox_connector() = connect;
  return true;
}();

}  // namespace
}  // namespace pxos::cli
