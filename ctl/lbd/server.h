// The control socket: a Unix stream socket serving one JSON request per
// connection (docs/api.md, "Framing"). Single-threaded: a poll loop
// multiplexes the listener, the connections and a periodic tick, with a
// deadline on every connection so a stuck client cannot block lbd.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "fd.h"

namespace xlb {

constexpr size_t kMaxRequestBytes = 16u << 20;
constexpr int kClientTimeoutMs = 10000;
constexpr size_t kMaxConnections = 64;

class Server {
 public:
  // Request line (without the newline) -> answer line (without the newline).
  using Handler = std::function<std::string(const std::string& request)>;

  // Creates the parent directory, replaces a stale socket file (refusing if
  // another lbd answers on it), binds and listens with mode 0600.
  explicit Server(const std::string& path);
  ~Server();  // removes the socket file
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until should_stop() returns true after a wakeup (signals
  // interrupt the wait: block them and they are let through only while
  // waiting), or until stop() was called and the pending answers are sent.
  // tick() runs every period_ms.
  void run(const Handler& handle, const std::function<void()>& tick, int period_ms,
           const std::function<bool()>& should_stop);
  void stop() { stopping_ = true; }
  const std::string& path() const { return path_; }

 private:
  struct Conn {
    Fd fd;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;
    bool too_large = false;  // over kMaxRequestBytes: input is discarded
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_one();
  // Reads what is there; returns false when the connection is done with.
  bool on_readable(Conn& c, const Handler& handle);
  bool on_writable(Conn& c);
  void answer(Conn& c, const std::string& line);

  std::string path_;
  Fd listener_;
  std::vector<Conn> conns_;
  bool stopping_ = false;
};

}  // namespace xlb
