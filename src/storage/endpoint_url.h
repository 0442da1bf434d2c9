// Endpoint URLs from the user's settings (--s3-endpoint / AWS_ENDPOINT_URL,
// an Azure connection string's BlobEndpoint). An endpoint names where to
// connect, never who connects: "http://KEY:SECRET@host" would put the secret
// into every message that names the endpoint and into the Host header, so
// such a URL is refused, as --repo refuses one, without quoting the secret.
#pragma once

#include <string>

namespace pgvault {

// `url` checked and without trailing '/': http:// or https://, no user info
// (any '@' before the path), no query or fragment. `setting` names where it
// came from in the error ("S3 endpoint (--s3-endpoint, AWS_ENDPOINT_URL)").
// Throws UsageError; the message shows the URL only with its user info
// replaced by "***", and no query at all.
std::string CheckedEndpointUrl(std::string url, const std::string& setting);

// `url` safe to print: user info replaced by "***", query and fragment cut.
std::string RedactedEndpointUrl(const std::string& url);

}  // namespace pgvault
