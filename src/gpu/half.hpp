// half.hpp: IEEE 754 binary16 <-> binary32 conversion (round to nearest even), for the f16 path.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pxos::gpu {
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
std::vector<uint16_t> to_f16(std::span<const float> v);
std::vector<float> from_f16(std::span<const uint16_t> v);
}  // namespace pxos::gpu
