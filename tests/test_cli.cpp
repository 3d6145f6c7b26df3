#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "catch.hpp"
#include "support.hpp"

namespace {

std::string pieces() {
  return test::puzzle_dir() + "/pieces";
}
std::string csv() {
  return test::puzzle_dir() + "/historical_data.csv";
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// A small generated puzzle on disk (made once per run with the CLI itself): pieces/,
// historical_data.csv, puzzle.humpty, answer.txt. 8 blocks of d=8, h=16.
const std::string& small() {
  static const std::string dir = [] {
    std::string d = test::scratch_dir("cli-small") + "/g";
    auto made = test::run_cli("generate -q -o " + d + " --blocks 8 --dim 8 --hidden 16 --rows 800 --seed 5");
    if (made.exit_code != 0) throw std::runtime_error("generate failed: " + made.err);
    return d;
  }();
  return dir;
}
std::string small_answer() {
  auto bytes = test::read_bytes(small() + "/answer.txt");
  return first_line(std::string(bytes.begin(), bytes.end()));
}

}  // namespace

TEST_CASE("cli: usage errors exit 2", "[cli]") {
  const std::string pieces = small() + "/pieces", csv = small() + "/historical_data.csv";
  CHECK(test::run_cli("").exit_code == 2);
  auto unknown = test::run_cli("frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("humpty: error: unknown command 'frobnicate'") == 0);
  CHECK(test::run_cli("solve").exit_code == 2);
  CHECK(test::run_cli("solve " + pieces + " --bogus").err.find("unknown option '--bogus'") !=
        std::string::npos);
  CHECK(test::run_cli("solve " + pieces + " --seed").err.find("--seed needs a value") != std::string::npos);
  CHECK(test::run_cli("solve " + pieces + " --threads x").exit_code == 2);
  CHECK(test::run_cli("solve " + pieces + " --order sideways").exit_code == 2);
  CHECK(test::run_cli("solve " + pieces + " --order search").err.find("--order search needs --data") !=
        std::string::npos);
  CHECK(test::run_cli("verify " + pieces + " --data " + csv).exit_code == 2);
  CHECK(test::run_cli("--help").exit_code == 0);
  auto version = test::run_cli("--version");
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("flags: ") != std::string::npos);
  CHECK(version.out.find("-ffp-contract=off") != std::string::npos);
}

TEST_CASE("cli: unreadable or malformed input exits 3 naming the file", "[cli]") {
  const std::string pieces = small() + "/pieces", csv = small() + "/historical_data.csv";
  auto missing = test::run_cli("solve /nonexistent/pieces");
  CHECK(missing.exit_code == 3);
  CHECK(missing.err == "humpty: error: /nonexistent/pieces: no such file or directory\n");
  CHECK(missing.out.empty());
  std::string dir = test::scratch_dir("cli-bad-csv");
  test::write_text(dir + "/bad.csv", "a,pred\n1,2\n3,oops\n");
  auto bad = test::run_cli("solve -q " + pieces + " --data " + dir + "/bad.csv");
  CHECK(bad.exit_code == 3);
  CHECK(bad.err == "humpty: error: " + dir + "/bad.csv:3:3: column 'pred': expected a number, got 'oops'\n");
  test::write_text(dir + "/narrow.csv", "a,pred\n1,2\n");
  auto narrow = test::run_cli("solve " + pieces + " --data " + dir + "/narrow.csv");
  CHECK(narrow.exit_code == 3);
  CHECK(narrow.err.find("data has 1 feature columns, the network's input width is 8") != std::string::npos);
  auto bad_answer = test::run_cli("verify " + pieces + " --data " + csv + " --answer 1,2,3");
  CHECK(bad_answer.exit_code == 3);
  CHECK(bad_answer.err.find("humpty: error: answer: the answer lists 3 pieces, the puzzle has 17") == 0);
}

TEST_CASE("cli: solve prints only the answer on stdout, and proves it", "[cli][published]") {
  auto plain = test::run_cli("solve " + pieces());
  REQUIRE(plain.exit_code == 0);
  std::string answer = first_line(plain.out);
  CHECK(plain.out == answer + "\n");
  CHECK(humpty::sha256_hex(answer) == test::kPublishedSha256);
  CHECK(plain.err.find("sha256 " + std::string(test::kPublishedSha256)) != std::string::npos);

  auto quiet = test::run_cli("solve " + pieces() + " -q --expect-sha256 " + test::kPublishedSha256);
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK(quiet.out == plain.out);

  auto wrong_sha = test::run_cli("solve " + pieces() + " -q --expect-sha256 " + std::string(64, 'a'));
  CHECK(wrong_sha.exit_code == 1);
  CHECK(wrong_sha.out == plain.out);  // the answer is still printed

  auto with_data = test::run_cli("solve " + pieces() + " --data " + csv() + " --threads 2");
  CHECK(with_data.exit_code == 0);
  CHECK(with_data.out == plain.out);
  CHECK(with_data.err.find("(exact at rounding level") != std::string::npos);
}

TEST_CASE("cli: verify and inspect", "[cli][published]") {
  std::string answer = first_line(test::run_cli("solve -q " + pieces()).out);
  auto good = test::run_cli("verify " + pieces() + " --data " + csv() + " --answer " + answer);
  CHECK(good.exit_code == 0);
  CHECK(good.out.find("sha256 " + std::string(test::kPublishedSha256) + "\n") == 0);
  CHECK(good.out.find("exact yes") != std::string::npos);

  // Swap the first two blocks: a valid assembly, not the right one.
  auto parts = humpty::parse_answer(answer, test::published_puzzle(), "answer");
  REQUIRE(parts.ok());
  std::swap(parts->blocks[0], parts->blocks[1]);
  std::string dir = test::scratch_dir("cli-verify");
  test::write_text(dir + "/wrong.txt", humpty::format_answer(*parts) + "\n");
  auto wrong = test::run_cli("verify " + pieces() + " --data " + csv() + " --answer @" + dir + "/wrong.txt");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.find("exact no") != std::string::npos);

  auto inspect = test::run_cli("inspect " + pieces());
  CHECK(inspect.exit_code == 0);
  CHECK(inspect.out.find("97 pieces: 48 blocks, stream width d=48, hidden width h=96") != std::string::npos);
  CHECK(inspect.out.find("48 of 48 pairs sure") != std::string::npos);
}

TEST_CASE("cli: convert and generate", "[cli][generate]") {
  std::string dir = test::scratch_dir("cli-convert");
  auto generated = test::run_cli("generate -q -o " + dir +
                                 "/g --blocks 3 --dim 5 --hidden 9 --rows 200 --epochs 5 --seed 2");
  REQUIRE(generated.exit_code == 0);
  CHECK(generated.err.empty());
  auto answer_file = test::read_bytes(dir + "/g/answer.txt");
  std::string answer_text(answer_file.begin(), answer_file.end());
  std::string answer = answer_text.substr(0, answer_text.find('\n'));
  CHECK(answer_text == answer + "\nsha256 " + humpty::sha256_hex(answer) + "\n");
  // The three forms of the puzzle agree.
  auto from_dir = test::run_cli("verify -q " + dir + "/g/pieces --data " + dir +
                                "/g/historical_data.csv --answer @" + dir + "/g/answer.txt");
  CHECK(from_dir.exit_code == 0);
  auto from_bundle =
      test::run_cli("verify -q " + dir + "/g/puzzle.humpty --answer @" + dir + "/g/answer.txt");
  CHECK(from_bundle.exit_code == 0);
  CHECK(from_bundle.out == from_dir.out);
  // .humpty -> pth directory and CSV, and back to .humpty: the same bytes.
  CHECK(test::run_cli("convert -q " + dir + "/g/puzzle.humpty -o " + dir + "/pieces").exit_code == 0);
  CHECK(test::run_cli("convert -q " + dir + "/g/puzzle.humpty -o " + dir + "/data.csv").exit_code == 0);
  CHECK(test::run_cli("convert -q " + dir + "/pieces --data " + dir + "/data.csv -o " + dir + "/again.humpty")
            .exit_code == 0);
  CHECK(test::read_bytes(dir + "/again.humpty") == test::read_bytes(dir + "/g/puzzle.humpty"));
  auto solved = test::run_cli("solve -q " + dir + "/g/puzzle.humpty");
  CHECK(solved.exit_code == 0);
  CHECK(solved.out == answer + "\n");
  // The same through safetensors pieces, bias-free ones included below.
  auto to_st = test::run_cli("convert " + dir + "/g/puzzle.humpty -o " + dir + "/st --format safetensors");
  CHECK(to_st.exit_code == 0);
  CHECK(to_st.err.find("(safetensors: 7 pieces)") != std::string::npos);
  CHECK(test::read_bytes(dir + "/st/piece_6.safetensors").size() > 8);
  auto solved_st = test::run_cli("solve -q " + dir + "/st --data " + dir + "/data.csv");
  CHECK(solved_st.exit_code == 0);
  CHECK(solved_st.out == answer + "\n");
  CHECK(test::run_cli("convert -q " + dir + "/st --data " + dir + "/data.csv -o " + dir + "/st.humpty")
            .exit_code == 0);
  CHECK(test::read_bytes(dir + "/st.humpty") == test::read_bytes(dir + "/g/puzzle.humpty"));
  auto bad_format = test::run_cli("convert " + dir + "/g/puzzle.humpty -o " + dir + "/x --format onnx");
  CHECK(bad_format.exit_code == 2);
  CHECK(bad_format.err.find("--format must be humpty, pth, safetensors or csv, got 'onnx'") !=
        std::string::npos);
  // Layers without biases: written without, solved, and converted back to the same bytes.
  REQUIRE(test::run_cli("generate -q -o " + dir +
                        "/nb --blocks 3 --dim 5 --hidden 9 --rows 200 --epochs 5 "
                        "--seed 2 --no-bias")
              .exit_code == 0);
  auto no_bias = test::run_cli("solve " + dir + "/nb/puzzle.humpty --svg " + dir + "/nb.svg");
  CHECK(no_bias.exit_code == 0);
  CHECK(no_bias.err.find("the out layers have no bias, so there is no bias path") != std::string::npos);
  auto svg = test::read_bytes(dir + "/nb.svg");
  CHECK(std::string(svg.begin(), svg.end()).find("out-bias steps: none, the out layers have no bias") !=
        std::string::npos);
  CHECK(test::run_cli("inspect " + dir + "/nb/pieces").out.find("     none\n") != std::string::npos);
  CHECK(test::run_cli("convert -q " + dir + "/nb/pieces --data " + dir + "/nb/historical_data.csv -o " + dir +
                      "/nb-again.humpty")
            .exit_code == 0);
  CHECK(test::read_bytes(dir + "/nb-again.humpty") == test::read_bytes(dir + "/nb/puzzle.humpty"));
  CHECK(test::run_cli("convert -q " + dir + "/nb/puzzle.humpty -o " + dir + "/nb-st --format safetensors")
            .exit_code == 0);
  CHECK(test::run_cli("convert -q " + dir + "/nb-st --data " + dir + "/nb/historical_data.csv -o " + dir +
                      "/nb-st.humpty")
            .exit_code == 0);
  CHECK(test::read_bytes(dir + "/nb-st.humpty") == test::read_bytes(dir + "/nb/puzzle.humpty"));
  // Errors.
  auto both = test::run_cli("generate -o " + dir + "/both --zero-bias --no-bias");
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("zero biases and no biases exclude each other") != std::string::npos);
  CHECK(test::run_cli("convert " + dir + "/g/puzzle.humpty").exit_code == 2);
  CHECK(test::run_cli("generate -o " + dir + "/bad --dim 8 --hidden 8 --outputs 8").exit_code == 2);
  // Square blocks (d == h): generated, read with the roles the weights guess, verified whatever
  // the guess (either role is accepted), and solved to an answer that names every piece once.
  REQUIRE(
      test::run_cli("generate -q -o " + dir + "/square --blocks 4 --dim 6 --hidden 6 --rows 300 --epochs 5")
          .exit_code == 0);
  auto square_verified =
      test::run_cli("verify -q " + dir + "/square/puzzle.humpty --answer @" + dir + "/square/answer.txt");
  CHECK(square_verified.exit_code == 0);
  auto square_solved = test::run_cli("solve -q " + dir + "/square/pieces");
  CHECK(square_solved.exit_code == 0);  // no data: nothing to prove, the weights' guess printed
  auto square_answer =
      humpty::parse_answer(square_solved.out, *humpty::read_puzzle(dir + "/square/pieces"), "out");
  CHECK(square_answer.ok());
  test::write_text(dir + "/junk.humpty", "not a puzzle");
  auto junk = test::run_cli("solve " + dir + "/junk.humpty");
  CHECK(junk.exit_code == 3);
  CHECK(junk.err ==
        "humpty: error: " + dir +
            "/junk.humpty: neither a directory of piece_<k>.pth (or .pt or .safetensors) files nor a .humpty "
            "file\n");
}

TEST_CASE("cli: an interrupted search prints its best and exits 1", "[cli][generate]") {
  // A 24-block generated puzzle is far from solved after one second.
  std::string dir = test::scratch_dir("cli-interrupt");
  REQUIRE(test::run_cli("generate -q -o " + dir +
                        " --blocks 24 --dim 12 --hidden 20 --rows 800 --epochs 10 --seed 9")
              .exit_code == 0);
  auto interrupted = test::run_cli("solve " + dir +
                                   "/puzzle.humpty --threads 2 & pid=$!; sleep 1; kill -INT $pid; wait $pid");
  CHECK(interrupted.exit_code == 1);
  CHECK(interrupted.out.find(',') != std::string::npos);  // an answer line was printed
  CHECK(interrupted.err.find("humpty: the search stopped (interrupted)") != std::string::npos);
  auto timed_out = test::run_cli("solve " + dir + "/puzzle.humpty --time-limit 0.5");
  CHECK(timed_out.exit_code == 1);
  CHECK(timed_out.err.find("humpty: the search stopped (time limit)") != std::string::npos);
  CHECK(std::regex_search(timed_out.err, std::regex("\nhumpty: its MSE is [0-9.e+-]+ x var\\(pred\\)")));
  auto parts = humpty::parse_answer(timed_out.out, *humpty::read_puzzle(dir + "/puzzle.humpty"), "best");
  CHECK(parts.ok());  // a full, valid assembly
}

TEST_CASE("cli: a generated puzzle: solve prints only the answer, proves it; verify and inspect", "[cli]") {
  const std::string pieces = small() + "/pieces", csv = small() + "/historical_data.csv";
  const std::string answer = small_answer(), sha = humpty::sha256_hex(answer);
  auto with_data = test::run_cli("solve " + pieces + " --data " + csv + " --threads 2 --expect-sha256 " + sha);
  CHECK(with_data.exit_code == 0);
  CHECK(with_data.out == answer + "\n");
  CHECK(with_data.err.find("(exact at rounding level") != std::string::npos);
  CHECK(with_data.err.find("sha256 " + sha) != std::string::npos);
  auto quiet = test::run_cli("solve -q " + small() + "/puzzle.humpty");
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK(quiet.out == with_data.out);
  auto wrong_sha = test::run_cli("solve -q " + small() + "/puzzle.humpty --expect-sha256 " + std::string(64, 'a'));
  CHECK(wrong_sha.exit_code == 1);
  CHECK(wrong_sha.out == with_data.out);

  auto good = test::run_cli("verify " + pieces + " --data " + csv + " --answer " + answer);
  CHECK(good.exit_code == 0);
  CHECK(good.out.find("sha256 " + sha + "\n") == 0);
  CHECK(good.out.find("exact yes") != std::string::npos);
  auto parts = humpty::parse_answer(answer, *humpty::read_puzzle(pieces), "answer");
  REQUIRE(parts.ok());
  std::swap(parts->blocks[0], parts->blocks[1]);
  auto wrong = test::run_cli("verify " + pieces + " --data " + csv + " --answer " + humpty::format_answer(*parts));
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.find("exact no") != std::string::npos);
  // The right answer on too few rows: it fits them, and that proves nothing (exit 1, said why).
  auto text = test::read_bytes(csv);
  std::string head(text.begin(), text.end()), few = test::scratch_dir("cli-few-rows") + "/few.csv";
  std::size_t end = 0;
  for (int line = 0; line < 4; ++line) end = head.find('\n', end) + 1;  // the header and 3 rows
  test::write_text(few, head.substr(0, end));
  auto scant = test::run_cli("verify " + pieces + " --data " + few + " --answer " + answer);
  CHECK(scant.exit_code == 1);
  CHECK(scant.out.find("exact yes") != std::string::npos);
  CHECK(scant.err.find("3 rows are too few to prove it (") != std::string::npos);
  auto inspect = test::run_cli("inspect " + pieces);
  CHECK(inspect.exit_code == 0);
  CHECK(inspect.out.find("17 pieces: 8 blocks, stream width d=8, hidden width h=16") != std::string::npos);
}

TEST_CASE("cli: solve --prefix keeps the known first blocks; a bad prefix exits 3 naming it",
          "[cli][prefix]") {
  const std::string bundle = small() + "/puzzle.humpty", answer = small_answer();
  std::size_t cut = 0;
  for (int field = 0; field < 4; ++field) cut = answer.find(',', cut) + 1;  // the first two blocks
  const std::string prefix = answer.substr(0, cut - 1);
  const std::string dir = test::scratch_dir("cli-prefix");
  auto known =
      test::run_cli("solve " + bundle + " --threads 2 --prefix " + prefix + " --json " + dir + "/r.json");
  CHECK(known.exit_code == 0);
  CHECK(known.out == answer + "\n");
  CHECK(known.err.find(
            "the first 2 blocks given, run on the data's rows and taken out of the puzzle; the solve "
            "pairs and orders the other 6") != std::string::npos);
  auto json = test::read_bytes(dir + "/r.json");
  CHECK(std::string(json.begin(), json.end()).find("\"prefix_blocks\":2") != std::string::npos);
  test::write_text(dir + "/prefix.txt", prefix + "\n");
  auto from_file = test::run_cli("solve -q " + bundle + " --prefix @" + dir + "/prefix.txt");
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == known.out);
  auto odd = test::run_cli("solve -q " + bundle + " --prefix " + answer.substr(0, answer.find(',')));
  CHECK(odd.exit_code == 3);
  CHECK(odd.err ==
        "humpty: error: prefix: expected whole blocks (an inp piece, then its out piece), but this lists "
        "1 piece\n");
  CHECK(odd.out.empty());
  auto missing = test::run_cli("solve -q " + bundle + " --prefix @" + dir + "/none.txt");
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find(dir + "/none.txt") != std::string::npos);
  CHECK(test::run_cli("verify " + bundle + " --answer " + answer + " --prefix " + prefix).exit_code == 2);
}

TEST_CASE("cli: solve --pairs keeps the known pairs; bad pairs exit 3 naming them", "[cli][pairs]") {
  const std::string bundle = small() + "/puzzle.humpty", answer = small_answer();
  // The answer's third and first blocks, in that order (pairs come in any order).
  std::vector<std::string> fields;
  for (std::size_t at = 0, comma;; at = comma + 1) {
    comma = answer.find(',', at);
    fields.push_back(answer.substr(at, comma == std::string::npos ? comma : comma - at));
    if (comma == std::string::npos) break;
  }
  REQUIRE(fields.size() == 17);
  const std::string pairs = fields[4] + "," + fields[5] + "," + fields[0] + "," + fields[1];
  const std::string dir = test::scratch_dir("cli-pairs");
  auto known = test::run_cli("solve " + bundle + " --threads 2 --order search --pairs " + pairs + " --json " +
                             dir + "/r.json --svg " + dir + "/r.svg");
  CHECK(known.exit_code == 0);
  CHECK(known.out == answer + "\n");
  CHECK(known.err.find("2 given (kept)") != std::string::npos);
  auto json = test::read_bytes(dir + "/r.json");
  const std::string text(json.begin(), json.end());
  CHECK(text.find("\"given\":2") != std::string::npos);
  CHECK(text.find("\"inp\":" + fields[0] + ",\"out\":" + fields[1] + ",") != std::string::npos);
  auto svg = test::read_bytes(dir + "/r.svg");
  CHECK(std::string(svg.begin(), svg.end()).find("2 given (blue)") != std::string::npos);
  test::write_text(dir + "/pairs.txt", pairs + "\n");
  auto from_file = test::run_cli("solve -q " + bundle + " --order search --pairs @" + dir + "/pairs.txt");
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == known.out);
  auto backwards = test::run_cli("solve -q " + bundle + " --pairs " + fields[1] + "," + fields[0]);
  CHECK(backwards.exit_code == 3);
  CHECK(backwards.err ==
        "humpty: error: pairs: position 0 needs an inp layer, but piece " + fields[1] + " is an out layer\n");
  CHECK(backwards.out.empty());
  auto crossed = test::run_cli("solve -q " + bundle + " --prefix " + fields[0] + "," + fields[1] +
                               " --pairs " + fields[0] + "," + fields[3]);
  CHECK(crossed.exit_code == 3);
  CHECK(crossed.err == "humpty: error: given pair 0 pairs pieces " + fields[0] + " and " + fields[3] +
                           ", the prefix does not\n");
  CHECK(test::run_cli("verify " + bundle + " --answer " + answer + " --pairs " + pairs).exit_code == 2);
  for (const char* option : {"--pairs", "--prefix"}) {
    auto empty = test::run_cli("solve -q " + bundle + " " + option + " ''");
    CHECK(empty.exit_code == 2);
    CHECK(empty.err.find(std::string(option) + " needs blocks (inp,out,...) or @FILE") != std::string::npos);
  }
}

TEST_CASE("cli: layer files of any names are numbered by name, and the answer is given as files too",
          "[cli]") {
  // The small puzzle's pieces under names whose natural order (w7 before w12) is not their piece
  // order: piece k becomes "w<(k * 7) % 17 + 1>.pth", so the answer maps through the names.
  const std::string dir = test::scratch_dir("cli-named") + "/layers";
  std::filesystem::create_directories(dir);
  const std::string answer = small_answer();
  auto original = humpty::parse_answer(answer, *humpty::read_puzzle(small() + "/pieces"), "answer");
  REQUIRE(original.ok());
  std::vector<std::string> name(17);
  for (int k = 0; k < 17; ++k) {
    name[std::size_t(k)] = "w" + std::to_string((k * 7) % 17 + 1) + ".pth";
    std::filesystem::copy_file(small() + "/pieces/piece_" + std::to_string(k) + ".pth",
                               dir + "/" + name[std::size_t(k)]);
  }
  std::string expected_files;  // the right answer as file names
  for (const humpty::Block& block : original->blocks)
    expected_files += "\"" + name[std::size_t(block.inp)] + "\",\"" + name[std::size_t(block.out)] + "\",";
  expected_files += "\"" + name[std::size_t(original->last)] + "\"";

  const std::string json = dir + "/../report.json";
  auto solved = test::run_cli("solve " + dir + " --data " + small() + "/historical_data.csv --json " + json);
  CHECK(solved.exit_code == 0);
  CHECK(solved.out != answer + "\n");  // other numbers: the files' natural order, not piece_<k>
  CHECK(
      solved.err.find("pieces numbered by file name in natural order, piece 0 w1.pth .. piece 16 w17.pth") !=
      std::string::npos);
  auto report = test::read_bytes(json);
  const std::string text(report.begin(), report.end());
  CHECK(text.find("\"answer_files\":[" + expected_files + "]") != std::string::npos);
  CHECK(text.find("\"files\":[\"w1.pth\",\"w2.pth\",") != std::string::npos);
  auto verified = test::run_cli("verify -q " + dir + " --data " + small() + "/historical_data.csv --answer " +
                                first_line(solved.out));
  CHECK(verified.exit_code == 0);
  // The answer as file names (solve's log line) is an answer too, and gives the same SHA-256.
  const std::size_t as_files = solved.err.find("as files: ");
  REQUIRE(as_files != std::string::npos);
  const std::string names = first_line(solved.err.substr(as_files + 10));
  auto by_name =
      test::run_cli("verify " + dir + " --data " + small() + "/historical_data.csv --answer " + names);
  CHECK(by_name.exit_code == 0);
  CHECK(by_name.out.find("sha256 " + humpty::sha256_hex(first_line(solved.out))) == 0);
  CHECK(
      test::run_cli("verify " + dir + " --data " + small() + "/historical_data.csv --answer w1.pth,nope.pth")
          .err.find("expected a piece number or file name, got 'nope.pth'") != std::string::npos);
  auto inspect = test::run_cli("inspect " + dir);
  CHECK(inspect.out.find("pieces numbered by file name in natural order") != std::string::npos);
  CHECK(inspect.out.find("  w17.pth\n") != std::string::npos);
}

namespace {

const char* const kCommandNames[] = {"demo", "solve", "verify", "inspect", "convert", "generate"};

// The options named in a usage text: -o, -q and every --name.
std::set<std::string> option_names(const std::string& text) {
  std::set<std::string> names;
  static const std::regex option(R"((^|[\[ \n])(-[oq]|--[a-z0-9][a-z0-9-]*)(?=[\] \n]|$))");
  for (std::sregex_iterator it(text.begin(), text.end(), option), end; it != end; ++it) names.insert((*it)[2]);
  return names;
}

// `humpty COMMAND --help`'s usage lines: the first, and those that continue it ([...]).
std::string help_usage(const std::string& command) {
  std::istringstream in(test::run_cli(command + " --help").out);
  std::string line, usage;
  for (bool first = true; std::getline(in, line); first = false) {
    const std::size_t text = line.find_first_not_of(' ');
    if (!first && (text == std::string::npos || line[text] != '[')) break;
    usage += line + "\n";
  }
  return usage;
}

// The lines of a file from one that `starts` to the next that `ends` (or starts another entry):
// `starts` says 1 for the command's entry, 0 for another command's, -1 for neither.
std::string entry_lines(const std::string& path, const std::function<int(const std::string&)>& starts,
                        const std::function<bool(const std::string&)>& ends) {
  std::ifstream in(path);
  std::string line, lines;
  bool inside = false;
  while (std::getline(in, line)) {
    const int entry = starts(line);
    if (entry >= 0) inside = entry == 1;
    else if (ends(line)) inside = false;
    if (inside) lines += line + "\n";
  }
  return lines;
}

// The README's Commands block: the lines of `humpty COMMAND ...` and their continuations.
std::string readme_usage(const std::string& command) {
  return entry_lines(
      "README.md",
      [&](const std::string& line) {
        return line.rfind("humpty ", 0) != 0 ? -1 : int(line.rfind("humpty " + command + " ", 0) == 0);
      },
      [](const std::string& line) { return line.empty() || line[0] != ' '; });
}

// The man page's SYNOPSIS entry of the command (not the DESCRIPTION's `.B humpty demo`), roff
// escapes (\fB, \-) removed.
std::string man_usage(const std::string& command) {
  bool synopsis = false;
  std::string usage = entry_lines(
      "docs/humpty.1",
      [&](const std::string& line) {
        if (line.rfind(".SH", 0) == 0) synopsis = line == ".SH SYNOPSIS";
        return !synopsis || line.rfind(".B humpty ", 0) != 0 ? -1 : int(line == ".B humpty " + command);
      },
      [](const std::string& line) { return line.rfind(".br", 0) == 0 || line.rfind(".SH", 0) == 0; });
  usage = std::regex_replace(usage, std::regex(R"(\\f[BIR])"), "");
  return std::regex_replace(usage, std::regex(R"(\\-)"), "-");
}

// Each command's options as its --help names them.
std::map<std::string, std::set<std::string>> help_options() {
  std::map<std::string, std::set<std::string>> takes;
  for (const std::string command : kCommandNames) takes[command] = option_names(help_usage(command));
  return takes;
}

}  // namespace

TEST_CASE("cli: --help, the README and the man page list the same options for each command", "[cli]") {
  const auto takes = help_options();
  for (const std::string command : kCommandNames) {
    INFO(command << " --help: " << help_usage(command));
    CHECK(takes.at(command).size() >= 3);
    CHECK(option_names(readme_usage(command)) == takes.at(command));
    CHECK(option_names(man_usage(command)) == takes.at(command));
  }
  CHECK(takes.at("solve").count("--keep-pairs") == 1);
  CHECK(takes.at("verify").count("--time-limit") == 0);
}

// Every option of the command line given to every command (~200 runs: 1 s, 13 s sanitized, so
// `make sanitize-fast` leaves it out; the parser's other paths run sanitized above).
TEST_CASE("cli: a command refuses exactly the options only other commands take", "[cli][every-option]") {
  const auto takes = help_options();
  std::set<std::string> all;
  for (const auto& [command, options] : takes) all.insert(options.begin(), options.end());
  // " x extra": an extra positional argument (or a missing file), so that nothing runs whatever
  // the option is (demo --json x would otherwise run the demo).
  for (const std::string command : kCommandNames) {
    for (const std::string& option : all) {
      INFO(command << " " << option);
      test::Run run = test::run_cli(command + " " + option + " x extra");
      const bool refused = run.err.find(command + " does not take " + option) != std::string::npos;
      CHECK(refused == (takes.at(command).count(option) == 0));
      if (refused) CHECK(run.exit_code == 2);
      CHECK(run.exit_code != 0);
    }
  }
  // The long spellings of -o and -q are the same options.
  CHECK(test::run_cli("solve --output x extra").err.find("solve does not take --output") != std::string::npos);
  CHECK(test::run_cli("convert --output x extra").err.find("does not take") == std::string::npos);
  CHECK(test::run_cli("inspect --quiet x extra").err.find("inspect does not take --quiet") != std::string::npos);
}
