// The JSON and SVG reports: well-formed (checked by small parsers written here, so that the tests
// need nothing installed), with the parts the README promises.
#include <cctype>
#include <map>

#include "catch.hpp"
#include "support.hpp"

namespace {

// A strict JSON reader: validates the text and records every string and number value by its
// path ("fit.mse_pred", "pairing.pairs.3.inp").
class JsonCheck {
 public:
  explicit JsonCheck(const std::string& text) : s_(text) {
    space();
    value("");
    space();
    if (pos_ != s_.size()) fail("text after the value");
  }
  std::map<std::string, std::string> values;
  std::string error;
  bool ok() const { return error.empty(); }

 private:
  const std::string& s_;
  std::size_t pos_ = 0;

  void fail(const std::string& what) {
    if (error.empty()) error = what + " at " + std::to_string(pos_);
    pos_ = s_.size();
  }
  void space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string string() {
    if (!eat('"')) {
      fail("expected a string");
      return {};
    }
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c == '\\') {
        if (pos_ >= s_.size()) break;
        char e = s_[pos_++];
        if (e == 'u') {
          if (pos_ + 4 > s_.size()) fail("short \\u escape");
          pos_ += 4;
          out += '?';
        } else if (std::string("\"\\/bfnrt").find(e) != std::string::npos) {
          out += e;
        } else {
          fail("bad escape");
        }
      } else {
        out += c;
      }
    }
    if (!eat('"')) fail("unterminated string");
    return out;
  }
  void value(const std::string& path) {
    space();
    if (pos_ >= s_.size()) return fail("expected a value");
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      if (eat('}')) return;
      do {
        std::string key = string();
        if (!eat(':')) return fail("expected ':'");
        value(path.empty() ? key : path + "." + key);
      } while (eat(','));
      if (!eat('}')) fail("expected '}'");
    } else if (c == '[') {
      ++pos_;
      if (eat(']')) return;
      std::size_t k = 0;
      do value(path + "." + std::to_string(k++));
      while (eat(','));
      if (!eat(']')) fail("expected ']'");
    } else if (c == '"') {
      values[path] = string();
    } else if (s_.compare(pos_, 4, "null") == 0 || s_.compare(pos_, 4, "true") == 0) {
      values[path] = s_.substr(pos_, 4);
      pos_ += 4;
    } else if (s_.compare(pos_, 5, "false") == 0) {
      values[path] = "false";
      pos_ += 5;
    } else {
      std::size_t start = pos_;
      while (pos_ < s_.size() && std::string("+-.eE0123456789").find(s_[pos_]) != std::string::npos) ++pos_;
      if (start == pos_) return fail("expected a value");
      values[path] = s_.substr(start, pos_ - start);
    }
  }
};

// A strict enough XML check for what humpty writes: one root, every tag closed in order,
// attributes quoted, only the five predefined entities. Counts elements by name and id.
struct XmlCheck {
  std::map<std::string, int> elements, ids;
  std::string error;
  explicit XmlCheck(const std::string& s) {
    std::vector<std::string> open;
    std::size_t pos = 0;
    int roots = 0;
    if (s.compare(0, 5, "<?xml") == 0) pos = s.find("?>") + 2;
    while (pos < s.size() && error.empty()) {
      std::size_t lt = s.find('<', pos);
      check_text(s.substr(pos, (lt == std::string::npos ? s.size() : lt) - pos));
      if (lt == std::string::npos) break;
      std::size_t gt = s.find('>', lt);
      if (gt == std::string::npos) {
        error = "unclosed tag";
        break;
      }
      std::string tag = s.substr(lt + 1, gt - lt - 1);
      pos = gt + 1;
      if (!tag.empty() && tag[0] == '/') {
        if (open.empty() || open.back() != tag.substr(1)) error = "mismatched </" + tag.substr(1) + ">";
        if (!open.empty()) open.pop_back();
        continue;
      }
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (self_closing) tag.pop_back();
      std::size_t name_end = tag.find_first_of(" \n\t");
      std::string name = tag.substr(0, name_end);
      if (open.empty()) ++roots;
      ++elements[name];
      // Attributes: name="value" pairs.
      std::size_t a = name_end;
      while (a != std::string::npos && a < tag.size() && error.empty()) {
        a = tag.find_first_not_of(" \n\t", a);
        if (a == std::string::npos) break;
        std::size_t eq = tag.find('=', a);
        if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') {
          error = "unquoted attribute in <" + name + ">";
          break;
        }
        std::size_t close = tag.find('"', eq + 2);
        if (close == std::string::npos) {
          error = "unterminated attribute";
          break;
        }
        std::string attribute = tag.substr(a, eq - a), value = tag.substr(eq + 2, close - eq - 2);
        check_text(value);
        if (attribute == "id") ++ids[value];
        a = close + 1;
      }
      if (!self_closing) open.push_back(name);
    }
    if (error.empty() && !open.empty()) error = "<" + open.back() + "> not closed";
    if (error.empty() && roots != 1) error = "not one root element";
  }
  void check_text(const std::string& text) {
    for (std::size_t k = 0; k < text.size(); ++k) {
      if (text[k] == '&') {
        std::size_t semi = text.find(';', k);
        std::string entity = semi == std::string::npos ? "" : text.substr(k, semi - k + 1);
        if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;")
          error = "bad entity";
      } else if (text[k] == '<') {
        error = "stray <";
      }
    }
  }
};

std::string read_text(const std::string& path) {
  auto bytes = test::read_bytes(path);
  return {bytes.begin(), bytes.end()};
}

}  // namespace

TEST_CASE("report: the demo's JSON and SVG, whole and with their parts", "[report][cli]") {
  const std::string dir = test::scratch_dir("report-demo");
  auto demo = test::run_cli("demo --json " + dir + "/r.json --svg " + dir + "/r.svg -o " + dir + "/kept");
  REQUIRE(demo.exit_code == 0);
  CHECK(demo.out.find("proven, and the same as the answer the generator kept") != std::string::npos);
  const std::string answer_file = read_text(dir + "/kept/answer.txt");
  const std::string answer = answer_file.substr(0, answer_file.find('\n'));

  JsonCheck json(read_text(dir + "/r.json"));
  REQUIRE(json.error == "");
  CHECK(json.values["command"] == "demo");
  CHECK(json.values["proven"] == "true");
  CHECK(json.values["answer"] == answer);
  CHECK(json.values["sha256"] == humpty::sha256_hex(answer));
  CHECK(json.values["expected_sha256"] == humpty::sha256_hex(answer));
  CHECK(json.values["fit.exact"] == "true");
  CHECK(std::stod(json.values["fit.mse_pred"]) <= std::stod(json.values["fit.tolerance"]));
  CHECK(json.values["puzzle.blocks"] == "24");
  CHECK(json.values.count("pairing.pairs.23.score") == 1);
  CHECK(json.values.count("pairing.pairs.24.score") == 0);
  CHECK(json.values["search.stopped"] == "exact");
  CHECK(json.values.count("search.best_mse.0.1") == 1);  // the trace: [seconds, mse] pairs
  CHECK(json.values.count("seconds.pairing") == 1);
  CHECK(json.values.count("seed") == 1);
  CHECK(json.values.count("threads") == 1);

  XmlCheck svg(read_text(dir + "/r.svg"));
  REQUIRE(svg.error == "");
  for (const char* id : {"title", "pairing", "norms", "bias-steps", "search"}) CHECK(svg.ids[id] == 1);
  CHECK(svg.elements["svg"] == 1);
  CHECK(svg.elements["polyline"] == 3);  // the two order plots and the MSE curve
  const std::string text = read_text(dir + "/r.svg");
  CHECK(text.find("sha256 " + humpty::sha256_hex(answer)) != std::string::npos);
  CHECK(text.find("proven:") != std::string::npos);
  std::size_t chosen = 0;
  for (std::size_t at = text.find("class=\"chosen\""); at != std::string::npos;
       at = text.find("class=\"chosen\"", at + 1))
    ++chosen;
  CHECK(chosen == 24);
}

TEST_CASE("report: solve without data, verify and inspect write reports; an unproven run says so",
          "[report][cli]") {
  const std::string dir = test::scratch_dir("report-cli");
  REQUIRE(test::run_cli("generate -q -o " + dir + "/g --blocks 6 --dim 8 --hidden 16 --rows 500 --seed 3").exit_code ==
          0);
  auto guess = test::run_cli("solve -q " + dir + "/g/pieces --json " + dir + "/guess.json --svg " + dir + "/guess.svg");
  REQUIRE(guess.exit_code == 0);
  JsonCheck g(read_text(dir + "/guess.json"));
  REQUIRE(g.error == "");
  CHECK(g.values["proven"] == "false");
  CHECK(g.values["fit"] == "null");
  CHECK(g.values["search"] == "null");
  CHECK(g.values["verdict"].find("no data") == 0);
  CHECK(g.values["order.found_by"] == "chain");
  CHECK(g.values["order.chain.evidence"].find("oriented by") != std::string::npos);
  CHECK(g.values.count("order.chain.bias_trend") == 1);
  CHECK(g.values.count("order.chain.norm_trend") == 1);
  CHECK(g.values["order.chain.path_vs_shuffled"] == "0");  // 6 blocks: too few to compare
  CHECK(g.values["order.chain.by_moved"] == "false");
  CHECK(g.values["pairing.bias_score_used"] == "false");  // PyTorch's uniform initial biases
  CHECK(XmlCheck(read_text(dir + "/guess.svg")).error == "");
  // Biases trained from zero: their score joins the pairing, and the report says so.
  REQUIRE(test::run_cli("generate -q -o " + dir +
                        "/z --blocks 6 --dim 8 --hidden 16 --rows 500 --zero-bias --seed 3")
              .exit_code == 0);
  REQUIRE(test::run_cli("solve -q " + dir + "/z/pieces --json " + dir + "/zero.json").exit_code == 0);
  JsonCheck z(read_text(dir + "/zero.json"));
  REQUIRE(z.error == "");
  CHECK(z.values["pairing.bias_score_used"] == "true");
  CHECK(std::stod(z.values["pairing.bias_share"]) > 0.5);

  auto wrong = test::run_cli("verify -q " + dir + "/g/puzzle.humpty --answer " + humpty::format_answer([&] {
                               auto puzzle = humpty::read_puzzle(dir + "/g/puzzle.humpty");
                               auto a = humpty::parse_answer(read_text(dir + "/g/answer.txt").substr(0, read_text(dir + "/g/answer.txt").find('\n')), *puzzle, "a");
                               std::swap(a->blocks[0], a->blocks[5]);
                               return *a;
                             }()) + " --json " + dir + "/wrong.json");
  CHECK(wrong.exit_code == 1);
  JsonCheck w(read_text(dir + "/wrong.json"));
  REQUIRE(w.error == "");
  CHECK(w.values["proven"] == "false");
  CHECK(w.values["fit.exact"] == "false");
  CHECK(w.values["verdict"].find("not proven") == 0);

  // A search stopped by its time limit still writes its report, unproven.
  auto stopped = test::run_cli("solve -q " + dir + "/g/puzzle.humpty --order search --time-limit 0.000001 --json " +
                               dir + "/stopped.json");
  if (stopped.exit_code == 1) {  // (a search this small may be exact before its first check)
    JsonCheck s(read_text(dir + "/stopped.json"));
    REQUIRE(s.error == "");
    CHECK(s.values["proven"] == "false");
    CHECK(s.values["search.stopped"] == "time limit");
  } else {
    CHECK(stopped.exit_code == 0);
  }

  auto inspect = test::run_cli("inspect " + dir + "/g/pieces --json " + dir + "/i.json --svg " + dir + "/i.svg");
  CHECK(inspect.exit_code == 0);
  JsonCheck i(read_text(dir + "/i.json"));
  REQUIRE(i.error == "");
  CHECK(i.values["command"] == "inspect");
  CHECK(i.values.count("pairing.pairs.5.inp") == 1);
  CHECK(XmlCheck(read_text(dir + "/i.svg")).error == "");
  // An output that cannot be written is an error naming it, not a crash.
  auto unwritable = test::run_cli("solve -q " + dir + "/g/pieces --json /nonexistent/dir/r.json");
  CHECK(unwritable.exit_code == 3);
  CHECK(unwritable.err.find("/nonexistent/dir/r.json") != std::string::npos);
}

TEST_CASE("report: the published puzzle's JSON holds its SHA-256 and its SVG parses", "[report][published]") {
  const std::string dir = test::scratch_dir("report-published");
  auto run = test::run_cli("solve -q " + test::puzzle_dir() + "/pieces --data " + test::puzzle_dir() +
                           "/historical_data.csv --json " + dir + "/r.json --svg " + dir + "/r.svg");
  REQUIRE(run.exit_code == 0);
  JsonCheck json(read_text(dir + "/r.json"));
  REQUIRE(json.error == "");
  CHECK(json.values["sha256"] == test::kPublishedSha256);
  CHECK(json.values["pairing.sure"] == "48");
  CHECK(XmlCheck(read_text(dir + "/r.svg")).error == "");
}
