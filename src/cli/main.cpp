// humpty - the command line: a thin layer over the library (include/humpty/humpty.hpp).
//
// stdout carries only results (for solve: the answer line), so that it can be piped; progress
// and findings go to stderr. Exit codes: 0 success, 1 not proven (or interrupted), 2 usage
// error, 3 unreadable or malformed input.
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <pthread.h>
#include <string>
#include <vector>

#include "humpty/humpty.hpp"

namespace {

using namespace humpty;

constexpr int kExitOk = 0;
constexpr int kExitNotProven = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInput = 3;

struct CommandHelp {
  const char* name;
  const char* text;
  // The options the command takes, space-separated, in their short spelling (-o, -q). Any other
  // option is a usage error: an option that does nothing where it was given (verify
  // --time-limit, solve --epochs) would let a typo pass for a setting. tests/test_cli.cpp checks
  // that the usage text, the README and the man page list exactly these.
  const char* options;
};

// Each command's usage, what it does and an example; `humpty COMMAND --help` prints one,
// `humpty --help` all of them.
const CommandHelp kCommands[] = {
    {"demo",
     "demo [-o DIR] [--json FILE] [--svg FILE] [--seed N] [--threads N] [--force] [-q]\n"
     "    Make a puzzle with the built-in trainer (24 blocks, d=24, h=48, fixed seed), shuffle it,\n"
     "    solve it without data and with data, and prove the answer. Needs no files; -o DIR keeps\n"
     "    the puzzle (DIR/pieces/, historical_data.csv, puzzle.humpty, answer.txt).\n"
     "    example: humpty demo --svg demo.svg\n",
     "-o --json --svg --seed --threads --force -q"},
    {"solve",
     "solve PIECES [--data CSV] [--order auto|chain|search] [--seed N] [--threads N]\n"
     "             [--rows N] [--time-limit SEC] [--start ANSWER|@FILE] [--keep-pairs]\n"
     "             [--prefix BLOCKS|@FILE] [--pairs BLOCKS|@FILE] [--tune NAME=VALUE]\n"
     "             [--expect-sha256 HEX] [--json FILE] [--svg FILE] [-q]\n"
     "    Put the network back together; prints the answer (piece indices in execution order,\n"
     "    joined by commas) on stdout, what it found on stderr.\n"
     "    example: humpty solve puzzle/pieces --data puzzle/historical_data.csv --json r.json\n",
     "--data --order --seed --threads --rows --time-limit --start --keep-pairs --prefix --pairs --tune "
     "--expect-sha256 "
     "--json --svg -q"},
    {"verify",
     "verify PIECES [--data CSV] --answer ANSWER|@FILE [--threads N] [--expect-sha256 HEX]\n"
     "              [--json FILE] [--svg FILE] [-q]\n"
     "    Run an assembly on the data: MSE against pred (and true) and the answer's SHA-256.\n"
     "    example: humpty verify puzzle/pieces --data puzzle/historical_data.csv --answer @answer.txt\n",
     "--data --answer --threads --expect-sha256 --json --svg -q"},
    {"inspect",
     "inspect PIECES [--json FILE] [--svg FILE] [--threads N]\n"
     "    The pieces, their shapes and roles, the pairing table's summary and the bias path.\n"
     "    example: humpty inspect puzzle/pieces --svg pieces.svg\n",
     "--json --svg --threads"},
    {"convert",
     "convert SRC -o OUT [--data CSV] [--format humpty|pth|safetensors|csv] [--force] [--threads N] [-q]\n"
     "    A pieces directory (+ data) to a .humpty file, or to a pieces directory that torch.load\n"
     "    (pth) or safetensors' load_file reads, or its data to CSV.\n"
     "    example: humpty convert puzzle/pieces --data puzzle/historical_data.csv -o puzzle.humpty\n",
     "-o --data --format --force --threads -q"},
    {"generate",
     "generate -o DIR [--blocks N] [--dim D] [--hidden H] [--outputs O] [--rows R] [--epochs E]\n"
     "                [--batch B] [--optimizer adam|adamw|sgd] [--lr X] [--weight-decay X]\n"
     "                [--zero-bias | --no-bias] [--inputs normal|uniform|t3] [--data CSV] [--seed S]\n"
     "                [--threads N] [--force] [-q]\n"
     "    Train a network on synthetic data (or on CSV's features and `true`, or true_0 .. for\n"
     "    several outputs) and write it as a shuffled puzzle: DIR/pieces/, DIR/historical_data.csv,\n"
     "    DIR/puzzle.humpty, DIR/answer.txt.\n"
     "    example: humpty generate -o my-puzzle --blocks 32 --dim 32 --hidden 64 --seed 7\n",
     "-o --blocks --dim --hidden --outputs --rows --epochs --batch --optimizer --lr --weight-decay "
     "--zero-bias "
     "--no-bias --inputs --data --seed --threads --force -q"},
};

const char* const kUsageTail =
    "\n"
    "PIECES is a directory of piece_<k>.pth (or .pt or .safetensors) files (without them: every such\n"
    "layer file, numbered in natural name order) or a .humpty file\n"
    "(whose data, if any, is used when --data is not given). `humpty COMMAND --help` shows one\n"
    "command.\n"
    "exit codes: 0 success, 1 not proven (MSE above float rounding, too few rows to prove it,\n"
    "SHA-256 differs, interrupted), 2 usage error, 3 unreadable or malformed input.\n";

void print_usage(FILE* to) {
  std::fputs("usage: humpty <command> [options]\n\ncommands:\n", to);
  for (const CommandHelp& command : kCommands) std::fprintf(to, "  %s", command.text);
  std::fputs(kUsageTail, to);
}

const CommandHelp* find_command(const std::string& name) {
  for (const CommandHelp& command : kCommands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

// A message made one printable line: control bytes escaped (\n, \x1b, ...), bytes that do not
// form UTF-8 (or form a C1 control) escaped, cut at 2000 bytes. The library quotes what it takes
// from inputs; this is the last guard before the terminal.
std::string printable(const std::string& text) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  auto escape = [&out](unsigned char c) {
    char b[8];
    std::snprintf(b, sizeof b, "\\x%02x", c);
    out += b;
  };
  for (std::size_t i = 0; i < n;) {
    if (out.size() >= 2000) {
      out += "...";
      break;
    }
    const unsigned char c = p[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      escape(c);
    } else if (c < 0x80) {
      out += char(c);
    } else {
      // A whole UTF-8 sequence passes (paths are often UTF-8); anything else is escaped.
      std::size_t length = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      bool valid = length > 0 && i + length <= n && !(c == 0xc2 && p[i + 1] < 0xa0);  // no C1 controls
      for (std::size_t k = 1; valid && k < length; ++k) valid = (p[i + k] & 0xc0) == 0x80;
      if (!valid) {
        escape(c);
      } else {
        out.append(text, i, length);
        i += length;
        continue;
      }
    }
    ++i;
  }
  return out;
}

void print_error(const std::string& message) {
  std::fprintf(stderr, "humpty: error: %s\n", printable(message).c_str());
}

// Set by SIGINT; the search polls it and returns its best so far.
std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) {
  g_interrupted.store(true);
}

struct UsageError {
  std::string message;
};

// Options shared by the commands, parsed from argv after the command name.
struct Options {
  std::vector<std::string> positional;
  std::string data, order = "auto", start, prefix, pairs, answer, expect_sha256, output, format, json, svg;
  GenerateOptions generate;
  std::uint64_t seed = SearchOptions().seed;
  int threads = 0;
  std::size_t rows = 0;
  double time_limit = 0;
  bool quiet = false;
  bool force = false;
  bool lr_given = false, weight_decay_given = false, outputs_given = false;
  bool keep_pairs = false;
  SearchTuning tuning;
};

std::uint64_t parse_unsigned(const std::string& flag, const std::string& text) {
  std::uint64_t value = 0;
  int base = 10;
  const char* begin = text.c_str();
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    begin += 2;
  }
  auto [ptr, ec] = std::from_chars(begin, text.c_str() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || ptr != text.c_str() + text.size()) {
    throw UsageError{flag + " needs a non-negative integer, got '" + text + "'"};
  }
  return value;
}

double parse_number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !(value >= 0) || !std::isfinite(value)) {
    throw UsageError{flag + " needs a non-negative number, got '" + text + "'"};
  }
  return value;
}

// --tune NAME=VALUE: any field of SearchTuning (include/humpty/solve.hpp), for experiments.
struct Tunable {
  enum Kind { flag, count, real, positive, weight } kind;  // positive: a real that must not be 0
  void* field;
};

void set_tunable(SearchTuning& tuning, const std::string& text) {
  struct Named {
    const char* name;
    Tunable::Kind kind;
    void* field;
  };
  const Named table[] = {
      {"default_rows", Tunable::count, &tuning.default_rows},
      {"screen_chunks", Tunable::count, &tuning.screen_chunks},
      {"anneal_chunks", Tunable::count, &tuning.anneal_chunks},
      {"order_first", Tunable::flag, &tuning.order_first},
      {"local_window", Tunable::count, &tuning.local_window},
      {"repair_rivals", Tunable::count, &tuning.repair_rivals},
      {"keep_sure", Tunable::flag, &tuning.keep_sure},
      {"keep_sure_rounds", Tunable::count, &tuning.keep_sure_rounds},
      {"sure_lead", Tunable::real, &tuning.sure_lead},
      {"shortlist_per_3_blocks", Tunable::count, &tuning.shortlist_per_3_blocks},
      {"relocated_pairs_per_block", Tunable::count, &tuning.relocated_pairs_per_block},
      {"screen_batch", Tunable::count, &tuning.screen_batch},
      {"deep_screen", Tunable::count, &tuning.deep_screen},
      {"confirm_batch", Tunable::count, &tuning.confirm_batch},
      {"deep_confirm", Tunable::count, &tuning.deep_confirm},
      {"epoch_steps", Tunable::count, &tuning.epoch_steps},
      {"epoch_pause", Tunable::count, &tuning.epoch_pause},
      {"stuck_rounds", Tunable::count, &tuning.stuck_rounds},
      {"anneal_proposals", Tunable::count, &tuning.anneal_proposals},
      {"anneal_batch", Tunable::count, &tuning.anneal_batch},
      {"start_uphill_odds", Tunable::real, &tuning.start_uphill_odds},
      {"cooling_span", Tunable::positive, &tuning.cooling_span},
      {"near_partner", Tunable::real, &tuning.near_partner},
      {"near_distance", Tunable::count, &tuning.near_distance},
      {"relocate_after_repair", Tunable::real, &tuning.relocate_after_repair},
      {"weight_insert", Tunable::weight, &tuning.weight_insert},
      {"weight_swap", Tunable::weight, &tuning.weight_swap},
      {"weight_reverse", Tunable::weight, &tuning.weight_reverse},
      {"weight_rotate_blocks", Tunable::weight, &tuning.weight_rotate_blocks},
      {"weight_exchange_out", Tunable::weight, &tuning.weight_exchange_out},
      {"weight_exchange_inp", Tunable::weight, &tuning.weight_exchange_inp},
      {"weight_rotate_out", Tunable::weight, &tuning.weight_rotate_out},
      {"relax", Tunable::flag, &tuning.relax},
      {"relax_above", Tunable::real, &tuning.relax_above},
      {"relax_first_above", Tunable::real, &tuning.relax_first_above},
      {"start_informed", Tunable::real, &tuning.start_informed},
      {"start_beats_best", Tunable::real, &tuning.start_beats_best},
      {"start_shuffles", Tunable::count, &tuning.start_shuffles},
      {"relax_gain", Tunable::real, &tuning.relax_gain},
      {"relax_steps", Tunable::count, &tuning.relax_steps},
      {"relax_batch", Tunable::count, &tuning.relax_batch},
      {"relax_batch_early", Tunable::count, &tuning.relax_batch_early},
      {"relax_early_until", Tunable::real, &tuning.relax_early_until},
      {"relax_sigma_start", Tunable::positive, &tuning.relax_sigma_start},
      {"relax_sigma_again", Tunable::positive, &tuning.relax_sigma_again},
      {"relax_sigma_end", Tunable::positive, &tuning.relax_sigma_end},
      {"relax_rate", Tunable::real, &tuning.relax_rate},
      {"relax_free", Tunable::real, &tuning.relax_free},
      {"relax_perm", Tunable::count, &tuning.relax_perm},
      {"relax_perm_above", Tunable::real, &tuning.relax_perm_above},
      {"relax_prior_gain", Tunable::real, &tuning.relax_prior_gain},
      {"relax_prior_width", Tunable::positive, &tuning.relax_prior_width},
      {"relax_prior_rows", Tunable::count, &tuning.relax_prior_rows},
      {"relax_prior_distinct", Tunable::real, &tuning.relax_prior_distinct},
      {"relax_perm_cool", Tunable::positive, &tuning.relax_perm_cool},
      {"relax_perm_rate", Tunable::real, &tuning.relax_perm_rate},
      {"relax_perm_check", Tunable::count, &tuning.relax_perm_check},
      {"relax_pairs", Tunable::flag, &tuning.relax_pairs},
      {"relax_pair_keep", Tunable::real, &tuning.relax_pair_keep},
      {"relax_pair_rate", Tunable::real, &tuning.relax_pair_rate},
      {"relax_pair_cool", Tunable::positive, &tuning.relax_pair_cool},
      {"relax_pair_megabytes", Tunable::real, &tuning.relax_pair_megabytes},
      {"relax_pair_confident", Tunable::real, &tuning.relax_pair_confident},
      {"kick", Tunable::flag, &tuning.kick},
      {"kick_keep", Tunable::real, &tuning.kick_keep},
      {"kick_confident_share", Tunable::real, &tuning.kick_confident_share},
      {"flip", Tunable::flag, &tuning.flip},
      {"flip_below", Tunable::real, &tuning.flip_below},
      {"flip_near", Tunable::real, &tuning.flip_near},
      {"flip_far_above", Tunable::real, &tuning.flip_far_above},
      {"flip_far_stale", Tunable::count, &tuning.flip_far_stale},
      {"flip_far_chains", Tunable::count, &tuning.flip_far_chains},
      {"flip_rows", Tunable::count, &tuning.flip_rows},
      {"flip_pair_share", Tunable::positive, &tuning.flip_pair_share},
      {"flip_threshold", Tunable::real, &tuning.flip_threshold},
      {"flip_ridge", Tunable::real, &tuning.flip_ridge},
      {"flip_rounds", Tunable::count, &tuning.flip_rounds},
      {"role_rows", Tunable::count, &tuning.role_rows},
      {"role_stuck_rounds", Tunable::count, &tuning.role_stuck_rounds},
      {"role_guesses", Tunable::count, &tuning.role_guesses},
      {"role_fit_rows", Tunable::count, &tuning.role_fit_rows},
      {"role_split_limit", Tunable::real, &tuning.role_split_limit},
      {"exhaustive_rows", Tunable::count, &tuning.exhaustive_rows},
      {"exhaustive_keep", Tunable::count, &tuning.exhaustive_keep},
      {"exhaustive_work", Tunable::real, &tuning.exhaustive_work},
      {"data_pairs_rows", Tunable::count, &tuning.data_pairs_rows},
      {"data_pairs_limit", Tunable::count, &tuning.data_pairs_limit},
      {"data_pairs_lead_share", Tunable::real, &tuning.data_pairs_lead_share},
      {"progress_seconds", Tunable::real, &tuning.progress_seconds},
  };
  const std::size_t eq = text.find('=');
  const std::string name = text.substr(0, eq), value = eq == std::string::npos ? "" : text.substr(eq + 1);
  for (const Named& t : table) {
    if (name != t.name) continue;
    if (t.kind == Tunable::flag) {
      if (value != "0" && value != "1") throw UsageError{"--tune " + name + " needs 0 or 1"};
      *static_cast<bool*>(t.field) = value == "1";
    } else if (t.kind == Tunable::real || t.kind == Tunable::positive) {
      // A zero width or temperature would divide by zero inside the search.
      const double number = parse_number("--tune " + name, value);
      if (t.kind == Tunable::positive && !(number > 0)) {
        throw UsageError{"--tune " + name + " needs a positive number, got '" + value + "'"};
      }
      *static_cast<double*>(t.field) = number;
    } else if (t.kind == Tunable::count) {
      const std::size_t number = std::size_t(parse_unsigned("--tune " + name, value));
      // relax_perm is a choice among four policies, not a count.
      if (t.field == &tuning.relax_perm && number > 3) {
        throw UsageError{"--tune relax_perm needs 0, 1, 2 or 3, got '" + value + "'"};
      }
      *static_cast<std::size_t*>(t.field) = number;
    } else {
      *static_cast<unsigned*>(t.field) = unsigned(parse_unsigned("--tune " + name, value));
    }
    return;
  }
  throw UsageError{"--tune: no tunable '" + name + "' (see SearchTuning in include/humpty/solve.hpp)"};
}

// Whether `command` takes option `arg` (--output and --quiet spelt as -o and -q).
bool takes_option(const CommandHelp& command, const std::string& arg) {
  const std::string name = arg == "--output" ? "-o" : arg == "--quiet" ? "-q" : arg;
  const std::string list = std::string(" ") + command.options + " ";
  return list.find(" " + name + " ") != std::string::npos;
}

// Parses the options given to `command`; one that only other commands take is refused (an
// unknown command, null here, is reported after parsing).
Options parse_options(int argc, char** argv, int first, const CommandHelp* command) {
  Options options;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (command && arg.size() > 1 && arg[0] == '-' && !takes_option(*command, arg) &&
        std::any_of(std::begin(kCommands), std::end(kCommands),
                    [&](const CommandHelp& other) { return takes_option(other, arg); })) {
      throw UsageError{std::string(command->name) + " does not take " + arg};
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    if (arg == "--data") {
      options.data = value();
    } else if (arg == "--order") {
      options.order = value();
      if (options.order != "auto" && options.order != "chain" && options.order != "search") {
        throw UsageError{"--order must be auto, chain or search, got '" + options.order + "'"};
      }
    } else if (arg == "--seed") {
      options.seed = parse_unsigned(arg, value());
      options.generate.seed = options.seed;
    } else if (arg == "--threads") {
      std::uint64_t threads = parse_unsigned(arg, value());
      if (threads > 1024) throw UsageError{"--threads " + std::to_string(threads) + " is too many"};
      options.threads = int(threads);
    } else if (arg == "--rows") {
      options.rows = std::size_t(parse_unsigned(arg, value()));
      if (options.rows == 0) throw UsageError{"--rows must be at least 1"};
      options.generate.rows = options.rows;
    } else if (arg == "--time-limit") {
      options.time_limit = parse_number(arg, value());
    } else if (arg == "--start") {
      options.start = value();
    } else if (arg == "--prefix" || arg == "--pairs") {
      // (Empty, the option would be silently ignored below.)
      (arg == "--prefix" ? options.prefix : options.pairs) = value();
      if ((arg == "--prefix" ? options.prefix : options.pairs).empty())
        throw UsageError{arg + " needs blocks (inp,out,...) or @FILE"};
    } else if (arg == "--answer") {
      options.answer = value();
    } else if (arg == "--expect-sha256") {
      options.expect_sha256 = value();
      bool hex = options.expect_sha256.size() == 64;
      for (char& c : options.expect_sha256) {
        c = char(std::tolower(static_cast<unsigned char>(c)));
        hex = hex && std::isxdigit(static_cast<unsigned char>(c));
      }
      if (!hex) throw UsageError{"--expect-sha256 needs 64 hex digits"};
    } else if (arg == "-o" || arg == "--output") {
      options.output = value();
    } else if (arg == "--format") {
      options.format = value();
      if (options.format != "humpty" && options.format != "pth" && options.format != "safetensors" &&
          options.format != "csv") {
        throw UsageError{"--format must be humpty, pth, safetensors or csv, got '" + options.format + "'"};
      }
    } else if (arg == "--blocks") {
      options.generate.blocks = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--dim") {
      options.generate.dim = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--hidden") {
      options.generate.hidden = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--outputs") {
      options.generate.outputs = std::size_t(parse_unsigned(arg, value()));
      options.outputs_given = true;
    } else if (arg == "--epochs") {
      options.generate.epochs = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--batch") {
      options.generate.batch = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--lr") {
      options.generate.lr = parse_number(arg, value());
      options.lr_given = true;
    } else if (arg == "--weight-decay") {
      options.generate.weight_decay = parse_number(arg, value());
      options.weight_decay_given = true;
    } else if (arg == "--optimizer") {
      const std::string name = value();
      if (name == "adam") {
        options.generate.optimizer = Optimizer::adam;
      } else if (name == "adamw") {
        options.generate.optimizer = Optimizer::adamw;
      } else if (name == "sgd") {
        options.generate.optimizer = Optimizer::sgd;
      } else {
        throw UsageError{"--optimizer must be adam, adamw or sgd, got '" + name + "'"};
      }
    } else if (arg == "--inputs") {
      const std::string name = value();
      if (name == "normal") {
        options.generate.inputs = InputDistribution::normal;
      } else if (name == "uniform") {
        options.generate.inputs = InputDistribution::uniform;
      } else if (name == "t3") {
        options.generate.inputs = InputDistribution::t3;
      } else {
        throw UsageError{"--inputs must be normal, uniform or t3, got '" + name + "'"};
      }
    } else if (arg == "--tune") {
      set_tunable(options.tuning, value());
    } else if (arg == "--keep-pairs") {
      options.keep_pairs = true;
    } else if (arg == "--zero-bias") {
      options.generate.zero_bias = true;
    } else if (arg == "--no-bias") {
      options.generate.no_bias = true;
    } else if (arg == "--json") {
      options.json = value();
    } else if (arg == "--svg") {
      options.svg = value();
    } else if (arg == "--force") {
      options.force = true;
    } else if (arg == "-q" || arg == "--quiet") {
      options.quiet = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError{"unknown option '" + arg + "'"};
    } else {
      options.positional.push_back(arg);
    }
  }
  return options;
}

template <typename... Args>
std::string format_line(const char* pattern, Args... args) {
  char text[1024];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

// Progress on stderr, minimap2 style: [humpty::stage::seconds] message.
Logger make_logger(bool quiet) {
  if (quiet) return nullptr;
  auto start = std::chrono::steady_clock::now();
  return [start](const std::string& stage, const std::string& message) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[humpty::%s::%.3f] %s\n", stage.c_str(), seconds, printable(message).c_str());
  };
}

// Says how pieces read from files of other names than piece_<k> are numbered (Puzzle::files).
void log_piece_files(const Logger& log, const Puzzle& puzzle) {
  if (!log || puzzle.files.empty()) return;
  log("load", "the files are not named piece_<k>: pieces numbered by file name in natural order, piece 0 " +
                  puzzle.files.front() + " .. piece " + std::to_string(puzzle.files.size() - 1) + " " +
                  puzzle.files.back() + " (`humpty inspect` lists them)");
}

// The assembly's pieces as their file names in execution order, when names number them.
std::string answer_files(const Puzzle& puzzle, const Assembly& assembly) {
  std::string text;
  for (const Block& block : assembly.blocks) {
    text += puzzle.files[std::size_t(block.inp)] + "," + puzzle.files[std::size_t(block.out)] + ",";
  }
  return text + puzzle.files[std::size_t(assembly.last)];
}

// An answer given inline or as @FILE.
Result<Assembly> read_assembly(const std::string& text, const Puzzle& puzzle) {
  if (!text.empty() && text[0] == '@') return read_answer(text.substr(1), puzzle);
  return parse_answer(text, puzzle, "answer");
}

int fail_input(const std::string& message) {
  print_error(message);
  return kExitInput;
}

// The pieces (a directory or a .humpty file) and the data: --data when given, else the data a
// .humpty file carries, else none.
struct Inputs {
  Puzzle puzzle;
  bool has_data = false;
  Dataset data;
};

Result<Inputs> load_inputs(const std::string& pieces, const std::string& data_path, int threads) {
  Inputs inputs;
  if (is_bundle(pieces)) {
    auto bundle = read_bundle(pieces, data_path.empty() ? BundleParts::all : BundleParts::pieces);
    if (!bundle) return bundle.status();
    inputs.puzzle = std::move(bundle->puzzle);
    inputs.has_data = bundle->has_data;
    inputs.data = std::move(bundle->data);
  } else {
    auto puzzle = read_puzzle(pieces, threads);
    if (!puzzle) return puzzle.status();
    inputs.puzzle = std::move(*puzzle);
  }
  if (!data_path.empty()) {
    auto data = read_csv(data_path, threads);
    if (!data) return data.status();
    inputs.data = std::move(*data);
    inputs.has_data = true;
  }
  if (inputs.has_data) {
    if (auto status = check_data(inputs.puzzle, inputs.data); !status) return status;
  }
  return inputs;
}

// Why an exact fit proves nothing: the rows are too few (Fit::rows_needed).
std::string too_few_rows(const Fit& fit) {
  if (fit.rows_needed == SIZE_MAX) {
    if (fit.rows < 2) return "one row cannot prove an assembly";
    if (fit.stored_bits != 23) {
      return std::string("that level (the rounding of weights stored as ") + stored_format(fit) +
             ") is too coarse for pred's spread to rule out other assemblies";
    }
    return "pred is the same on every row, so no number of rows can prove an assembly";
  }
  char text[96];
  std::snprintf(text, sizeof text, "%zu rows are too few to prove it (%zu needed)", fit.rows, fit.rows_needed);
  return text;
}

void print_fit(const Logger& log, const Fit& fit) {
  if (!log) return;
  char text[256];
  std::snprintf(text, sizeof text, "mse vs pred %.3e over %zu rows (%s at %s %.1e), max |error| %.3e",
                fit.mse_pred, fit.rows, fit.exact() ? "exact" : "NOT exact", tolerance_name(fit),
                fit.tolerance, fit.max_error);
  std::string message = text;
  if (fit.exact() && !fit.proves()) message += "; " + too_few_rows(fit);
  if (fit.mse_rest >= 0) {
    std::snprintf(text, sizeof text, "; the other outputs: mse %.3e (%s %.1e)", fit.mse_rest,
                  tolerance_name(fit), fit.tolerance_rest);
    message += text;
  }
  if (fit.mse_true >= 0) {
    std::snprintf(text, sizeof text, "; mse vs true %.6g", fit.mse_true);
    message += text;
  }
  log("proof", message);
}

// A folder output appears whole or not at all: it is built in a temporary sibling and renamed
// into place. An existing DIR must be empty, unless `force`, which replaces it whole.
Status check_output_folder(const std::string& dir, bool force) {
  std::error_code error;
  const auto status = std::filesystem::symlink_status(dir, error);
  if (error || status.type() == std::filesystem::file_type::not_found) return Status();
  if (status.type() != std::filesystem::file_type::directory) {
    return Status::failure(dir + ": exists and is not a directory");
  }
  if (!force && !std::filesystem::is_empty(dir, error)) {
    return Status::failure(dir + ": exists and is not empty (--force replaces it)");
  }
  return Status();
}

// While outputs are written, SIGINT and SIGTERM wait: a run interrupted then would leave a
// temporary file or folder behind. They are delivered when the writing is done (and the outputs
// are whole).
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &held, &previous_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t previous_;
};

// Builds a folder output in a temporary sibling (fill(temp) writes it), then renames it to DIR:
// DIR appears whole or not at all. An empty DIR is replaced by rename(2) itself; a full one only
// with `force`, moved aside first and removed after.
Status publish_folder(const std::string& dir, bool force, const std::function<Status(const std::string&)>& fill) {
  namespace fs = std::filesystem;
  if (Status status = check_output_folder(dir, force); !status) return status;
  SignalsHeld held;
  const std::string temp = dir + ".tmp." + std::to_string(::getpid());
  std::error_code error;
  fs::remove_all(temp, error);
  if (!fs::create_directories(temp, error)) {
    return Status::failure(dir + ": cannot create a folder beside it: " + error.message());
  }
  if (Status status = fill(temp); !status) {
    fs::remove_all(temp, error);
    // Name the output, not its temporary stand-in.
    std::string message = status.message();
    for (std::size_t at = message.find(temp); at != std::string::npos; at = message.find(temp, at + dir.size())) {
      message.replace(at, temp.size(), dir);
    }
    return Status::failure(message);
  }
  std::string aside;
  if (fs::exists(dir, error) && !fs::is_empty(dir, error)) {
    aside = dir + ".old." + std::to_string(::getpid());
    fs::remove_all(aside, error);
    fs::rename(dir, aside, error);
    if (error) {
      fs::remove_all(temp, error);
      return Status::failure(dir + ": cannot replace it: " + error.message());
    }
  }
  fs::rename(temp, dir, error);
  if (error) {
    const std::string message = error.message();
    if (!aside.empty()) fs::rename(aside, dir, error);
    fs::remove_all(temp, error);
    return Status::failure(dir + ": cannot move the finished folder into place: " + message);
  }
  if (!aside.empty()) fs::remove_all(aside, error);
  return Status();
}

Status write_puzzle_folder(const std::string& dir, const GeneratedPuzzle& generated, bool force) {
  return publish_folder(dir, force, [&](const std::string& temp) {
    const std::string answer = format_answer(generated.answer);
    for (Status status :
         {write_pieces_directory(temp + "/pieces", generated.puzzle.pieces),
          write_csv(temp + "/historical_data.csv", generated.data),
          write_bundle(temp + "/puzzle.humpty", generated.puzzle.pieces, &generated.data),
          write_text_file(temp + "/answer.txt", answer + "\nsha256 " + sha256_hex(answer) + "\n")}) {
      if (!status) return status;
    }
    return Status();
  });
}

int used_threads(int threads) {
  return threads > 0 ? threads : hardware_threads();
}

// Writes the --json and --svg reports asked for, each atomically. Returns false after printing
// the error when one cannot be written.
bool write_reports(const Options& options, const Puzzle& puzzle, const SolveReport& report,
                   const ReportContext& context) {
  SignalsHeld held;
  if (!options.json.empty()) {
    if (Status status = write_text_file(options.json, report_json(puzzle, report, context)); !status) {
      print_error(status.message());
      return false;
    }
  }
  if (!options.svg.empty()) {
    if (Status status = write_text_file(options.svg, report_svg(puzzle, report, context)); !status) {
      print_error(status.message());
      return false;
    }
  }
  return true;
}

// One line that says what was proven.
std::string verdict_of(const SolveReport& report) {
  if (!report.has_data) return "no data: a best guess from the weights alone, not proven";
  // Pieces stored at half precision are judged at what rounding their weights explains.
  const std::string level =
      report.fit.stored_bits == 23
          ? std::string("at float rounding")
          : std::string("within what storing the weights as ") + stored_format(report.fit) + " explains";
  const std::string above = report.fit.stored_bits == 23 ? std::string("above float rounding")
                                                         : std::string("above what storing the weights as ") +
                                                               stored_format(report.fit) + " explains";
  if (report.fit.proves()) return "proven: the assembly reproduces pred " + level + " on every row";
  if (report.fit.exact())
    return "not proven: the assembly reproduces pred " + level + ", but " + too_few_rows(report.fit);
  if (report.searched)
    return "not proven: the search stopped (" + std::string(stop_reason_name(report.search.stopped)) + ") " +
           above;
  return "not proven: the assembly does not reproduce pred";
}

int command_solve(const Options& options) {
  if (options.positional.size() != 1) throw UsageError{"solve needs one PIECES argument"};
  const Logger log = make_logger(options.quiet);
  auto inputs = load_inputs(options.positional[0], options.data, options.threads);
  if (!inputs) return fail_input(inputs.message());
  const Puzzle* puzzle = &inputs->puzzle;
  const Dataset* data = inputs->has_data ? &inputs->data : nullptr;
  if (log) {
    log("load", std::to_string(puzzle->pieces.size()) + " pieces: " + std::to_string(puzzle->blocks()) +
                    " blocks of d=" + std::to_string(puzzle->dim) + ", h=" + std::to_string(puzzle->hidden) +
                    ", last layer piece " + std::to_string(puzzle->last_piece));
    log_piece_files(log, *puzzle);
    if (data) {
      log("load",
          std::to_string(data->rows) + " rows of data from " + data->source +
              (data->index_dropped ? " (its first column, unnamed and counting the rows, is a row index as "
                                     "pandas or R write it: left out)"
                                   : ""));
    }
  }
  SolveOptions solve_options;
  solve_options.order = options.order == "chain"    ? OrderMethod::chain
                        : options.order == "search" ? OrderMethod::search
                                                    : OrderMethod::automatic;
  solve_options.search.seed = options.seed;
  solve_options.search.threads = options.threads;
  solve_options.search.rows = options.rows;
  solve_options.search.time_limit = options.time_limit;
  solve_options.search.stop = &g_interrupted;
  solve_options.search.log = log;
  solve_options.search.repair_pairs = !options.keep_pairs;
  solve_options.search.tuning = options.tuning;
  if (!options.start.empty()) {
    auto start = read_assembly(options.start, *puzzle);
    if (!start) return fail_input(start.message());
    solve_options.starts.push_back(*start);
  }
  if (!options.prefix.empty()) {
    auto prefix = options.prefix[0] == '@' ? read_blocks(options.prefix.substr(1), *puzzle)
                                           : parse_blocks(options.prefix, *puzzle, "prefix");
    if (!prefix) return fail_input(prefix.message());
    solve_options.prefix = std::move(*prefix);
  }
  if (!options.pairs.empty()) {
    auto pairs = options.pairs[0] == '@' ? read_blocks(options.pairs.substr(1), *puzzle)
                                         : parse_blocks(options.pairs, *puzzle, "pairs");
    if (!pairs) return fail_input(pairs.message());
    solve_options.pairs = std::move(*pairs);
  }
  if (solve_options.order == OrderMethod::search && !data) {
    throw UsageError{"--order search needs --data CSV"};
  }
  if (log) {
    char text[128];
    std::snprintf(text, sizeof text, "order %s, seed %llu, threads %d", options.order.c_str(),
                  (unsigned long long)options.seed,
                  options.threads > 0 ? options.threads : hardware_threads());
    log("solve", text);
  }
  std::signal(SIGINT, on_interrupt);
  auto report = solve(*puzzle, data, solve_options);
  std::signal(SIGINT, SIG_DFL);
  if (!report) return fail_input(report.message());
  std::printf("%s\n", report->answer.c_str());
  std::fflush(stdout);
  int code = kExitOk;
  if (report->has_data) {
    print_fit(log, report->fit);
    if (!report->fit.proves()) code = kExitNotProven;
  }
  if (log) {
    std::string stages;
    for (const auto& [stage, seconds] : report->seconds) {
      char text[64];
      std::snprintf(text, sizeof text, "%s%s %.1f ms", stages.empty() ? "" : ", ", stage.c_str(),
                    seconds * 1e3);
      stages += text;
    }
    log("time", stages);
    if (!puzzle->files.empty()) log("answer", "as files: " + answer_files(*puzzle, report->assembly));
    log("answer", "sha256 " + report->sha256);
  }
  if (!options.quiet && report->searched && report->search.stopped != StopReason::exact) {
    std::fprintf(
        stderr,
        "humpty: the search stopped (%s) before reaching an exact assembly; the answer above is its best\n",
        stop_reason_name(report->search.stopped));
    // What to try next, by how far the best is. Measured (docs/MEASUREMENTS.md): runs ending above
    // a tenth of var(pred) were not exact with 4-15 times the time (b64-sgd-120's order at 300 s,
    // b48-sgd-t3-40's full solve at 240 s), while other seeds of untrained 20-block nets were;
    // closer in, longer runs finished (b64-adam-40 at 0.038: exact at 83 s).
    const double spread = pred_variance(*data);
    const double ratio = spread > 0 ? report->fit.mse_pred / spread : -1;  // pred constant: no scale
    if (ratio > 0.1) {
      std::fprintf(
          stderr,
          "humpty: its MSE is %.2g x var(pred), far from exact: more time seldom helps from there, other "
          "--seed values sometimes do, and known parts shrink the search (--prefix, --pairs)\n",
          ratio);
    } else if (ratio >= 0) {
      // Without a time limit the search ends when stuck; with one it goes on to the limit.
      std::fprintf(stderr,
                   "humpty: its MSE is %.2g x var(pred): %s, or --start with this answer, may finish it\n",
                   ratio,
                   options.time_limit > 0 ? "a longer --time-limit"
                                          : "a --time-limit (the search then goes on when stuck)");
    }
  }
  if (!options.quiet && report->has_data && report->fit.exact() && !report->fit.proves()) {
    std::fprintf(stderr, "humpty: the answer above reproduces pred at %s, but %s\n",
                 report->fit.stored_bits == 23 ? "float rounding" : tolerance_name(report->fit),
                 too_few_rows(report->fit).c_str());
  }
  if (!options.expect_sha256.empty() && report->sha256 != options.expect_sha256) {
    std::fprintf(stderr, "humpty: the answer's sha256 %s differs from the expected %s\n",
                 report->sha256.c_str(), options.expect_sha256.c_str());
    code = kExitNotProven;
  }
  if (g_interrupted.load()) code = kExitNotProven;
  ReportContext context;
  context.command = "solve";
  if (data) {
    context.data_source = data->source;
    context.data_rows = data->rows;
    context.pred_variance = pred_variance(*data);
  }
  context.order_method = options.order;
  context.seed = options.seed;
  context.threads = used_threads(options.threads);
  context.expected_sha256 = options.expect_sha256;
  context.verdict = verdict_of(*report);
  if (!options.expect_sha256.empty() && report->sha256 != options.expect_sha256) {
    context.verdict += "; the SHA-256 differs from the expected one";
  }
  context.proven = report->has_data && code == kExitOk;
  context.seconds = report->seconds;
  if (!write_reports(options, *puzzle, *report, context)) return kExitInput;
  return code;
}

int command_verify(const Options& options) {
  if (options.positional.size() != 1) throw UsageError{"verify needs one PIECES argument"};
  if (options.answer.empty()) throw UsageError{"verify needs --answer ANSWER|@FILE"};
  const Logger log = make_logger(options.quiet);
  auto inputs = load_inputs(options.positional[0], options.data, options.threads);
  if (!inputs) return fail_input(inputs.message());
  if (!inputs->has_data)
    throw UsageError{"verify needs data: --data CSV, or a .humpty file that carries data"};
  const Puzzle* puzzle = &inputs->puzzle;
  const Dataset* data = &inputs->data;
  log_piece_files(log, *puzzle);
  auto assembly = read_assembly(options.answer, *puzzle);
  if (!assembly) return fail_input(assembly.message());
  auto evaluated = evaluate(*puzzle, *assembly, *data, options.threads);
  if (!evaluated) return fail_input(evaluated.message());
  const Fit fit = *evaluated;
  std::string sha = sha256_hex(format_answer(*assembly));
  std::printf("sha256 %s\nrows %zu\nmse_pred %.6e\n", sha.c_str(), fit.rows, fit.mse_pred);
  if (fit.mse_rest >= 0) std::printf("mse_pred_rest %.6e\n", fit.mse_rest);
  if (fit.mse_true >= 0) std::printf("mse_true %.6e\n", fit.mse_true);
  std::printf("exact %s\n", fit.exact() ? "yes" : "no");
  print_fit(log, fit);
  int code = fit.proves() ? kExitOk : kExitNotProven;
  if (!options.expect_sha256.empty() && sha != options.expect_sha256) {
    std::fprintf(stderr, "humpty: sha256 %s differs from the expected %s\n", sha.c_str(),
                 options.expect_sha256.c_str());
    code = kExitNotProven;
  }
  if (!options.json.empty() || !options.svg.empty()) {
    SolveReport report;
    report.assembly = *assembly;
    report.answer = format_answer(*assembly);
    report.sha256 = sha;
    report.has_data = true;
    report.fit = fit;
    report.pairing = pair_layers(*puzzle, options.threads);
    ReportContext context;
    context.command = "verify";
    context.data_source = data->source;
    context.data_rows = data->rows;
    context.pred_variance = pred_variance(*data);
    context.order_method = "given";
    context.threads = used_threads(options.threads);
    context.expected_sha256 = options.expect_sha256;
    context.verdict = verdict_of(report);
    if (!options.expect_sha256.empty() && sha != options.expect_sha256) {
      context.verdict += "; the SHA-256 differs from the expected one";
    }
    context.proven = code == kExitOk;
    if (!write_reports(options, *puzzle, report, context)) return kExitInput;
  }
  return code;
}

int command_convert(const Options& options) {
  if (options.positional.size() != 1) throw UsageError{"convert needs one SRC argument"};
  if (options.output.empty()) throw UsageError{"convert needs -o OUT"};
  const std::string& source = options.positional[0];
  const Logger log = make_logger(options.quiet);
  // The output format: --format, else from OUT's extension, else the other kind of SRC.
  std::string format = options.format;
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (format.empty())
    format = ends_with(options.output, ".humpty") ? "humpty"
             : ends_with(options.output, ".csv")  ? "csv"
             : is_bundle(source)                  ? "pth"
                                                  : "humpty";
  auto inputs = load_inputs(source, options.data, options.threads);
  if (!inputs) return fail_input(inputs.message());
  Status written;
  if (format == "humpty") {
    SignalsHeld held;
    written = write_bundle(options.output, inputs->puzzle.pieces, inputs->has_data ? &inputs->data : nullptr);
  } else if (format == "pth" || format == "safetensors") {
    written = publish_folder(options.output, options.force, [&](const std::string& temp) {
      return write_pieces_directory(temp, inputs->puzzle.pieces,
                                    format == "pth" ? PieceFormat::pth : PieceFormat::safetensors);
    });
  } else {
    if (!inputs->has_data) return fail_input(source + ": has no data to write as CSV");
    SignalsHeld held;
    written = write_csv(options.output, inputs->data);
  }
  if (!written) return fail_input(written.message());
  if (log) {
    log("convert", source + " -> " + options.output + " (" + format + ": " +
                       std::to_string(inputs->puzzle.pieces.size()) + " pieces" +
                       (inputs->has_data && (format == "humpty" || format == "csv")
                            ? ", " + std::to_string(inputs->data.rows) + " rows"
                            : "") +
                       ")");
  }
  return kExitOk;
}

int command_generate(const Options& options) {
  if (!options.positional.empty()) throw UsageError{"generate takes no positional arguments (use -o DIR)"};
  if (options.output.empty()) throw UsageError{"generate needs -o DIR"};
  if (Status status = check_output_folder(options.output, options.force); !status) {
    return fail_input(status.message());
  }
  GenerateOptions generate = options.generate;
  generate.threads = options.threads;
  generate.log = make_logger(options.quiet);
  // PyTorch's defaults where humpty's would not do: SGD at Adam's 1e-3 barely moves, and AdamW's
  // weight decay defaults to 0.01.
  if (!options.lr_given && generate.optimizer == Optimizer::sgd) generate.lr = 0.01;
  if (!options.weight_decay_given && generate.optimizer == Optimizer::adamw) generate.weight_decay = 0.01;
  Dataset user_data;
  if (!options.data.empty()) {
    auto read = read_csv(options.data, options.threads);
    if (!read) return fail_input(read.message());
    user_data = std::move(*read);
    if (!user_data.has_truth()) {
      return fail_input(options.data + ": has no `true` column" +
                        (user_data.outputs > 1 ? "s (true_0 ..)" : "") + " to train on");
    }
    // The data's pred columns tell how many outputs its network has: train as many.
    if (!options.outputs_given) generate.outputs = user_data.outputs;
    generate.data = &user_data;
  }
  auto generated = generate_puzzle(generate);
  if (!generated) {
    // Options the library refuses are usage errors; a run that diverged is a failed input.
    if (generated.message().find("diverged") != std::string::npos) return fail_input(generated.message());
    throw UsageError{generated.message()};
  }
  const std::string& dir = options.output;
  if (Status status = write_puzzle_folder(dir, *generated, options.force); !status) {
    return fail_input(status.message());
  }
  if (generate.log) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "%zu blocks, d=%zu, h=%zu%s, %zu rows: network mse vs true %.6g; wrote "
                  "%s/{pieces,historical_data.csv,puzzle.humpty,answer.txt}",
                  generate.blocks, generated->data.features, generate.hidden,
                  generate.outputs == 1 ? "" : (", " + std::to_string(generate.outputs) + " outputs").c_str(),
                  generated->data.rows, generated->loss, dir.c_str());
    generate.log("generate", text);
  }
  return kExitOk;
}

// The demo's puzzle: the largest of the published family's shape that the built-in trainer makes
// in a few seconds on two cores (the published 48x48x96 on 10,000 rows takes about 30 s).
GenerateOptions demo_puzzle_options() {
  GenerateOptions options;
  options.blocks = 24;
  options.dim = 24;
  options.hidden = 48;
  options.rows = 4000;
  options.epochs = 40;
  options.seed = 3;
  return options;
}

int command_demo(const Options& options) {
  if (!options.positional.empty()) throw UsageError{"demo takes no positional arguments"};
  if (!options.output.empty()) {
    if (Status status = check_output_folder(options.output, options.force); !status) {
      return fail_input(status.message());
    }
  }
  auto say = [&](const std::string& line) {
    if (!options.quiet) std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&clock] {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - clock).count();
    clock = now;
    return seconds;
  };
  GenerateOptions generate = demo_puzzle_options();
  generate.threads = options.threads;
  auto generated = generate_puzzle(generate);
  if (!generated) return fail_input(generated.message());
  const Puzzle& puzzle = generated->puzzle;
  const std::string target = sha256_hex(format_answer(generated->answer));
  say(format_line("1. trained a residual MLP of %zu blocks (d=%zu, h=%zu) on %zu rows of synthetic data "
                  "(%zu epochs of Adam, seed %llu) in %.1f s, and cut it into %zu shuffled pieces.",
                  generate.blocks, generate.dim, generate.hidden, generate.rows, generate.epochs,
                  (unsigned long long)generate.seed, lap(), puzzle.pieces.size()));
  if (!options.output.empty()) {
    if (Status status = write_puzzle_folder(options.output, *generated, options.force); !status) {
      return fail_input(status.message());
    }
    say("   kept the puzzle in " + options.output + "/ (pieces/, historical_data.csv, puzzle.humpty, answer.txt)");
  }

  // Without data: the weights' fingerprints only, a guess with its evidence.
  SolveOptions guess_options;
  guess_options.search.threads = options.threads;
  auto guess = solve(puzzle, nullptr, guess_options);
  if (!guess) return fail_input(guess.message());
  std::size_t right_pairs = 0, right_places = 0;
  for (std::size_t k = 0; k < generated->answer.blocks.size(); ++k) {
    const Block& truth = generated->answer.blocks[k];
    right_pairs += std::find(guess->pairing.blocks.begin(), guess->pairing.blocks.end(), truth) !=
                   guess->pairing.blocks.end();
    right_places += guess->assembly.blocks[k] == truth;
  }
  say(format_line(
      "2. without data (%.0f ms): the pairing score pairs %zu of %zu blocks right (it is sure of "
      "%zu), the %s puts %zu in their place: a best guess, %s.",
      1e3 * lap(), right_pairs, puzzle.blocks(), guess->pairing.sure,
      guess->chain.by_moved ? "moved-weight order (the biases hold no chain)" : "bias path", right_places,
      guess->sha256 == target ? "right, but unproven" : "wrong, and nothing proves it"));

  // With data: the search, then the proof on every row.
  SolveOptions data_options;
  data_options.search.seed = options.seed;
  data_options.search.threads = options.threads;
  data_options.search.stop = &g_interrupted;
  std::signal(SIGINT, on_interrupt);
  auto report = solve(puzzle, &generated->data, data_options);
  std::signal(SIGINT, SIG_DFL);
  if (!report) return fail_input(report.message());
  const double solve_seconds = lap();
  const bool exact = report->fit.proves(), same = report->sha256 == target;
  say(format_line("3. with data (%.2f s): %s; MSE against pred %.2e on all %zu rows (float rounding: %.1e).",
                  solve_seconds,
                  report->searched ? (std::string(stop_reason_name(report->search.stopped)) + " after " + std::to_string(report->search.steps) +
                                      " descent steps, " + std::to_string(report->search.moves) + " moves scored")
                                         .c_str()
                                   : "the bias path was already exact",
                  report->fit.mse_pred, report->fit.rows, report->fit.tolerance));
  say(format_line("4. answer sha256 %s: %s", report->sha256.c_str(),
                  exact && same   ? "proven, and the same as the answer the generator kept."
                  : exact         ? "exact on the data but not the generator's answer (an equivalent network?)."
                                  : "NOT proven."));
  ReportContext context;
  context.command = "demo";
  context.data_source = "generated (seed " + std::to_string(generate.seed) + ")";
  context.data_rows = generated->data.rows;
  context.pred_variance = pred_variance(generated->data);
  context.order_method = "auto";
  context.seed = options.seed;
  context.threads = used_threads(options.threads);
  context.expected_sha256 = target;
  context.verdict = verdict_of(*report);
  context.proven = exact && same;
  context.seconds = report->seconds;
  if (!write_reports(options, puzzle, *report, context)) return kExitInput;
  return exact && same && !g_interrupted.load() ? kExitOk : kExitNotProven;
}

int command_inspect(const Options& options) {
  if (options.positional.size() != 1) throw UsageError{"inspect needs one PIECES argument"};
  auto puzzle = read_puzzle(options.positional[0]);
  if (!puzzle) return fail_input(puzzle.message());
  const Puzzle& p = *puzzle;
  std::printf("puzzle %s\n", p.source.c_str());
  std::printf("  %zu pieces: %zu blocks, stream width d=%zu, hidden width h=%zu, %zu output(s)\n",
              p.pieces.size(), p.blocks(), p.dim, p.hidden, p.outputs);
  if (p.square)
    std::printf("  square blocks (d = h): the roles below are the weights' guess, not the shapes'\n");
  if (const int bits = stored_mantissa_bits(p); bits != 23) {
    std::printf(
        "  stored at half precision (%s): a proof allows for the weights' rounding where pred needs it\n",
        bits == 10 ? "float16" : "bfloat16");
  }
  if (!p.files.empty())
    std::printf("  the files are not named piece_<k>: pieces numbered by file name in natural order\n");
  std::printf("\npiece  shape      role   ||W||_F    ||b||%s\n", p.files.empty() ? "" : "  file");
  for (std::size_t k = 0; k < p.pieces.size(); ++k) {
    const Layer& layer = p.pieces[k];
    double w = 0, b = 0;
    for (float v : layer.weight) w += double(v) * v;
    for (float v : layer.bias) b += double(v) * v;
    char shape[32];
    std::snprintf(shape, sizeof shape, "%zux%zu", layer.rows, layer.cols);
    char bias[32];
    if (layer.has_bias) {
      std::snprintf(bias, sizeof bias, "%7.4f", std::sqrt(b));
    } else {
      std::snprintf(bias, sizeof bias, "%7s", "none");
    }
    std::printf("%5zu  %-9s  %-5s  %9.4f  %s%s%s\n", k, shape, role_name(p.roles[k]), std::sqrt(w), bias,
                p.files.empty() ? "" : "  ", p.files.empty() ? "" : printable(p.files[k]).c_str());
  }
  Pairing pairing = pair_layers(p);
  std::printf("\npairing by |trace(W_out W_in)| / ||W_out W_in||_F (Hungarian assignment):\n");
  std::printf(
      "  chosen pairs score %.3f..%.3f; best rejected pair %.3f; %zu of %zu pairs sure (score >= %.1fx every "
      "rival)\n",
      pairing.worst_chosen, *std::max_element(pairing.scores.begin(), pairing.scores.end()),
      pairing.best_rejected, pairing.sure, pairing.blocks.size(), Pairing::kSureRatio);
  if (pairing.bias_score_used) {
    std::printf(
        "  the biases' score joined the assignment: %.0f%% of the inp biases lie within a quarter of "
        "PyTorch's initial bound (trained from zero)\n",
        100 * pairing.bias_share);
  }
  std::printf("\n  inp  out  score\n");
  for (std::size_t i = 0; i < pairing.blocks.size(); ++i) {
    std::printf("  %3d  %3d  %.3f\n", pairing.blocks[i].inp, pairing.blocks[i].out, pairing.scores[i]);
  }
  if (!options.json.empty() || !options.svg.empty()) {
    SolveReport report;
    report.pairing = std::move(pairing);
    report.chain = order_by_chain(p, report.pairing.blocks, options.threads);
    report.used_chain = true;
    report.assembly = {report.chain.order, p.last_piece};
    report.answer = format_answer(report.assembly);
    report.sha256 = sha256_hex(report.answer);
    ReportContext context;
    context.command = "inspect";
    context.order_method = "chain";
    context.threads = used_threads(options.threads);
    context.verdict = verdict_of(report);
    if (!write_reports(options, p, report, context)) return kExitInput;
  }
  return kExitOk;
}

// The process's heap in huge pages (glibc on Linux; elsewhere nothing). A page fault costs
// ~11 us on the development VM, and a run was mostly faults: `solve` without data faulted 677
// pages (115 for `--version`), with data 2063 - the pieces' layers, the CSV's floats, the proof's
// packed net, each a fresh 4 kB page at a time, and half of them in a loader thread's own arena.
// So the heap grows 32 MB at a time and keeps what it has, large buffers come from it rather
// than from fresh mappings, every thread allocates from it (the workers allocate little: they
// compute in buffers made beforehand), and the kernel is advised to back it with 2 MB pages:
// ~142 and ~151 faults. The library's embedders keep their own allocator settings: this is the
// command line's choice for its own process. Advice only - where it is refused, nothing changes
// but the time; no value depends on it. A process whose address space or data segment is limited
// (ulimit -v, -d) keeps the default allocator: a heap reserved 32 MB at a time ran out under
// `ulimit -v 40000` where the default one solved the published puzzle with data.
void heap_in_huge_pages() {
#if defined(__linux__) && defined(__GLIBC__) && defined(MADV_HUGEPAGE)
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit limit {};
    if (getrlimit(resource, &limit) != 0 || limit.rlim_cur != RLIM_INFINITY) return;
  }
  constexpr std::size_t kPad = std::size_t(32) << 20, kHuge = std::size_t(2) << 20;
  mallopt(M_MMAP_THRESHOLD, int(kPad));
  mallopt(M_TRIM_THRESHOLD, int(2 * kPad));
  mallopt(M_TOP_PAD, int(kPad));
  mallopt(M_ARENA_MAX, 1);
  // A spacer up to the next 2 MB boundary, so that what comes after it - everything the run
  // allocates next - lies in whole huge pages (the part below a boundary cannot be one).
  char* probe = static_cast<char*>(std::malloc(1));
  if (!probe) return;
  const std::uintptr_t next = reinterpret_cast<std::uintptr_t>(probe) + 64;
  const std::uintptr_t lo = (next + kHuge - 1) / kHuge * kHuge;
  static void* spacer;  // kept (and reachable): freed, its pages would be handed out again
  spacer = std::malloc(lo - next);
  // The spacer grows the heap by the pad, unless it fitted below the heap's end already (about
  // one run in 20, when the end lay just past the boundary): then a block of half the pad, freed,
  // makes the heap reach past the boundary by more than the pad.
  auto heap_end = [] { return reinterpret_cast<std::uintptr_t>(sbrk(0)) / kHuge * kHuge; };
  if (heap_end() < lo + kPad / 2) {
    void* volatile grow = std::malloc(kPad / 2);  // volatile: a malloc freed unused may be elided
    std::free(grow);
  }
  const std::uintptr_t hi = heap_end();
  if (spacer && hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  std::free(probe);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  heap_in_huge_pages();
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    const CommandHelp* one = argc > 2 ? find_command(argv[2]) : nullptr;
    if (one) {
      std::printf("usage: humpty %s", one->text);
    } else {
      print_usage(stdout);
    }
    return kExitOk;
  }
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      const CommandHelp* one = find_command(command);
      if (!one) break;  // an unknown command is reported below
      std::printf("usage: humpty %s", one->text);
      return kExitOk;
    }
  }
  if (command == "--version") {
    std::printf("humpty %s\ncompiler: %s (%s)\nflags: %s\nkernel: %s\n", humpty::version(),
                HUMPTY_BUILD_COMPILER, __VERSION__, HUMPTY_BUILD_FLAGS, humpty::kernel_description());
    return kExitOk;
  }
  try {
    Options options = parse_options(argc, argv, 2, find_command(command));
    if (command == "demo") return command_demo(options);
    if (command == "solve") return command_solve(options);
    if (command == "verify") return command_verify(options);
    if (command == "inspect") return command_inspect(options);
    if (command == "convert") return command_convert(options);
    if (command == "generate") return command_generate(options);
    throw UsageError{"unknown command '" + command + "'"};
  } catch (const UsageError& error) {
    std::fprintf(stderr, "humpty: error: %s (see humpty --help)\n", printable(error.message).c_str());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    print_error(command + ": out of memory (the inputs or the sizes asked for are too large for this machine)");
    return kExitInput;
  } catch (const std::exception& error) {
    print_error(command + ": " + error.what());
    return kExitInput;
  } catch (...) {
    print_error(command + ": unexpected failure");
    return kExitInput;
  }
}
