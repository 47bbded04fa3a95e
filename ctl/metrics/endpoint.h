// The HTTP listener of --metrics (cpp-httplib): GET /metrics answers with
// what the handler returns, every other path with 404. It runs in threads
// of its own and calls nothing of lbd but the handler, which must be
// thread-safe (lbd's goes through ScrapeBridge).
//
// No client can hold lbd up, since lbd's main thread never waits for this
// one; and clients can't hold each other up for long: a request must
// arrive within read_timeout, an answer be taken within write_timeout, an
// idle kept-alive connection is closed after keep_alive, and the
// connections served at once are bounded (workers, then max_queued
// waiting; beyond that the accepting thread serves the next one itself, so
// further clients wait in the kernel's backlog instead of taking lbd's file
// descriptors).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "listen_address.h"

namespace xlb::metrics {

// The Prometheus text format's content type.
extern const char* const kContentType;

struct EndpointLimits {
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  int keep_alive_s = 5;
  size_t workers = 2;
  size_t max_queued = 8;
};

struct Reply {
  int status = 200;
  std::string body;
};

class Endpoint {
 public:
  using Handler = std::function<Reply()>;

  // Binds and starts listening at once (port 0: any free port, for tests):
  // a busy port fails here, before lbd touches the data path. Until
  // set_handler, a scrape gets 503. Throws std::runtime_error saying why
  // it can't listen.
  explicit Endpoint(const ListenAddress& at, EndpointLimits limits = {});
  ~Endpoint();  // stop()
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  void set_handler(Handler scrape);
  // Stops accepting, and returns once the threads are done (a connection
  // being served finishes first, within its timeouts).
  void stop();
  uint16_t port() const;  // the bound one

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xlb::metrics
