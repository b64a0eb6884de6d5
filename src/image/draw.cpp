// draw.cpp: the canvas and its font. The font is pxos's own: 3x5 cells, one octal digit a row
// (4 = left column, 2 = middle, 1 = right), top row first.
#include "image/draw.hpp"

#include <algorithm>
#include <array>

namespace pxos::image {
namespace {
// Printable ASCII from ' ' (0x20) to '~' (0x7e); lowercase letters reuse the capitals.
constexpr std::array<const char*, 95> kFont = {
    "00000", "22202", "55000", "57575", "36736", "51245", "25357", "22000",  //  !"#$%&'
    "12221", "42224", "05250", "02720", "00024", "00700", "00002", "11244",  // ()*+,-./
    "75557", "26227", "71747", "71317", "55711", "74717", "74757", "71222",  // 01234567
    "75757", "75717", "02020", "02024", "12421", "07070", "42124", "71202",  // 89:;<=>?
    "75647", "25755", "65656", "34443", "65556", "74647", "74644", "34553",  // @ABCDEFG
    "55755", "72227", "11152", "55655", "44447", "57755", "65555", "25552",  // HIJKLMNO
    "65644", "25563", "65655", "34216", "72222", "55557", "55552", "55775",  // PQRSTUVW
    "55255", "55222", "71247", "64446", "44211", "31113", "25000", "00007",  // XYZ[\]^_
    "42000", "25755", "65656", "34443", "65556", "74647", "74644", "34553",  // `abcdefg
    "55755", "72227", "11152", "55655", "44447", "57755", "65555", "25552",  // hijklmno
    "65644", "25563", "65655", "34216", "72222", "55557", "55552", "55775",  // pqrstuvw
    "55255", "55222", "71247", "32623", "22222", "62326", "06300",           // xyz{|}~
};
static_assert(kFont.size() == 0x7f - 0x20, "one glyph per printable ASCII character");
}  // namespace

Canvas::Canvas(uint32_t w, uint32_t h, Rgb bg) : w_(w), h_(h), px_(size_t(w) * h * 3) {
  for (size_t i = 0; i < px_.size(); i += 3) {
    px_[i] = bg.r;
    px_[i + 1] = bg.g;
    px_[i + 2] = bg.b;
  }
}

void Canvas::set(int64_t x, int64_t y, Rgb c) {
  if (x < 0 || y < 0 || x >= int64_t(w_) || y >= int64_t(h_)) return;
  uint8_t* p = &px_[(size_t(y) * w_ + size_t(x)) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

Rgb Canvas::get(uint32_t x, uint32_t y) const {
  const uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::fill(int64_t x, int64_t y, int64_t w, int64_t h, Rgb c) {
  int64_t x0 = std::max<int64_t>(0, x), y0 = std::max<int64_t>(0, y);
  int64_t x1 = std::min<int64_t>(w_, x + w), y1 = std::min<int64_t>(h_, y + h);
  for (int64_t yy = y0; yy < y1; ++yy)
    for (int64_t xx = x0; xx < x1; ++xx) set(xx, yy, c);
}

void Canvas::outline(int64_t x, int64_t y, int64_t w, int64_t h, Rgb c, int thick) {
  fill(x, y, w, thick, c);
  fill(x, y + h - thick, w, thick, c);
  fill(x, y, thick, h, c);
  fill(x + w - thick, y, thick, h, c);
}

int64_t Canvas::text(int64_t x, int64_t y, std::string_view s, Rgb c, uint32_t scale) {
  for (unsigned char ch : s) {
    const char* g = kFont[(ch >= 0x20 && ch < 0x7f ? ch : '?') - 0x20];
    for (uint32_t row = 0; row < kGlyphH; ++row)
      for (uint32_t col = 0; col < kGlyphW; ++col)
        if ((g[row] - '0') & (4 >> col)) fill(x + col * scale, y + row * scale, scale, scale, c);
    x += (kGlyphW + 1) * scale;
  }
  return x;
}

uint32_t Canvas::text_width(std::string_view s, uint32_t scale) {
  return s.empty() ? 0 : uint32_t(s.size()) * (kGlyphW + 1) * scale - scale;
}

PngImage Canvas::png() const {
  PngImage img;
  img.width = w_;
  img.height = h_;
  img.channels = 3;
  img.pixels = px_;
  return img;
}

}  // namespace pxos::image
