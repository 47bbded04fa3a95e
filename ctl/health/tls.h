// The https check's TLS client over OpenSSL, on a non-blocking socket: every
// call either finishes or says which readiness it waits for, so the prober's
// event loop drives handshakes without a thread each. Certificates are not
// verified: a health check asks "does the server answer", and a backend's
// certificate is for its clients' names, not its address (keepalived's
// SSL_GET and HAProxy's "check-ssl verify none" do the same).
#pragma once
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace xlb::health {

// One per prober: the SSL_CTX every session is made from.
class TlsContext {
 public:
  TlsContext();  // throws SystemError if OpenSSL cannot make a context
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

class TlsSession {
 public:
  enum Io { kDone, kWantRead, kWantWrite, kClosed, kError };
  // sni: the server name to send, empty for none (an address is never sent).
  // verify_host: empty, no verification (the default for checks); else the
  // certificate must chain to the system's CAs and name this host (or IP).
  TlsSession(const TlsContext& ctx, int fd, const std::string& sni, const std::string& verify_host = "");
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  Io handshake();
  // kDone with *n the bytes written or read; kClosed: the peer closed.
  Io write(const char* data, size_t len, size_t* n);
  Io read(char* buf, size_t len, size_t* n);
  // Why the last kError happened, for the probe's reason.
  const std::string& error() const { return error_; }

 private:
  Io result(int ret);
  SSL* ssl_ = nullptr;
  std::string error_;
};

}  // namespace xlb::health
