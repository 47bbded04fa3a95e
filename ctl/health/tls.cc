#include "health/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace xlb::health {

TlsContext::TlsContext() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw SystemError("SSL_CTX_new failed");
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  // The system's CAs, for checks that ask for verification (per session).
  SSL_CTX_set_default_verify_paths(ctx_);
  // A check is one short connection: no session cache, no tickets to store.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(const TlsContext& ctx, int fd, const std::string& sni, const std::string& verify_host) {
  ssl_ = SSL_new(ctx.get());
  if (!ssl_) throw SystemError("SSL_new failed");
  if (!verify_host.empty()) {
    SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
    if (SSL_set1_host(ssl_, verify_host.c_str()) != 1) {
      SSL_free(ssl_);
      throw SystemError("cannot verify against host " + verify_host);
    }
  }
  SSL_set_fd(ssl_, fd);
  SSL_set_connect_state(ssl_);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
}

TlsSession::~TlsSession() {
  // No close_notify: the socket is closed (reset) right after, and a check
  // that waited for the peer's close_notify would only cost time.
  SSL_free(ssl_);
}

TlsSession::Io TlsSession::result(int ret) {
  int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ: return kWantRead;
    case SSL_ERROR_WANT_WRITE: return kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return kClosed;
    case SSL_ERROR_SYSCALL: {
      int e = errno;
      ERR_clear_error();
      if (ret == 0 || e == 0) return kClosed;  // EOF without close_notify
      error_ = std::strerror(e);
      return kError;
    }
    default: {
      unsigned long code = ERR_get_error();
      char buf[256] = "unknown TLS error";
      if (code) ERR_error_string_n(code, buf, sizeof(buf));
      ERR_clear_error();
      error_ = buf;
      return kError;
    }
  }
}

TlsSession::Io TlsSession::handshake() {
  int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? kDone : result(ret);
}

TlsSession::Io TlsSession::write(const char* data, size_t len, size_t* n) {
  *n = 0;
  int ret = SSL_write_ex(ssl_, data, len, n);
  return ret == 1 ? kDone : result(ret);
}

TlsSession::Io TlsSession::read(char* buf, size_t len, size_t* n) {
  *n = 0;
  int ret = SSL_read_ex(ssl_, buf, len, n);
  return ret == 1 ? kDone : result(ret);
}

}  // namespace xlb::health
