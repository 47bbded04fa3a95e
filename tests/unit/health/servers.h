// Servers the prober tests check, in the test process, on 127.0.0.1 or ::1
// at ports the kernel picks free at bind time. Each runs a thread of its own
// that ends when the server is destroyed.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/endpoint.h"

namespace xlb::health::test {

// True if the loopback has this family (::1 may be absent in a container).
bool loopback_has(int family);
Endpoint loopback(int family, uint16_t port);

// A socket bound to a free loopback port; listening if backlog >= 0.
int bound_socket(int family, int type, uint16_t* port, int backlog = -1);

// Accepts connections one at a time and hands each (blocking) to the
// handler, with a descriptor that becomes readable when the server stops.
class StreamServer {
 public:
  using Handler = std::function<void(StreamServer& self, int fd, int stop_fd)>;
  StreamServer(int family, Handler handler, int backlog = 128);
  ~StreamServer();
  Endpoint endpoint() const { return loopback(family_, port_); }
  uint16_t port() const { return port_; }
  // The last request received by a handler below (up to its blank line).
  std::string last_request() const;
  std::string last_peer() const;  // the address the last client came from
  void record(const std::string& request);

 private:
  int family_;
  uint16_t port_ = 0;
  int fd_ = -1;
  int stop_fd_ = -1;
  Handler handler_;
  mutable std::mutex mu_;
  std::string last_request_;
  std::string last_peer_;
  std::thread thread_;
};

// Handlers: read the request up to its blank line, then answer.
// Both record the request (the server records each client's address).
StreamServer::Handler http_reply(std::string response);
// Write the response at once, without reading (a banner), then close.
StreamServer::Handler greet(std::string response);
// Read the request, then say nothing until the server stops.
StreamServer::Handler silent();

// Answers each datagram with what reply() returns (nothing: no answer).
class UdpServer {
 public:
  using Reply = std::function<std::optional<std::string>(const std::string&)>;
  UdpServer(int family, Reply reply);
  ~UdpServer();
  Endpoint endpoint() const { return loopback(family_, port_); }

 private:
  int family_;
  uint16_t port_ = 0;
  int fd_ = -1;
  int stop_fd_ = -1;
  Reply reply_;
  std::thread thread_;
};

// TLS in front of an http_reply-like answer, with a self-signed certificate
// made at start. Records the SNI the client sent.
class TlsServer {
 public:
  explicit TlsServer(std::string response);
  ~TlsServer();
  Endpoint endpoint() const { return server_->endpoint(); }
  std::string last_sni() const;

 private:
  void* ctx_ = nullptr;  // SSL_CTX
  std::string response_;
  mutable std::mutex mu_;
  std::string sni_;
  std::unique_ptr<StreamServer> server_;
};

}  // namespace xlb::health::test
