// Manifests and cluster files are bounded: a YAML alias bomb, a document
// nested thousands deep (in YAML or in JSON, which is YAML) and an oversized
// file are refused quickly, in little memory, with an error that names the
// file and the limit, instead of growing until std::bad_alloc.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "api/document_file.h"
#include "api/yaml_json.h"
#include "cluster/cluster_spec.h"
#include "core/error.h"

namespace pgvault {
namespace {

// The 609-byte "billion laughs": x8 stands for 10^9 scalars.
std::string AliasBomb() {
  std::string y = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 8; ++i) {
    y += fmt::format("x{}: &a{} [", i, i);
    for (int j = 0; j < 10; ++j) y += fmt::format("{}*a{}", j ? ", " : "", i - 1);
    y += "]\n";
  }
  return y;
}

long PeakResidentKiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// The error ParseYamlDocuments throws for `text`, "" if none.
std::string ParseError(const std::string& text, const std::string& origin) {
  try {
    ParseYamlDocuments(text, origin);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BoundedYaml, AliasBombIsRefusedFastInLittleMemory) {
  std::string bomb = AliasBomb();
  ASSERT_LT(bomb.size(), 700u);
  long peak_before = PeakResidentKiB();
  auto start = std::chrono::steady_clock::now();
  std::string error = ParseError(bomb, "bomb.yaml");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(error.find("bomb.yaml"), std::string::npos) << error;
  EXPECT_NE(error.find("more than 100000 values"), std::string::npos) << error;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // The peak grows only if the parse went past every earlier peak of this process.
  EXPECT_LT(PeakResidentKiB() - peak_before, 64 * 1024) << "KiB more at the peak";
  // The same through the cluster file.
  try {
    ParseClusterConfig(bomb, "cluster.yaml");
    ADD_FAILURE() << "the bomb parsed as a cluster file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cluster.yaml"), std::string::npos) << e.what();
  }
}

TEST(BoundedYaml, AnAliasedLongScalarCountsAtEachUse) {
  std::string y = "a: &s \"" + std::string(1 << 20, 'x') + "\"\nb: [";
  for (int i = 0; i < 40; ++i) y += (i ? ", *s" : "*s");
  y += "]\n";
  std::string error = ParseError(y, "long.yaml");
  EXPECT_NE(error.find("long.yaml"), std::string::npos) << error.substr(0, 300);
  EXPECT_NE(error.find("16 MiB of text"), std::string::npos) << error.substr(0, 300);
  // Four uses fit.
  EXPECT_EQ(ParseError("a: &s \"" + std::string(1 << 20, 'x') + "\"\nb: [*s, *s, *s]\n", "ok.yaml"), "");
}

TEST(BoundedYaml, DeepNestingIsRefusedWithoutOverflowingTheStack) {
  for (size_t depth : {100u, 100000u}) {
    std::string yaml_flow = std::string(depth, '[') + std::string(depth, ']');
    std::string json_objects;
    for (size_t i = 0; i < depth; ++i) json_objects += "{\"a\": ";
    json_objects += "1" + std::string(depth, '}');
    std::string block;
    for (size_t i = 0; i < std::min<size_t>(depth, 2100); ++i) block += std::string(i, ' ') + "- \n";
    for (const auto& text : {yaml_flow, json_objects, block}) {
      std::string error = ParseError(text, "deep.yaml");
      EXPECT_NE(error.find("deep.yaml"), std::string::npos) << depth << ": " << error;
      EXPECT_NE(error.find("nest more than 64 deep"), std::string::npos) << depth << ": " << error;
    }
  }
  // An alias used inside its own anchor would nest forever.
  std::string error = ParseError("a: &a [x, *a]\n", "self.yaml");
  EXPECT_NE(error.find("self.yaml"), std::string::npos) << error;
  // 64 levels are fine.
  EXPECT_EQ(ParseError(std::string(64, '[') + std::string(64, ']'), "ok.yaml"), "");
}

TEST(BoundedYaml, AnOversizedFileIsRefusedNamingTheFileAndTheLimit) {
  std::string big = "a: \"" + std::string(5 << 20, 'x') + "\"\n";
  std::string error = ParseError(big, "big.yaml");
  EXPECT_NE(error.find("big.yaml"), std::string::npos) << error.substr(0, 300);
  EXPECT_NE(error.find("4 MiB"), std::string::npos) << error.substr(0, 300);

  // Reading stops one byte past the limit, so that the parser refuses it.
  std::string path = ::testing::TempDir() + "/pgvault-big.yaml";
  std::ofstream(path) << big;
  std::string read = ReadDocumentFile(path, YamlLimits{}.max_bytes);
  EXPECT_EQ(read.size(), YamlLimits{}.max_bytes + 1);
  try {
    LoadClusterConfig(path);
    ADD_FAILURE() << "an oversized cluster file was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << std::string(e.what()).substr(0, 300);
    EXPECT_NE(std::string(e.what()).find("4 MiB"), std::string::npos) << std::string(e.what()).substr(0, 300);
  }
  std::remove(path.c_str());
  // A small file is read whole.
  std::ofstream(path) << "a: 1\n";
  EXPECT_EQ(ReadDocumentFile(path, YamlLimits{}.max_bytes), "a: 1\n");
  std::remove(path.c_str());
}

// fuzz/apply_document_fuzzer (a 70-byte mutation of a Cluster manifest):
// yaml-cpp 0.7's LoadAll loops forever on a stream it cannot read past (',' at
// the start of a document: yaml-cpp issue 1040), taking 1 GB a second. Each is
// refused at once, naming the place; several documents still read.
TEST(BoundedYaml, AStreamTheParserCannotReadPastIsRefusedInsteadOfLoopingForever) {
  for (const std::string& text : {std::string(","), std::string(",a\n x\n"),
                                 std::string(",a\xe8\xff\xff\xffrsion: pos\n \xff\xff\xffo\xfft\xfflu*ster:\n"
                                             "    neme: echo-postgresql\n"),
                                 std::string("kind: Backup\n---\n,\n")}) {
    auto start = std::chrono::steady_clock::now();
    std::string error = ParseError(text, "loop.yaml");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_NE(error.find("loop.yaml line"), std::string::npos) << error;
    EXPECT_NE(error.find("not valid YAML"), std::string::npos) << error;
  }
  auto docs = ParseYamlDocuments("---\n---\na: 1\n---\nb: 2\n---\n", "ok.yaml");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["b"], 2);
}

}  // namespace
}  // namespace pgvault
