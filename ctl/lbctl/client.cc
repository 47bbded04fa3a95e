#include "lbctl/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <cstring>
#include <stdexcept>

#include "core/error.h"

namespace xlb::lbctl {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Closes the socket on every exit path.
class Socket {
 public:
  Socket() : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw SystemError(std::string("cannot create a Unix socket: ") + std::strerror(errno));
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string describe(milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

sockaddr_un socket_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    throw InputError("socket path must be 1.." + std::to_string(sizeof(addr.sun_path) - 1) + " characters: '" + path +
                     "'");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// What the user most likely has to do about a failed connect.
std::string connect_hint(int err) {
  if (err == ENOENT || err == ECONNREFUSED) return " (is lbd running?)";
  if (err == EACCES || err == EPERM) return " (the socket is root's only: run lbctl as root)";
  if (err == EAGAIN) return " (lbd is not accepting connections: is it out of file descriptors?)";
  return "";
}

void connect_to(const Socket& sock, const std::string& path, milliseconds timeout) {
  sockaddr_un addr = socket_address(path);
  // A Unix connect blocks only while lbd's accept backlog is full; the send
  // timeout bounds that wait.
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(sock.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) return;
  int err = errno;
  throw SystemError("cannot connect to lbd at " + path + ": " + std::strerror(err) + connect_hint(err));
}

// Waits until the socket is ready for events; false when the deadline passed.
bool wait_ready(const Socket& sock, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{sock.fd(), events, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) throw SystemError(std::string("poll: ") + std::strerror(errno));
  }
}

// Returns 0 once everything is sent, or the errno of lbd closing the
// connection early: it may have answered first (busy, request too large),
// and that answer is worth more than the error.
int send_all(const Socket& sock, const std::string& data, Clock::time_point deadline,
             const std::string& what_timed_out) {
  size_t sent = 0;
  while (sent < data.size()) {
    if (!wait_ready(sock, POLLOUT, deadline)) throw SystemError(what_timed_out);
    // MSG_NOSIGNAL: lbd closing early must be an error message, not SIGPIPE.
    ssize_t n = ::send(sock.fd(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return errno;
      throw SystemError(std::string("cannot send the request to lbd: ") + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  return 0;
}

// Reads up to the first newline or EOF, whichever comes first.
std::string receive_line(const Socket& sock, Clock::time_point deadline, const std::string& what_timed_out) {
  std::string line;
  char buf[65536];
  for (;;) {
    if (!wait_ready(sock, POLLIN, deadline)) throw SystemError(what_timed_out);
    ssize_t n = ::recv(sock.fd(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw SystemError(std::string("cannot read lbd's answer: ") + std::strerror(errno));
    }
    if (n == 0) return line;
    line.append(buf, static_cast<size_t>(n));
    if (auto newline = line.find('\n'); newline != std::string::npos) {
      line.resize(newline);
      return line;
    }
  }
}

Json parse_answer(const std::string& line) {
  if (line.empty()) throw SystemError("lbd closed the connection without answering");
  Json answer = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) throw SystemError("malformed answer from lbd: not JSON: " + line);
  if (!answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean())
    throw SystemError("malformed answer from lbd: no boolean \"ok\": " + line);
  if (answer["ok"].get<bool>()) return answer;
  if (!answer.contains("error") || !answer["error"].is_string())
    throw SystemError("malformed answer from lbd: \"ok\": false without an \"error\" message: " + line);
  throw std::runtime_error(answer["error"].get<std::string>());
}

// The commands that only read: a timeout on them leaves nothing to check.
bool reads_only(const Json& request) {
  static const char* const kReads[] = {"status", "list", "stats", "flows"};
  if (!request.contains("cmd") || !request["cmd"].is_string()) return false;
  auto cmd = request["cmd"].get<std::string>();
  return std::any_of(std::begin(kReads), std::end(kReads), [&cmd](const char* r) { return cmd == r; });
}

// A change that timed out may still complete, or may have completed already
// (a large apply takes lbd seconds): the message says the outcome is unknown
// and how to learn it. what: "answer", or "read the request" when lbd did not
// even take it all.
std::string timeout_message(const std::string& socket_path, const Json& request, milliseconds timeout,
                            const std::string& what) {
  std::string head = "lbd at " + socket_path + " did not " + what + " within " + describe(timeout);
  if (reads_only(request)) return head + " (a long request may keep it busy: try again, or raise --timeout)";
  return head + ": the request may still complete; check with 'lbctl list' before retrying (--timeout gives lbd longer)";
}

}  // namespace

Json call_lbd(const std::string& socket_path, const Json& request, milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  Socket sock;
  connect_to(sock, socket_path, timeout);
  std::string not_read = timeout_message(socket_path, request, timeout, "read the request");
  int send_err = send_all(sock, request.dump() + "\n", deadline, not_read);
  std::string line;
  try {
    line = receive_line(sock, deadline, timeout_message(socket_path, request, timeout, "answer"));
  } catch (const SystemError&) {
    if (!send_err) throw;
  }
  if (line.empty() && send_err)
    throw SystemError(std::string("cannot send the request to lbd: ") + std::strerror(send_err));
  return parse_answer(line);
}

}  // namespace xlb::lbctl
