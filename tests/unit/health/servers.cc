#include "servers.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace xlb::health::test {

namespace {

sockaddr_storage any_loopback(int family, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof(*s);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_addr = in6addr_loopback;
    *len = sizeof(*s);
  }
  return ss;
}

std::string address_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
  return buf;
}

// Waits until fd is readable or the server stops; false if it stopped.
bool wait_readable(int fd, int stop_fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return false;
    if (fds[0].revents) return true;
  }
}

// Reads up to the end of the request's headers (or EOF, or stop).
std::string read_request(int fd, int stop_fd) {
  std::string in;
  char buf[1024];
  while (in.find("\r\n\r\n") == std::string::npos && wait_readable(fd, stop_fd)) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    in.append(buf, n);
  }
  return in;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += n;
  }
}

}  // namespace

bool loopback_has(int family) {
  uint16_t port = 0;
  int fd = bound_socket(family, SOCK_DGRAM, &port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

Endpoint loopback(int family, uint16_t port) {
  Endpoint ep;
  ep.ip = IpAddr::parse(family == AF_INET ? "127.0.0.1" : "::1");
  ep.port = port;
  return ep;
}

int bound_socket(int family, int type, uint16_t* port, int backlog) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t len;
  sockaddr_storage ss = any_loopback(family, 0, &len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 ||
      (backlog >= 0 && listen(fd, backlog) < 0) ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

StreamServer::StreamServer(int family, Handler handler, int backlog)
    : family_(family), handler_(std::move(handler)) {
  fd_ = bound_socket(family, SOCK_STREAM, &port_, backlog);
  if (fd_ < 0) throw std::runtime_error("StreamServer: cannot listen");
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] {
    while (wait_readable(fd_, stop_fd_)) {
      // The peer from accept itself: a probe that has reset the connection
      // already leaves getpeername nothing to say.
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      int c = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_peer_ = address_text(peer);
      }
      if (handler_) handler_(*this, c, stop_fd_);
      close(c);
    }
  });
}

StreamServer::~StreamServer() {
  uint64_t one = 1;
  ssize_t n = write(stop_fd_, &one, sizeof(one));
  (void)n;
  thread_.join();
  close(fd_);
  close(stop_fd_);
}

std::string StreamServer::last_request() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_;
}

std::string StreamServer::last_peer() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_peer_;
}

void StreamServer::record(const std::string& request) {
  std::lock_guard<std::mutex> lock(mu_);
  last_request_ = request;
}

StreamServer::Handler http_reply(std::string response) {
  return [response](StreamServer& self, int fd, int stop_fd) {
    std::string req = read_request(fd, stop_fd);
    self.record(req);
    write_all(fd, response);
  };
}

StreamServer::Handler greet(std::string response) {
  return [response](StreamServer&, int fd, int) { write_all(fd, response); };
}

StreamServer::Handler silent() {
  return [](StreamServer&, int fd, int stop_fd) {
    std::string req = read_request(fd, stop_fd);
    pollfd p{stop_fd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
  };
}

UdpServer::UdpServer(int family, Reply reply) : family_(family), reply_(std::move(reply)) {
  fd_ = bound_socket(family, SOCK_DGRAM, &port_);
  if (fd_ < 0) throw std::runtime_error("UdpServer: cannot bind");
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] {
    char buf[65536];
    while (wait_readable(fd_, stop_fd_)) {
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      auto answer = reply_(std::string(buf, n));
      if (answer)
        sendto(fd_, answer->data(), answer->size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  });
}

UdpServer::~UdpServer() {
  uint64_t one = 1;
  ssize_t n = write(stop_fd_, &one, sizeof(one));
  (void)n;
  thread_.join();
  close(fd_);
  close(stop_fd_);
}

TlsServer::TlsServer(std::string response) : response_(std::move(response)) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("xlb-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  ctx_ = ctx;
  server_ = std::make_unique<StreamServer>(AF_INET, [this](StreamServer&, int fd, int stop_fd) {
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      {
        std::lock_guard<std::mutex> lock(mu_);
        sni_ = sni ? sni : "";
      }
      std::string in;
      char buf[1024];
      while (in.find("\r\n\r\n") == std::string::npos) {
        if (SSL_pending(ssl) == 0 && !wait_readable(fd, stop_fd)) break;
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0) break;
        in.append(buf, n);
      }
      SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
    }
    SSL_free(ssl);
  });
}

TlsServer::~TlsServer() {
  server_.reset();
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::string TlsServer::last_sni() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sni_;
}

}  // namespace xlb::health::test
