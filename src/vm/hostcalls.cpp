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
#define CAP(name, bit, doc) {Cap::name, #name, doc},
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
constexpr Cap kCapList[] = {
#define CAP(name, bit, doc) Cap::name,
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};

}  // namespace

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
