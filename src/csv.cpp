// CSV reading: a header row, then rows of numbers. Parsed with std::from_chars (no locale, no
// allocation per field) because the data files run to millions of fields.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "humpty/format.hpp"
#include "humpty/model.hpp"
#include "io.hpp"
#include "names.hpp"
#include "parallel.hpp"
#include "text.hpp"

namespace humpty {
namespace {

// std::from_chars, except that a number too small for T is read as the nearest T (a subnormal,
// or zero with its sign) instead of refused; one too large sets `overflow`.
template <typename T>
std::from_chars_result parse_real(const char* begin, const char* end, T& value, bool& overflow) {
  std::from_chars_result result = std::from_chars(begin, end, value);
  if (result.ec != std::errc::result_out_of_range) return result;
  // In range for a wider type? (A float's underflow is a double's ordinary number.)
  long double wide = 0;
  const std::string text(begin, result.ptr);
  char* stop = nullptr;
  errno = 0;
  wide = std::strtold(text.c_str(), &stop);
  const bool negative_exponent = text.find_first_of("eE") != std::string::npos &&
                                 text.find("-", text.find_first_of("eE")) != std::string::npos;
  if (std::fabs(wide) < 1 && (errno == 0 || negative_exponent)) {
    value = T(wide);  // rounds to a subnormal or to zero
    result.ec = std::errc();
    return result;
  }
  overflow = true;
  return result;
}

// Datasets with more values than this are rejected as likely malformed.
constexpr std::uint64_t kMaxDataValues = std::uint64_t(1) << 31;

struct Line {
  const char* begin;
  const char* end;  // without the line ending
};

// Splits off the next line, dropping a CR before the LF.
Line next_line(const char*& at, const char* end) {
  const char* newline = static_cast<const char*>(std::memchr(at, '\n', std::size_t(end - at)));
  Line line{at, newline ? newline : end};
  at = newline ? newline + 1 : end;
  if (line.end > line.begin && line.end[-1] == '\r') --line.end;
  return line;
}

std::string preview(const char* begin, const char* end) {
  std::size_t n = std::min<std::size_t>(std::size_t(end - begin), 24);
  return std::string(begin, n) + (std::size_t(end - begin) > n ? "..." : "");
}

// Lines [begin, end) of the file, the first of them line `line`, holding data rows from `row` on.
struct Part {
  const char* begin;
  const char* end;
  std::size_t line;
  std::size_t row;
};
constexpr std::size_t kPartBytes = std::size_t(1) << 18;

// Parses one part's rows into data (sized already); the first error in the part, if any.
Status parse_rows(const Part& part, const char* file_end, const std::vector<std::string>& columns,
                  std::size_t pred, std::size_t truth, const std::string& name, Dataset& data) {
  const char* at = part.begin;
  std::size_t line_number = part.line - 1, row = part.row;
  while (at < part.end) {
    Line line = next_line(at, part.end);
    ++line_number;
    if (line.begin == line.end) {
      if (at >= file_end) break;  // a final empty line
      return Status::failure(name + ":" + std::to_string(line_number) + ":1: empty line");
    }
    auto where = [&](const char* p) {
      return name + ":" + std::to_string(line_number) + ":" + std::to_string(p - line.begin + 1) + ": ";
    };
    const char* p = line.begin;
    float* x = data.x.data() + row * data.features;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) {
        if (p == line.end || *p != ',') {
          return Status::failure(where(p) + "expected " + std::to_string(columns.size()) + " fields, got " +
                                 std::to_string(c));
        }
        ++p;
      }
      const char* field = p;
      // A number may be quoted ("1.5"), as R's write.csv quotes row names and Python's csv
      // QUOTE_ALL every field; p then steps over the opening quote.
      const bool in_quotes = p < line.end && *p == '"';
      if (in_quotes) ++p;
      std::from_chars_result parsed{};
      double value = 0;
      bool overflow = false;
      if (c < pred) {
        float f = 0;
        parsed = parse_real(p, line.end, f, overflow);
        value = f;
        x[c] = f;
      } else if ((c >= pred && c < pred + data.outputs) || (c >= truth && c < truth + data.outputs)) {
        parsed = parse_real(p, line.end, value, overflow);
      } else {  // an ignored column: skip to the next comma
        const char* comma = static_cast<const char*>(std::memchr(p, ',', std::size_t(line.end - p)));
        p = comma ? comma : line.end;
        continue;
      }
      // Where the field ends: after the closing quote, if it was quoted.
      const char* after = parsed.ptr;
      const bool closed = !in_quotes || (after < line.end && *after == '"');
      if (in_quotes && closed) ++after;
      const bool ends = closed && (after == line.end || *after == ',');
      if (overflow && ends) {
        return Status::failure(where(field) + "column " + quoted(columns[c]) + ": " + preview(field, after) +
                               " is out of range for " + (c < pred ? "float32" : "float64"));
      }
      if (parsed.ec != std::errc() || !ends) {
        const char* field_end =
            static_cast<const char*>(std::memchr(field, ',', std::size_t(line.end - field)));
        return Status::failure(where(field) + "column " + quoted(columns[c]) + ": expected a number, got '" +
                               preview(field, field_end ? field_end : line.end) + "'");
      }
      if (!std::isfinite(value)) {
        return Status::failure(where(field) + "column " + quoted(columns[c]) + ": " + preview(field, parsed.ptr) +
                               " is not a finite number");
      }
      if (c == pred) data.pred[row] = value;
      if (c > pred && c < pred + data.outputs) data.pred_rest[(c - pred - 1) * data.rows + row] = value;
      if (c == truth) data.truth[row] = value;
      if (c > truth && c < truth + data.outputs) data.truth_rest[(c - truth - 1) * data.rows + row] = value;
      p = after;
    }
    if (p != line.end) {
      return Status::failure(where(p) + "expected " + std::to_string(columns.size()) + " fields, got more");
    }
    ++row;
  }
  return Status();
}

// pandas' DataFrame.to_csv writes the row index first, under an empty name, unless told
// index=False: a column of 0, 1, 2, ... that no network takes as an input. R's write.csv does the
// same with its row names, "1", "2", ..., under the name "" (quoted: `r_style`). A measurement
// column would have a name, and would not count the rows.
void drop_row_index(Dataset& data, bool r_style) {
  const std::size_t width = data.features;
  if (width < 2 || data.feature_names.empty() || !data.feature_names[0].empty()) return;
  const std::size_t first = r_style ? 1 : 0;
  for (std::size_t r = 0; r < data.rows; ++r) {
    const std::size_t k = r + first;
    if (data.x[r * width] != float(k) || float(k) != double(k)) return;  // (exact up to 2^24 rows)
  }
  for (std::size_t r = 0; r < data.rows; ++r) {
    std::copy_n(data.x.begin() + std::ptrdiff_t(r * width + 1), width - 1,
                data.x.begin() + std::ptrdiff_t(r * (width - 1)));
  }
  data.x.resize(data.rows * (width - 1));
  data.features = width - 1;
  data.feature_names.erase(data.feature_names.begin());
  data.index_dropped = true;
}

}  // namespace

Result<Dataset> parse_csv(std::string_view text, const std::string& name, int threads) {
  const char* at = text.data();
  const char* end = text.data() + text.size();
  // A UTF-8 byte order mark (Excel's "CSV UTF-8", Python's utf-8-sig) is not part of the first name.
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) at += 3;
  if (text.empty()) return Status::failure(name + ":1:1: empty file; expected a header row");
  // A file whose lines end in CR alone (classic Mac) would read as one long header line.
  if (const auto cr = text.find('\r'); cr != std::string_view::npos && text.find('\n') == std::string_view::npos &&
                                        cr + 1 < text.size()) {
    return Status::failure(name + ":1:" + std::to_string(cr + 1) + ": lines end with CR alone; use LF or CRLF");
  }
  Line header = next_line(at, end);
  std::vector<std::string> columns;
  bool first_quoted = false;
  for (const char* field = header.begin;;) {
    const char* comma = static_cast<const char*>(std::memchr(field, ',', std::size_t(header.end - field)));
    const char* field_end = comma ? comma : header.end;
    // A name in quotes ("measurement_0", as Python's csv and R quote them) is the name inside;
    // one with a quote or a comma inside it is not read.
    const bool in_quotes = field_end - field >= 2 && *field == '"' && field_end[-1] == '"';
    if (in_quotes) {
      columns.emplace_back(field + 1, field_end - 1);
    } else {
      columns.emplace_back(field, field_end);
    }
    if (columns.size() == 1) first_quoted = in_quotes;
    if (columns.back().find('"') != std::string::npos) {
      return Status::failure(name + ":1:" + std::to_string(field - header.begin + 1) +
                             ": a quoted name with a comma or a quote inside it is not supported");
    }
    if (!comma) break;
    field = comma + 1;
  }
  // `pred`, or pred_0, pred_1, ... side by side for a network of several outputs; after them the
  // target: `true`, or true_0 .. true_{o-1}, all of them side by side.
  std::size_t pred = columns.size(), truth = columns.size(), outputs = 1;
  auto run_of = [&](std::size_t c, const std::string& prefix) {  // columns prefix1, prefix2, ... after c
    std::size_t count = 1;
    while (c + count < columns.size() && columns[c + count] == prefix + std::to_string(count)) ++count;
    return count;
  };
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == "pred" || columns[c] == "pred_0") {
      if (pred != columns.size()) return Status::failure(name + ":1: two 'pred' columns");
      pred = c;
      if (columns[c] == "pred_0") {
        outputs = run_of(c, "pred_");
        if (outputs == 1) {
          return Status::failure(name +
                                 ":1: 'pred_0' but no 'pred_1' right after it (one output is named 'pred')");
        }
        c += outputs - 1;
      }
    } else if (pred != columns.size() && columns[c] == (outputs == 1 ? "true" : "true_0")) {
      if (truth != columns.size()) return Status::failure(name + ":1: two '" + columns[c] + "' columns");
      truth = c;
      if (outputs > 1) {
        const std::size_t targets = run_of(c, "true_");
        if (targets != outputs) {
          return Status::failure(name + ":1:" + std::to_string(c + 1) + ": " + std::to_string(targets) +
                                 " target columns true_0 .. for " + std::to_string(outputs) +
                                 " outputs (give true_0 .. true_" + std::to_string(outputs - 1) +
                                 " side by side, or none)");
        }
        c += targets - 1;
      }
    }
  }
  if (pred == columns.size()) {
    return Status::failure(name +
                           ":1: no 'pred' column in the header (the network's output, "
                           "after the feature columns; pred_0, pred_1, ... for several outputs)");
  }
  if (pred == 0) return Status::failure(name + ":1: no feature columns before 'pred'");

  // Count the rows first so that every buffer is allocated once, at its final size, and cut the
  // lines into parts of about kPartBytes, parsed in parallel. The parts depend on the text alone.
  std::vector<Part> parts{{at, end, 2, 0}};
  std::uint64_t rows = 0;
  std::size_t line_number = 2;
  for (const char* p = at; p < end; ++line_number) {
    if (std::size_t(p - parts.back().begin) >= kPartBytes) {
      parts.back().end = p;
      parts.push_back({p, end, line_number, std::size_t(rows)});
    }
    const char* newline = static_cast<const char*>(std::memchr(p, '\n', std::size_t(end - p)));
    const char* line_end = newline ? newline : end;
    if (line_end > p && !(line_end - p == 1 && *p == '\r')) ++rows;
    p = newline ? newline + 1 : end;
  }
  if (rows == 0) return Status::failure(name + ":2:1: no data rows after the header");
  if (rows * columns.size() > kMaxDataValues) {
    return Status::failure(name + ": " + std::to_string(rows) + " rows of " + std::to_string(columns.size()) +
                           " columns exceed the limit of " + std::to_string(kMaxDataValues) +
                           " values; likely malformed");
  }
  Dataset data;
  data.source = name;
  data.rows = std::size_t(rows);
  data.features = pred;
  data.feature_names.assign(columns.begin(), columns.begin() + std::ptrdiff_t(pred));
  data.x.resize(data.rows * data.features);
  data.pred.resize(data.rows);
  data.outputs = outputs;
  data.pred_rest.resize(data.rows * (outputs - 1));
  if (truth != columns.size()) {
    data.truth.resize(data.rows);
    data.truth_rest.resize(data.rows * (outputs - 1));
  }

  std::vector<Status> errors(parts.size());
  auto parse_part = [&](std::size_t k, int) {
    errors[k] = parse_rows(parts[k], end, columns, pred, truth, name, data);
  };
  if (parts.size() == 1) {
    parse_part(0, 0);
  } else {
    ThreadPool(threads).run(parts.size(), parse_part);
  }
  for (const Status& error : errors) {
    if (!error) return error;  // the first in the file
  }
  drop_row_index(data, first_quoted && data.feature_names[0].empty());
  return data;
}

Result<Dataset> read_csv(const std::string& path, int threads) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.status();
  return parse_csv(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), path,
                   threads);
}

// The CSV writer, beside the reader whose input it must be.
namespace {

void append_float(std::string& out, float value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void append_double(std::string& out, double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

}  // namespace

Status write_csv(const std::string& path, const Dataset& data) {
  if (Status status = check_data_columns(data, path); !status) return status;
  std::string text;
  text.reserve(data.rows * (data.features + 2) * 12 + 64);
  for (std::size_t c = 0; c < data.features; ++c) {
    text += c < data.feature_names.size() ? data.feature_names[c] : "x" + std::to_string(c);
    text += ',';
  }
  if (data.outputs > 1) {
    for (std::size_t j = 0; j < data.outputs; ++j) text += (j ? ",pred_" : "pred_") + std::to_string(j);
    for (std::size_t j = 0; j < data.outputs && data.has_truth(); ++j) text += ",true_" + std::to_string(j);
    text += '\n';
  } else {
    text += data.has_truth() ? "pred,true\n" : "pred\n";
  }
  for (std::size_t r = 0; r < data.rows; ++r) {
    for (std::size_t c = 0; c < data.features; ++c) {
      append_float(text, data.x[r * data.features + c]);
      text += ',';
    }
    append_double(text, data.pred[r]);
    for (std::size_t j = 1; j < data.outputs; ++j) {
      text += ',';
      append_double(text, data.pred_rest[(j - 1) * data.rows + r]);
    }
    if (data.has_truth()) {
      text += ',';
      append_double(text, data.truth[r]);
      for (std::size_t j = 1; j < data.outputs; ++j) {
        text += ',';
        append_double(text, data.truth_rest[(j - 1) * data.rows + r]);
      }
    }
    text += '\n';
  }
  return write_file_atomic(path, text);
}

}  // namespace humpty
