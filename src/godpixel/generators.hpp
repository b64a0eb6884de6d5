// generators.hpp: the seed method made real: deterministic program families (generators.def)
// that turn a 32-bit seed (family id << 24 | N) into PixelVM bytecode through the assembler.
//
//   seed:  31      24 23                      0
//         +----------+-------------------------+
//         | family id|  parameter N (24 bits)  |
//         +----------+-------------------------+
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::god {

struct Family {
  uint8_t id;
  const char* name;
  uint32_t min_n, max_n;
  const char* doc;
};
std::span<const Family> families();
const Family* family_by_name(std::string_view name);
const Family* family_by_id(uint32_t id);

struct GenSpec {
  const Family* family = nullptr;
  uint32_t n = 0;
  uint32_t seed() const { return uint32_t(family->id) << 24 | n; }
  std::string to_string() const;  // "countdown:10"
};
// "countdown:10" (also "countdown(10)").
Result<GenSpec> parse_spec(std::string_view s);
Result<GenSpec> spec_from(std::string_view family, uint32_t n);
std::string source_of(const GenSpec& g);   // the generated .pxasm text
Result<Bytes> generate(const GenSpec& g);  // serialized PXBC module

}  // namespace pxos::god
