// fake_mailboxd.cpp: a misbehaving version-1 mailbox server for the boot tests' bad cases. It
// serves through the real mailbox::Server, except command number N, which it answers with
//   --error N     STATUS = ERROR | BAD_ARG      (the kernel must report the ERROR status)
//   --corrupt N   STATUS = 0x5A5A5A5A garbage   (neither COMPLETE nor ERROR: reported too)
//   --die N       no answer: the process exits (the kernel must time out, not hang)
// usage: fake_mailboxd FILE (--error|--corrupt|--die) N
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mailbox/area.hpp"
#include "mailbox/server.hpp"

int main(int argc, char** argv) {
  using namespace pxos::mailbox;
  if (argc != 4) {
    std::fprintf(stderr, "usage: fake_mailboxd FILE --error|--corrupt|--die N\n");
    return 2;
  }
  std::string mode = argv[2];
  long n = std::strtol(argv[3], nullptr, 10);
  if ((mode != "--error" && mode != "--corrupt" && mode != "--die") || n < 1) {
    std::fprintf(stderr, "fake_mailboxd: bad mode or N\n");
    return 2;
  }
  auto area = Area::open_file(argv[1]);
  if (!area) {
    std::fprintf(stderr, "fake_mailboxd: %s\n", area.error().to_string().c_str());
    return 1;
  }
  ServerConfig cfg;
  cfg.time_ops = false;
  Server srv(area->base(), area->size(), cfg);
  srv.start();
  Header& h = area->header();
  long count = 0;
  for (;;) {
    if (ld_acq(h.doorbell) != 1) {
      cpu_relax();
      continue;
    }
    ++count;
    uint32_t cmd = ld_rlx(h.cmd), a0 = ld_rlx(h.arg0), a1 = ld_rlx(h.arg1);
    Reply r;
    if (count == n) {
      if (mode == "--die") {
        std::fprintf(stderr, "fake_mailboxd: dying at command %ld (0x%08x) without an answer\n", count, cmd);
        return 0;
      }
      r.status = mode == "--error" ? error_status(err::BAD_ARG) : 0x5A5A5A5Au;
      std::fprintf(stderr, "fake_mailboxd: answering command %ld (0x%08x) with STATUS 0x%08x\n", count, cmd, r.status);
    } else {
      r = srv.execute(cmd, a0, a1);
    }
    st_rlx(h.resp, r.resp);
    st_rlx(h.resp1, r.resp1);
    st_rel(h.status, r.status);
    st_rel(h.doorbell, 0);
    if (srv.halted()) return 0;
  }
}
