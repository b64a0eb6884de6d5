// state.cpp: the architect's resumable state as JSON (version 1) and the event log, each
// event one O_APPEND write so that concurrent readers never see half a line.
#include "architect/state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "common/fs.hpp"

namespace pxos::architect {
using nlohmann::json;

namespace {
std::string now_iso() {
  auto t = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

}  // namespace

json State::to_json() const {
  json h = json::array();
  for (auto& o : history)
    h.push_back({{"iteration", o.iteration}, {"action", o.action}, {"task", o.task}, {"file", o.file},
                 {"commit", o.commit}, {"ok", o.ok}, {"result", o.result}});
  return {{"version", 1}, {"goal", goal}, {"iteration", iteration}, {"consecutive_failures", consecutive_failures},
          {"history", h}};
}

Result<State> State::from_json(const json& j) {
  try {
    if (j.at("version").get<int>() != 1) return fail(Errc::ArchitectError, "state file: unknown version");
    State s;
    s.goal = j.at("goal").get<std::string>();
    s.iteration = j.at("iteration").get<int>();
    s.consecutive_failures = j.value("consecutive_failures", 0);
    for (auto& o : j.at("history"))
      s.history.push_back({o.at("iteration").get<int>(), o.at("action").get<std::string>(), o.at("task").get<std::string>(),
                           o.value("file", ""), o.value("commit", ""), o.at("ok").get<bool>(), o.value("result", "")});
    return s;
  } catch (const json::exception& e) {
    return failf(Errc::ArchitectError, "state file: {}", e.what());
  }
}

Status EventLog::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) return failf(Errc::Io, "log {}: {}", path, errno_text(errno));
  return {};
}

void EventLog::event(const std::string& kind, json fields) {
  if (fd_ < 0) return;
  json j{{"ts", now_iso()}, {"event", kind}};
  j.update(fields);
  std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  ssize_t w = ::write(fd_, line.data(), line.size());
  (void)w;
}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace pxos::architect
