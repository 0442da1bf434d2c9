#include "support/object_store_backend.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace pgvault::test {

std::unique_ptr<ObjectStoreBackend> ObjectStoreBackend::Start(const std::string& kind) {
  auto backend = std::unique_ptr<ObjectStoreBackend>(new ObjectStoreBackend);
  backend->kind_ = kind;
  backend->dir_ = std::make_unique<TempDir>("pgvault-objstore-creds");
  if (kind == "swift") backend->s3_ = std::make_unique<SwiftS3Server>();
  else if (kind == "s3rver") backend->s3_ = std::make_unique<S3rverServer>();
  else if (kind == "azurite") backend->azurite_ = std::make_unique<AzuriteServer>();
  else throw std::invalid_argument("unknown object-store backend " + kind);
  return backend;
}

std::string ObjectStoreBackend::endpoint() const { return s3_ ? s3_->endpoint() : azurite_->blob_endpoint(); }

std::string ObjectStoreBackend::Url(const std::string& prefix) const {
  return std::string(s3_ ? "s3" : "azure") + "://pgvault-it/" + prefix;
}

std::string ObjectStoreBackend::CredentialsText(const std::string& endpoint, bool wrong_secret) const {
  std::string target = endpoint.empty() ? this->endpoint() : endpoint;
  if (s3_) {
    return "AWS_ACCESS_KEY_ID=" + s3_->access_key() + "\nAWS_SECRET_ACCESS_KEY=" + s3_->secret_key() +
           (wrong_secret ? "-wrong" : "") + "\nAWS_ENDPOINT_URL=" + target + "\n";
  }
  std::string key = azurite_->key();
  if (wrong_secret) key = "AAAA" + key.substr(4);
  return "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=" + azurite_->account() +
         ";AccountKey=" + key + ";BlobEndpoint=" + target + ";\n";
}

std::string ObjectStoreBackend::WriteCredentialsFile(const std::string& name, const std::string& endpoint,
                                                     bool wrong_secret) const {
  std::string path = *dir_ / name;
  std::ofstream(path) << CredentialsText(endpoint, wrong_secret);
  ::chmod(path.c_str(), 0600);
  ChownToPostgres(path);
  return path;
}

ObjectStoreBackend::~ObjectStoreBackend() {
  if (!used_in_this_process_) return;
  for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AZURE_STORAGE_CONNECTION_STRING"})
    ::unsetenv(name);
}

void ObjectStoreBackend::UseInThisProcess(const std::string& endpoint) const {
  used_in_this_process_ = true;
  ::unsetenv("PGVAULT_REPO_CREDENTIALS");
  std::string target = endpoint.empty() ? this->endpoint() : endpoint;
  if (s3_) {
    ::setenv("AWS_ACCESS_KEY_ID", s3_->access_key().c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", s3_->secret_key().c_str(), 1);
    ::setenv("AWS_ENDPOINT_URL", target.c_str(), 1);
  } else {
    std::string connection = "DefaultEndpointsProtocol=http;AccountName=" + azurite_->account() +
                             ";AccountKey=" + azurite_->key() + ";BlobEndpoint=" + target + ";";
    ::setenv("AZURE_STORAGE_CONNECTION_STRING", connection.c_str(), 1);
  }
}

std::string ObjectStoreBackend::Logs() const { return s3_ ? s3_->Logs() : azurite_->Logs(); }

}  // namespace pgvault::test
