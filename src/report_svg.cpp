// The run's report as one self-contained SVG picture, drawn by hand: no fonts or scripts beyond
// what every SVG viewer has. Four panels: the pairing score matrix (chosen pairs outlined),
// ||W_out||_F and the out-bias step lengths along the order, and the search's best MSE against
// time on a log scale.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "humpty/report.hpp"
#include "text.hpp"

namespace humpty {
namespace {

constexpr double kWidth = 1000, kHeight = 720;

std::string escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';  // not allowed in XML 1.0
    } else {
      out += char(c);
    }
  }
  return out;
}

// A perceptually ordered ramp (dark blue -> green -> yellow) for t in [0, 1].
std::string ramp(double t) {
  static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int k = std::min(3, int(t));
  const double f = t - k;
  int rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = int(std::lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c])));
  return format_text("#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

struct Svg {
  std::string text;
  void add(const std::string& line) { text += line + "\n"; }
  void label(double x, double y, const std::string& s, const char* anchor = "start", int size = 12,
             const char* extra = "") {
    add(format_text("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"%s>", x, y, size, anchor,
                    extra) +
        escape(s) + "</text>");
  }
};

// A line plot of values against their index, in the box (x, y, w, h), with its axes.
void line_plot(Svg& svg, const char* id, double x, double y, double w, double h, const std::vector<double>& v,
               const std::string& title, const std::string& x_label, const std::string& y_label,
               const char* colour) {
  svg.add(format_text("<g id=\"%s\">", id));
  svg.label(x + w / 2, y - 8, title, "middle", 13, " font-weight=\"bold\"");
  svg.add(format_text("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>",
                      x, y, w, h));
  svg.label(x + w / 2, y + h + 30, x_label, "middle");
  svg.label(x - 48, y + h / 2, y_label, "middle", 12,
            format_text(" transform=\"rotate(-90 %.1f %.1f)\"", x - 48, y + h / 2).c_str());
  if (v.empty()) {
    svg.label(x + w / 2, y + h / 2, "nothing to show", "middle");
    svg.add("</g>");
    return;
  }
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  auto px = [&](std::size_t i) { return x + (v.size() == 1 ? w / 2 : w * double(i) / double(v.size() - 1)); };
  auto py = [&](double value) { return y + h - h * (value - lo) / (hi - lo); };
  for (int t = 0; t <= 4; ++t) {
    const double value = lo + (hi - lo) * t / 4;
    svg.add(format_text("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", x, py(value),
                        x + w, py(value)));
    svg.label(x - 4, py(value) + 4, format_text("%.3g", value), "end", 10);
  }
  const std::size_t ticks = std::min<std::size_t>(v.size(), 7);
  for (std::size_t t = 0; t < ticks; ++t) {
    const std::size_t i = ticks == 1 ? 0 : t * (v.size() - 1) / (ticks - 1);
    svg.label(px(i), y + h + 14, std::to_string(i), "middle", 10);
  }
  std::string points;
  for (std::size_t i = 0; i < v.size(); ++i) points += format_text("%.1f,%.1f ", px(i), py(v[i]));
  // (format_text is for short lines: it cuts at 512 characters.)
  svg.add(std::string("<polyline fill=\"none\" stroke=\"") + colour + "\" stroke-width=\"1.5\" points=\"" + points +
          "\"/>");
  for (std::size_t i = 0; i < v.size(); ++i) {
    svg.add(format_text("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>", px(i), py(v[i]), colour));
  }
  svg.add("</g>");
}

void heat_map(Svg& svg, double x, double y, double size, const Puzzle& puzzle, const Pairing& pairing,
              const std::vector<Block>& assembly) {
  const std::size_t n = pairing.blocks.size();
  svg.add("<g id=\"pairing\">");
  svg.label(x + size / 2, y - 8, "pairing score |tr(P)|/||P||_F, P = W_out W_in", "middle", 13,
            " font-weight=\"bold\"");
  svg.label(x + size / 2, y + size + 30, "out piece (ascending piece number)", "middle");
  svg.label(x - 30, y + size / 2, "inp piece (ascending piece number)", "middle", 12,
            format_text(" transform=\"rotate(-90 %.1f %.1f)\"", x - 30, y + size / 2).c_str());
  if (n == 0 || pairing.table.size() != n * n) {
    svg.label(x + size / 2, y + size / 2, "no pairing", "middle");
    svg.add("</g>");
    return;
  }
  double hi = 0;
  for (double s : pairing.table) hi = std::max(hi, std::isfinite(s) ? s : 0.0);
  if (!(hi > 0)) hi = 1;
  const double cell = size / double(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t o = 0; o < n; ++o) {
      svg.add(format_text("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
                          x + cell * double(o), y + cell * double(i), cell + 0.05, cell + 0.05,
                          ramp(pairing.table[i * n + o] / hi).c_str()));
    }
  }
  // The table's rows and columns: the puzzle's inp and out pieces, or for square blocks those of
  // the roles the solve ended with (the pairing was scored with them).
  std::vector<int> inps = puzzle.inp_pieces, outs = puzzle.out_pieces;
  if (puzzle.square && assembly.size() == n) {
    inps.clear();
    outs.clear();
    for (const Block& block : assembly) {
      inps.push_back(block.inp);
      outs.push_back(block.out);
    }
    std::sort(inps.begin(), inps.end());
    std::sort(outs.begin(), outs.end());
  }
  // The chosen pairs, outlined: blue when given (--pairs), else white when sure, red when not.
  for (std::size_t i = 0; i < n; ++i) {
    const auto o = std::size_t(std::find(outs.begin(), outs.end(), pairing.blocks[i].out) - outs.begin());
    const bool given = i < pairing.is_given.size() && pairing.is_given[i];
    svg.add(format_text(
        "<rect class=\"chosen\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
        "stroke=\"%s\" stroke-width=\"%.2f\"/>",
        x + cell * double(o), y + cell * double(i), cell, cell,
        given                ? "#2060ff"
        : pairing.is_sure[i] ? "#ffffff"
                             : "#ff2020",
        std::max(1.0, cell / 6)));
  }
  // The pairs of the reported assembly (where the data may have overruled the score): dots.
  for (const Block& block : assembly) {
    const auto i = std::size_t(std::find(inps.begin(), inps.end(), block.inp) - inps.begin());
    const auto o = std::size_t(std::find(outs.begin(), outs.end(), block.out) - outs.begin());
    if (i >= n || o >= n) continue;
    svg.add(format_text("<circle class=\"assembled\" cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"#000000\"/>",
                        x + cell * (double(o) + 0.5), y + cell * (double(i) + 0.5), std::max(1.0, cell / 5)));
  }
  svg.add(format_text("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>", x,
                      y, size, size));
  // Colour bar.
  const double bx = x + size + 12;
  for (int k = 0; k < 50; ++k) {
    svg.add(format_text("<rect x=\"%.1f\" y=\"%.2f\" width=\"12\" height=\"%.2f\" fill=\"%s\"/>", bx,
                        y + size - size * (k + 1) / 50.0, size / 50.0 + 0.05, ramp((k + 0.5) / 50.0).c_str()));
  }
  svg.label(bx + 16, y + 10, format_text("%.2f", hi), "start", 10);
  svg.label(bx + 16, y + size, "0", "start", 10);
  svg.label(
      x, y + size + 48,
      pairing.given > 0
          ? format_text("pairs outlined: %zu given (blue); of the score's, sure white, red not; dots: the "
                        "answer's pairs",
                        pairing.given)
          : format_text("score's pairs outlined: %zu of %zu sure (white), red: not; dots: the answer's pairs",
                        pairing.sure, n),
      "start", 11);
  svg.add("</g>");
}

void mse_plot(Svg& svg, double x, double y, double w, double h, const SolveReport& report) {
  svg.add("<g id=\"search\">");
  svg.label(x + w / 2, y - 8, "search: best MSE against pred (subset rows) over time", "middle", 13,
            " font-weight=\"bold\"");
  svg.add(format_text("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>",
                      x, y, w, h));
  svg.label(x + w / 2, y + h + 30, "seconds since the search started", "middle");
  svg.label(x - 48, y + h / 2, "best MSE (log)", "middle", 12,
            format_text(" transform=\"rotate(-90 %.1f %.1f)\"", x - 48, y + h / 2).c_str());
  std::vector<TracePoint> trace = report.searched ? report.search.trace : std::vector<TracePoint>();
  if (trace.empty()) {
    svg.label(x + w / 2, y + h / 2, report.has_data ? "no search was needed" : "no data: no search", "middle");
    svg.add("</g>");
    return;
  }
  // The end of the run as a last point, so that the line reaches the stop.
  trace.push_back({report.search.seconds, trace.back().mse});
  const double floor_mse = 1e-18;
  double lo = 1e300, hi = 0, t_end = std::max(report.search.seconds, 1e-3);
  for (const auto& p : trace) {
    lo = std::min(lo, std::max(p.mse, floor_mse));
    hi = std::max(hi, std::max(p.mse, floor_mse));
  }
  if (report.has_data) lo = std::min(lo, std::max(report.fit.tolerance, floor_mse));
  double d_lo = std::floor(std::log10(lo)), d_hi = std::ceil(std::log10(hi));
  if (d_hi <= d_lo) d_hi = d_lo + 1;
  auto px = [&](double t) { return x + w * std::clamp(t / t_end, 0.0, 1.0); };
  auto py = [&](double m) { return y + h - h * (std::log10(std::max(m, floor_mse)) - d_lo) / (d_hi - d_lo); };
  const int step = std::max(1, int(std::ceil((d_hi - d_lo) / 8)));
  for (int d = int(d_lo); d <= int(d_hi); d += step) {
    svg.add(format_text("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", x,
                        py(std::pow(10.0, d)), x + w, py(std::pow(10.0, d))));
    svg.label(x - 4, py(std::pow(10.0, d)) + 4, format_text("1e%d", d), "end", 10);
  }
  for (int t = 0; t <= 5; ++t) svg.label(x + w * t / 5, y + h + 14, format_text("%.3g", t_end * t / 5), "middle", 10);
  if (report.has_data && report.fit.tolerance > 0) {
    const double ty = py(report.fit.tolerance);
    svg.add(format_text("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2a2\" "
                        "stroke-dasharray=\"6 4\"/>",
                        x, ty, x + w, ty));
    svg.label(x + w - 4, ty - 4,
              report.fit.stored_bits == 23
                  ? std::string("float rounding: exact below this line")
                  : std::string(stored_format(report.fit)) + " storage: exact below this line",
              "end", 10, " fill=\"#2a2\"");
  }
  std::string points;
  for (std::size_t k = 0; k < trace.size(); ++k) {
    // A staircase: the best stays until the next one is found.
    if (k > 0) points += format_text("%.1f,%.1f ", px(trace[k].seconds), py(trace[k - 1].mse));
    points += format_text("%.1f,%.1f ", px(trace[k].seconds), py(trace[k].mse));
  }
  svg.add("<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"1.5\" points=\"" + points + "\"/>");
  svg.add("</g>");
}

}  // namespace

std::string report_svg(const Puzzle& puzzle, const SolveReport& report, const ReportContext& context) {
  Svg svg;
  svg.add(format_text("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">",
                      kWidth, kHeight, kWidth, kHeight));
  svg.add("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
  svg.add("<g id=\"title\">");
  // Labels built from inputs go through escape(); only short fixed-format lines use format_text.
  svg.label(20, 26,
            "humpty " + context.command + ": " + puzzle.source + " (" + std::to_string(puzzle.blocks()) +
                " blocks, d=" + std::to_string(puzzle.dim) + ", h=" + std::to_string(puzzle.hidden) + ")",
            "start", 16, " font-weight=\"bold\"");
  std::string verdict = context.verdict;
  if (report.has_data) verdict += format_text(" (MSE vs pred %.3g over %zu rows)", report.fit.mse_pred, report.fit.rows);
  svg.label(20, 46, verdict, "start", 13, context.proven ? " fill=\"#1a7f1a\"" : " fill=\"#b02020\"");
  svg.label(20, 64, report.sha256.empty() ? "no answer" : "sha256 " + report.sha256, "start", 12,
            " font-family=\"monospace\"");
  svg.add("</g>");

  heat_map(svg, 70, 100, 340, puzzle, report.pairing, report.assembly.blocks);

  // Along the order: the assembly's, else the chain's.
  const std::vector<Block>& order = !report.assembly.blocks.empty() ? report.assembly.blocks : report.chain.order;
  std::vector<double> norms, steps;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Layer& out = puzzle.pieces[std::size_t(order[k].out)];
    double sum = 0;
    for (float v : out.weight) sum += double(v) * v;
    norms.push_back(std::sqrt(sum));
    if (k > 0) {
      const Layer& prev = puzzle.pieces[std::size_t(order[k - 1].out)];
      double d = 0;
      for (std::size_t r = 0; r < out.bias.size(); ++r) {
        const double diff = double(out.bias[r]) - double(prev.bias[r]);
        d += diff * diff;
      }
      steps.push_back(std::sqrt(d));
    }
  }
  line_plot(svg, "norms", 530, 100, 440, 130, norms, "||W_out||_F along the order", "position", "||W_out||_F",
            "#1f5fbf");
  const bool biases = std::all_of(order.begin(), order.end(),
                                  [&](const Block& b) { return puzzle.pieces[std::size_t(b.out)].has_bias; });
  line_plot(svg, "bias-steps", 530, 300, 440, 130, steps,
            biases ? "out-bias step ||b_out(k+1) - b_out(k)|| along the order"
                   : "out-bias steps: none, the out layers have no bias",
            "step k -> k+1", "step length", "#b8651b");
  mse_plot(svg, 90, 540, 880, 130, report);
  svg.add("</svg>");
  return svg.text;
}

}  // namespace humpty
