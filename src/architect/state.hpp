// state.hpp: what the architect keeps between turns and runs: the resumable state (goal,
// iteration, a summary of each step) and the JSON-lines event log.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "architect/prompt.hpp"
#include "common/error.hpp"

namespace pxos::architect {

// The resumable state: goal, iteration and a summary of what happened.
struct State {
  std::string goal;
  int iteration = 0;
  int consecutive_failures = 0;
  std::vector<Outcome> history;
  nlohmann::json to_json() const;
  static Result<State> from_json(const nlohmann::json& j);
};

// JSON lines, one object per event, each written with a single write() (O_APPEND).
class EventLog {
 public:
  Status open(const std::string& path);
  void event(const std::string& kind, nlohmann::json fields);
  ~EventLog();
 private:
  int fd_ = -1;
};

}  // namespace pxos::architect
