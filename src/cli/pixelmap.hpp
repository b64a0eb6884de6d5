// pixelmap.hpp: renders a program's own pixels enlarged, with a grid, region outlines, labels
// at their pixels and a legend drawn into the picture: `pxos view`, `run --heatmap`, cart labels.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "image/draw.hpp"
#include "image/png.hpp"
#include "isa/module.hpp"

namespace pxos::cli {

struct MapRegion { std::string name; uint32_t begin = 0, end = 0; image::Rgb colour; };  // payload bytes
struct MapLabel { std::string text; uint32_t byte = 0; };  // drawn on the pixel holding `byte`

struct MapSpec {
  const image::PngImage* pixels = nullptr;  // 3 channels: what is enlarged (a .pxi, or heat colours)
  std::vector<MapRegion> regions;
  std::vector<MapLabel> labels;
  uint32_t scale = 16;
  std::string title;
  std::optional<uint64_t> heat_max;  // draw the heat-map colour bar for counts 0..max
  bool measure_only = false;         // only check that the picture fits the PNG limits (an empty canvas)
};
// Where the enlarged pixels landed: image pixel (x, y) covers canvas
// [ox + x*scale, ox + (x+1)*scale) x [oy + y*scale, oy + (y+1)*scale).
struct MapGeometry { uint32_t ox = 0, oy = 0, scale = 0; };

// The sections of a bytecode payload as regions, in the legend's colours.
std::vector<MapRegion> module_regions(ByteView payload);
std::vector<MapLabel> module_labels(const isa::Module& m);  // every symbol at its code byte

// Heat-map colours: zero (never ran), and the log ramp for 1..max (max gets the hottest colour).
inline constexpr image::Rgb kHeatZero{60, 60, 60};
inline constexpr image::Rgb kHeatHottest{255, 240, 80};
image::Rgb heat_colour(uint64_t count, uint64_t max);

// Checks the enlarged size against the PNG limits first (one clear error, never bad_alloc).
Result<image::Canvas> render_map(const MapSpec& spec, std::string_view name, MapGeometry* geo = nullptr);

}  // namespace pxos::cli
