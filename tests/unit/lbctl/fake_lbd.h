// A stand-in for lbd's control socket: it listens on a Unix socket in a fresh
// temp directory, records every request line it receives and answers each
// with the same canned reply.
#pragma once
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace xlb::lbctl::testing {

class FakeLbd {
 public:
  // reply is written as is after a request is read (the caller adds the
  // newline, or leaves it out to test EOF framing); "" closes without a word;
  // nullopt keeps the connection open and silent until the fake is destroyed.
  explicit FakeLbd(std::optional<std::string> reply, bool at_once = false);
  // Answers with answer.dump() and a newline, as lbd does.
  static FakeLbd answering(const nlohmann::json& answer) { return FakeLbd(answer.dump() + "\n"); }
  // Answers as soon as a client connects, without reading its request, and
  // closes: what lbd does when it is busy.
  static FakeLbd answering_at_once(const nlohmann::json& answer) { return FakeLbd(answer.dump() + "\n", true); }
  ~FakeLbd();
  FakeLbd(FakeLbd&&) = delete;  // the serving thread holds `this`

  const std::string& path() const { return path_; }
  // Requests received so far, each parsed from its line.
  std::vector<nlohmann::json> requests() const;

 private:
  void serve();
  void handle(int conn);

  std::optional<std::string> reply_;
  bool at_once_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

}  // namespace xlb::lbctl::testing
