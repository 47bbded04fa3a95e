#include "health/prober.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "health/http.h"
#include "health/sockaddr.h"
#include "health/tls.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace xlb::health {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

std::string errno_text(const std::string& what, int err) { return errno_text(what.c_str(), err); }

std::string connect_reason(int err) {
  if (err == ECONNREFUSED) return "connect refused";
  if (err == ETIMEDOUT) return "connect timeout";  // the kernel gave up first
  return errno_text("connect", err);
}

// The server name a TLS ClientHello carries: the Host header's name part,
// never an address (RFC 6066 forbids literal addresses in SNI).
// The name a verified certificate must carry: the Host without its port,
// else the address checked.
std::string verify_host(const Probe& p) {
  std::string host = p.http_host;
  if (host.empty()) return p.dst.ip.str();
  if (host[0] == '[') return host.substr(1, host.find(']') - 1);
  size_t colon = host.rfind(':');
  if (colon != std::string::npos) host.resize(colon);
  return host;
}

std::string sni_for(const Probe& p) {
  std::string host = p.http_host;
  if (host.empty() || host[0] == '[') return "";
  size_t colon = host.rfind(':');
  if (colon != std::string::npos) host.resize(colon);
  try {
    IpAddr::parse(host);
    return "";
  } catch (const InputError&) {
    return host;
  }
}

}  // namespace

struct Prober::Active {
  enum Stage { kConnect, kHandshake, kSend, kRecv };
  uint64_t token = 0;
  Probe probe;
  int fd = -1;
  Stage stage = kConnect;
  uint32_t events = 0;  // registered with epoll; 0: not registered
  Clock::time_point start;
  Clock::time_point deadline;
  std::string out;  // the request
  size_t sent = 0;
  std::string in;   // the response so far
  std::unique_ptr<TlsSession> tls;

  ~Active() {
    tls.reset();  // before the socket it uses
    if (fd >= 0) ::close(fd);
  }
};

Prober::Prober() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw SystemError(errno_text("epoll_create1", errno));
}

Prober::~Prober() {
  active_.clear();
  ::close(epfd_);
}

TlsContext& Prober::tls() {
  if (!tls_) tls_ = std::make_unique<TlsContext>();
  return *tls_;
}

void Prober::submit(const Probe& probe) {
  auto a = std::make_unique<Active>();
  a->token = next_token_++;
  a->probe = probe;
  a->start = Clock::now();
  a->deadline = a->start + milliseconds(probe.timeout_ms);
  Active& ref = *a;
  active_.emplace(ref.token, std::move(a));
  deadlines_.emplace(ref.deadline, ref.token);
  stats_.submitted++;
  start(ref);
}

void Prober::start(Active& a) {
  const Probe& p = a.probe;
  SockAddr dst = to_sockaddr(p.dst);
  if (p.src && p.src->family != p.dst.ip.family)
    return finish(a, false, "source and destination address families differ");
  bool udp = p.kind == ProbeKind::kUdp;
  a.fd = ::socket(dst.family(), (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a.fd < 0) return finish(a, false, errno_text("socket", errno));
  if (p.mark && setsockopt(a.fd, SOL_SOCKET, SO_MARK, &p.mark, sizeof(p.mark)) < 0)
    return finish(a, false, errno_text("setsockopt SO_MARK", errno));
  if (!udp) {
    // Reset on close: no TIME_WAIT left behind by a thousand checks a second.
    linger lg{1, 0};
    setsockopt(a.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  if (p.src) {
    int one = 1;
    if (!udp) setsockopt(a.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    SockAddr src = to_sockaddr(*p.src);
    if (::bind(a.fd, src.get(), src.len) < 0)
      return finish(a, false, errno_text("bind " + p.src->str(), errno));
  }
  if (::connect(a.fd, dst.get(), dst.len) < 0) {
    if (udp || errno != EINPROGRESS) return finish(a, false, connect_reason(errno));
    return want(a, EPOLLOUT);
  }
  if (udp) {
    if (::send(a.fd, p.udp_payload.data(), p.udp_payload.size(), MSG_NOSIGNAL) < 0)
      return finish(a, false, errno_text("udp send", errno));
    a.stage = Active::kRecv;
    return want(a, EPOLLIN);
  }
  // A stream connect that finished at once: carry on as if told so.
  advance(a, EPOLLOUT);
}

void Prober::want(Active& a, uint32_t events) {
  if (a.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = a.token;
  if (epoll_ctl(epfd_, a.events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, a.fd, &ev) < 0)
    return finish(a, false, errno_text("epoll_ctl", errno));
  a.events = events;
}

void Prober::finish(Active& a, bool ok, std::string reason) {
  ProbeResult r;
  r.id = a.probe.id;
  r.ok = ok;
  r.finished = Clock::now();
  r.latency = duration_cast<microseconds>(r.finished - a.start);
  r.reason = std::move(reason);
  (ok ? stats_.ok : stats_.failed)++;
  done_.push_back(std::move(r));
  deadlines_.erase({a.deadline, a.token});
  active_.erase(a.token);  // closes the socket, which leaves the epoll set
}

void Prober::advance(Active& a, uint32_t events) {
  if (a.probe.kind == ProbeKind::kUdp) return advance_udp(a, events);
  advance_stream(a, events);
}

void Prober::advance_stream(Active& a, uint32_t events) {
  (void)events;
  const Probe& p = a.probe;
  char buf[2048];
  for (;;) {
    switch (a.stage) {
      case Active::kConnect: {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err) return finish(a, false, connect_reason(err));
        if (p.kind == ProbeKind::kTcp) return finish(a, true, "");
        a.out = http_request(p);
        if (p.https) {
          try {
            a.tls = std::make_unique<TlsSession>(tls(), a.fd, sni_for(p), p.verify_cert ? verify_host(p) : "");
          } catch (const SystemError& e) {
            return finish(a, false, std::string("tls: ") + e.what());
          }
          a.stage = Active::kHandshake;
        } else {
          a.stage = Active::kSend;
        }
        break;
      }
      case Active::kHandshake:
        switch (a.tls->handshake()) {
          case TlsSession::kDone: a.stage = Active::kSend; break;
          case TlsSession::kWantRead: return want(a, EPOLLIN);
          case TlsSession::kWantWrite: return want(a, EPOLLOUT);
          case TlsSession::kClosed: return finish(a, false, "tls handshake: connection closed");
          case TlsSession::kError: return finish(a, false, "tls handshake failed: " + a.tls->error());
        }
        break;
      case Active::kSend: {
        const char* data = a.out.data() + a.sent;
        size_t left = a.out.size() - a.sent;
        size_t n = 0;
        if (a.tls) {
          switch (a.tls->write(data, left, &n)) {
            case TlsSession::kDone: break;
            case TlsSession::kWantRead: return want(a, EPOLLIN);
            case TlsSession::kWantWrite: return want(a, EPOLLOUT);
            case TlsSession::kClosed: return finish(a, false, "http connection closed before the request was sent");
            case TlsSession::kError: return finish(a, false, "tls write: " + a.tls->error());
          }
        } else {
          ssize_t w = ::send(a.fd, data, left, MSG_NOSIGNAL);
          if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return want(a, EPOLLOUT);
          if (w < 0) return finish(a, false, errno_text("http send", errno));
          n = static_cast<size_t>(w);
        }
        a.sent += n;
        if (a.sent == a.out.size()) a.stage = Active::kRecv;
        break;
      }
      case Active::kRecv: {
        size_t n = 0;
        bool eof = false;
        if (a.tls) {
          switch (a.tls->read(buf, sizeof(buf), &n)) {
            case TlsSession::kDone: break;
            case TlsSession::kWantRead: return want(a, EPOLLIN);
            case TlsSession::kWantWrite: return want(a, EPOLLOUT);
            case TlsSession::kClosed: eof = true; break;
            case TlsSession::kError: return finish(a, false, "tls read: " + a.tls->error());
          }
        } else {
          ssize_t r = ::recv(a.fd, buf, sizeof(buf), 0);
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return want(a, EPOLLIN);
          if (r < 0 && errno == ECONNRESET) return finish(a, false, "http connection reset");
          if (r < 0) return finish(a, false, errno_text("http recv", errno));
          eof = r == 0;
          n = static_cast<size_t>(r);
        }
        a.in.append(buf, n);
        StatusLine s = parse_status_line(a.in);
        if (s.state == StatusLine::kGarbage) return finish(a, false, "http bad status line");
        if (s.state == StatusLine::kStatus) {
          bool in_range = s.status >= p.http_status_min && s.status <= p.http_status_max;
          return finish(a, in_range, "http status " + std::to_string(s.status));
        }
        if (eof)
          return finish(a, false, a.in.empty() ? "http connection closed without a response"
                                               : "http connection closed before the status line");
        break;
      }
    }
  }
}

void Prober::advance_udp(Active& a, uint32_t events) {
  (void)events;
  const Probe& p = a.probe;
  char buf[65536];
  ssize_t r = ::recv(a.fd, buf, sizeof(buf), 0);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return want(a, EPOLLIN);
  // An ICMP port unreachable comes back as ECONNREFUSED on a connected socket.
  if (r < 0 && errno == ECONNREFUSED) return finish(a, false, "udp port unreachable");
  if (r < 0) return finish(a, false, errno_text("udp recv", errno));
  std::string_view reply(buf, static_cast<size_t>(r));
  bool ok = true;
  switch (p.udp_match) {
    case UdpMatch::kAny: break;
    case UdpMatch::kExact: ok = reply == p.udp_expect; break;
    case UdpMatch::kPrefix: ok = reply.substr(0, p.udp_expect.size()) == p.udp_expect &&
                                 reply.size() >= p.udp_expect.size();
      break;
  }
  finish(a, ok, ok ? "" : "udp reply differs");
}

void Prober::expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Active& a = *active_.at(deadlines_.begin()->second);
    uint32_t timeout_ms = a.probe.timeout_ms;
    std::string ms = std::to_string(timeout_ms) + " ms";
    std::string reason;
    switch (a.stage) {
      case Active::kConnect: reason = "connect timeout after " + ms; break;
      case Active::kHandshake: reason = "tls handshake timeout after " + ms; break;
      case Active::kSend:
      case Active::kRecv:
        reason = a.probe.kind == ProbeKind::kUdp ? "no udp reply within " + ms
                                                 : "no http status within " + ms;
        break;
    }
    stats_.timeouts++;
    finish(a, false, std::move(reason));
    // A timeout's latency is the timeout, not however late process() ran.
    done_.back().latency = milliseconds(timeout_ms);
  }
}

size_t Prober::cancel(uint64_t id) {
  size_t n = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->second->probe.id != id) {
      ++it;
      continue;
    }
    deadlines_.erase({it->second->deadline, it->first});
    it = active_.erase(it);
    n++;
  }
  stats_.cancelled += n;
  return n;
}

size_t Prober::process(std::vector<ProbeResult>& out) {
  // Events first, then deadlines: a reply that is in by now counts, however
  // late this call comes.
  epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(epfd_, evs, 256, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      auto it = active_.find(evs[i].data.u64);
      if (it != active_.end()) advance(*it->second, evs[i].events);
    }
    if (n < 256) break;
  }
  expire(Clock::now());
  size_t count = done_.size();
  for (auto& r : done_) out.push_back(std::move(r));
  done_.clear();
  return count;
}

size_t Prober::wait_and_process(std::vector<ProbeResult>& out, int max_wait_ms) {
  int wait = next_timeout_ms();
  if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms)) wait = max_wait_ms;
  if (wait != 0) {
    epoll_event ev;
    // Only to sleep: process() collects the events.
    int n = epoll_wait(epfd_, &ev, 1, wait);
    (void)n;
  }
  return process(out);
}

int Prober::next_timeout_ms() const {
  if (!done_.empty()) return 0;
  if (deadlines_.empty()) return -1;
  auto left = deadlines_.begin()->first - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Rounded up, so a caller that sleeps this long finds the deadline passed.
  return static_cast<int>(std::chrono::ceil<milliseconds>(left).count());
}

}  // namespace xlb::health
