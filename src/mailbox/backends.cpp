// backends.cpp: picks and runs a backend; the cpu one is the serve() loop on this thread.
#include "mailbox/backends.hpp"

#include "common/os.hpp"
#include "mailbox/tsc.hpp"

namespace pxos::mailbox {

bool backend_built(std::string_view name) {
  if (name == "cpu") return true;
#ifdef PXOS_MAILBOX_HAVE_WEBGPU
  if (name == "webgpu") return true;
#endif
#ifdef PXOS_MAILBOX_HAVE_CUDA
  if (name == "cuda") return true;
#endif
  return false;
}

Result<ServerConfig> backend_config(std::string_view name, ServerConfig cfg) {
  if (!backend_built(name))
    return failf(Errc::Unsupported, "mailboxd: backend '{}' is not built into this pxos (needs {})", name,
                 name == "cuda" ? "nvcc at configure time" : "the WebGPU runtime (src/gpu)");
  cfg.gpu = cpu_gpu_exec;
#ifdef PXOS_MAILBOX_HAVE_WEBGPU
  if (name == "webgpu") {
    cfg.gpu = webgpu_exec();
    cfg.batch = webgpu_batch();
  }
#endif
  return cfg;
}

Status run_backend(std::string_view name, BackendRun& run, const std::function<void(Server&)>& announce) {
  ServerConfig base = run.cfg;
  base.log = run.log;
  auto made = backend_config(name, std::move(base));
  if (!made) return std::unexpected(made.error());
  ServerConfig cfg = std::move(*made);
  Server server(run.area.base(), run.area.size(), cfg);
  (void)tsc_ticks_per_ns();  // calibrate before serving, not on the first command
  {
    os::SigbusTrap trap;  // start() writes the header: the file may already have been truncated
    if (!os::guard_mapped(server.base(), server.size(), [&] { server.start(); })) {
      if (run.loop.check)
        if (auto s = run.loop.check(); !s) return s;
      return fail(Errc::MailboxError, "mailboxd: an access to the shared area faulted (SIGBUS) at start");
    }
  }
  Status st{};
#ifdef PXOS_MAILBOX_HAVE_CUDA
  if (name == "cuda") {
    st = cuda_serve(run, server, announce);
  } else
#endif
  {
    announce(server);
    st = serve(server, run.loop, run.stop);
  }
  if (run.log && st) std::fputs(server.stats_table(tsc_ticks_per_ns()).c_str(), run.log);
  return st;
}

}  // namespace pxos::mailbox
