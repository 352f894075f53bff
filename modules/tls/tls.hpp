#pragma once

// TLS for client connections, with OpenSSL (Debian's libssl): a context made
// from the node's tls-* options, and a session per connection that the
// gateway feeds with the bytes it reads and asks for the bytes to write. The
// session never touches the socket: memory BIOs on both sides, so CAF's
// multiplexer keeps doing all the I/O.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace stairkv::tls {

enum class client_auth { no, yes, optional };

struct settings {
  std::string cert_file;    // the node's certificate chain (PEM)
  std::string key_file;     // its private key (PEM)
  std::string ca_cert_file; // CAs client certificates must chain to
  client_auth auth_clients = client_auth::yes; // tls-auth-clients, as Redis's default
  std::string protocols;    // "TLSv1.2 TLSv1.3" (empty: those two)
  std::string ciphersuites; // TLS 1.3 suites (empty: OpenSSL's)
  std::string ciphers;      // TLS 1.2 cipher list (empty: OpenSSL's)
};

class context {
public:
  // Makes the context; on failure returns null and sets `error` (a file that
  // cannot be read, a key that does not match its certificate, ...).
  static std::shared_ptr<context> make(const settings& s, std::string& error);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  ssl_ctx_st* native() const {
    return ctx_;
  }

private:
  explicit context(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

using context_ptr = std::shared_ptr<const context>;

// One connection's TLS, the server side.
class session {
public:
  explicit session(context_ptr ctx);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Takes `n` bytes read from the socket: appends what they decrypt to to
  // `plain` and what must be sent back (handshake records, alerts) to
  // `wire`. False when the peer broke the protocol or failed the handshake
  // (the connection must close; `error` says why).
  bool receive(const char* data, std::size_t n, std::string& plain, std::string& wire,
               std::string& error);

  // Encrypts `plain` (after the handshake, or queued until it is done):
  // appends the records to send to `wire`.
  void send(std::string_view plain, std::string& wire);

  bool established() const {
    return established_;
  }

private:
  void drain(std::string& wire);
  void flush_pending(std::string& wire);

  context_ptr ctx_;
  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  std::string pending_; // plaintext written before the handshake ended
};

} // namespace stairkv::tls
