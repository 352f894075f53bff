#include "modules/tls/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sstream>
#include <vector>

namespace stairkv::tls {

namespace {

std::string last_error(std::string_view what) {
  std::string out{what};
  unsigned long code = 0;
  char text[256];
  while ((code = ERR_get_error()) != 0) {
    ERR_error_string_n(code, text, sizeof(text));
    out += ": ";
    out += text;
  }
  return out;
}

// "TLSv1.2 TLSv1.3" -> the lowest and highest version allowed.
bool read_protocols(const std::string& text, int& low, int& high) {
  if (text.empty()) {
    low = TLS1_2_VERSION;
    high = TLS1_3_VERSION;
    return true;
  }
  low = 0;
  high = 0;
  std::istringstream in{text};
  for (std::string word; in >> word;) {
    int v = 0;
    if (word == "TLSv1")
      v = TLS1_VERSION;
    else if (word == "TLSv1.1")
      v = TLS1_1_VERSION;
    else if (word == "TLSv1.2")
      v = TLS1_2_VERSION;
    else if (word == "TLSv1.3")
      v = TLS1_3_VERSION;
    else
      return false;
    if (low == 0 || v < low)
      low = v;
    if (v > high)
      high = v;
  }
  return low != 0;
}

} // namespace

std::shared_ptr<context> context::make(const settings& s, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = last_error("cannot make a TLS context");
    return nullptr;
  }
  std::shared_ptr<context> out{new context{ctx}};
  int low = 0, high = 0;
  if (!read_protocols(s.protocols, low, high)) {
    error = "tls-protocols: not a list of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3: " + s.protocols;
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, low);
  SSL_CTX_set_max_proto_version(ctx, high);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
    error = last_error("cannot read tls-cert-file '" + s.cert_file + "'");
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = last_error("cannot read tls-key-file '" + s.key_file + "'");
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = last_error("tls-key-file does not match tls-cert-file");
    return nullptr;
  }
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1) {
    error = last_error("tls-ciphersuites '" + s.ciphersuites + "'");
    return nullptr;
  }
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    error = last_error("tls-ciphers '" + s.ciphers + "'");
    return nullptr;
  }
  if (!s.ca_cert_file.empty()
      && SSL_CTX_load_verify_locations(ctx, s.ca_cert_file.c_str(), nullptr) != 1) {
    error = last_error("cannot read tls-ca-cert-file '" + s.ca_cert_file + "'");
    return nullptr;
  }
  if (s.auth_clients != client_auth::no && s.ca_cert_file.empty()) {
    error = "tls-auth-clients needs tls-ca-cert-file (or tls-auth-clients no)";
    return nullptr;
  }
  int verify = SSL_VERIFY_NONE;
  if (s.auth_clients == client_auth::yes)
    verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  else if (s.auth_clients == client_auth::optional)
    verify = SSL_VERIFY_PEER;
  SSL_CTX_set_verify(ctx, verify, nullptr);
  return out;
}

context::~context() {
  SSL_CTX_free(ctx_);
}

session::session(context_ptr ctx) : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_->native());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, in, out); // the session owns both now
  SSL_set_accept_state(ssl_);
}

session::~session() {
  SSL_free(ssl_);
}

void session::drain(std::string& wire) {
  BIO* out = SSL_get_wbio(ssl_);
  char buf[16384];
  for (;;) {
    int n = BIO_read(out, buf, sizeof(buf));
    if (n <= 0)
      break;
    wire.append(buf, static_cast<std::size_t>(n));
  }
}

void session::flush_pending(std::string& wire) {
  if (pending_.empty())
    return;
  std::string queued;
  queued.swap(pending_);
  send(queued, wire);
}

bool session::receive(const char* data, std::size_t n, std::string& plain,
                      std::string& wire, std::string& error) {
  if (n > 0 && BIO_write(SSL_get_rbio(ssl_), data, static_cast<int>(n)) != static_cast<int>(n)) {
    error = "TLS: cannot buffer input";
    return false;
  }
  if (!established_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int e = SSL_get_error(ssl_, r);
      drain(wire); // an alert for the peer, or the next handshake flight
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return true;
      error = last_error("TLS handshake failed");
      return false;
    }
    established_ = true;
    flush_pending(wire);
  }
  char buf[16384];
  for (;;) {
    int r = SSL_read(ssl_, buf, sizeof(buf));
    if (r > 0) {
      plain.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    drain(wire);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return true;
    if (e == SSL_ERROR_ZERO_RETURN) {
      error = "TLS: the peer closed the session";
      return false;
    }
    error = last_error("TLS read failed");
    return false;
  }
}

void session::send(std::string_view plain, std::string& wire) {
  if (!established_) {
    pending_.append(plain);
    return;
  }
  std::size_t at = 0;
  while (at < plain.size()) {
    int r = SSL_write(ssl_, plain.data() + at, static_cast<int>(plain.size() - at));
    if (r <= 0)
      break; // memory BIOs do not block: only a broken session stops here
    at += static_cast<std::size_t>(r);
    drain(wire);
  }
  drain(wire);
}

} // namespace stairkv::tls
