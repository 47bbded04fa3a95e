#include "endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace xlb::metrics {

const char* const kContentType = "text/plain; version=0.0.4; charset=utf-8";

namespace {

// httplib's connection queue, bounded (see endpoint.h): beyond max_queued
// waiting connections the accepting thread serves the next one itself.
class BoundedQueue : public httplib::TaskQueue {
 public:
  BoundedQueue(size_t workers, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < workers; i++) threads_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (jobs_.size() < max_queued_ && !threads_.empty()) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    fn();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and nothing left to serve
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }
  size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Why bind() fails on at, found by trying it: httplib only says that it did.
std::string bind_error(const ListenAddress& at) {
  int fd = socket(at.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_storage ss{};
  socklen_t len;
  if (at.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(at.port);
    inet_pton(AF_INET6, at.host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(at.port);
    inet_pton(AF_INET, at.host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  std::string why = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) ? std::strerror(errno) : "refused by the HTTP library";
  ::close(fd);
  return why;
}

}  // namespace

struct Endpoint::Impl {
  httplib::Server server;
  uint16_t port = 0;
  std::mutex mu;
  Handler handler;  // under mu
  std::thread thread;
  std::atomic<bool> done{false};  // listen_after_bind returned
  bool stopped = false;
};

Endpoint::Endpoint(const ListenAddress& at, EndpointLimits limits) : impl_(std::make_unique<Impl>()) {
  httplib::Server& s = impl_->server;
  // Not httplib's default SO_REUSEPORT: with it a second lbd would bind the
  // same port and share its scrapes instead of failing.
  s.set_socket_options([](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_read_timeout(limits.read_timeout_s, 0);
  s.set_write_timeout(limits.write_timeout_s, 0);
  s.set_keep_alive_timeout(limits.keep_alive_s);
  s.set_payload_max_length(4096);  // a GET has no body
  s.new_task_queue = [limits] { return new BoundedQueue(limits.workers, limits.max_queued); };
  Impl* impl = impl_.get();
  s.Get("/metrics", [impl](const httplib::Request&, httplib::Response& res) {
    Handler h;
    {
      std::lock_guard<std::mutex> lk(impl->mu);
      h = impl->handler;
    }
    Reply r = h ? h() : Reply{503, "lbd is starting\n"};
    res.status = r.status;
    res.set_content(r.body, r.status == 200 ? kContentType : "text/plain; charset=utf-8");
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content("not found: lbd serves only /metrics\n", "text/plain; charset=utf-8");
  });

  if (at.port == 0) {
    int port = s.bind_to_any_port(at.host);
    if (port < 0) throw std::runtime_error("cannot listen on " + at.str() + ": " + bind_error(at));
    impl_->port = static_cast<uint16_t>(port);
  } else {
    if (!s.bind_to_port(at.host, at.port)) throw std::runtime_error("cannot listen on " + at.str() + ": " + bind_error(at));
    impl_->port = at.port;
  }
  impl_->thread = std::thread([impl] {
    impl->server.listen_after_bind();
    impl->done = true;
  });
}

Endpoint::~Endpoint() { stop(); }

void Endpoint::set_handler(Handler scrape) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->handler = std::move(scrape);
}

void Endpoint::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // httplib's stop() does nothing until listen_after_bind has marked the
  // server running, which it does before its first accept: wait for that
  // (or for the thread to have ended on its own, when there is nothing to
  // stop and the listening socket is closed already).
  while (!impl_->server.is_running() && !impl_->done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl_->done) impl_->server.stop();
  impl_->thread.join();
}

uint16_t Endpoint::port() const { return impl_->port; }

}  // namespace xlb::metrics
