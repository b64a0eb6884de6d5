// boot_kernel.cpp: `pxos boot --kernel IMAGE.png`: decodes the self-bootstrapping god-pixel image,
// checks the key pixel and the payload's SHA-256 (bootstrap_payload), its kind and its ELF
// multiboot header, then writes the kernel to a private temp file that QEMU loads.
#include "cli/boot_kernel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "common/fs.hpp"
#include "common/os.hpp"
#include "godpixel/image.hpp"
#include "godpixel/key.hpp"
#include "image/png.hpp"

namespace pxos::cli {
namespace {

// Every failure of a PNG named as a kernel is one kind: the image is not a kernel we may boot.
Error invalid(std::string_view path, const Error& e) {
  std::string d = e.detail;
  if (e.code == Errc::HashMismatch) d = "tampered: " + d;
  return Error{Errc::KernelInvalid, d.starts_with(path) ? d : fmt::format("{}: {}", path, d)};
}

Result<std::optional<ExtractedKernel>> extract(const std::string& path) {
  auto file = read_file(path);
  if (!file) return std::unexpected(file.error());
  if (!image::looks_like_png(*file)) return std::optional<ExtractedKernel>{};  // an ELF / ISO: QEMU takes it as it is
  if (!god::is_god_image(*file))
    return failf(Errc::KernelInvalid, "{}: a PNG, but not a self-bootstrapping god-pixel image (make one with "
                 "`pxos god bootstrap pxos-kernel.elf -o {}`)", path, path);
  auto g = god::decode_god_image(*file, path);
  if (!g) return std::unexpected(invalid(path, g.error()));
  if (g->type != image::Kind::GodBootstrap)
    return failf(Errc::KernelInvalid, "{}: a god-pixel key image: a kernel image must carry its bytes (pxos god bootstrap)", path);
  if (g->kind != image::Kind::Kernel)
    return failf(Errc::KernelInvalid, "{}: its payload is {}, not a kernel (pxos god bootstrap pxos-kernel.elf)", path,
                 image::kind_name(g->kind));
  auto elf = god::bootstrap_payload(*g, path);  // key pixel, length and SHA-256
  if (!elf) return std::unexpected(invalid(path, elf.error()));
  if (auto s = check_kernel_elf(*elf, path); !s) return std::unexpected(s.error());

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pxos-kernel-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());  // O_EXCL, mode 0600: nobody can swap the file under QEMU's nose
  if (fd < 0) return failf(Errc::Io, "{}: cannot create the kernel's temp file: {}", tmpl, errno_text(errno));
  std::string out(name.data());
  auto owner = std::shared_ptr<void>(nullptr, [out](void*) { ::unlink(out.c_str()); });
  int werr = os::write_all(fd, elf->data(), elf->size());  // the fault hook's "write": a full disk
  ::close(fd);
  if (werr != 0) return failf(Errc::Io, "{}: cannot write the kernel extracted from {}: {}", out, path, errno_text(werr));
  ExtractedKernel k;
  k.path = out;
  k.key = god::key_hex(g->key);
  k.sha256 = hex(g->sha);
  k.bytes = elf->size();
  k.owner = std::move(owner);
  return std::optional<ExtractedKernel>(std::move(k));
}

const bool registered = [] {
  kernel_extractor() = extract;
  return true;
}();

}  // namespace
}  // namespace pxos::cli
