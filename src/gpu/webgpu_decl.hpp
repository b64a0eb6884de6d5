// webgpu_decl.hpp: our own declarations of the part of the webgpu.h C API that pxos uses, written
// from the public API description for the Dawn build in bun-webgpu-linux-x64 0.1.7 (loaded with
// dlopen, so nothing here links against it). Every numeric constant lives in ONE block below.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pxos::gpu::wg {

// ---- handles (opaque) ----------------------------------------------------------------------
using Instance = struct InstanceImpl*;
using Adapter = struct AdapterImpl*;
using Device = struct DeviceImpl*;
using Queue = struct QueueImpl*;
using Buffer = struct BufferImpl*;
using ShaderModule = struct ShaderModuleImpl*;
using ComputePipeline = struct ComputePipelineImpl*;
using BindGroupLayout = struct BindGroupLayoutImpl*;
using BindGroup = struct BindGroupImpl*;
using PipelineLayout = struct PipelineLayoutImpl*;
using CommandEncoder = struct CommandEncoderImpl*;
using CommandBuffer = struct CommandBufferImpl*;
using ComputePassEncoder = struct ComputePassEncoderImpl*;
using QuerySet = struct QuerySetImpl*;
using Surface = struct SurfaceImpl*;

using Bool = uint32_t;
using Flags = uint64_t;
using Enum = uint32_t;  // every C enum of the API is 32 bits wide

// ---- THE constants (one place). Values are this Dawn build's, which predates the newest
// webgpu.h: the rows marked "differs" were measured against the binary and are checked by
// behaviour in tests/gpu/test_gpu_runtime.cpp (request the feature, compile a shader needing it).
namespace k {
// WGPUSType
inline constexpr Enum STypeShaderSourceWGSL = 0x2;
inline constexpr Enum STypeDawnTogglesDescriptor = 0x0005000A;  // differs: Dawn extension range
// WGPUFeatureName
inline constexpr Enum FeatureTimestampQuery = 0x3;
inline constexpr Enum FeatureShaderF16 = 0xA;   // differs: 0xB in the newest header
inline constexpr Enum FeatureSubgroups = 0x11;  // differs: 0x12 in the newest header
// WGPUCallbackMode
inline constexpr Enum CallbackWaitAnyOnly = 0x1;
inline constexpr Enum CallbackAllowProcessEvents = 0x2;
inline constexpr Enum CallbackAllowSpontaneous = 0x3;
// status enums: Success is 1 in all of them
inline constexpr Enum StatusSuccess = 0x1;        // WGPUStatus, Request*Status, MapAsyncStatus ...
inline constexpr Enum WaitSuccess = 0x1;          // WGPUWaitStatus
inline constexpr Enum WaitTimedOut = 0x2;
// WGPUFeatureLevel, WGPUPowerPreference
inline constexpr Enum FeatureLevelCore = 0x2;
inline constexpr Enum PowerHighPerformance = 0x2;
// WGPUBackendType (names for `pxos gpu info`)
inline constexpr Enum BackendVulkan = 0x6;
// WGPUAdapterType
inline constexpr Enum AdapterDiscrete = 0x1, AdapterIntegrated = 0x2, AdapterCPU = 0x3;
// WGPUErrorType
inline constexpr Enum ErrorNoError = 0x1, ErrorValidation = 0x2, ErrorOutOfMemory = 0x3,
                      ErrorInternal = 0x4;
// WGPUErrorFilter
inline constexpr Enum FilterValidation = 0x1, FilterOutOfMemory = 0x2, FilterInternal = 0x3;
// WGPUCompilationMessageType
inline constexpr Enum MessageError = 0x1, MessageWarning = 0x2, MessageInfo = 0x3;
// WGPUDeviceLostReason
inline constexpr Enum LostDestroyed = 0x2, LostInstanceDropped = 0x3;
// WGPUQueryType
inline constexpr Enum QueryTimestamp = 0x2;
// WGPUBufferUsage (64-bit flags)
inline constexpr Flags UsageMapRead = 0x1, UsageMapWrite = 0x2, UsageCopySrc = 0x4,
                       UsageCopyDst = 0x8, UsageStorage = 0x80, UsageQueryResolve = 0x200;
// WGPUMapMode
inline constexpr Flags MapRead = 0x1;
// sentinels
inline constexpr size_t Strlen = SIZE_MAX;
inline constexpr uint64_t WholeSize = UINT64_MAX;
inline constexpr uint64_t WholeMapSize = SIZE_MAX;
}  // namespace k

// ---- plain structs -------------------------------------------------------------------------
struct StringView {
  const char* data = nullptr;
  size_t length = k::Strlen;
};
struct ChainedStruct {
  const ChainedStruct* next = nullptr;
  Enum sType = 0;
};
struct Future {
  uint64_t id = 0;
};
struct FutureWaitInfo {
  Future future;
  Bool completed = 0;
};

// Callbacks: (status-ish, payload..., userdata1, userdata2)
using RequestAdapterCallback = void (*)(Enum status, Adapter, StringView msg, void*, void*);
using RequestDeviceCallback = void (*)(Enum status, Device, StringView msg, void*, void*);
using DeviceLostCallback = void (*)(const Device*, Enum reason, StringView msg, void*, void*);
using UncapturedErrorCallback = void (*)(const Device*, Enum type, StringView msg, void*, void*);
using BufferMapCallback = void (*)(Enum status, StringView msg, void*, void*);
using QueueWorkDoneCallback = void (*)(Enum status, StringView msg, void*, void*);  // msg: this build
using PopErrorScopeCallback = void (*)(Enum status, Enum type, StringView msg, void*, void*);
struct CompilationInfo;
using CompilationInfoCallback = void (*)(Enum status, const CompilationInfo*, void*, void*);

template <class Fn>
struct CallbackInfo {  // RequestAdapter/RequestDevice/DeviceLost/BufferMap/... CallbackInfo
  const ChainedStruct* nextInChain = nullptr;
  Enum mode = k::CallbackAllowProcessEvents;
  Fn callback = nullptr;
  void* userdata1 = nullptr;
  void* userdata2 = nullptr;
};
struct UncapturedErrorCallbackInfo {  // the one callback info without a mode
  const ChainedStruct* nextInChain = nullptr;
  UncapturedErrorCallback callback = nullptr;
  void* userdata1 = nullptr;
  void* userdata2 = nullptr;
};

struct DawnTogglesDescriptor {
  ChainedStruct chain{nullptr, k::STypeDawnTogglesDescriptor};
  size_t enabledToggleCount = 0;
  const char* const* enabledToggles = nullptr;
  size_t disabledToggleCount = 0;
  const char* const* disabledToggles = nullptr;
};

struct InstanceCapabilities {
  void* nextInChain = nullptr;
  Bool timedWaitAnyEnable = 0;
  size_t timedWaitAnyMaxCount = 0;
};
struct InstanceDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  InstanceCapabilities features;
};

struct RequestAdapterOptions {
  const ChainedStruct* nextInChain = nullptr;
  Enum featureLevel = k::FeatureLevelCore;
  Enum powerPreference = k::PowerHighPerformance;
  Bool forceFallbackAdapter = 0;
  Enum backendType = 0;  // undefined: any
  Surface compatibleSurface = nullptr;
};

// Out-structs that Dawn fills may have grown members at the end in this build: they are always
// declared with spare room behind them (see Padded below) so that a larger write stays in bounds.
struct AdapterInfo {
  void* nextInChain = nullptr;
  StringView vendor, architecture, device, description;
  Enum backendType = 0;
  Enum adapterType = 0;
  uint32_t vendorID = 0;
  uint32_t deviceID = 0;
  uint32_t subgroupMinSize = 0;  // present in this Dawn build (plausibility-checked in tests)
  uint32_t subgroupMaxSize = 0;
};

struct Limits {
  void* nextInChain = nullptr;
  uint32_t maxTextureDimension1D, maxTextureDimension2D, maxTextureDimension3D,
      maxTextureArrayLayers, maxBindGroups, maxBindGroupsPlusVertexBuffers, maxBindingsPerBindGroup,
      maxDynamicUniformBuffersPerPipelineLayout, maxDynamicStorageBuffersPerPipelineLayout,
      maxSampledTexturesPerShaderStage, maxSamplersPerShaderStage, maxStorageBuffersPerShaderStage,
      maxStorageTexturesPerShaderStage, maxUniformBuffersPerShaderStage;
  uint64_t maxUniformBufferBindingSize;
  uint64_t maxStorageBufferBindingSize;
  uint32_t minUniformBufferOffsetAlignment, minStorageBufferOffsetAlignment, maxVertexBuffers;
  uint64_t maxBufferSize;
  uint32_t maxVertexAttributes, maxVertexBufferArrayStride, maxInterStageShaderVariables,
      maxColorAttachments, maxColorAttachmentBytesPerSample, maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX, maxComputeWorkgroupSizeY,
      maxComputeWorkgroupSizeZ, maxComputeWorkgroupsPerDimension;
};

template <class T>
struct Padded {  // T followed by spare bytes for members newer than our declaration
  T v{};
  unsigned char spare[512]{};
};

struct SupportedFeatures {
  size_t featureCount = 0;
  const Enum* features = nullptr;
};

struct QueueDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
};

struct DeviceDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  size_t requiredFeatureCount = 0;
  const Enum* requiredFeatures = nullptr;
  const void* requiredLimits = nullptr;  // a Limits (padded: Dawn reads its whole struct)
  QueueDescriptor defaultQueue;
  CallbackInfo<DeviceLostCallback> deviceLostCallbackInfo;
  UncapturedErrorCallbackInfo uncapturedErrorCallbackInfo;
};

struct BufferDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  Flags usage = 0;
  uint64_t size = 0;
  Bool mappedAtCreation = 0;
};

struct ShaderSourceWGSL {
  ChainedStruct chain{nullptr, k::STypeShaderSourceWGSL};
  StringView code;
};
struct ShaderModuleDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
};

struct CompilationMessage {
  const ChainedStruct* nextInChain;
  StringView message;
  Enum type;
  uint64_t lineNum;  // 1-based
  uint64_t linePos;  // 1-based, in UTF-8 bytes
  uint64_t offset;
  uint64_t length;
};
struct CompilationInfo {
  const ChainedStruct* nextInChain;
  size_t messageCount;
  const CompilationMessage* messages;
};

struct ConstantEntry {
  const ChainedStruct* nextInChain = nullptr;
  StringView key;
  double value = 0;
};
struct ProgrammableStageDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  ShaderModule module = nullptr;
  StringView entryPoint;
  size_t constantCount = 0;
  const ConstantEntry* constants = nullptr;
};
struct ComputePipelineDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  PipelineLayout layout = nullptr;  // null: derived from the shader ("auto")
  ProgrammableStageDescriptor compute;
};

struct BindGroupEntry {
  const ChainedStruct* nextInChain = nullptr;
  uint32_t binding = 0;
  Buffer buffer = nullptr;
  uint64_t offset = 0;
  uint64_t size = k::WholeSize;
  void* sampler = nullptr;
  void* textureView = nullptr;
};
struct BindGroupDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  BindGroupLayout layout = nullptr;
  size_t entryCount = 0;
  const BindGroupEntry* entries = nullptr;
};

struct CommandEncoderDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
};
struct CommandBufferDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
};
struct ComputePassTimestampWrites {  // "PassTimestampWrites" in this build: it has a chain
  const ChainedStruct* nextInChain = nullptr;
  QuerySet querySet = nullptr;
  uint32_t beginningOfPassWriteIndex = 0;
  uint32_t endOfPassWriteIndex = 1;
};
struct ComputePassDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  const ComputePassTimestampWrites* timestampWrites = nullptr;
};
struct QuerySetDescriptor {
  const ChainedStruct* nextInChain = nullptr;
  StringView label;
  Enum type = k::QueryTimestamp;
  uint32_t count = 0;
};

// ---- the functions we use: ONE X-macro list (name, return type, parameters). dawn.cpp resolves
// each with dlsym; a missing symbol is a load error naming it.
#define PXOS_WGPU_FUNCTIONS(X)                                                                    \
  X(CreateInstance, Instance, (const InstanceDescriptor*))                                        \
  X(InstanceRequestAdapter, Future, (Instance, const RequestAdapterOptions*,                     \
                                     CallbackInfo<RequestAdapterCallback>))                      \
  X(InstanceProcessEvents, void, (Instance))                                                      \
  X(InstanceWaitAny, Enum, (Instance, size_t, FutureWaitInfo*, uint64_t))                         \
  X(InstanceRelease, void, (Instance))                                                            \
  X(AdapterGetInfo, Enum, (Adapter, AdapterInfo*))                                                \
  X(AdapterInfoFreeMembers, void, (AdapterInfo))                                                  \
  X(AdapterGetLimits, Enum, (Adapter, Limits*))                                                   \
  X(AdapterHasFeature, Bool, (Adapter, Enum))                                                     \
  X(AdapterGetFeatures, void, (Adapter, SupportedFeatures*))                                      \
  X(SupportedFeaturesFreeMembers, void, (SupportedFeatures))                                      \
  X(AdapterRequestDevice, Future, (Adapter, const DeviceDescriptor*,                             \
                                   CallbackInfo<RequestDeviceCallback>))                         \
  X(AdapterRelease, void, (Adapter))                                                              \
  X(DeviceGetQueue, Queue, (Device))                                                              \
  X(DeviceGetLimits, Enum, (Device, Limits*))                                                     \
  X(DeviceHasFeature, Bool, (Device, Enum))                                                       \
  X(DeviceCreateBuffer, Buffer, (Device, const BufferDescriptor*))                                \
  X(DeviceCreateShaderModule, ShaderModule, (Device, const ShaderModuleDescriptor*))              \
  X(DeviceCreateComputePipeline, ComputePipeline, (Device, const ComputePipelineDescriptor*))     \
  X(DeviceCreateBindGroup, BindGroup, (Device, const BindGroupDescriptor*))                       \
  X(DeviceCreateCommandEncoder, CommandEncoder, (Device, const CommandEncoderDescriptor*))        \
  X(DeviceCreateQuerySet, QuerySet, (Device, const QuerySetDescriptor*))                          \
  X(DevicePushErrorScope, void, (Device, Enum))                                                   \
  X(DevicePopErrorScope, Future, (Device, CallbackInfo<PopErrorScopeCallback>))                   \
  X(DeviceDestroy, void, (Device))                                                                \
  X(DeviceRelease, void, (Device))                                                                \
  X(QueueSubmit, void, (Queue, size_t, const CommandBuffer*))                                     \
  X(QueueWriteBuffer, void, (Queue, Buffer, uint64_t, const void*, size_t))                       \
  X(QueueOnSubmittedWorkDone, Future, (Queue, CallbackInfo<QueueWorkDoneCallback>))               \
  X(QueueRelease, void, (Queue))                                                                  \
  X(BufferMapAsync, Future, (Buffer, Flags, size_t, size_t, CallbackInfo<BufferMapCallback>))     \
  X(BufferGetConstMappedRange, const void*, (Buffer, size_t, size_t))                             \
  X(BufferUnmap, void, (Buffer))                                                                  \
  X(BufferGetSize, uint64_t, (Buffer))                                                            \
  X(BufferDestroy, void, (Buffer))                                                                \
  X(BufferRelease, void, (Buffer))                                                                \
  X(ShaderModuleGetCompilationInfo, Future, (ShaderModule, CallbackInfo<CompilationInfoCallback>)) \
  X(ShaderModuleRelease, void, (ShaderModule))                                                    \
  X(ComputePipelineGetBindGroupLayout, BindGroupLayout, (ComputePipeline, uint32_t))              \
  X(ComputePipelineRelease, void, (ComputePipeline))                                              \
  X(BindGroupLayoutRelease, void, (BindGroupLayout))                                              \
  X(BindGroupRelease, void, (BindGroup))                                                          \
  X(CommandEncoderBeginComputePass, ComputePassEncoder, (CommandEncoder, const ComputePassDescriptor*)) \
  X(CommandEncoderCopyBufferToBuffer, void, (CommandEncoder, Buffer, uint64_t, Buffer, uint64_t, uint64_t)) \
  X(CommandEncoderResolveQuerySet, void, (CommandEncoder, QuerySet, uint32_t, uint32_t, Buffer, uint64_t)) \
  X(CommandEncoderFinish, CommandBuffer, (CommandEncoder, const CommandBufferDescriptor*))        \
  X(CommandEncoderRelease, void, (CommandEncoder))                                                \
  X(CommandBufferRelease, void, (CommandBuffer))                                                  \
  X(ComputePassEncoderSetPipeline, void, (ComputePassEncoder, ComputePipeline))                   \
  X(ComputePassEncoderSetBindGroup, void, (ComputePassEncoder, uint32_t, BindGroup, size_t, const uint32_t*)) \
  X(ComputePassEncoderDispatchWorkgroups, void, (ComputePassEncoder, uint32_t, uint32_t, uint32_t)) \
  X(ComputePassEncoderEnd, void, (ComputePassEncoder))                                            \
  X(ComputePassEncoderRelease, void, (ComputePassEncoder))                                        \
  X(QuerySetDestroy, void, (QuerySet))                                                            \
  X(QuerySetRelease, void, (QuerySet))

// The resolved function table.
struct Procs {
#define PXOS_WGPU_FIELD(name, ret, params) ret(*name) params = nullptr;
  PXOS_WGPU_FUNCTIONS(PXOS_WGPU_FIELD)
#undef PXOS_WGPU_FIELD
};

}  // namespace pxos::gpu::wg
