// draw.hpp: a small RGB canvas for the pictures pxos renders itself (view legends, heat-maps,
// cartridge labels): rectangles, outlines, and text in a built-in 3x5 pixel font.
#pragma once
#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"
#include "image/png.hpp"

namespace pxos::image {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

inline constexpr uint32_t kGlyphW = 3, kGlyphH = 5;  // the font's cell; text advances kGlyphW + 1

class Canvas {
 public:
  Canvas(uint32_t w, uint32_t h, Rgb bg);
  uint32_t width() const { return w_; }
  uint32_t height() const { return h_; }
  void set(int64_t x, int64_t y, Rgb c);  // clipped: drawing off the canvas is a no-op
  Rgb get(uint32_t x, uint32_t y) const;
  void fill(int64_t x, int64_t y, int64_t w, int64_t h, Rgb c);
  void outline(int64_t x, int64_t y, int64_t w, int64_t h, Rgb c, int thick = 1);
  // Text in the 3x5 font, each font pixel scale x scale; lowercase is drawn as capitals and any
  // byte outside printable ASCII as '?'. Returns the x just past the text.
  int64_t text(int64_t x, int64_t y, std::string_view s, Rgb c, uint32_t scale = 1);
  static uint32_t text_width(std::string_view s, uint32_t scale = 1);
  PngImage png() const;  // RGB8, no chunks

 private:
  uint32_t w_, h_;
  Bytes px_;
};

}  // namespace pxos::image
