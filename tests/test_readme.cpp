// The README's commands work as written: every ```sh block of README.md is run as a script from
// the repository root (`make` itself is left out: the tests run after it).
#include <fstream>
#include <sstream>

#include "catch.hpp"
#include "support.hpp"

namespace {

std::vector<std::string> readme_blocks() {
  std::ifstream in("README.md");
  std::vector<std::string> blocks;
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```sh") {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(block);
    } else if (inside) {
      if (line.rfind("make test", 0) == 0) continue;               // that is this run
      if (line.rfind("make && ", 0) == 0) line = line.substr(8);  // built already
      block += line + "\n";
    }
  }
  return blocks;
}

void run_block(const std::string& block) {
  INFO("README block:\n" << block);
  test::Run run = test::run_shell("set -e\n" + block);
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 0);
}

}  // namespace

TEST_CASE("README: the commands it shows work as written", "[readme][cli]") {
  const auto blocks = readme_blocks();
  REQUIRE(blocks.size() >= 3);
  CHECK(blocks[0].find("build/humpty demo") == 0);  // the first screen's main job
  std::size_t ran = 0;
  for (const std::string& block : blocks) {
    if (block.find("../shared/puzzle") != std::string::npos) continue;  // the [published] case
    run_block(block);
    ++ran;
  }
  CHECK(ran >= 2);
}

TEST_CASE("README: the commands on the published puzzle work as written", "[readme][cli][published]") {
  const std::string dir = test::puzzle_dir();
  for (std::string block : readme_blocks()) {
    if (block.find("../shared/puzzle") == std::string::npos) continue;
    for (std::size_t at = block.find("../shared/puzzle"); at != std::string::npos;
         at = block.find("../shared/puzzle", at + dir.size())) {
      block.replace(at, 16, dir);
    }
    run_block(block);
  }
}
