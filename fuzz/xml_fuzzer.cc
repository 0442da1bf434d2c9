// libFuzzer target: XmlElements, XmlFirst and XmlDecode, the replies (listings, errors) of S3 and Azure servers.
#include "storage/xml_reader.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] {
    for (const char* tag : {"Contents", "Blob", "Upload"}) {
      for (std::string_view element : pgvault::XmlElements(xml, tag)) {
        pgvault::XmlFirst(element, "Key");
        pgvault::XmlFirst(element, "Name");
      }
    }
    pgvault::XmlFirst(xml, "Code");
    pgvault::XmlFirst(xml, "Message");
    pgvault::XmlDecode(xml);
  });
  return 0;
}
