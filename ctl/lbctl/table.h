// Column-aligned text tables: every column as wide as its widest cell, two
// spaces between columns, numbers right-aligned so their digits line up.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace xlb::lbctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);
  // cells.size() must equal the number of columns.
  void add_row(std::vector<std::string> cells);
  // Header and rows, each line prefixed with indent; no trailing blanks.
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  void print_line(std::ostream& out, const std::string& indent, const std::vector<std::string>& cells,
                  const std::vector<size_t>& widths) const;

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace xlb::lbctl
