// Column-aligned text tables in kubectl's style (upper-case headers, columns
// separated by three spaces), for `get` and `status`.
#pragma once

#include <string>
#include <vector>

namespace pgvault {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// kubectl's AGE column: 45s, 12m, 3h, 5d, from a duration in seconds.
std::string FormatAge(double seconds);

}  // namespace pgvault
