// The run's report as JSON: one object, fields in a fixed order, so that the same run gives the
// same text (apart from the seconds).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "humpty/humpty.hpp"
#include "humpty/report.hpp"

namespace humpty {
namespace {

// A small append-only JSON writer: commas and nesting are tracked, strings escaped.
class Json {
 public:
  std::string text;

  void open(const char* key, char bracket) {
    field(key);
    text += bracket;
    first_ = true;
  }
  void close(char bracket) {
    text += bracket;
    first_ = false;
  }
  void string(const char* key, const std::string& value) {
    field(key);
    quote(value);
  }
  void number(const char* key, double value) {
    field(key);
    if (!std::isfinite(value)) {
      text += "null";
      return;
    }
    // The shortest text that reads back as the same double.
    char buffer[32];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    text.append(buffer, result.ptr);
  }
  void integer(const char* key, unsigned long long value) {
    field(key);
    text += std::to_string(value);
  }
  void boolean(const char* key, bool value) {
    field(key);
    text += value ? "true" : "false";
  }
  void null(const char* key) {
    field(key);
    text += "null";
  }

 private:
  bool first_ = true;

  // key == nullptr: an array element.
  void field(const char* key) {
    if (!first_) text += ',';
    first_ = false;
    if (key) {
      quote(key);
      text += ':';
    }
  }
  void quote(const std::string& value) {
    text += '"';
    for (unsigned char c : value) {
      if (c == '"' || c == '\\') {
        text += '\\';
        text += char(c);
      } else if (c < 0x20 || c == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        text += escaped;
      } else {
        text += char(c);  // bytes >= 0x80 pass as they are: paths are the user's own
      }
    }
    text += '"';
  }
};

void write_fit(Json& json, const Fit& fit) {
  json.open("fit", '{');
  json.integer("rows", fit.rows);
  json.number("mse_pred", fit.mse_pred);
  if (fit.mse_rest >= 0) {  // only with several outputs: outputs 1.. and their rounding level
    json.number("mse_pred_rest", fit.mse_rest);
    json.number("tolerance_rest", fit.tolerance_rest);
  }
  if (fit.mse_true >= 0) {
    json.number("mse_true", fit.mse_true);
  } else {
    json.null("mse_true");
  }
  json.number("max_error", fit.max_error);
  json.number("tolerance", fit.tolerance);
  if (fit.stored_bits != 23) json.string("stored_as", stored_format(fit));  // tolerance includes its rounding
  json.boolean("exact", fit.exact());
  if (fit.rows_needed == SIZE_MAX) {
    json.null("rows_needed");
  } else {
    json.integer("rows_needed", fit.rows_needed);
  }
  json.close('}');
}

void write_pairing(Json& json, const Puzzle& puzzle, const Pairing& pairing) {
  json.open("pairing", '{');
  json.string("score", "|trace(W_out W_in)| / ||W_out W_in||_F");
  json.string("units", "correlation over the hidden units of their two largest |w| on each side");
  json.number("worst_chosen", pairing.worst_chosen);
  json.number("best_rejected", pairing.best_rejected);
  json.number("margin", pairing.best_rejected > 0 ? pairing.worst_chosen / pairing.best_rejected : INFINITY);
  json.integer("sure", pairing.sure);
  json.number("sure_ratio", Pairing::kSureRatio);
  json.number("noise", pairing.noise);
  json.number("sure_noise", Pairing::kSureNoise);
  json.integer("given", pairing.given);
  json.string("biases", "cos(b_in, W_out^T b_out) over the hidden units");
  json.number("bias_share", pairing.bias_share);
  json.boolean("bias_score_used", pairing.bias_score_used);
  json.open("pairs", '[');
  for (std::size_t i = 0; i < pairing.blocks.size(); ++i) {
    json.open(nullptr, '{');
    json.integer("inp", unsigned(pairing.blocks[i].inp));
    json.integer("out", unsigned(pairing.blocks[i].out));
    json.number("score", pairing.scores[i]);
    json.number("units", pairing.unit_scores[i]);
    json.number("lead", pairing.leads[i]);
    json.boolean("sure", pairing.is_sure[i]);
    json.boolean("given", i < pairing.is_given.size() && pairing.is_given[i]);
    json.close('}');
  }
  json.close(']');
  json.integer("blocks", puzzle.blocks());
  json.close('}');
}

}  // namespace

std::string report_json(const Puzzle& puzzle, const SolveReport& report, const ReportContext& context) {
  Json json;
  json.open(nullptr, '{');
  json.string("humpty", version());
  json.string("command", context.command);
  json.string("verdict", context.verdict);
  json.boolean("proven", context.proven);

  json.open("puzzle", '{');
  json.string("source", puzzle.source);
  json.integer("pieces", puzzle.pieces.size());
  json.integer("blocks", puzzle.blocks());
  json.integer("dim", puzzle.dim);
  json.integer("hidden", puzzle.hidden);
  json.integer("outputs", puzzle.outputs);
  json.integer("last_piece", unsigned(puzzle.last_piece));
  if (!puzzle.files.empty()) {  // the pieces were numbered by their file names
    json.open("files", '[');
    for (const std::string& file : puzzle.files) json.string(nullptr, file);
    json.close(']');
  }
  json.close('}');

  if (context.data_source.empty()) {
    json.null("data");
  } else {
    json.open("data", '{');
    json.string("source", context.data_source);
    json.integer("rows", context.data_rows);
    if (context.pred_variance >= 0) {
      json.number("pred_variance", context.pred_variance);
    } else {
      json.null("pred_variance");
    }
    json.close('}');
  }

  if (report.answer.empty()) {
    json.null("answer");
    json.null("sha256");
  } else {
    json.string("answer", report.answer);
    json.string("sha256", report.sha256);
    if (!puzzle.files.empty()) {  // the answer as file names, in execution order
      json.open("answer_files", '[');
      for (const Block& block : report.assembly.blocks) {
        json.string(nullptr, puzzle.files[std::size_t(block.inp)]);
        json.string(nullptr, puzzle.files[std::size_t(block.out)]);
      }
      json.string(nullptr, puzzle.files[std::size_t(report.assembly.last)]);
      json.close(']');
    }
  }
  if (context.expected_sha256.empty()) {
    json.null("expected_sha256");
  } else {
    json.string("expected_sha256", context.expected_sha256);
  }
  if (report.has_data) {
    write_fit(json, report.fit);
  } else {
    json.null("fit");
  }

  if (report.pairing.blocks.empty()) {
    json.null("pairing");
  } else {
    write_pairing(json, puzzle, report.pairing);
  }

  json.open("order", '{');
  json.string("method", context.order_method);
  json.string("found_by", report.searched ? "search" : report.used_chain ? "chain" : "given");
  json.integer("prefix_blocks", report.prefix_blocks);
  if (report.used_chain) {
    json.open("chain", '{');
    json.string("evidence",
                !report.chain.by_bias
                    ? (report.chain.by_moved
                           ? "the weights' moved shares, most moved first: the out layers have no bias"
                           : "||W_out||_F ascending: the out layers have no bias")
                : report.chain.by_moved
                    ? "the weights' moved shares, most moved first: the out-layer biases hold no chain"
                : report.chain.by_readout
                    ? "shortest path through the out-layer biases, oriented by their share along the "
                      "last layer"
                    : "shortest path through the out-layer biases, oriented by ||W_out||_F");
    json.number("length", report.chain.length);
    json.number("runner_up", report.chain.runner_up);
    json.boolean("proven_shortest", report.chain.exact);
    json.number("norm_trend", report.chain.norm_trend);
    json.number("bias_trend", report.chain.bias_trend);
    json.number("path_vs_shuffled", report.chain.path_vs_shuffled);
    json.boolean("by_moved", report.chain.by_moved);
    json.close('}');
  } else {
    json.null("chain");
  }
  json.close('}');

  if (report.searched) {
    const SearchResult& s = report.search;
    json.open("search", '{');
    json.string("stopped", stop_reason_name(s.stopped));
    json.number("seconds", s.seconds);
    json.integer("subset_rows", s.subset_rows);
    json.integer("steps", s.steps);
    json.integer("moves", s.moves);
    json.integer("epochs_undone", s.epochs_undone);
    json.integer("anneal_rounds", s.anneal_rounds);
    json.integer("anneal_accepted", s.anneal_accepted);
    json.integer("relax_rounds", s.relax_rounds);
    json.integer("kicks", s.kicks);
    json.integer("flip_rounds", s.flip_rounds);
    json.integer("every_assembly", s.every_assembly);
    json.integer("data_pairs", report.data_pairs);
    json.integer("sure_pairs", s.sure_pairs);
    json.boolean("sure_lifted", s.sure_lifted);
    json.integer("relax_steps", s.relax_steps);
    json.number("block_rows", double(s.block_rows));
    json.open("best_mse", '[');
    for (const TracePoint& point : s.trace) {
      json.open(nullptr, '[');
      json.number(nullptr, point.seconds);
      json.number(nullptr, point.mse);
      json.close(']');
    }
    json.close(']');
    json.close('}');
  } else {
    json.null("search");
  }

  json.integer("seed", context.seed);
  json.integer("threads", unsigned(context.threads));
  json.open("seconds", '{');
  for (const auto& [stage, seconds] : context.seconds) json.number(stage.c_str(), seconds);
  json.close('}');
  json.close('}');
  json.text += '\n';
  return json.text;
}

}  // namespace humpty
