// A TLS session on memory BIOs against an OpenSSL client, in memory: the
// handshake, data both ways (also written before the handshake ended), and a
// client that does not speak TLS.

#include "modules/tls/tls.hpp"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace stairkv;

namespace {

// A self-signed certificate and its key, written as PEM files.
void make_certificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  auto* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("stairkv-test"), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(c, cert);
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string{dir != nullptr ? dir : "/tmp"} + "/" + name;
}

// The client side: an OpenSSL client on memory BIOs.
struct client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  client() {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    ssl = SSL_new(ctx);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl);
  }
  ~client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  std::string take_output() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(ssl), buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  void give_input(const std::string& bytes) {
    BIO_write(SSL_get_rbio(ssl), bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string read_plain() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

tls::context_ptr server_context() {
  auto cert = temp_path("cert.pem");
  auto key = temp_path("key.pem");
  make_certificate(cert, key);
  tls::settings s;
  s.cert_file = cert;
  s.key_file = key;
  s.auth_clients = tls::client_auth::no;
  std::string error;
  auto ctx = tls::context::make(s, error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

} // namespace

TEST(Tls, AHandshakeThenDataBothWays) {
  auto ctx = server_context();
  ASSERT_NE(ctx, nullptr);
  tls::session server{ctx};
  client c;
  std::string plain, wire, error;
  server.send("+early\r\n", wire); // queued until the handshake is done
  EXPECT_TRUE(wire.empty());
  // Drive the handshake: each side answers the other's flight.
  for (int round = 0; round < 10 && !(server.established() && SSL_is_init_finished(c.ssl));
       ++round) {
    SSL_do_handshake(c.ssl);
    auto to_server = c.take_output();
    wire.clear();
    ASSERT_TRUE(server.receive(to_server.data(), to_server.size(), plain, wire, error))
      << error;
    c.give_input(wire);
  }
  SSL_do_handshake(c.ssl);
  ASSERT_TRUE(server.established());
  ASSERT_TRUE(SSL_is_init_finished(c.ssl));
  EXPECT_EQ(c.read_plain(), "+early\r\n");

  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  SSL_write(c.ssl, ping.data(), static_cast<int>(ping.size()));
  auto record = c.take_output();
  plain.clear();
  wire.clear();
  ASSERT_TRUE(server.receive(record.data(), record.size(), plain, wire, error)) << error;
  EXPECT_EQ(plain, ping);
  wire.clear();
  server.send("+PONG\r\n", wire);
  c.give_input(wire);
  EXPECT_EQ(c.read_plain(), "+PONG\r\n");
}

TEST(Tls, APlainTextClientFailsTheHandshake) {
  auto ctx = server_context();
  ASSERT_NE(ctx, nullptr);
  tls::session server{ctx};
  std::string plain, wire, error;
  const std::string ping = "PING\r\n*1\r\n$4\r\nPING\r\n";
  EXPECT_FALSE(server.receive(ping.data(), ping.size(), plain, wire, error));
  EXPECT_NE(error.find("handshake"), std::string::npos) << error;
  EXPECT_TRUE(plain.empty());
}

TEST(Tls, BadSettingsAreRefusedWithTheReason) {
  tls::settings s;
  s.cert_file = temp_path("does-not-exist.pem");
  s.key_file = s.cert_file;
  s.auth_clients = tls::client_auth::no;
  std::string error;
  EXPECT_EQ(tls::context::make(s, error), nullptr);
  EXPECT_NE(error.find("tls-cert-file"), std::string::npos) << error;
  s.protocols = "SSLv3";
  EXPECT_EQ(tls::context::make(s, error), nullptr);
  EXPECT_NE(error.find("tls-protocols"), std::string::npos) << error;
}
