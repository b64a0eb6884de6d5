// hostcalls.cpp: the host-call table of hostcalls.def (ids, capabilities, stack effects), shared
// by both hosts; each host supplies the bodies (hostfn::, hostcalls_host.cpp or the guest's).
#include "vm/hostcalls.hpp"

#include <fmt/format.h>


#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "isa/isa.hpp"
#include "vm/machine.hpp"

namespace pxos::vm {
namespace {

constexpr HostCall kCalls[] = {
#define CAP(...)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) {id, #name, Cap::cap, pops, pushes, effect, doc, &hostfn::name},
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
static_assert(sizeof(kCalls) / sizeof(kCalls[0]) < 256);
constexpr bool ids_unique() {  // host_table() indexes by id: a second row would hide the first
  for (size_t i = 0; i < std::size(kCalls); ++i)
    for (size_t j = 0; j < i; ++j)
      if (kCalls[i].id == kCalls[j].id) return false;
  return true;
}
static_assert(ids_unique(), "hostcalls.def: two host calls share an id");
#define CAP(...)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) \
  static_assert(isa::effect_agrees(effect, pops, pushes), "hostcalls.def: the stack effect of " #name " disagrees with its pops/pushes");
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
constexpr bool fits_arg_buffers() {  // Machine::host_call passes at most 8 arguments and results
  for (const auto& c : kCalls)
    if (c.pops > 8 || c.pushes > 8) return false;
  return true;
}
static_assert(fits_arg_buffers(), "a host call pops or pushes more than Machine::host_call's buffers hold");

struct CapInfo { Cap cap; std::string_view name, doc; };
constexpr CapInfo kCaps[] = {
#define CAP(name, bit, dflt, doc) {Cap::name, #name, doc},
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
constexpr Cap kCapList[] = {
#define CAP(name, bit, dflt, doc) Cap::name,
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};

}  // namespace

Result<GpuCall> parse_gpu_call(std::span<const int32_t> mem, int32_t desc) {
  GpuCall g;
  uint64_t at = uint32_t(desc), n = mem.size();
  auto word = [&](uint64_t i) -> std::optional<int32_t> { return i < n ? std::optional(mem[i]) : std::nullopt; };
  auto len = word(at);
  if (desc < 0 || !len) return failf(Errc::GpuError, "gpu: descriptor address {} is outside memory ({} words)", desc, n);
  if (*len <= 0 || uint32_t(*len) > kGpuMaxName)
    return failf(Errc::GpuError, "gpu: kernel name length {} (1..{})", *len, kGpuMaxName);
  for (int32_t i = 0; i < *len; ++i) {
    auto c = word(at + 1 + uint64_t(i));
    if (!c) return failf(Errc::GpuError, "gpu: descriptor at {} runs past memory ({} words)", desc, n);
    if (*c < 0x21 || *c > 0x7e) return failf(Errc::GpuError, "gpu: kernel name byte {} is not printable ASCII", *c);
    g.kernel.push_back(char(*c));
  }
  uint64_t p = at + 1 + uint64_t(*len);
  int32_t head[4];
  for (int k = 0; k < 4; ++k) {
    auto v = word(p + uint64_t(k));
    if (!v) return failf(Errc::GpuError, "gpu: descriptor at {} runs past memory ({} words)", desc, n);
    head[k] = *v;
  }
  for (int k = 0; k < 3; ++k) {
    if (head[k] <= 0 || head[k] > 65535) return failf(Errc::GpuError, "gpu: workgroup count {} (1..65535)", head[k]);
    g.wg[k] = uint32_t(head[k]);
  }
  if (head[3] <= 0 || uint32_t(head[3]) > kGpuMaxBufs) return failf(Errc::GpuError, "gpu: {} buffers (1..{})", head[3], kGpuMaxBufs);
  g.nbuf = uint32_t(head[3]);
  p += 4;
  for (uint32_t b = 0; b < g.nbuf; ++b) {
    auto addr = word(p + 2 * b), words = word(p + 2 * b + 1);
    if (!addr || !words) return failf(Errc::GpuError, "gpu: descriptor at {} runs past memory ({} words)", desc, n);
    if (*addr < 0 || *words <= 0 || uint64_t(*addr) + uint64_t(*words) > n)
      return failf(Errc::GpuError, "gpu: bad buffer offsets: buffer {} [{}, {}+{}) is outside memory ({} words)", b, *addr,
                   *addr, *words, n);
    g.bufs[b] = {uint32_t(*addr), uint32_t(*words)};
  }
  return g;
}

const std::array<const HostCall*, 256>& host_table() {
  static const std::array<const HostCall*, 256> t = [] {
    std::array<const HostCall*, 256> a{};
    for (const auto& c : kCalls) a[c.id] = &c;
    return a;
  }();
  return t;
}

const HostCall* host_lookup(std::string_view name) {
  for (const auto& c : kCalls)
    if (c.name == name) return &c;
  return nullptr;
}

std::optional<Cap> cap_lookup(std::string_view name) {
  for (const auto& c : kCaps)
    if (c.name == name) return c.cap;
  return std::nullopt;
}
std::string_view cap_name(Cap c) {
  for (const auto& k : kCaps)
    if (k.cap == c) return k.name;
  return "?";
}
std::string_view cap_doc(Cap c) {
  for (const auto& k : kCaps)
    if (k.cap == c) return k.doc;
  return "";
}
std::span<const Cap> all_caps() { return kCapList; }

std::string cap_list(CapSet s) {
  std::string out;
  for (auto c : all_caps())
    if (s & cap_bit(c)) out += fmt::format("{}{}", out.empty() ? "" : ", ", cap_name(c));
  return out.empty() ? "none" : out;
}

Result<CapSet> parse_caps(std::span<const std::string> names, std::string_view flag) {
  CapSet s = 0;
  for (const auto& n : names) {
    auto c = cap_lookup(n);
    if (!c) {
      std::string known;
      for (auto k : all_caps()) known += fmt::format("{}{}", known.empty() ? "" : ", ", cap_name(k));
      return failf(Errc::Usage, "{} {}: unknown capability (known: {})", flag, n, known);
    }
    s |= cap_bit(*c);
  }
  return s;
}

}  // namespace pxos::vm
