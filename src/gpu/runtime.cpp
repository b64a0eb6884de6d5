// runtime.cpp: Dawn instance/adapter/device setup, callbacks turned into errors, buffers,
// pipeline cache, dispatch with timestamps, readback.
#include "gpu/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "gpu/dawn.hpp"
#include "gpu/kernel_source.hpp"
#include "gpu/tunables.hpp"

namespace pxos::gpu {
namespace {

// Tunables.
constexpr uint64_t kWaitSliceNs = 100'000'000;  // one WaitAny slice: 100 ms
constexpr double kWaitLimitS = 900;             // an operation that takes longer is an error
constexpr int kMaxTimedPasses = 256;            // timestamp pairs per query set

const wg::Procs* P = nullptr;  // the resolved table, set once by Runtime::init

std::string sv(wg::StringView s) {
  if (!s.data) return {};
  if (s.length == wg::k::Strlen) return std::string(s.data);
  return std::string(s.data, s.length);
}
wg::StringView sv(std::string_view s) { return {s.data(), s.size()}; }

// Dawn's messages span lines ("... doesn't exist.\n - While validating ...\n - While calling ...")
// and double the quotes of names (""nope""): one line each, as every pxos error is.
std::string one_line(std::string m) {
  for (size_t p; (p = m.find("\"\"")) != std::string::npos;) m.erase(p, 1);
  std::string out;
  size_t start = 0;
  while (start <= m.size()) {
    size_t end = m.find('\n', start);
    std::string line = m.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    size_t b = line.find_first_not_of(" -");
    if (b != std::string::npos) {
      line = line.substr(b);
      if (!out.empty()) {
        if (out.back() == '.') out.pop_back();
        out += "; ";
        if (line.starts_with("While ")) line[0] = 'w';
      }
      out += line;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

const char* error_type_name(wg::Enum t) {
  switch (t) {
    case wg::k::ErrorValidation: return "validation error";
    case wg::k::ErrorOutOfMemory: return "out of memory";
    case wg::k::ErrorInternal: return "internal error";
    default: return "error";
  }
}

std::string backend_name(wg::Enum b) {
  static const char* names[] = {"undefined", "null", "WebGPU", "D3D11", "D3D12",
                                "Metal", "Vulkan", "OpenGL", "OpenGLES"};
  return b < std::size(names) ? names[b] : fmt::format("0x{:x}", b);
}
std::string adapter_type_name(wg::Enum t) {
  switch (t) {
    case wg::k::AdapterDiscrete: return "discrete GPU";
    case wg::k::AdapterIntegrated: return "integrated GPU";
    case wg::k::AdapterCPU: return "CPU";
    default: return "unknown";
  }
}

struct DeviceResult {
  wg::Device device = nullptr;
  std::string message;
  bool done = false;
};
struct AdapterResult {
  wg::Adapter adapter = nullptr;
  std::string message;
  bool done = false;
};

}  // namespace

std::string feature_name(uint32_t f) {
  switch (f) {
    case wg::k::FeatureTimestampQuery: return "TimestampQuery";
    case wg::k::FeatureShaderF16: return "ShaderF16";
    case wg::k::FeatureSubgroups: return "Subgroups";
    default: return fmt::format("0x{:x}", f);
  }
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    if (raw_ && P) { P->BufferDestroy(raw_); P->BufferRelease(raw_); }
    raw_ = o.raw_;
    size_ = o.size_;
    o.raw_ = nullptr;
  }
  return *this;
}
Buffer::~Buffer() {
  if (raw_ && P) { P->BufferDestroy(raw_); P->BufferRelease(raw_); }
}

BindGroup& BindGroup::operator=(BindGroup&& o) noexcept {
  if (this != &o) {
    if (raw_ && P) P->BindGroupRelease(raw_);
    raw_ = o.raw_;
    o.raw_ = nullptr;
  }
  return *this;
}
BindGroup::~BindGroup() {
  if (raw_ && P) P->BindGroupRelease(raw_);
}

Result<Runtime*> Runtime::get() {
  static std::once_flag once;
  static Runtime* rt = nullptr;
  static Error err;
  std::call_once(once, [] {
    auto* r = new Runtime();  // lives for the process (Dawn objects are not torn down at exit)
    if (auto s = r->init(); !s) { err = s.error(); delete r; return; }
    rt = r;
  });
  if (!rt) return std::unexpected(err);
  return rt;
}

Status Runtime::check_alive() const {
  if (lost_) return failf(Errc::GpuError, "GPU device lost: {}", lost_message_);
  return {};
}

Status Runtime::wait(wg::Future f, const char* what) {
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (timed_wait_) {
      wg::FutureWaitInfo w{f, 0};
      wg::Enum st = P->InstanceWaitAny(instance_, 1, &w, kWaitSliceNs);
      if (st == wg::k::WaitSuccess && w.completed) return {};
      if (st != wg::k::WaitSuccess && st != wg::k::WaitTimedOut) timed_wait_ = false;
    }
    if (!timed_wait_) {  // no timed waits in this build: poll
      wg::FutureWaitInfo w{f, 0};
      if (P->InstanceWaitAny(instance_, 1, &w, 0) == wg::k::WaitSuccess && w.completed) return {};
      P->InstanceProcessEvents(instance_);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (lost_) return check_alive();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > kWaitLimitS) return failf(Errc::GpuError, "{}: no completion after {:.0f} s", what, s);
  }
}

void Runtime::push_scopes() {
  P->DevicePushErrorScope(device_, wg::k::FilterValidation);
  P->DevicePushErrorScope(device_, wg::k::FilterOutOfMemory);
  P->DevicePushErrorScope(device_, wg::k::FilterInternal);
}

Status Runtime::pop_scopes(const char* what) {
  std::string first;
  for (int i = 0; i < 3; ++i) {
    struct R { wg::Enum type = wg::k::ErrorNoError; std::string msg; } r;
    wg::CallbackInfo<wg::PopErrorScopeCallback> cb;
    cb.mode = wg::k::CallbackWaitAnyOnly;
    cb.callback = [](wg::Enum status, wg::Enum type, wg::StringView msg, void* u, void*) {
      auto* rr = static_cast<R*>(u);
      if (status == wg::k::StatusSuccess) { rr->type = type; rr->msg = sv(msg); }
    };
    cb.userdata1 = &r;
    if (auto s = wait(P->DevicePopErrorScope(device_, cb), what); !s) return s;
    if (r.type != wg::k::ErrorNoError && first.empty())
      first = fmt::format("{}: Dawn {}: {}", what, error_type_name(r.type), one_line(r.msg));
  }
  if (auto s = check_alive(); !s) return s;
  if (!first.empty()) {
    while (!first.empty() && (first.back() == '\n' || first.back() == ' ')) first.pop_back();
    return fail(Errc::GpuError, first);
  }
  return {};
}

Status Runtime::init() {
  auto dawn = load_dawn();
  if (!dawn) return std::unexpected(dawn.error());
  P = &(*dawn)->p;
  info_.library = (*dawn)->path;

  wg::InstanceDescriptor idesc;
  idesc.features.timedWaitAnyEnable = 1;
  idesc.features.timedWaitAnyMaxCount = 1;
  instance_ = P->CreateInstance(&idesc);
  if (!instance_) {
    timed_wait_ = false;
    instance_ = P->CreateInstance(nullptr);
  }
  if (!instance_) return fail(Errc::GpuUnavailable, "Dawn: wgpuCreateInstance failed");

  // Adapter: high performance, any backend (Vulkan on Linux).
  AdapterResult ar;
  wg::RequestAdapterOptions opts;
  wg::CallbackInfo<wg::RequestAdapterCallback> acb;
  acb.mode = wg::k::CallbackWaitAnyOnly;
  acb.callback = [](wg::Enum status, wg::Adapter a, wg::StringView msg, void* u, void*) {
    auto* r = static_cast<AdapterResult*>(u);
    r->done = true;
    if (status == wg::k::StatusSuccess) r->adapter = a;
    else r->message = sv(msg);
  };
  acb.userdata1 = &ar;
  if (auto s = wait(P->InstanceRequestAdapter(instance_, &opts, acb), "request adapter"); !s)
    return s;
  if (!ar.adapter)
    return failf(Errc::GpuUnavailable,
                 "no WebGPU adapter: {} (needs a Vulkan driver: Mesa >= 25 lavapipe or a GPU's ICD, "
                 "and libvulkan1)", ar.message.empty() ? "none found" : ar.message);
  adapter_ = ar.adapter;

  wg::Padded<wg::AdapterInfo> ai;
  if (P->AdapterGetInfo(adapter_, &ai.v) == wg::k::StatusSuccess) {
    info_.vendor = sv(ai.v.vendor);
    info_.architecture = sv(ai.v.architecture);
    info_.device = sv(ai.v.device);
    info_.description = sv(ai.v.description);
    info_.backend = backend_name(ai.v.backendType);
    info_.adapter_type = adapter_type_name(ai.v.adapterType);
    info_.vendor_id = ai.v.vendorID;
    info_.device_id = ai.v.deviceID;
    info_.subgroup_min = ai.v.subgroupMinSize;
    info_.subgroup_max = ai.v.subgroupMaxSize;
    P->AdapterInfoFreeMembers(ai.v);
  }
  wg::SupportedFeatures sf;
  P->AdapterGetFeatures(adapter_, &sf);
  for (size_t i = 0; i < sf.featureCount; ++i) info_.features.push_back(sf.features[i]);
  P->SupportedFeaturesFreeMembers(sf);

  auto has = [&](wg::Enum f) { return P->AdapterHasFeature(adapter_, f) != 0; };
  std::vector<wg::Enum> want;
  for (wg::Enum f : {wg::k::FeatureTimestampQuery, wg::k::FeatureShaderF16, wg::k::FeatureSubgroups})
    if (has(f)) want.push_back(f);

  wg::Padded<wg::Limits> lim;  // request everything the adapter offers
  if (P->AdapterGetLimits(adapter_, &lim.v) != wg::k::StatusSuccess)
    return fail(Errc::GpuError, "Dawn: wgpuAdapterGetLimits failed");
  lim.v.nextInChain = nullptr;

  // Device toggles: exact timestamps; extra ones from $PXOS_DAWN_TOGGLES (comma list), e.g.
  // disable_robustness for a bounds-check-free comparison run.
  static std::vector<std::string> extra;
  static std::vector<const char*> enabled, disabled = {"timestamp_quantization"};
  if (const char* e = std::getenv("PXOS_DAWN_TOGGLES"); e && *e) {
    std::string s(e);
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t c = s.find(',', pos);
      if (c == std::string::npos) c = s.size();
      if (c > pos) extra.push_back(s.substr(pos, c - pos));
      pos = c + 1;
    }
    extra.push_back("allow_unsafe_apis");
    for (auto& t : extra) enabled.push_back(t.c_str());
  }
  wg::DawnTogglesDescriptor toggles;
  toggles.enabledToggleCount = enabled.size();
  toggles.enabledToggles = enabled.data();
  toggles.disabledToggleCount = disabled.size();
  toggles.disabledToggles = disabled.data();

  wg::DeviceDescriptor dd;
  dd.nextInChain = &toggles.chain;
  dd.label = sv(std::string_view("pxos"));
  dd.requiredFeatureCount = want.size();
  dd.requiredFeatures = want.data();
  dd.requiredLimits = &lim;
  dd.deviceLostCallbackInfo.mode = wg::k::CallbackAllowSpontaneous;
  dd.deviceLostCallbackInfo.callback = [](const wg::Device*, wg::Enum reason, wg::StringView msg,
                                          void* u, void*) {
    auto* rt = static_cast<Runtime*>(u);
    if (reason == wg::k::LostInstanceDropped) return;  // process exit
    rt->lost_ = true;
    rt->lost_message_ = sv(msg);
  };
  dd.deviceLostCallbackInfo.userdata1 = this;
  dd.uncapturedErrorCallbackInfo.callback = [](const wg::Device*, wg::Enum type, wg::StringView msg,
                                               void* u, void*) {
    auto* rt = static_cast<Runtime*>(u);
    if (rt->uncaptured_.empty())
      rt->uncaptured_ = fmt::format("Dawn {}: {}", error_type_name(type), one_line(sv(msg)));
  };
  dd.uncapturedErrorCallbackInfo.userdata1 = this;

  DeviceResult dr;
  wg::CallbackInfo<wg::RequestDeviceCallback> dcb;
  dcb.mode = wg::k::CallbackWaitAnyOnly;
  dcb.callback = [](wg::Enum status, wg::Device d, wg::StringView msg, void* u, void*) {
    auto* r = static_cast<DeviceResult*>(u);
    r->done = true;
    if (status == wg::k::StatusSuccess) r->device = d;
    else r->message = sv(msg);
  };
  dcb.userdata1 = &dr;
  if (auto s = wait(P->AdapterRequestDevice(adapter_, &dd, dcb), "request device"); !s) return s;
  if (!dr.device) return failf(Errc::GpuUnavailable, "Dawn: no device: {}", dr.message);
  device_ = dr.device;
  queue_ = P->DeviceGetQueue(device_);

  wg::Padded<wg::Limits> dl;
  if (P->DeviceGetLimits(device_, &dl.v) == wg::k::StatusSuccess) info_.limits = dl.v;
  info_.limits.nextInChain = nullptr;
  info_.timestamps = P->DeviceHasFeature(device_, wg::k::FeatureTimestampQuery) != 0;
  info_.f16 = P->DeviceHasFeature(device_, wg::k::FeatureShaderF16) != 0;
  info_.subgroups = P->DeviceHasFeature(device_, wg::k::FeatureSubgroups) != 0;
  info_.f16_note = info_.f16
      ? "ShaderF16 available: f16 kernels use f16 storage with f32 accumulation"
      : "ShaderF16 not exposed by this adapter, so `enable f16` is rejected and the f16 kernels "
        "cannot run; Dawn's Vulkan backend offers it only when the driver has shaderFloat16, "
        "16-bit storage-buffer access and storageInputOutput16 (on NVIDIA the last is absent), "
        "and this Dawn build has no subgroup-matrix (tensor core) path either: fp32 kernels only";
  return {};
}

Result<std::vector<CompileMessage>> Runtime::compile(std::string_view source) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  wg::ShaderSourceWGSL src;
  src.code = sv(source);
  wg::ShaderModuleDescriptor md;
  md.nextInChain = &src.chain;
  push_scopes();
  wg::ShaderModule m = P->DeviceCreateShaderModule(device_, &md);
  struct R { std::vector<CompileMessage> msgs; } r;
  wg::CallbackInfo<wg::CompilationInfoCallback> cb;
  cb.mode = wg::k::CallbackWaitAnyOnly;
  cb.callback = [](wg::Enum status, const wg::CompilationInfo* ci, void* u, void*) {
    auto* rr = static_cast<R*>(u);
    if (status != wg::k::StatusSuccess || !ci) return;
    for (size_t i = 0; i < ci->messageCount; ++i) {
      const auto& m = ci->messages[i];
      CompileMessage cm;
      cm.severity = m.type == wg::k::MessageError ? "error"
                    : m.type == wg::k::MessageWarning ? "warning" : "info";
      cm.line = m.lineNum;
      cm.col = m.linePos;
      cm.message = sv(m.message);
      rr->msgs.push_back(std::move(cm));
    }
  };
  cb.userdata1 = &r;
  auto ws = wait(P->ShaderModuleGetCompilationInfo(m, cb), "shader compilation info");
  auto ps = pop_scopes("shader module");  // the error text is already in the messages
  P->ShaderModuleRelease(m);
  if (!ws) return std::unexpected(ws.error());
  if (!ps) {
    bool has_err = std::any_of(r.msgs.begin(), r.msgs.end(),
                               [](auto& m) { return m.severity == "error"; });
    if (!has_err) r.msgs.push_back({"error", 0, 0, ps.error().detail});
  }
  return r.msgs;
}

Result<Pipeline*> Runtime::pipeline(std::string_view source, std::string_view entry,
                                    std::span<const Constant> constants, std::string_view label,
                                    const KernelSource* origin) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  std::string key;
  key.append(entry).push_back('\0');
  for (auto& c : constants) key += fmt::format("{}={:.17g};", c.name, c.value);
  key.push_back('\0');
  key.append(source);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second.get();

  auto msgs = compile(source);
  if (!msgs) return std::unexpected(msgs.error());
  for (auto& m : *msgs)
    if (m.severity == "error")
      return failf(Errc::GpuError, "{}:{}: {}",
                   origin ? origin->where(m.line) : fmt::format("{}:{}", label, m.line), m.col, m.message);

  wg::ShaderSourceWGSL src;
  src.code = sv(source);
  wg::ShaderModuleDescriptor md;
  md.nextInChain = &src.chain;
  std::vector<wg::ConstantEntry> ce(constants.size());
  for (size_t i = 0; i < constants.size(); ++i) {
    ce[i].key = sv(std::string_view(constants[i].name));
    ce[i].value = constants[i].value;
  }
  push_scopes();
  auto p = std::make_unique<Pipeline>();
  p->module = P->DeviceCreateShaderModule(device_, &md);
  wg::ComputePipelineDescriptor pd;
  pd.compute.module = p->module;
  pd.compute.entryPoint = sv(entry);
  pd.compute.constantCount = ce.size();
  pd.compute.constants = ce.data();
  p->pipeline = P->DeviceCreateComputePipeline(device_, &pd);
  p->layout = P->ComputePipelineGetBindGroupLayout(p->pipeline, 0);
  if (auto s = pop_scopes("pipeline"); !s) {
    P->BindGroupLayoutRelease(p->layout);
    P->ComputePipelineRelease(p->pipeline);
    P->ShaderModuleRelease(p->module);
    return failf(Errc::GpuError, "{}: entry '{}': {}", label, entry, s.error().detail);
  }
  auto* raw = p.get();
  cache_.emplace(std::move(key), std::move(p));
  return raw;
}

Result<Buffer> Runtime::create_buffer(uint64_t size) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  size = std::max<uint64_t>(4, (size + 3) / 4 * 4);
  if (size > info_.limits.maxBufferSize)
    return failf(Errc::TooLarge, "GPU buffer of {} bytes exceeds maxBufferSize {}", size,
                 info_.limits.maxBufferSize);
  wg::BufferDescriptor bd;
  bd.usage = wg::k::UsageStorage | wg::k::UsageCopySrc | wg::k::UsageCopyDst;
  bd.size = size;
  push_scopes();
  wg::Buffer b = P->DeviceCreateBuffer(device_, &bd);
  Buffer out(b, size);
  if (auto s = pop_scopes("create buffer"); !s) return std::unexpected(s.error());
  return out;
}

Status Runtime::write(const Buffer& b, ByteView data, uint64_t offset) {
  if (data.empty()) return {};
  if (offset + data.size() > b.size()) return fail(Errc::Internal, "buffer write out of range");
  if (data.size() % 4 == 0) {
    P->QueueWriteBuffer(queue_, b.raw(), offset, data.data(), data.size());
  } else {
    Bytes padded(data.begin(), data.end());
    padded.resize((data.size() + 3) / 4 * 4, 0);
    if (offset + padded.size() > b.size()) return fail(Errc::Internal, "buffer write out of range");
    P->QueueWriteBuffer(queue_, b.raw(), offset, padded.data(), padded.size());
  }
  return {};
}

Result<Buffer> Runtime::upload(ByteView data) {
  auto b = create_buffer(data.size());
  if (!b) return b;
  if (auto s = write(*b, data); !s) return std::unexpected(s.error());
  return b;
}

Result<Bytes> Runtime::download(const Buffer& b, uint64_t size) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  size = std::min(size, b.size());
  uint64_t padded = std::max<uint64_t>(4, (size + 3) / 4 * 4);
  wg::BufferDescriptor bd;
  bd.usage = wg::k::UsageMapRead | wg::k::UsageCopyDst;
  bd.size = padded;
  push_scopes();
  wg::Buffer rb = P->DeviceCreateBuffer(device_, &bd);
  Buffer staging(rb, padded);
  wg::CommandEncoderDescriptor ed;
  auto enc = P->DeviceCreateCommandEncoder(device_, &ed);
  P->CommandEncoderCopyBufferToBuffer(enc, b.raw(), 0, rb, 0, padded);
  wg::CommandBufferDescriptor cbd;
  auto cmd = P->CommandEncoderFinish(enc, &cbd);
  P->QueueSubmit(queue_, 1, &cmd);
  P->CommandBufferRelease(cmd);
  P->CommandEncoderRelease(enc);
  struct R { wg::Enum status = 0; std::string msg; } r;
  wg::CallbackInfo<wg::BufferMapCallback> cb;
  cb.mode = wg::k::CallbackWaitAnyOnly;
  cb.callback = [](wg::Enum status, wg::StringView msg, void* u, void*) {
    auto* rr = static_cast<R*>(u);
    rr->status = status;
    rr->msg = sv(msg);
  };
  cb.userdata1 = &r;
  auto ws = wait(P->BufferMapAsync(rb, wg::k::MapRead, 0, padded, cb), "readback");
  auto ps = pop_scopes("readback");
  if (!ws) return std::unexpected(ws.error());
  if (!ps) return std::unexpected(ps.error());
  if (r.status != wg::k::StatusSuccess) return failf(Errc::GpuError, "readback map failed: {}", r.msg);
  const void* p = P->BufferGetConstMappedRange(rb, 0, padded);
  if (!p) return fail(Errc::GpuError, "readback: no mapped range");
  Bytes out(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + size);
  P->BufferUnmap(rb);
  if (!uncaptured_.empty()) {
    auto e = std::exchange(uncaptured_, {});
    return fail(Errc::GpuError, e);
  }
  return out;
}

Status Runtime::wait_idle() {
  struct R { wg::Enum status = 0; std::string msg; } r;
  wg::CallbackInfo<wg::QueueWorkDoneCallback> cb;
  cb.mode = wg::k::CallbackWaitAnyOnly;
  cb.callback = [](wg::Enum status, wg::StringView msg, void* u, void*) {
    static_cast<R*>(u)->status = status;
    static_cast<R*>(u)->msg = sv(msg);
  };
  cb.userdata1 = &r;
  if (auto s = wait(P->QueueOnSubmittedWorkDone(queue_, cb), "queue idle"); !s) return s;
  if (auto s = check_alive(); !s) return s;
  if (r.status != wg::k::StatusSuccess) return failf(Errc::GpuError, "queue work failed (status {}): {}", r.status, r.msg);
  return {};
}

Result<DispatchTiming> Runtime::dispatch(const Pipeline& p, std::span<const Buffer* const> bindings,
                                         std::array<uint32_t, 3> groups, int repeats, bool timed) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  uint32_t maxg = info_.limits.maxComputeWorkgroupsPerDimension;
  for (uint32_t g : groups)
    if (g > maxg)
      return failf(Errc::GpuError, "dispatch of {} workgroups in one dimension exceeds the limit {}",
                   g, maxg);
  repeats = std::max(1, repeats);
  std::vector<wg::BindGroupEntry> entries(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) {
    entries[i].binding = static_cast<uint32_t>(i);
    entries[i].buffer = bindings[i]->raw();
    entries[i].size = bindings[i]->size();
  }
  push_scopes();
  wg::BindGroupDescriptor bgd;
  bgd.layout = p.layout;
  bgd.entryCount = entries.size();
  bgd.entries = entries.data();
  wg::BindGroup bg = P->DeviceCreateBindGroup(device_, &bgd);

  bool ts = timed && info_.timestamps;
  DispatchTiming out;
  out.gpu_timestamps = ts;
  auto t0 = std::chrono::steady_clock::now();
  for (int done = 0; done < repeats;) {
    int n = ts ? std::min(kMaxTimedPasses, repeats - done) : repeats;
    wg::QuerySet qs = nullptr;
    Buffer resolve, readable;
    if (ts) {
      wg::QuerySetDescriptor qd;
      qd.count = 2 * n;
      qs = P->DeviceCreateQuerySet(device_, &qd);
      wg::BufferDescriptor bd;
      bd.usage = wg::k::UsageQueryResolve | wg::k::UsageCopySrc;
      bd.size = 16ull * n;
      resolve = Buffer(P->DeviceCreateBuffer(device_, &bd), bd.size);
      auto rb = create_buffer(bd.size);
      if (!rb) { P->BindGroupRelease(bg); return std::unexpected(rb.error()); }
      readable = std::move(*rb);
    }
    wg::CommandEncoderDescriptor ed;
    auto enc = P->DeviceCreateCommandEncoder(device_, &ed);
    for (int i = 0; i < n; ++i) {
      wg::ComputePassDescriptor cpd;
      wg::ComputePassTimestampWrites tw{nullptr, qs, uint32_t(2 * i), uint32_t(2 * i + 1)};
      if (ts) cpd.timestampWrites = &tw;
      auto pass = P->CommandEncoderBeginComputePass(enc, &cpd);
      P->ComputePassEncoderSetPipeline(pass, p.pipeline);
      P->ComputePassEncoderSetBindGroup(pass, 0, bg, 0, nullptr);
      P->ComputePassEncoderDispatchWorkgroups(pass, groups[0], groups[1], groups[2]);
      P->ComputePassEncoderEnd(pass);
      P->ComputePassEncoderRelease(pass);
    }
    if (ts) {
      P->CommandEncoderResolveQuerySet(enc, qs, 0, 2 * n, resolve.raw(), 0);
      P->CommandEncoderCopyBufferToBuffer(enc, resolve.raw(), 0, readable.raw(), 0, 16ull * n);
    }
    wg::CommandBufferDescriptor cbd;
    auto cmd = P->CommandEncoderFinish(enc, &cbd);
    P->QueueSubmit(queue_, 1, &cmd);
    P->CommandBufferRelease(cmd);
    P->CommandEncoderRelease(enc);
    if (ts) {
      auto bytes = download(readable, 16ull * n);
      P->QuerySetDestroy(qs);
      P->QuerySetRelease(qs);
      if (!bytes) { P->BindGroupRelease(bg); pop_scopes("dispatch"); return std::unexpected(bytes.error()); }
      for (int i = 0; i < n; ++i) {
        uint64_t a, b;
        std::memcpy(&a, bytes->data() + 16 * i, 8);
        std::memcpy(&b, bytes->data() + 16 * i + 8, 8);
        out.ms.push_back(b > a ? double(b - a) * 1e-6 : 0.0);
      }
    }
    done += n;
  }
  auto ws = wait_idle();
  P->BindGroupRelease(bg);
  auto ps = pop_scopes("dispatch");
  if (!ws) return std::unexpected(ws.error());
  if (!ps) return std::unexpected(ps.error());
  if (!uncaptured_.empty()) {
    auto e = std::exchange(uncaptured_, {});
    return fail(Errc::GpuError, e);
  }
  if (!ts) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    out.ms.push_back(ms / repeats);
  }
  return out;
}

Result<BindGroup> Runtime::bind(const Pipeline& p, std::span<const BufferRange> bindings) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  std::vector<wg::BindGroupEntry> entries(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) {
    const BufferRange& b = bindings[i];
    if (!b.buffer || b.offset >= b.buffer->size() || b.offset + b.size > b.buffer->size())
      return failf(Errc::Internal, "bind group: binding {} is outside its buffer", i);
    entries[i].binding = static_cast<uint32_t>(i);
    entries[i].buffer = b.buffer->raw();
    entries[i].offset = b.offset;
    entries[i].size = b.size ? b.size : b.buffer->size() - b.offset;
  }
  push_scopes();
  wg::BindGroupDescriptor bgd;
  bgd.layout = p.layout;
  bgd.entryCount = entries.size();
  bgd.entries = entries.data();
  BindGroup bg(P->DeviceCreateBindGroup(device_, &bgd));
  if (auto s = pop_scopes("bind group"); !s) return std::unexpected(s.error());
  return bg;
}

Result<Buffer> Runtime::create_readback(uint64_t size) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  size = std::max<uint64_t>(8, (size + 7) / 8 * 8);
  wg::BufferDescriptor bd;
  bd.usage = wg::k::UsageMapRead | wg::k::UsageCopyDst;
  bd.size = size;
  push_scopes();
  Buffer out(P->DeviceCreateBuffer(device_, &bd), size);
  if (auto s = pop_scopes("create readback buffer"); !s) return std::unexpected(s.error());
  return out;
}

Result<double> Runtime::submit(std::span<const Step> steps, const Buffer* read, std::span<uint8_t> dst,
                               const Buffer* staging, bool timed) {
  if (auto s = check_alive(); !s) return std::unexpected(s.error());
  const uint64_t nbytes = (dst.size() + 7) / 8 * 8;  // timestamps follow, 8-aligned
  const bool ts = timed && info_.timestamps && staging;
  if (read && (!staging || staging->size() < nbytes + (ts ? 16 : 0) || dst.size() > read->size()))
    return fail(Errc::Internal, "submit: readback buffers too small");
  uint32_t maxg = info_.limits.maxComputeWorkgroupsPerDimension;
  for (auto& st : steps)
    for (uint32_t g : st.groups)
      if (g > maxg)
        return failf(Errc::GpuError, "dispatch of {} workgroups in one dimension exceeds the limit {}", g, maxg);
  push_scopes();
  if (ts && !submit_queries_) {
    wg::QuerySetDescriptor qd;
    qd.count = 2;
    submit_queries_ = P->DeviceCreateQuerySet(device_, &qd);
    wg::BufferDescriptor bd;
    bd.usage = wg::k::UsageQueryResolve | wg::k::UsageCopySrc;
    bd.size = 16;
    submit_resolve_ = Buffer(P->DeviceCreateBuffer(device_, &bd), 16);
  }
  wg::CommandEncoderDescriptor ed;
  auto enc = P->DeviceCreateCommandEncoder(device_, &ed);
  wg::ComputePassDescriptor cpd;
  wg::ComputePassTimestampWrites tw{nullptr, submit_queries_, 0, 1};
  if (ts) cpd.timestampWrites = &tw;
  auto pass = P->CommandEncoderBeginComputePass(enc, &cpd);
  for (auto& st : steps) {
    P->ComputePassEncoderSetPipeline(pass, st.pipeline->pipeline);
    P->ComputePassEncoderSetBindGroup(pass, 0, st.group, 0, nullptr);
    P->ComputePassEncoderDispatchWorkgroups(pass, st.groups[0], st.groups[1], st.groups[2]);
  }
  P->ComputePassEncoderEnd(pass);
  P->ComputePassEncoderRelease(pass);
  if (read && nbytes) P->CommandEncoderCopyBufferToBuffer(enc, read->raw(), 0, staging->raw(), 0, std::min(nbytes, read->size()));
  if (ts) {
    P->CommandEncoderResolveQuerySet(enc, submit_queries_, 0, 2, submit_resolve_.raw(), 0);
    P->CommandEncoderCopyBufferToBuffer(enc, submit_resolve_.raw(), 0, staging->raw(), nbytes, 16);
  }
  wg::CommandBufferDescriptor cbd;
  auto cmd = P->CommandEncoderFinish(enc, &cbd);
  P->QueueSubmit(queue_, 1, &cmd);
  P->CommandBufferRelease(cmd);
  P->CommandEncoderRelease(enc);
  double ms = -1;
  if (read || ts) {
    const uint64_t map_bytes = nbytes + (ts ? 16 : 0);
    struct R { wg::Enum status = 0; std::string msg; } r;
    wg::CallbackInfo<wg::BufferMapCallback> cb;
    cb.mode = wg::k::CallbackWaitAnyOnly;
    cb.callback = [](wg::Enum status, wg::StringView msg, void* u, void*) {
      auto* rr = static_cast<R*>(u);
      rr->status = status;
      rr->msg = sv(msg);
    };
    cb.userdata1 = &r;
    auto ws = wait(P->BufferMapAsync(staging->raw(), wg::k::MapRead, 0, map_bytes, cb), "readback");
    auto ps = pop_scopes("submit");
    if (!ws) return std::unexpected(ws.error());
    if (!ps) return std::unexpected(ps.error());
    if (r.status != wg::k::StatusSuccess) return failf(Errc::GpuError, "readback map failed: {}", r.msg);
    const auto* m = static_cast<const uint8_t*>(P->BufferGetConstMappedRange(staging->raw(), 0, map_bytes));
    if (!m) return fail(Errc::GpuError, "readback: no mapped range");
    if (!dst.empty()) std::memcpy(dst.data(), m, dst.size());
    if (ts) {
      uint64_t a, b;
      std::memcpy(&a, m + nbytes, 8);
      std::memcpy(&b, m + nbytes + 8, 8);
      ms = b > a ? double(b - a) * 1e-6 : 0.0;
    }
    P->BufferUnmap(staging->raw());
  } else {
    auto ws = wait_idle();
    auto ps = pop_scopes("submit");
    if (!ws) return std::unexpected(ws.error());
    if (!ps) return std::unexpected(ps.error());
  }
  if (!uncaptured_.empty()) {
    auto e = std::exchange(uncaptured_, {});
    return fail(Errc::GpuError, e);
  }
  return ms;
}

Result<std::vector<Bytes>> run_source(std::string_view source, std::string_view label,
                                      std::string_view entry, std::vector<Bytes> buffers,
                                      std::array<uint32_t, 3> workgroups,
                                      std::span<const Constant> constants, const KernelSource* origin) {
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  auto pl = (*rt)->pipeline(source, entry, constants, label, origin);
  if (!pl) return std::unexpected(pl.error());
  std::vector<Buffer> bufs;
  std::vector<const Buffer*> ptrs;
  bufs.reserve(buffers.size());
  for (auto& b : buffers) {
    auto gb = (*rt)->upload(b);
    if (!gb) return std::unexpected(gb.error());
    bufs.push_back(std::move(*gb));
  }
  for (auto& b : bufs) ptrs.push_back(&b);
  if (auto d = (*rt)->dispatch(**pl, ptrs, workgroups); !d) return std::unexpected(d.error());
  std::vector<Bytes> out;
  for (size_t i = 0; i < bufs.size(); ++i) {
    auto r = (*rt)->download(bufs[i], buffers[i].size());
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<Bytes>> run_kernel(std::string_view kernel_name, std::string_view entry,
                                      std::vector<Bytes> buffers, std::array<uint32_t, 3> workgroups) {
  auto src = embedded_kernel(kernel_name);
  if (!src) return failf(Errc::NotFound, "no embedded kernel 'kernels/{}.wgsl'", kernel_name);
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  auto consts = kernel_constants(kernel_name, (*rt)->info());
  return run_source(*src, fmt::format("kernels/{}.wgsl", kernel_name), entry, std::move(buffers),
                    workgroups, consts);
}

}  // namespace pxos::gpu
