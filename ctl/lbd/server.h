// The control socket: a Unix stream socket serving one JSON request per
// connection (docs/api.md, "Framing"). Single-threaded: a poll loop
// multiplexes the listener, the connections and a periodic tick. No client
// can stall the others: their number, the time each may take to send its
// request, the bytes buffered for all of them and a request's nesting depth
// are bounded, and a client over a bound is answered with why, then dropped.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/request_limits.h"  // kMaxRequestBytes, kMaxJsonDepth
#include "fd.h"

namespace xlb {

// The bounds on clients (docs/api.md, "Framing"). Tests lower them.
struct ServerLimits {
  // Connections at once. One more is accepted, told "lbd is busy" and closed,
  // so a client never waits on a full listener.
  size_t max_clients = 64;
  // A client that sends nothing for this long (since it connected or since
  // its last byte) is dropped: an idle lbctl has nothing to say.
  int idle_ms = 2000;
  // The whole request must arrive within this long of connecting, however
  // it trickles in. 16 MiB over a local socket takes milliseconds.
  int request_ms = 5000;
  // An answer the client does not read within this long is dropped.
  int reply_ms = 10000;
  // Request bytes buffered over all connections. A read that would take the
  // total over it gets its request refused as "lbd is busy".
  size_t max_buffered = 64u << 20;
  // How long the listener is left alone after accept fails for want of file
  // descriptors (see Server::accept_ready).
  int accept_backoff_ms = 250;
};

class Server {
 public:
  // Request line (without the newline) -> answer line (without the newline).
  using Handler = std::function<std::string(const std::string& request)>;
  // accept4 on the listener; replaceable so tests can make it fail.
  using AcceptFn = std::function<int(int listen_fd)>;

  // Creates the parent directory, replaces a stale socket file (refusing if
  // another lbd answers on it), binds and listens with mode 0600.
  explicit Server(const std::string& path, ServerLimits limits = {});
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
  void set_accept_for_testing(AcceptFn accept) { accept_ = std::move(accept); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn {
    Fd fd;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;
    bool closed = false;  // done with: removed at the end of the round
    // Non-empty: the request is refused with this answer; the rest of its
    // input is read and discarded, and the answer sent at its end.
    std::string refusal;
    Clock::time_point request_deadline;  // the whole request must be in by then
    Clock::time_point deadline;          // the next one that applies
  };
  // The clock client deadlines run on: real time less the time lbd spent in
  // the handler and the tick, so a client whose bytes waited while lbd
  // served another is not dropped for lbd's slowness.
  Clock::time_point now() const { return Clock::now() - busy_; }
  void accept_ready();
  void refuse_busy(int fd) const;
  void send_timeout(const Conn& c) const;
  // Reads what is there; returns false when the connection is done with.
  bool on_readable(Conn& c, const Handler& handle);
  bool on_writable(Conn& c);
  void respond(Conn& c, const Handler& handle);
  void answer(Conn& c, const std::string& line);
  void refuse(Conn& c, const std::string& line);
  // Makes room for need bytes in c.in within max_buffered; false if none.
  bool reserve_input(Conn& c, size_t need);

  std::string path_;
  ServerLimits limits_;
  Fd listener_;
  AcceptFn accept_;
  std::vector<Conn> conns_;
  bool stopping_ = false;
  Clock::duration busy_{0};
  Clock::time_point accept_resume_{};  // the listener is polled again from then
  bool accept_failing_ = false;        // logged once per run of failures
};

}  // namespace xlb
