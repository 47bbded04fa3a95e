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

namespace {

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw InputError("socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

const std::string kTooLarge = R"({"ok":false,"error":"request larger than 16 MiB"})";
const std::string kTooDeep = R"({"ok":false,"error":"request nests arrays and objects deeper than )" +
                             std::to_string(kMaxJsonDepth) + R"( levels"})";

// Enough connections per wakeup to empty a full backlog, and no more, so a
// flood of connects cannot keep the loop from the connections it has.
constexpr int kAcceptBatch = 64;

std::string busy(const std::string& why) {
  return R"({"ok":false,"error":"lbd is busy: )" + why + R"(; try again"})";
}

int accept_connection(int listen_fd) {
  return accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// Out of file descriptors, or of kernel memory: accept fails the same way
// until something is freed.
bool out_of_resources(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

void mkdir_parents(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw SystemError("cannot create " + dir + ": " + std::strerror(errno));
  }
}

}  // namespace

Server::Server(const std::string& path, ServerLimits limits)
    : path_(path), limits_(limits), accept_(accept_connection) {
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

// Accepts what the backlog holds. When full, a client is still accepted, to
// be told so at once: left in the backlog it would wait for a slot with no
// word, and lbctl would time out.
//
// Out of file descriptors, accept fails and the listener stays readable, so
// polling it again at once spins. The listener is left alone for a while
// instead, and the clients wait in the backlog (lbctl's timeout bounds their
// wait). The other cure, a spare fd closed to accept and drop the client,
// would answer nothing more useful than EOF, and the reaper thread could take
// the freed fd between the close and the accept.
void Server::accept_ready() {
  for (int i = 0; i < kAcceptBatch; i++) {
    int fd = accept_(listener_.get());
    if (fd < 0) {
      int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (out_of_resources(err)) {
        accept_resume_ = Clock::now() + std::chrono::milliseconds(limits_.accept_backoff_ms);
        if (!accept_failing_)
          log_warn(std::string("cannot accept control connections: ") + std::strerror(err) + "; retrying every " +
                   std::to_string(limits_.accept_backoff_ms) + " ms");
        accept_failing_ = true;
      }
      return;  // EAGAIN: the backlog is empty
    }
    if (accept_failing_) log_line("accepting control connections again");
    accept_failing_ = false;
    if (conns_.size() >= limits_.max_clients) {
      refuse_busy(fd);
      continue;
    }
    Conn c;
    c.fd.reset(fd);
    c.request_deadline = now() + std::chrono::milliseconds(limits_.request_ms);
    c.deadline = std::min(c.request_deadline, now() + std::chrono::milliseconds(limits_.idle_ms));
    conns_.push_back(std::move(c));
  }
}

// One non-blocking send, then close: a client that does not take the answer
// at once loses nothing it could have had.
void Server::refuse_busy(int fd) const {
  Fd conn(fd);
  std::string line = busy(std::to_string(conns_.size()) + " clients connected") + "\n";
  (void)send(conn.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Best effort, like refuse_busy: says why to a client that is still there.
void Server::send_timeout(const Conn& c) const {
  std::string line = R"({"ok":false,"error":"no complete request within )" + std::to_string(limits_.idle_ms) +
                     " ms of the last byte or " + std::to_string(limits_.request_ms) + R"( ms of connecting"})" + "\n";
  (void)send(c.fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Server::answer(Conn& c, const std::string& line) {
  c.out = line + "\n";
  c.sent = 0;
  c.answered = true;
  c.in.clear();
  c.in.shrink_to_fit();
  c.deadline = now() + std::chrono::milliseconds(limits_.reply_ms);
}

void Server::refuse(Conn& c, const std::string& line) {
  c.refusal = line;
  c.in.clear();
  c.in.shrink_to_fit();
}

// The nesting is checked before the handler parses the request: the parser
// takes seconds and hundreds of MB on a 16 MiB "[[[[...", the scan
// milliseconds.
void Server::respond(Conn& c, const Handler& handle) {
  if (json_deeper_than(c.in, kMaxJsonDepth)) {
    answer(c, kTooDeep);
    return;
  }
  auto start = Clock::now();
  std::string line = handle(c.in);
  busy_ += Clock::now() - start;
  answer(c, line);
}

bool Server::reserve_input(Conn& c, size_t need) {
  size_t cap = c.in.capacity();
  if (need <= cap) return true;
  size_t others = 0;  // what the other connections hold
  for (const Conn& o : conns_)
    if (&o != &c) others += o.in.capacity();
  // Grow geometrically, as append would, but never past the request cap or
  // the budget: capacity, not size, is what the budget counts. A fresh
  // string, because reserve() on this one may round up to twice its size.
  size_t want = std::min(std::max({need, 2 * cap, size_t{65536}}), kMaxRequestBytes);
  if (others + want > limits_.max_buffered) want = need;
  if (others + want > limits_.max_buffered) return false;
  std::string grown;
  grown.reserve(want);
  grown.append(c.in);
  c.in.swap(grown);
  return true;
}

bool Server::on_readable(Conn& c, const Handler& handle) {
  char buf[65536];
  for (;;) {
    ssize_t n = recv(c.fd.get(), buf, sizeof buf, 0);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
      // EOF without a newline: take what came as the request, if anything.
      if (!c.refusal.empty())
        answer(c, c.refusal);
      else if (!c.in.empty())
        respond(c, handle);
      return c.answered;
    }
    c.deadline = std::min(c.request_deadline, now() + std::chrono::milliseconds(limits_.idle_ms));
    auto nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<size_t>(n)));
    size_t take = nl ? static_cast<size_t>(nl - buf) : static_cast<size_t>(n);
    if (c.refusal.empty()) {
      // The cap holds however the bytes were split into reads: a line that
      // ends in the read that took it past the cap is refused too.
      if (c.in.size() + take > kMaxRequestBytes)
        refuse(c, kTooLarge);
      else if (!reserve_input(c, c.in.size() + take))
        refuse(c, busy("requests from other clients fill its input buffers"));
      else
        c.in.append(buf, take);
    }
    if (nl) {
      // Only the first line is a request; a refused one is answered at its
      // end, so a client that writes everything before reading gets the
      // message.
      if (!c.refusal.empty())
        answer(c, c.refusal);
      else
        respond(c, handle);
      return true;
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
  using std::chrono::milliseconds;
  auto next_tick = Clock::now() + milliseconds(period_ms);
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
    bool listening = listener_ && Clock::now() >= accept_resume_;
    if (listening) fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& c : conns_) fds.push_back({c.fd.get(), short(c.answered ? POLLOUT : POLLIN), 0});

    // Deadlines are on two clocks: the tick and the accept backoff on real
    // time, the clients' on now().
    Clock::duration wait = next_tick - Clock::now();
    if (listener_ && !listening) wait = std::min(wait, accept_resume_ - Clock::now());
    auto client_now = now();
    for (const auto& c : conns_) wait = std::min(wait, c.deadline - client_now);
    auto wait_ms = std::max<long long>(std::chrono::ceil<milliseconds>(wait).count(), 0);
    timespec ts{static_cast<time_t>(wait_ms / 1000), static_cast<long>(wait_ms % 1000) * 1000000};
    int n = ppoll(fds.data(), fds.size(), &ts, &unblocked);
    if (n < 0 && errno != EINTR) throw SystemError("poll: " + std::string(std::strerror(errno)));
    if (should_stop()) return;

    size_t polled = conns_.size();  // those accepted now come after them, unpolled
    size_t i = 0;
    if (listening) {
      if (n > 0 && (fds[0].revents & POLLIN)) accept_ready();
      i = 1;
    }
    for (size_t k = 0; k < polled; k++) {
      Conn& c = conns_[k];
      short ev = n > 0 ? fds[i + k].revents : 0;
      bool alive = true;
      if (ev & (POLLIN | POLLHUP | POLLERR)) alive = c.answered ? on_writable(c) : on_readable(c, handle);
      if (alive && c.answered && (ev & POLLOUT)) alive = on_writable(c);
      if (alive && now() >= c.deadline) {  // too slow: drop it
        if (!c.answered) send_timeout(c);
        alive = false;
      }
      c.closed = !alive;
    }
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.closed; }), conns_.end());

    if (Clock::now() >= next_tick) {
      auto start = Clock::now();
      tick();
      busy_ += Clock::now() - start;
      next_tick = Clock::now() + milliseconds(period_ms);
    }
  }
}

}  // namespace xlb
