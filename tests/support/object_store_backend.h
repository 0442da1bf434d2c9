// One object-store backend for pgvault's tests, whatever the server: starts it
// (object_store_server.h) and says how pgvault reaches it — the repository URL
// and the credentials file that carries the endpoint and the secrets, as a
// deployment would give archive_command and restore_command.
#pragma once

#include <memory>
#include <string>

#include "support/object_store_server.h"
#include "support/temp_dir.h"

namespace pgvault::test {

class ObjectStoreBackend {
 public:
  // "swift", "s3rver" or "azurite"; started.
  static std::unique_ptr<ObjectStoreBackend> Start(const std::string& kind);

  const std::string& name() const { return kind_; }
  // S3 endpoint, or Azurite's blob endpoint (".../devstoreaccount1").
  std::string endpoint() const;
  // "s3://pgvault-it/<prefix>" or "azure://pgvault-it/<prefix>".
  std::string Url(const std::string& prefix) const;
  // The credentials file's text: secrets and the endpoint, or `endpoint`
  // instead (a FaultProxy's); `wrong_secret` spoils the secret.
  std::string CredentialsText(const std::string& endpoint = "", bool wrong_secret = false) const;
  // Writes CredentialsText(...) into a file of this backend's temporary
  // directory, mode 0600, owned by postgres (archive_command reads it), and
  // returns its path.
  std::string WriteCredentialsFile(const std::string& name, const std::string& endpoint = "",
                                   bool wrong_secret = false) const;
  // Points this test process's own OpenStorage() at the backend (environment
  // variables), for tests that use the storage layer directly. The backend's
  // destruction unsets them again.
  void UseInThisProcess(const std::string& endpoint = "") const;
  std::string Logs() const;

 private:
  std::string kind_;
  std::unique_ptr<S3Server> s3_;
  std::unique_ptr<AzuriteServer> azurite_;
  std::unique_ptr<TempDir> dir_;
  mutable bool used_in_this_process_ = false;

 public:
  ~ObjectStoreBackend();
};

}  // namespace pgvault::test
