// freestanding.hpp: force-included (-include) into every C++ file of the kernel's PixelVM build
// (kernel/vm): fmt header-only, without locales, floating point or exceptions.
#pragma once
#define FMT_HEADER_ONLY 1
#define FMT_EXCEPTIONS 0
#define FMT_STATIC_THOUSANDS_SEPARATOR ','
#define FMT_USE_FLOAT 0
#define FMT_USE_DOUBLE 0
#define FMT_USE_LONG_DOUBLE 0
// A format error can only come from a format string of ours (the VM formats no user text as
// a format): the guest stops with an abort the kernel reports.
extern "C" [[noreturn]] void pxos_guest_abort(const char* why);
#define FMT_THROW(x) pxos_guest_abort("fmt: format error")
