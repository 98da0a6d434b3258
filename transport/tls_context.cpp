// Loading server and client TLS contexts (tls_context.hpp) with OpenSSL.
#include "transport/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace starling::transport {

namespace {

// The last OpenSSL error as text ("no start line", "key values mismatch").
std::string openssl_error() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0)
    last = code;
  if (last == 0)
    return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(last, text, sizeof(text));
  return text;
}

std::string certificate_summary(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr)
    return "no certificate";
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  std::string out = std::string{"subject="} + subject;
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out += std::string{" serial="} + hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  return out;
}

} // namespace

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<tls_context> tls_context::load(const config::tls_settings& s,
                                               std::string& error) {
  ERR_clear_error();
  std::shared_ptr<tls_context> out{new tls_context};
  out->ctx_ = SSL_CTX_new(TLS_server_method());
  auto* ctx = out->ctx_;
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, s.min_version == "1.3" ? TLS1_3_VERSION
                                                            : TLS1_2_VERSION);
  // Peers that close without close_notify read as a plain EOF; no
  // renegotiation, so a read never has to wait for writability (TLS 1.2).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections give their 2 x 16 KB record buffers back; writes may
  // complete record by record, from a buffer that moved between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
    error = "cannot load the certificate \"" + s.cert_file + "\": "
            + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM)
        != 1
      && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
    error = "cannot load the private key \"" + s.key_file + "\": "
            + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "the private key \"" + s.key_file
            + "\" does not match the certificate \"" + s.cert_file + "\"";
    return nullptr;
  }
  if (!s.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.ca_file.c_str(), nullptr) != 1) {
      error = "cannot load the client CA file \"" + s.ca_file + "\": "
              + openssl_error();
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(s.ca_file.c_str()));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
    // Resumed sessions of verified clients need an id context.
    static const unsigned char id[] = "starling";
    SSL_CTX_set_session_id_context(ctx, id, sizeof(id) - 1);
  }
  out->summary_ = certificate_summary(ctx);
  return out;
}

} // namespace starling::transport
