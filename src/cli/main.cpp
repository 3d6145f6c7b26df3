// humpty - the command line: a thin layer over the library (include/humpty/humpty.hpp).
//
// stdout carries only results (for solve: the answer line), so that it can be piped; progress
// and findings go to stderr. Exit codes: 0 success, 1 not proven (or interrupted), 2 usage
// error, 3 unreadable or malformed input.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "humpty/humpty.hpp"

namespace {

using namespace humpty;

constexpr int kExitOk = 0;
constexpr int kExitNotProven = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInput = 3;

const char* const kUsage =
    "usage: humpty <command> [options]\n"
    "\n"
    "commands:\n"
    "  solve PIECES [--data CSV] [--order auto|chain|search] [--seed N] [--threads N]\n"
    "               [--rows N] [--time-limit SEC] [--start ANSWER|@FILE]\n"
    "               [--expect-sha256 HEX] [-q]\n"
    "      Put the network back together; prints the answer (piece indices in execution\n"
    "      order, joined by commas) on stdout.\n"
    "  verify PIECES [--data CSV] --answer ANSWER|@FILE [--threads N] [--expect-sha256 HEX]\n"
    "      Run an assembly on the data: MSE against pred (and true) and the answer's SHA-256.\n"
    "  inspect PIECES\n"
    "      The pieces, their shapes and roles, and the pairing table's summary.\n"
    "  convert SRC -o OUT [--data CSV] [--format humpty|pth|csv]\n"
    "      A pieces directory (+ data) to a .humpty file, or a .humpty file to a pieces\n"
    "      directory that torch.load reads, or its data to CSV.\n"
    "  generate -o DIR [--blocks N] [--dim D] [--hidden H] [--rows R] [--epochs E]\n"
    "               [--batch B] [--lr X] [--weight-decay X] [--seed S] [--threads N]\n"
    "      Train a network on synthetic data and write it as a shuffled puzzle:\n"
    "      DIR/pieces/, DIR/historical_data.csv, DIR/puzzle.humpty, DIR/answer.txt.\n"
    "\n"
    "PIECES is a directory of piece_<k>.pth files or a .humpty file (whose data, if any, is\n"
    "used when --data is not given).\n"
    "exit codes: 0 success, 1 not proven (MSE above float rounding, SHA-256 differs,\n"
    "interrupted), 2 usage error, 3 unreadable or malformed input.\n";

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
  std::string data, order = "auto", start, answer, expect_sha256, output, format;
  GenerateOptions generate;
  std::uint64_t seed = SearchOptions().seed;
  int threads = 0;
  std::size_t rows = 0;
  double time_limit = 0;
  bool quiet = false;
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

Options parse_options(int argc, char** argv, int first) {
  Options options;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
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
      if (options.format != "humpty" && options.format != "pth" && options.format != "csv") {
        throw UsageError{"--format must be humpty, pth or csv, got '" + options.format + "'"};
      }
    } else if (arg == "--blocks") {
      options.generate.blocks = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--dim") {
      options.generate.dim = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--hidden") {
      options.generate.hidden = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--epochs") {
      options.generate.epochs = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--batch") {
      options.generate.batch = std::size_t(parse_unsigned(arg, value()));
    } else if (arg == "--lr") {
      options.generate.lr = parse_number(arg, value());
    } else if (arg == "--weight-decay") {
      options.generate.weight_decay = parse_number(arg, value());
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

// Progress on stderr, minimap2 style: [humpty::stage::seconds] message.
Logger make_logger(bool quiet) {
  if (quiet) return nullptr;
  auto start = std::chrono::steady_clock::now();
  return [start](const std::string& stage, const std::string& message) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[humpty::%s::%.3f] %s\n", stage.c_str(), seconds, message.c_str());
  };
}

// An answer given inline or as @FILE.
Result<Assembly> read_assembly(const std::string& text, const Puzzle& puzzle) {
  if (!text.empty() && text[0] == '@') {
    std::string path = text.substr(1);
    FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return Status::failure(path + ": cannot open: " + std::strerror(errno));
    std::string content;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0 && content.size() < (1u << 24)) {
      content.append(buffer, n);
    }
    std::fclose(file);
    // The first line: answer.txt files carry the SHA-256 on a second line.
    return parse_answer(content.substr(0, content.find('\n')), puzzle, path);
  }
  return parse_answer(text, puzzle, "answer");
}

int fail_input(const std::string& message) {
  std::fprintf(stderr, "humpty: error: %s\n", message.c_str());
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

void print_fit(const Logger& log, const Fit& fit) {
  if (!log) return;
  char text[256];
  std::snprintf(text, sizeof text,
                "mse vs pred %.3e over %zu rows (%s at rounding level %.1e), max |error| %.3e", fit.mse_pred,
                fit.rows, fit.exact() ? "exact" : "NOT exact", fit.tolerance, fit.max_error);
  std::string message = text;
  if (fit.mse_true >= 0) {
    std::snprintf(text, sizeof text, "; mse vs true %.6g", fit.mse_true);
    message += text;
  }
  log("proof", message);
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
    if (data) log("load", std::to_string(data->rows) + " rows of data from " + data->source);
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
  if (!options.start.empty()) {
    auto start = read_assembly(options.start, *puzzle);
    if (!start) return fail_input(start.message());
    solve_options.starts.push_back(*start);
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
    if (!report->fit.exact()) code = kExitNotProven;
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
    log("answer", "sha256 " + report->sha256);
  }
  if (!options.quiet && report->searched && report->search.stopped != "exact") {
    std::fprintf(
        stderr,
        "humpty: the search stopped (%s) before reaching an exact assembly; the answer above is its best\n",
        report->search.stopped.c_str());
  }
  if (!options.expect_sha256.empty() && report->sha256 != options.expect_sha256) {
    std::fprintf(stderr, "humpty: the answer's sha256 %s differs from the expected %s\n",
                 report->sha256.c_str(), options.expect_sha256.c_str());
    code = kExitNotProven;
  }
  if (g_interrupted.load()) code = kExitNotProven;
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
  auto assembly = read_assembly(options.answer, *puzzle);
  if (!assembly) return fail_input(assembly.message());
  Fit fit = evaluate(*puzzle, *assembly, *data, options.threads);
  std::string sha = sha256_hex(format_answer(*assembly));
  std::printf("sha256 %s\nrows %zu\nmse_pred %.6e\n", sha.c_str(), fit.rows, fit.mse_pred);
  if (fit.mse_true >= 0) std::printf("mse_true %.6e\n", fit.mse_true);
  std::printf("exact %s\n", fit.exact() ? "yes" : "no");
  print_fit(log, fit);
  int code = fit.exact() ? kExitOk : kExitNotProven;
  if (!options.expect_sha256.empty() && sha != options.expect_sha256) {
    std::fprintf(stderr, "humpty: sha256 %s differs from the expected %s\n", sha.c_str(),
                 options.expect_sha256.c_str());
    code = kExitNotProven;
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
    written = write_bundle(options.output, inputs->puzzle.pieces, inputs->has_data ? &inputs->data : nullptr);
  } else if (format == "pth") {
    written = write_pieces_directory(options.output, inputs->puzzle.pieces);
  } else {
    if (!inputs->has_data) return fail_input(source + ": has no data to write as CSV");
    written = write_csv(options.output, inputs->data);
  }
  if (!written) return fail_input(written.message());
  if (log) {
    log("convert",
        source + " -> " + options.output + " (" + format + ": " +
            std::to_string(inputs->puzzle.pieces.size()) + " pieces" +
            (inputs->has_data && format != "pth" ? ", " + std::to_string(inputs->data.rows) + " rows" : "") +
            ")");
  }
  return kExitOk;
}

int command_generate(const Options& options) {
  if (!options.positional.empty()) throw UsageError{"generate takes no positional arguments (use -o DIR)"};
  if (options.output.empty()) throw UsageError{"generate needs -o DIR"};
  GenerateOptions generate = options.generate;
  generate.threads = options.threads;
  generate.log = make_logger(options.quiet);
  auto generated = generate_puzzle(generate);
  if (!generated) throw UsageError{generated.message()};
  const std::string& dir = options.output;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return fail_input(dir + ": cannot create directory: " + std::strerror(errno));
  }
  const std::string answer = format_answer(generated->answer);
  for (Status status :
       {write_pieces_directory(dir + "/pieces", generated->puzzle.pieces),
        write_csv(dir + "/historical_data.csv", generated->data),
        write_bundle(dir + "/puzzle.humpty", generated->puzzle.pieces, &generated->data),
        write_text_file(dir + "/answer.txt", answer + "\nsha256 " + sha256_hex(answer) + "\n")}) {
    if (!status) return fail_input(status.message());
  }
  if (generate.log) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "%zu blocks, d=%zu, h=%zu, %zu rows: network mse vs true %.6g; wrote "
                  "%s/{pieces,historical_data.csv,puzzle.humpty,answer.txt}",
                  generate.blocks, generate.dim, generate.hidden, generate.rows, generated->loss,
                  dir.c_str());
    generate.log("generate", text);
  }
  return kExitOk;
}

int command_inspect(const Options& options) {
  if (options.positional.size() != 1) throw UsageError{"inspect needs one PIECES argument"};
  auto puzzle = read_puzzle(options.positional[0]);
  if (!puzzle) return fail_input(puzzle.message());
  const Puzzle& p = *puzzle;
  std::printf("puzzle %s\n", p.source.c_str());
  std::printf("  %zu pieces: %zu blocks, stream width d=%zu, hidden width h=%zu, %zu output(s)\n",
              p.pieces.size(), p.blocks(), p.dim, p.hidden, p.outputs);
  std::printf("\npiece  shape      role   ||W||_F    ||b||\n");
  for (std::size_t k = 0; k < p.pieces.size(); ++k) {
    const Layer& layer = p.pieces[k];
    double w = 0, b = 0;
    for (float v : layer.weight) w += double(v) * v;
    for (float v : layer.bias) b += double(v) * v;
    char shape[32];
    std::snprintf(shape, sizeof shape, "%zux%zu", layer.rows, layer.cols);
    std::printf("%5zu  %-9s  %-5s  %9.4f  %7.4f\n", k, shape, role_name(p.roles[k]), std::sqrt(w),
                std::sqrt(b));
  }
  Pairing pairing = pair_layers(p);
  std::printf("\npairing by |trace(W_out W_in)| / ||W_out W_in||_F (Hungarian assignment):\n");
  std::printf(
      "  chosen pairs score %.3f..%.3f; best rejected pair %.3f; %zu of %zu pairs sure (score >= %.1fx every "
      "rival)\n",
      pairing.worst_chosen, *std::max_element(pairing.scores.begin(), pairing.scores.end()),
      pairing.best_rejected, pairing.sure, pairing.blocks.size(), Pairing::kSureRatio);
  std::printf("\n  inp  out  score\n");
  for (std::size_t i = 0; i < pairing.blocks.size(); ++i) {
    std::printf("  %3d  %3d  %.3f\n", pairing.blocks[i].inp, pairing.blocks[i].out, pairing.scores[i]);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command == "--version") {
    std::printf("humpty %s\ncompiler: %s (%s)\nflags: %s\nkernel: %s\n", humpty::version(),
                HUMPTY_BUILD_COMPILER, __VERSION__, HUMPTY_BUILD_FLAGS, humpty::kernel_description());
    return kExitOk;
  }
  try {
    Options options = parse_options(argc, argv, 2);
    if (command == "solve") return command_solve(options);
    if (command == "verify") return command_verify(options);
    if (command == "inspect") return command_inspect(options);
    if (command == "convert") return command_convert(options);
    if (command == "generate") return command_generate(options);
    throw UsageError{"unknown command '" + command + "'"};
  } catch (const UsageError& error) {
    std::fprintf(stderr, "humpty: error: %s\n(see humpty --help)\n", error.message.c_str());
    return kExitUsage;
  }
}
