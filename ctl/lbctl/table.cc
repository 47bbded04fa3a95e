#include "lbctl/table.h"

#include <algorithm>
#include <cassert>

namespace xlb::lbctl {

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  assert(cells.size() == columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out, const std::string& indent) const {
  std::vector<size_t> widths;
  std::vector<std::string> headers;
  for (const Column& column : columns_) {
    widths.push_back(column.header.size());
    headers.push_back(column.header);
  }
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());

  print_line(out, indent, headers, widths);
  for (const auto& row : rows_) print_line(out, indent, row, widths);
}

void Table::print_line(std::ostream& out, const std::string& indent, const std::vector<std::string>& cells,
                       const std::vector<size_t>& widths) const {
  std::string line = indent;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += "  ";
    std::string padding(widths[i] - cells[i].size(), ' ');
    line += columns_[i].align == Align::kRight ? padding + cells[i] : cells[i] + padding;
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out << line << '\n';
}

}  // namespace xlb::lbctl
