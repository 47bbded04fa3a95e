#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "log.h"

namespace xlb {

using Clock = std::chrono::steady_clock;

namespace {

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw InputError("socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

void mkdir_parents(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw SystemError("cannot create " + dir + ": " + std::strerror(errno));
  }
}

}  // namespace

Server::Server(const std::string& path) : path_(path) {
  sockaddr_un sa = make_addr(path);
  mkdir_parents(path);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw SystemError(path + " exists and is not a socket");
    Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
      throw SystemError("another lbd is listening on " + path);
    unlink(path.c_str());  // stale, from an lbd that did not exit cleanly
  }
  listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) throw SystemError(std::string("socket: ") + std::strerror(errno));
  mode_t old = umask(0177);  // the socket file is created 0600: only root may drive lbd
  int err = bind(listener_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  umask(old);
  if (err != 0) throw SystemError("cannot bind " + path + ": " + std::strerror(errno));
  chmod(path.c_str(), 0600);
  if (listen(listener_.get(), 64) != 0) throw SystemError("listen: " + std::string(std::strerror(errno)));
}

Server::~Server() {
  if (listener_) unlink(path_.c_str());
}

void Server::accept_one() {
  int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  Conn c;
  c.fd.reset(fd);
  c.deadline = Clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
  conns_.push_back(std::move(c));
}

void Server::answer(Conn& c, const std::string& line) {
  c.out = line + "\n";
  c.sent = 0;
  c.answered = true;
  c.in.clear();
  c.in.shrink_to_fit();
  c.deadline = Clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
}

bool Server::on_readable(Conn& c, const Handler& handle) {
  static const std::string kTooLarge = R"({"ok":false,"error":"request larger than 16 MiB"})";
  char buf[65536];
  for (;;) {
    ssize_t n = recv(c.fd.get(), buf, sizeof buf, 0);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
      // EOF without a newline: take what came as the request, if anything.
      if (c.too_large) answer(c, kTooLarge);
      else if (!c.in.empty()) answer(c, handle(c.in));
      return c.answered;
    }
    if (c.too_large) {
      // Discard the rest of an oversized request, answering at its end so
      // a client that writes everything before reading gets the message.
      if (std::memchr(buf, '\n', static_cast<size_t>(n))) {
        answer(c, kTooLarge);
        return true;
      }
      continue;
    }
    size_t old = c.in.size();
    c.in.append(buf, static_cast<size_t>(n));
    size_t nl = c.in.find('\n', old);
    if (nl != std::string::npos) {
      // The cap holds however the bytes were split into reads: a line that
      // ends in the read that took it past the cap is refused too.
      if (nl > kMaxRequestBytes) {
        answer(c, kTooLarge);
        return true;
      }
      c.in.resize(nl);
      answer(c, handle(c.in));
      return true;
    }
    if (c.in.size() > kMaxRequestBytes) {
      c.too_large = true;
      c.in.clear();
      c.in.shrink_to_fit();
    }
  }
}

bool Server::on_writable(Conn& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.sent += static_cast<size_t>(n);
  }
  return false;  // all sent: close
}

void Server::run(const Handler& handle, const std::function<void()>& tick, int period_ms,
                 const std::function<bool()>& should_stop) {
  auto next_tick = Clock::now() + std::chrono::milliseconds(period_ms);
  sigset_t unblocked;
  sigemptyset(&unblocked);
  for (;;) {
    if (stopping_ && listener_) {
      unlink(path_.c_str());
      listener_.reset();
    }
    if (stopping_ && std::none_of(conns_.begin(), conns_.end(), [](const Conn& c) { return c.answered; }))
      return;

    std::vector<pollfd> fds;
    bool listening = listener_ && conns_.size() < kMaxConnections;
    if (listening) fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& c : conns_) fds.push_back({c.fd.get(), short(c.answered ? POLLOUT : POLLIN), 0});

    auto now = Clock::now();
    auto wake = next_tick;
    for (const auto& c : conns_) wake = std::min(wake, c.deadline);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    timespec ts{static_cast<time_t>(std::max<long long>(wait, 0) / 1000),
                static_cast<long>(std::max<long long>(wait, 0) % 1000) * 1000000};
    int n = ppoll(fds.data(), fds.size(), &ts, &unblocked);
    if (n < 0 && errno != EINTR) throw SystemError("poll: " + std::string(std::strerror(errno)));
    if (should_stop()) return;

    size_t i = 0;
    if (listening) {
      if (n > 0 && (fds[0].revents & POLLIN)) accept_one();
      i = 1;
    }
    now = Clock::now();
    std::vector<Conn> keep;
    for (size_t k = 0; k < fds.size() - i; k++) {
      Conn& c = conns_[k];
      short ev = n > 0 ? fds[i + k].revents : 0;
      bool alive = true;
      if (ev & (POLLIN | POLLHUP | POLLERR)) alive = c.answered ? on_writable(c) : on_readable(c, handle);
      if (alive && c.answered && (ev & POLLOUT)) alive = on_writable(c);
      if (alive && now >= c.deadline) alive = false;  // too slow: drop it
      if (alive) keep.push_back(std::move(c));
    }
    // Connections accepted in this round come after the polled ones.
    for (size_t k = fds.size() - i; k < conns_.size(); k++) keep.push_back(std::move(conns_[k]));
    conns_ = std::move(keep);

    if (Clock::now() >= next_tick) {
      tick();
      next_tick = Clock::now() + std::chrono::milliseconds(period_ms);
    }
  }
}

}  // namespace xlb
