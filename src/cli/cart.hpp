// cart.hpp: what the other commands need of cartridges: the default label (`cart make` without
// --label) and `inspect`'s cart report.
#pragma once
#include <string>

#include "common/bytes.hpp"
#include "image/png.hpp"

namespace pxos::cli {

// PICO-8's label size: the default label is this, grown in proportion when the program needs more.
inline constexpr uint32_t kLabelW = 160, kLabelH = 205;
inline constexpr unsigned kLabelBits = 2;  // the depth the default label is sized for

// The program's name over its pixel view (regions outlined), sized to hold `payload`.
Result<image::PngImage> default_label(const std::string& name, ByteView payload);

}  // namespace pxos::cli
