// server.hpp: the serving side of the mailbox, independent of how it is driven: step() does
// one pass (the v1 slot, then a batch of ring entries) through a bounds-checked opcode table.
// The cpu backend calls step() from a polling loop (serve.hpp); the fuzz target calls it on
// random area images; the cuda backend calls it for the commands the GPU defers to the host.
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "mailbox/allocator.hpp"
#include "mailbox/protocol.hpp"
#include "mailbox/stats.hpp"

namespace pxos::mailbox {

// GPU_EXECUTE's executor: kernel name, entry point, buffers (copies), workgroups -> results.
using GpuExec = std::function<Result<std::vector<Bytes>>(std::string_view kernel, std::string_view entry,
                                                         std::vector<Bytes> buffers,
                                                         std::array<uint32_t, 3> workgroups)>;
// The cpu backend's reference kernels (add_u32, fill_u32).
Result<std::vector<Bytes>> cpu_gpu_exec(std::string_view kernel, std::string_view entry, std::vector<Bytes> buffers,
                                        std::array<uint32_t, 3> workgroups);

// A boot module as mailboxd hands it to the kernel (MODULE): the PXBC bytes and the limits
// that apply (an archive entry's manifest, else the defaults of pxos run).
struct BootModule {
  Bytes pxbc;
  uint32_t memory_words = 1024;
  uint32_t caps = 0, entry = 0;
  uint64_t max_steps = 0, max_output = 0, seed = 0;
};
// MODULE N's source: nullopt past the last module; an error carries its kind (NotFound,
// HashMismatch, ...), which picks the MB_ERR code the kernel sees.
using ModuleSource = std::function<std::optional<Result<BootModule>>(uint32_t n)>;

struct Reply;
// Serves a batch of ring entries at once (the webgpu backend's WGSL handler): fills one reply
// per entry; a reply with status 0 is served by the host's table instead. false: the batch
// failed as a whole, and the host serves every entry.
using BatchExec = std::function<bool(std::span<const Sqe> entries, std::span<Reply> replies)>;

struct ServerConfig {
  int uart_out = 1;                    // fd for UART_WRITE; -1 discards
  int uart_in = 0;                     // fd for UART_READ; -1: never any input
  uint32_t mmio_base = c::MMIO_BASE;   // the declared device window
  uint32_t mmio_size = c::MMIO_SIZE;
  uint32_t max_batch = c::RING_ENTRIES;  // ring entries per step
  GpuExec gpu;                         // empty: GPU_EXECUTE answers UNSUPPORTED
  BatchExec batch;                     // empty: every ring entry goes through execute()
  ModuleSource modules;                // empty: MODULE answers NO_MODULE (no boot modules)
  FILE* log = stderr;                  // fault lines (one per kind); nullptr: silent
  bool time_ops = true;                // per-opcode service-time histograms
};

struct Reply {
  uint32_t status = 0, resp = 0, resp1 = 0;
};

class Server {
 public:
  // base/size: the mapped area (size already validated by Area; re-checked here).
  Server(uint8_t* base, size_t size, ServerConfig cfg);
  // Initialise the header (MAGIC, VERSION, SIZE, EPOCH+1), adopt the ring indices (checked),
  // and set STATUS = READY. A command already rung (DOORBELL = 1) is served by the next step().
  void start();
  // One pass: the v1 slot, then up to max_batch ring entries. Returns commands served.
  size_t step();
  size_t step_v1();
  size_t step_ring();
  // Dispatch one command (the table; never throws; writes only inside the data area).
  Reply execute(uint32_t cmd, uint32_t arg0, uint32_t arg1);

  bool halted() const { return halted_; }
  uint32_t epoch() const { return epoch_; }  // the EPOCH start() wrote (read without touching the area)
  uint64_t served() const { return served_; }
  uint64_t faults() const { return faults_; }
  uint64_t batch_served() const { return batch_served_; }  // ring entries the batch handler served
  const std::array<OpStats, 256>& op_stats() const { return stats_; }
  std::string stats_table(double ticks_per_ns) const;  // the exit / --stats-every table
  Header& header() { return *reinterpret_cast<Header*>(base_); }
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }  // 0: a size the table cannot serve (nothing is touched)
  const DataAllocator& allocator() const { return alloc_; }

 private:
  using Handler = Reply (Server::*)(uint32_t cmd, uint32_t arg0, uint32_t arg1);
  // One handler per protocol.def row: op_<handler> for an MB_OP, sys_<handler> for an MB_SYS.
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) Reply op_##handler(uint32_t cmd, uint32_t arg0, uint32_t arg1);
#include "mailbox/protocol.def"
  using SysHandler = Reply (*)(Server&, uint32_t arg0, uint32_t arg1);
#define MB_SYS(name, number, handler, gpu, doc) static Reply sys_##handler(Server&, uint32_t arg0, uint32_t arg1);
#include "mailbox/protocol.def"
  // Counts the fault (FAULTS, LAST_FAULT) and prints it once per kind; the message is only
  // formatted when printed, so a flood of bad commands costs no formatting.
  template <class... A>
  Reply fault(uint16_t code, fmt::format_string<A...> f, A&&... a) {
    if (note_fault(code)) print_fault(code, fmt::format(f, std::forward<A>(a)...));
    return {error_status(code), 0, 0};
  }
  bool note_fault(uint16_t code);
  void print_fault(uint16_t code, const std::string& what);
  Reply timed(uint32_t cmd, uint32_t arg0, uint32_t arg1);
  bool mmio_ok(uint32_t addr) const;
  std::span<uint8_t> data(uint32_t off, uint32_t len);  // caller checked data_range_ok

  uint8_t* base_;
  size_t size_;
  ServerConfig cfg_;
  std::array<Handler, 256> table_{};  // indexed by the opcode byte: every byte is in range
  DataAllocator alloc_;
  std::vector<uint32_t> mmio_;
  std::array<OpStats, 256> stats_{};
  uint32_t sq_head_ = 0, cq_tail_ = 0;  // the server's own ring indices (the shared ones are copies)
  bool cq_fault_ = false;
  bool halted_ = false;
  uint32_t epoch_ = 0;
  uint64_t served_ = 0, faults_ = 0, batch_served_ = 0;
  bool batch_failed_logged_ = false;
  uint32_t logged_ = 0;  // bit per error code already logged
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace pxos::mailbox
