// Reading the small, flat XML documents object stores answer with
// (ListBucketResult, EnumerationResults, Error, InitiateMultipartUploadResult).
// Not a general XML parser: elements are found by name, never nested in an
// element of the same name, and carry no CDATA. That is all these replies use.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgvault {

// The raw inner text of every <tag ...>...</tag> in `xml`, in order;
// "<tag/>" gives an empty string. "<Blob>" does not match "<Blobs>".
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The first element's text with entities decoded, or nullopt.
std::optional<std::string> XmlFirst(std::string_view xml, std::string_view tag);
// Decodes &amp; &lt; &gt; &quot; &apos; and numeric references.
std::string XmlDecode(std::string_view text);
// Escapes text for an element's content.
std::string XmlEscape(std::string_view text);

}  // namespace pgvault
