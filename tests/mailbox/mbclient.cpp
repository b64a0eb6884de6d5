// mbclient.cpp: a small mailbox client for the integration script (talks to a real mailboxd
// through a file or shm). Usage:
//   mbclient (--file P | --shm N) call OPCODE PAYLOAD ARG0 ARG1   prints "status resp resp1" (hex)
//   mbclient (--file P | --shm N) puts TEXT                       ALLOC, copy, UART_WRITE, FREE
//   mbclient (--file P | --shm N) ring COUNT                      COUNT ring NOPs, checked
//   mbclient (--file P | --shm N) header                          prints epoch faults last_fault
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mailbox/client.hpp"

using namespace pxos;
using namespace pxos::mailbox;
using namespace std::chrono_literals;

static int die(const std::string& m) {
  std::fprintf(stderr, "mbclient: %s\n", m.c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 4) return die("usage: mbclient (--file P | --shm N) call|puts|ring|header ...");
  std::string kind = argv[1], where = argv[2], verb = argv[3];
  auto area = kind == "--file" ? Area::open_file(where) : Area::open_shm(where);
  if (!area) return die(area.error().to_string());
  Client cl(*area);
  auto num = [](const char* s) { return uint32_t(std::strtoul(s, nullptr, 0)); };
  if (verb == "call" && argc == 8) {
    auto r = cl.call(make_cmd(uint8_t(num(argv[4])), 0, uint16_t(num(argv[5]))), num(argv[6]), num(argv[7]), 2s);
    if (!r) return die(r.error().to_string());
    std::printf("0x%08x 0x%08x 0x%08x\n", r->status, r->resp, r->resp1);
    return 0;
  }
  if (verb == "puts" && argc == 5) {
    std::string text = argv[4];
    auto a = cl.call(make_cmd(op::ALLOC, 0, 0), uint32_t(text.size()), 0, 2s);
    if (!a || a->status != st::COMPLETE) return die("ALLOC failed");
    if (auto w = cl.write_data(a->resp, as_bytes(text)); !w) return die(w.error().to_string());
    auto u = cl.call(make_cmd(op::UART_WRITE, 0, c::BUF_FLAG), a->resp, uint32_t(text.size()), 2s);
    if (!u || u->status != st::COMPLETE || u->resp != text.size()) return die("UART_WRITE failed");
    auto f = cl.call(make_cmd(op::FREE, 0, 0), a->resp, 0, 2s);
    if (!f || f->status != st::COMPLETE) return die("FREE failed");
    return 0;
  }
  if (verb == "ring" && argc == 5) {
    uint32_t n = num(argv[4]), sent = 0, got = 0;
    std::vector<Cqe> out(c::RING_ENTRIES);
    while (got < n) {
      while (sent < n && cl.submit({make_cmd(op::NOP, 0, uint16_t(sent)), 0, 0, sent})) ++sent;
      cl.flush();
      auto k = cl.wait(out, 1, 2s);
      if (!k) return die(k.error().to_string());
      for (size_t i = 0; i < *k; ++i, ++got)
        if (out[i].user_data != got || out[i].resp != (got & 0xFFFF) || out[i].status != st::COMPLETE)
          return die("ring completion out of order or wrong");
    }
    std::printf("%u\n", got);
    return 0;
  }
  if (verb == "header") {
    Header& h = cl.header();
    std::printf("%u %u %u\n", ld_acq(h.epoch), ld_acq(h.faults), ld_acq(h.last_fault));
    return 0;
  }
  return die("bad arguments");
}
