// cmd_cart.cpp: `pxos cart make`: hide a program in the low bits of a label picture; and the
// loader's cart resolver, so `pxos run cart.png` works from the chunk or from the pixels alone.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli/cart.hpp"
#include "cli/command.hpp"
#include "cli/loader.hpp"
#include "cli/pixelmap.hpp"
#include "common/fs.hpp"
#include "image/cart.hpp"
#include "image/draw.hpp"
#include "image/pxi.hpp"

namespace pxos::cli {

Result<image::PngImage> default_label(const std::string& name, ByteView payload) {
  // Grow both sides by the same factor until the payload fits at kLabelBits.
  uint32_t f = 1;
  while (image::cart_capacity(kLabelW * f, kLabelH * f, kLabelBits) < payload.size()) {
    ++f;
    if (uint64_t(kLabelW) * f * kLabelH * f > image::kMaxPixels)  // checked before the canvas exists
      return failf(Errc::TooLarge, "{}: {} bytes is too large for a default label (give --label a bigger picture)",
                   name, payload.size());
  }
  const uint32_t W = kLabelW * f, H = kLabelH * f;
  image::Canvas c(W, H, {24, 24, 32});
  // The title: the program's name, as large as fits.
  std::string title = name.size() > 38 ? name.substr(0, 37) + "~" : name;
  uint32_t ts = std::max<uint32_t>(1, std::min<uint32_t>(2 * f, (W - 8) / std::max<uint32_t>(1, image::Canvas::text_width(title))));
  c.text((W - image::Canvas::text_width(title, ts)) / 2, 6 * f, title, {240, 240, 240}, ts);
  // The pixel view: the program as a .pxi would hold it, enlarged with its regions outlined.
  uint32_t pw, ph;
  image::pxi_dims(payload.size(), pw, ph);
  image::PngImage px;
  px.width = pw;
  px.height = ph;
  px.channels = 3;
  px.pixels.assign(size_t(pw) * ph * 3, 0);
  std::copy(payload.begin(), payload.end(), px.pixels.begin());
  const uint32_t box_w = W - 16 * f, box_h = H - 48 * f;
  uint32_t s = std::max<uint32_t>(1, std::min(box_w / pw, box_h / ph));
  MapSpec spec;
  spec.pixels = &px;
  spec.scale = s;
  if (payload.size() >= 28 && std::equal(payload.begin(), payload.begin() + 4, "PXBC")) spec.regions = module_regions(payload);
  MapGeometry g;
  auto map = render_map(spec, name, &g);
  if (!map) return std::unexpected(map.error());
  uint32_t vw = std::min(pw * s + 1, box_w), vh = std::min(ph * s + 1, box_h);
  uint32_t x0 = (W - vw) / 2, y0 = 20 * f + (box_h - vh) / 2;
  for (uint32_t y = 0; y < vh && g.oy + y < map->height(); ++y)
    for (uint32_t x = 0; x < vw && g.ox + x < map->width(); ++x) c.set(x0 + x, y0 + y, map->get(g.ox + x, g.oy + y));
  std::string foot = fmt::format("PXOS CART  {} BYTES", payload.size());
  c.text((W - image::Canvas::text_width(foot, f)) / 2, H - 12 * f, foot, {160, 160, 170}, f);
  return c.png();
}

namespace {

Register reg(12, {"cart"}, [](CLI::App& app) {
  auto* cart = app.add_subcommand("cart", "Cartridges: a program hidden in the low bits of a picture");
  cart->require_subcommand(1);
  auto* s = cart->add_subcommand("make", "Hide a program in a label picture (PNG) that survives re-encoding");
  auto in = std::make_shared<std::string>();
  auto label = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto bits = std::make_shared<unsigned>(0);
  s->add_option("input", *in, "program (.pxi, .pxasm, or anything `pxos run` loads)")->required();
  s->add_option("--label", *label, "the picture to hide it in (PNG; default: the program's name and pixel view)");
  s->add_option("-o,--output", *out, "the cart to write (PNG)")->required();
  s->add_option("--bits", *bits, "bits per channel 1..4 (default: the fewest that fit)");
  s->callback([in, label, out, bits] {
    if (*bits > image::kCartMaxBits)
      throw Failure(Error{Errc::Usage, fmt::format("--bits {}: must be 1..{}", *bits, image::kCartMaxBits)});
    isa::Module m = must(load_module(*in));
    Bytes payload = must(isa::serialize(m));
    image::PngImage pic;
    std::string label_name = *label;
    if (label->empty()) {
      label_name = "the default label";
      pic = must(default_label(std::filesystem::path(*in).stem().string(), payload));
    } else {
      Bytes f = must(read_file(*label));
      if (image::looks_like_jpeg(f))
        throw Failure(Error{Errc::PngInvalid, fmt::format("{}: offset 0: a JPEG label: pxos reads PNG labels only "
                                                          "(convert it to PNG first)", *label)});
      pic = must(image::png_decode(f, *label, 3));
    }
    image::PngImage cart = must(image::make_cart(pic, payload, image::Kind::Bytecode, *bits, label_name));
    must(write_file_atomic(*out, must(image::png_encode(cart))));
    unsigned used = cart.chunks.at(0).data.at(5);  // the depth make_cart chose (header byte 5)
    uint64_t cap = image::cart_capacity(cart.width, cart.height, used);
    std::FILE* report = *out == "-" ? stderr : stdout;
    fmt::print(report, "wrote {}: {}x{} label, {} bit{} per channel, {} of {} bytes used ({:.1f}%); up to {} bytes at {} bits\n",
               *out, cart.width, cart.height, used, used == 1 ? "" : "s", payload.size(), cap,
               cap ? 100.0 * double(payload.size()) / double(cap) : 0.0,
               image::cart_capacity(cart.width, cart.height, image::kCartMaxBits), image::kCartMaxBits);
  });
});

// A cart (pxCa chunk or pixel header) or a JPEG given to run/disasm/cart make: decoded here.
RegisterResolver resolver([](const std::string& path, ByteView file) -> std::optional<Result<Bytes>> {
  if (!image::looks_like_jpeg(file) && !image::looks_like_cart(file)) return std::nullopt;
  auto c = image::decode_cart(file, path);
  if (!c) return std::unexpected(c.error());
  if (c->kind != image::Kind::Bytecode)
    return failf(Errc::PxiInvalid, "{}: a cart holding a {} payload, not bytecode", path, image::kind_name(c->kind));
  return std::move(c->payload);
});

}  // namespace
}  // namespace pxos::cli
