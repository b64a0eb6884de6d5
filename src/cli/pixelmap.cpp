// pixelmap.cpp: the enlarged pixel map and its legend. Outlines and labels keep off each pixel's
// centre, so the centre always shows the pixel's own colour (the tests read it there).
#include "cli/pixelmap.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "image/pxi.hpp"

namespace pxos::cli {
namespace {
using image::Canvas;
using image::Rgb;

constexpr Rgb kBackground{24, 24, 32};
constexpr Rgb kText{230, 230, 230};
constexpr Rgb kGrid{0, 0, 0};          // a line on every pixel boundary
constexpr Rgb kGridMajor{110, 110, 110};  // every kMajor-th line, so coordinates can be counted
constexpr uint32_t kMajor = 8;
constexpr uint32_t kTextScale = 2;  // legend text: 6x10 glyphs
constexpr uint32_t kLine = 14;      // legend line height at kTextScale
constexpr uint32_t kPad = 8;

struct SectionStyle { std::string_view name; Rgb colour; };
constexpr SectionStyle kStyles[] = {
    {"header", {240, 240, 240}}, {"code", {60, 220, 60}},      {"symbols", {60, 200, 255}},
    {"line map", {255, 80, 255}}, {"relocations", {255, 160, 0}}, {"source name", {255, 255, 0}},
};
}  // namespace

std::vector<MapRegion> module_regions(ByteView payload) {
  std::vector<MapRegion> out;
  for (const auto& s : isa::module_layout(payload)) {
    Rgb c{200, 200, 200};
    for (const auto& st : kStyles)
      if (st.name == s.name) c = st.colour;
    out.push_back({std::string(s.name), s.begin, s.end, c});
  }
  return out;
}

std::vector<MapLabel> module_labels(const isa::Module& m) {
  std::vector<MapLabel> out;
  Bytes payload = isa::serialize(m).value_or(Bytes{});
  const uint32_t code_at = payload.empty() ? 0 : isa::module_layout(payload).at(1).begin;
  for (const auto& s : m.symbols) out.push_back({s.name, code_at + s.offset});
  return out;
}

Rgb heat_colour(uint64_t count, uint64_t max) {
  if (count == 0 || max == 0) return kHeatZero;
  // log scale: 1 and max are the ends of the ramp, every decade gets equal room
  double t = max == 1 ? 1.0 : std::log(double(count)) / std::log(double(max));
  t = std::clamp(t, 0.0, 1.0);
  static constexpr Rgb stops[] = {{50, 20, 120}, {160, 30, 130}, {240, 100, 30}, kHeatHottest};
  if (t >= 1.0) return kHeatHottest;
  double f = t * 3;
  int i = int(f);
  double u = f - i;
  auto mix = [&](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (b - a) * u)); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

Result<Canvas> render_map(const MapSpec& spec, std::string_view name, MapGeometry* geo) {
  const image::PngImage& img = *spec.pixels;
  const uint32_t S = spec.scale, W = img.width, H = img.height;
  std::string rows = fmt::format("{}", H ? H - 1 : 0);
  uint32_t ox = std::max(kPad, Canvas::text_width(rows, kTextScale) + 2 * kPad);
  uint32_t oy = kPad + kLine + kLine;  // title, then the column ruler
  // Legend: one line per region, the pixel note, the labels' key and the colour bar.
  std::vector<std::string> lines;
  for (const auto& r : spec.regions)
    lines.push_back(r.end > r.begin ? fmt::format("{}: bytes {}-{} ({})", r.name, r.begin, r.end - 1, r.end - r.begin)
                                    : fmt::format("{}: none", r.name));
  lines.push_back(fmt::format("{}x{} pixels, 3 bytes each (R G B), row-major", W, H));
  uint32_t legend_h = kPad + uint32_t(lines.size()) * kLine + (spec.heat_max ? 3 * kLine + kPad : 0) + kPad;
  uint32_t legend_w = 0;
  for (const auto& l : lines) legend_w = std::max(legend_w, Canvas::text_width(l, kTextScale) + 3 * kPad + 12);
  legend_w = std::max(legend_w, Canvas::text_width(spec.title, kTextScale) + 2 * kPad);
  if (spec.heat_max) legend_w = std::max<uint32_t>(legend_w, 256 + 2 * kPad + 60);
  uint64_t cw = std::max<uint64_t>(uint64_t(ox) + uint64_t(W) * S + kPad, legend_w);
  uint64_t ch = uint64_t(oy) + uint64_t(H) * S + legend_h;
  if (cw > image::kMaxDimension || ch > image::kMaxDimension || cw * ch > image::kMaxPixels)
    return failf(Errc::TooLarge,
                 "{}: {}x{} at --scale {} would be {}x{} pixels ({}x{} with the legend), over the limit of {} per "
                 "side and {} in all; use a smaller --scale", name, W, H, S, uint64_t(W) * S, uint64_t(H) * S, cw, ch,
                 image::kMaxDimension, image::kMaxPixels);
  if (spec.measure_only) return Canvas(1, 1, kBackground);
  Canvas c(uint32_t(cw), uint32_t(ch), kBackground);
  c.text(kPad, kPad, spec.title, kText, kTextScale);

  // Pixels, then the grid on each pixel's top and left edge (so the centre stays clear).
  for (uint32_t y = 0; y < H; ++y)
    for (uint32_t x = 0; x < W; ++x) {
      const uint8_t* p = &img.pixels[(size_t(y) * W + x) * 3];
      c.fill(ox + x * S, oy + y * S, S, S, {p[0], p[1], p[2]});
    }
  if (S >= 4) {
    for (uint32_t x = 0; x <= W; ++x) c.fill(ox + x * S, oy, 1, H * S, x % kMajor ? kGrid : kGridMajor);
    for (uint32_t y = 0; y <= H; ++y) c.fill(ox, oy + y * S, W * S + 1, 1, y % kMajor ? kGrid : kGridMajor);
  }
  // Rulers: every kMajor-th column and row is numbered.
  for (uint32_t x = 0; x < W; x += kMajor) c.text(ox + x * S + 1, kPad + kLine, fmt::format("{}", x), kText, kTextScale);
  for (uint32_t y = 0; y < H; y += kMajor)
    c.text(kPad, oy + y * S, fmt::format("{}", y), kText, kTextScale);

  // Region outlines: a band inside each pixel on every side where the neighbour is in another
  // region. A pixel belongs to the region of its first byte.
  const int64_t npx = int64_t(W) * H;
  std::vector<int> owner(size_t(npx), -1);
  for (size_t ri = 0; ri < spec.regions.size(); ++ri) {
    const auto& r = spec.regions[ri];
    for (int64_t p = (int64_t(r.begin) + 2) / 3; p * 3 < int64_t(r.end) && p < npx; ++p) owner[size_t(p)] = int(ri);
  }
  const uint32_t band = std::max<uint32_t>(1, S / 8);
  auto own = [&](int64_t x, int64_t y) { return x < 0 || y < 0 || x >= W || y >= H ? -2 : owner[size_t(y * W + x)]; };
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      int o = own(x, y);
      if (o < 0) continue;
      Rgb col = spec.regions[size_t(o)].colour;
      int64_t px = ox + x * S, py = oy + y * S;
      if (own(x - 1, y) != o) c.fill(px, py, band, S, col);
      if (own(x + 1, y) != o) c.fill(px + S - band, py, band, S, col);
      if (own(x, y - 1) != o) c.fill(px, py, S, band, col);
      if (own(x, y + 1) != o) c.fill(px, py + S - band, S, band, col);
    }
  // Labels at their pixels: 1x text on a dark strip over rows 1..7 of the pixel, above its
  // centre (row S/2 >= 8).
  if (S >= 16)
    for (const auto& l : spec.labels) {
      int64_t p = l.byte / 3;
      if (p >= npx) continue;
      int64_t px = ox + (p % W) * S + band + 1, py = oy + (p / W) * S + 2;
      c.fill(px - 1, py - 1, Canvas::text_width(l.text) + 2, image::kGlyphH + 2, {0, 0, 0});
      c.text(px, py, l.text, kText);
    }

  // Legend.
  int64_t ly = oy + int64_t(H) * S + kPad;
  for (size_t i = 0; i < lines.size(); ++i, ly += kLine) {
    if (i < spec.regions.size()) c.outline(kPad, ly, 10, 10, spec.regions[i].colour, 2);
    c.text(kPad + 18, ly, lines[i], kText, kTextScale);
  }
  if (spec.heat_max) {
    uint64_t mx = std::max<uint64_t>(1, *spec.heat_max);
    c.text(kPad, ly, "executions (log scale):", kText, kTextScale);
    ly += kLine;
    c.fill(kPad, ly, 12, 12, kHeatZero);
    int64_t bx = kPad + 20;
    for (uint32_t i = 0; i < 256; ++i) {
      // bar position i shows count mx^(i/255): the same log scale as the pixels
      uint64_t cnt = std::max<uint64_t>(1, uint64_t(std::llround(std::pow(double(mx), i / 255.0))));
      c.fill(bx + i, ly, 1, 12, i == 255 ? heat_colour(mx, mx) : heat_colour(cnt, mx));
    }
    ly += 14;
    c.text(kPad, ly, "0", kText, kTextScale);
    c.text(bx, ly, "1", kText, kTextScale);
    for (uint64_t d = 10; d < mx; d *= 10) {
      int64_t at = bx + int64_t(std::lround(255.0 * std::log(double(d)) / std::log(double(mx))));
      if (at > bx + 16 && at < bx + 220) c.text(at, ly, fmt::format("{}", d), kText, kTextScale);
    }
    std::string top = fmt::format("{}", mx);
    c.text(bx + 256 - int64_t(Canvas::text_width(top, kTextScale)), ly, top, kText, kTextScale);
  }
  if (geo) *geo = {ox, oy, S};
  return c;
}

}  // namespace pxos::cli
