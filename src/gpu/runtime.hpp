// runtime.hpp: the pxos GPU runtime over Dawn. One process-wide device (instance -> adapter ->
// device), storage buffers, a pipeline cache keyed by WGSL source + entry + override constants,
// submission with readback, and GPU timestamps where the adapter has them. Dawn's errors (error
// scopes, uncaptured errors, device loss) come back as pxos::Error carrying Dawn's own message.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "gpu/webgpu_decl.hpp"

namespace pxos::gpu {

struct KernelSource;  // gpu/kernel_source.hpp

// What `pxos gpu info` prints and what the ops consult (f16 / subgroups / timestamps).
struct AdapterSummary {
  std::string library;  // path of the Dawn .so
  std::string vendor, architecture, device, description, backend, adapter_type;
  uint32_t vendor_id = 0, device_id = 0, subgroup_min = 0, subgroup_max = 0;
  wg::Limits limits{};                // the device's limits (requested = the adapter's)
  std::vector<uint32_t> features;     // adapter features (raw WGPUFeatureName values)
  bool f16 = false, subgroups = false, timestamps = false;
  std::string f16_note;               // why f16 is (un)available, in words
};

struct CompileMessage {
  std::string severity;  // error | warning | info
  uint64_t line = 0, col = 0;
  std::string message;
};

struct Constant {  // a WGSL `override` value
  std::string name;
  double value = 0;
};

// A device storage buffer (also usable as uniform and copy source/destination). Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(wg::Buffer b, uint64_t size) : raw_(b), size_(size) {}
  Buffer(Buffer&& o) noexcept : raw_(o.raw_), size_(o.size_) { o.raw_ = nullptr; }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();
  wg::Buffer raw() const { return raw_; }
  uint64_t size() const { return size_; }

 private:
  wg::Buffer raw_ = nullptr;
  uint64_t size_ = 0;
};

struct Pipeline {
  wg::ShaderModule module = nullptr;
  wg::ComputePipeline pipeline = nullptr;
  wg::BindGroupLayout layout = nullptr;
};

// A bind group over whole buffers, made once and reused by many submissions. Move-only.
class BindGroup {
 public:
  BindGroup() = default;
  explicit BindGroup(wg::BindGroup g) : raw_(g) {}
  BindGroup(BindGroup&& o) noexcept : raw_(o.raw_) { o.raw_ = nullptr; }
  BindGroup& operator=(BindGroup&& o) noexcept;
  BindGroup(const BindGroup&) = delete;
  BindGroup& operator=(const BindGroup&) = delete;
  ~BindGroup();
  wg::BindGroup raw() const { return raw_; }

 private:
  wg::BindGroup raw_ = nullptr;
};

// A binding of part of a buffer (size 0: from offset to the end); offsets must be multiples of
// the adapter's minStorageBufferOffsetAlignment.
struct BufferRange {
  const Buffer* buffer = nullptr;
  uint64_t offset = 0, size = 0;
};

// One dispatch of a recorded sequence (Runtime::submit).
struct Step {
  const Pipeline* pipeline = nullptr;
  wg::BindGroup group = nullptr;
  std::array<uint32_t, 3> groups{1, 1, 1};
};

struct DispatchTiming {
  std::vector<double> ms;  // one per repetition (GPU timestamps) or one wall-clock average
  bool gpu_timestamps = false;
};

class Runtime {
 public:
  // The process-wide runtime, created on first use. Fails (GpuUnavailable) with the reason when
  // Dawn cannot be loaded or no adapter exists.
  static Result<Runtime*> get();

  const AdapterSummary& info() const { return info_; }

  // Compile only: Dawn's messages for `source` (empty when clean).
  Result<std::vector<CompileMessage>> compile(std::string_view source);
  // Cached compute pipeline; a WGSL error is Errc::GpuError "<label>:line:col: message".
  // origin, when given, maps error lines back to the files the source was expanded from.
  Result<Pipeline*> pipeline(std::string_view source, std::string_view entry,
                             std::span<const Constant> constants = {},
                             std::string_view label = "kernel", const KernelSource* origin = nullptr);
  size_t pipeline_cache_size() const { return cache_.size(); }

  Result<Buffer> create_buffer(uint64_t size);
  Result<Buffer> upload(ByteView data);  // size rounded up to 4 (min 4); zero tail
  Status write(const Buffer& b, ByteView data, uint64_t offset = 0);
  Result<Bytes> download(const Buffer& b, uint64_t size = UINT64_MAX);

  // Binds `bindings` at @group(0) @binding(0..n-1) and dispatches `groups`, `repeats` times (one
  // compute pass each), then waits. With `timed`, returns the per-pass times.
  Result<DispatchTiming> dispatch(const Pipeline& p, std::span<const Buffer* const> bindings,
                                  std::array<uint32_t, 3> groups, int repeats = 1,
                                  bool timed = false);

  // For tests: makes the next operation see a lost device (Dawn's DeviceDestroy).
  Status wait_idle();

  // Bind group for `bindings` at @group(0) @binding(0..n-1) of P.
  Result<BindGroup> bind(const Pipeline& p, std::span<const BufferRange> bindings);
  // A buffer the host can map for reading (copy destination only).
  Result<Buffer> create_readback(uint64_t size);
  // Encodes STEPS in order into ONE compute pass of ONE command buffer (WebGPU orders the
  // dispatches of a pass: each sees the previous ones' writes), then, when READ is given, copies
  // dst.size() bytes of it into STAGING (a create_readback buffer of at least dst.size() + 24
  // bytes), submits once, waits and copies the bytes into DST. With `timed` and timestamps on
  // the adapter, returns the pass's GPU milliseconds; else -1.
  Result<double> submit(std::span<const Step> steps, const Buffer* read, std::span<uint8_t> dst,
                        const Buffer* staging, bool timed = false);

 private:
  Runtime() = default;
  Status init();
  Status wait(wg::Future f, const char* what);
  Status pop_scopes(const char* what);
  void push_scopes();
  Status check_alive() const;

  wg::Instance instance_ = nullptr;
  wg::Adapter adapter_ = nullptr;
  wg::Device device_ = nullptr;
  wg::Queue queue_ = nullptr;
  bool timed_wait_ = true;
  AdapterSummary info_;
  std::map<std::string, std::unique_ptr<Pipeline>> cache_;
  wg::QuerySet submit_queries_ = nullptr;  // submit()'s timestamp pair, made on first use
  Buffer submit_resolve_;

 public:  // callback state (written by Dawn's callbacks)
  std::string lost_message_;
  bool lost_ = false;
  std::string uncaptured_;
};

// Embedded kernels (kernels/*.wgsl, compiled into the binary, #include lines expanded).
std::optional<std::string_view> embedded_kernel(std::string_view name);
std::vector<std::string> embedded_kernel_names();

// Runs entry `entry` of the embedded kernel kernels/<kernel_name>.wgsl (its tunables from
// kernel_constants) with `buffers` bound as read_write storage buffers at @group(0)
// @binding(0..n-1), dispatching `workgroups`; returns the buffers' contents afterwards.
Result<std::vector<Bytes>> run_kernel(std::string_view kernel_name, std::string_view entry,
                                      std::vector<Bytes> buffers, std::array<uint32_t, 3> workgroups);

// The same for any WGSL source (what `pxos gpu run` uses).
Result<std::vector<Bytes>> run_source(std::string_view source, std::string_view label,
                                      std::string_view entry, std::vector<Bytes> buffers,
                                      std::array<uint32_t, 3> workgroups,
                                      std::span<const Constant> constants = {},
                                      const KernelSource* origin = nullptr);

// Feature name for printing ("ShaderF16", or "0x...").
std::string feature_name(uint32_t f);

}  // namespace pxos::gpu
