// runlog.cpp: JSON-lines records, appended with O_APPEND and a single write per line.
#include "hv/runlog.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"

namespace pxos::hv {

RunLog::RunLog(RunLog&& o) noexcept { *this = std::move(o); }
RunLog& RunLog::operator=(RunLog&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
    path_ = std::move(o.path_);
    run_id_ = std::move(o.run_id_);
    error_ = std::move(o.error_);
    runs_ = o.runs_;
  }
  return *this;
}
RunLog::~RunLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<RunLog> RunLog::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return failf(Errc::Io, "{}: cannot open the log: {}", path, errno_text(errno));
  RunLog l;
  l.fd_ = fd;
  l.path_ = path;
  return l;
}

void RunLog::begin_run() { run_id_ = fmt::format("{}.{}", ::getpid(), ++runs_); }

void RunLog::record(std::string_view event, const nlohmann::ordered_json& fields) {
  if (fd_ < 0) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  nlohmann::ordered_json j;
  j["time"] = fmt::format("{}.{:03}Z", stamp, ms % 1000);
  j["run"] = run_id_;
  j["event"] = event;
  for (const auto& [k, v] : fields.items()) j[k] = v;
  // Program-controlled text may be any bytes: replace invalid UTF-8 instead of throwing.
  std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (error_.empty()) error_ = fmt::format("{}: write failed: {}", path_, errno_text(errno));
      return;
    }
    p += n;
    left -= size_t(n);
  }
}

}  // namespace pxos::hv
