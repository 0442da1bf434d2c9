// Azure Storage connection strings and SharedKey request signatures (the Blob
// service's string-to-sign for version 2009-09-19 and later). Pure functions,
// unit-tested with strings built by hand from Microsoft's description
// ("Authorize with Shared Key") and checked against Azurite, which verifies
// them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgvault {

// What a connection string says about the Blob service.
struct AzureConnection {
  std::string account;        // AccountName; may be empty with a SAS and a BlobEndpoint
  std::string key;            // AccountKey as written (base64); empty with a SAS
  std::string sas_token;      // SharedAccessSignature without a leading '?'
  // "https://ACCOUNT.blob.core.windows.net" or "http://127.0.0.1:10000/devstoreaccount1"; no trailing '/'
  std::string blob_endpoint;
};

// The emulator's (Azurite's) well-known account and key, public by design.
inline constexpr const char* kAzureDevelopmentAccount = "devstoreaccount1";
inline constexpr const char* kAzureDevelopmentKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// Parses "Name=value;Name=value" (names case-insensitive, as the Azure SDKs
// read them; names for other services, e.g. QueueEndpoint, are ignored):
// DefaultEndpointsProtocol, AccountName, AccountKey, BlobEndpoint,
// EndpointSuffix, SharedAccessSignature, UseDevelopmentStorage=true. Without
// BlobEndpoint the endpoint is PROTOCOL://ACCOUNT.blob.SUFFIX (https,
// core.windows.net). Throws UsageError naming AZURE_STORAGE_CONNECTION_STRING,
// never quoting the string (it holds the key).
AzureConnection ParseAzureConnectionString(std::string_view text);

struct SharedKeyRequest {
  std::string method;   // GET HEAD PUT DELETE
  std::string account;  // the account the key belongs to
  // The URL's path exactly as sent, percent-encoded: "/container/blob", or
  // for a path-style endpoint such as the emulator's
  // "/devstoreaccount1/container/blob".
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // decoded names and values
  // Every header sent but Host and Authorization, including Content-Length
  // when one is sent (libcurl sends it for PUT, also "0"), and x-ms-date.
  std::vector<std::pair<std::string, std::string>> headers;
};

// The pieces, exposed for tests and for debugging an AuthenticationFailed
// (Azure's reply quotes the string it signed).
// "x-ms-name:value\n" for every x-ms-* header, names lower-cased and sorted,
// runs of whitespace in values folded to one space.
std::string SharedKeyCanonicalizedHeaders(const std::vector<std::pair<std::string, std::string>>& headers);
// "/ACCOUNT" + path, then "\nname:value" per query parameter, names
// lower-cased and sorted, the values of a repeated name sorted and joined by ','.
std::string SharedKeyCanonicalizedResource(const std::string& account, const std::string& path,
                                           const std::vector<std::pair<std::string, std::string>>& query);
std::string SharedKeyStringToSign(const SharedKeyRequest& request);
// base64(HMAC-SHA256(decoded key, string to sign)); `decoded_key` is the raw key bytes.
std::string SharedKeySignature(std::string_view decoded_key, std::string_view string_to_sign);
// The Authorization header's value: "SharedKey ACCOUNT:SIGNATURE".
std::string SharedKeyAuthorization(std::string_view decoded_key, const SharedKeyRequest& request);

// Now in RFC 1123 form ("Sun, 06 Nov 1994 08:49:37 GMT"), as x-ms-date wants it.
std::string AzureDateNow();

}  // namespace pgvault
