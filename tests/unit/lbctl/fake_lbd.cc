#include "fake_lbd.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace xlb::lbctl::testing {
namespace {

constexpr int kPollMs = 20;  // how often the serving thread checks stop_

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("fake lbd: ") + what + ": " + std::strerror(errno));
}

}  // namespace

FakeLbd::FakeLbd(std::optional<std::string> reply, bool at_once) : reply_(std::move(reply)), at_once_(at_once) {
  char dir[] = "/tmp/xlb-lbctl-test-XXXXXX";
  check(::mkdtemp(dir) != nullptr, "mkdtemp");
  dir_ = dir;
  path_ = dir_ + "/lbd.sock";

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(listen_fd_ >= 0, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  check(::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0, "bind");
  check(::listen(listen_fd_, 16) == 0, "listen");
  thread_ = std::thread([this] { serve(); });
}

FakeLbd::~FakeLbd() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

std::vector<nlohmann::json> FakeLbd::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<nlohmann::json> parsed;
  for (const std::string& line : lines_) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}

void FakeLbd::serve() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, kPollMs) <= 0) continue;
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    if (at_once_)
      ::send(conn, reply_->data(), reply_->size(), MSG_NOSIGNAL);
    else
      handle(conn);
    ::close(conn);
  }
}

void FakeLbd::handle(int conn) {
  std::string line;
  char buf[4096];
  while (!stop_ && line.find('\n') == std::string::npos) {
    pollfd pfd{conn, POLLIN, 0};
    if (::poll(&pfd, 1, kPollMs) <= 0) continue;
    ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
    if (n <= 0) return;
    line.append(buf, static_cast<size_t>(n));
  }
  if (stop_) return;
  line.resize(line.find('\n'));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(line);
  }
  if (!reply_) {
    while (!stop_) ::poll(nullptr, 0, kPollMs);
    return;
  }
  ::send(conn, reply_->data(), reply_->size(), MSG_NOSIGNAL);
}

}  // namespace xlb::lbctl::testing
