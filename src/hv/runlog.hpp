// runlog.hpp: the hypervisor's structured log: one JSON object per line (run start, each
// validation check, the entry, the result, the trap), appended with one write(2) per line so
// lines from several runs and processes never interleave inside a line.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::hv {

class RunLog {
 public:
  RunLog() = default;  // disabled: record() does nothing
  RunLog(RunLog&&) noexcept;
  RunLog& operator=(RunLog&&) noexcept;
  RunLog(const RunLog&) = delete;
  ~RunLog();

  // Opens PATH for appending (created 0644; refuses a symlink).
  static Result<RunLog> open(const std::string& path);
  bool enabled() const { return fd_ >= 0; }

  // Starts a new run: later records carry its id ("<pid>.<n>").
  void begin_run();
  // {"time": ISO-8601 UTC, "run": id, "event": EVENT, ...fields}
  void record(std::string_view event, const nlohmann::ordered_json& fields);
  // First write error, if any ("" when none).
  const std::string& error() const { return error_; }
  const std::string& run_id() const { return run_id_; }

 private:
  int fd_ = -1;
  std::string path_, run_id_, error_;
  uint64_t runs_ = 0;
};

}  // namespace pxos::hv
