#include "catch.hpp"
#include "support.hpp"

TEST_CASE("solve: the published puzzle without data", "[solve][puzzle]") {
  humpty::SolveOptions options;
  auto report = humpty::solve(test::published_puzzle(), nullptr, options);
  REQUIRE(report.ok());
  CHECK(report->sha256 == test::kPublishedSha256);
  CHECK(report->sha256 == humpty::sha256_hex(report->answer));
  CHECK(report->used_chain);
  CHECK(!report->searched);
}

TEST_CASE("solve: the published puzzle with data, auto and search", "[solve][puzzle]") {
  for (auto method : {humpty::OrderMethod::automatic, humpty::OrderMethod::search}) {
    humpty::SolveOptions options;
    options.order = method;
    auto report = humpty::solve(test::published_puzzle(), &test::published_data(), options);
    REQUIRE(report.ok());
    CHECK(report->sha256 == test::kPublishedSha256);
    CHECK(report->fit.mse_pred < 1e-10);
    CHECK(report->fit.exact());
    // README: the MSE between pred and true is 0.10648.
    CHECK(report->fit.mse_true == Approx(0.10648).epsilon(1e-4));
    CHECK(report->used_chain == (method == humpty::OrderMethod::automatic));
    CHECK(report->searched == (method == humpty::OrderMethod::search));
  }
}

TEST_CASE("solve: search needs data; data must fit", "[solve]") {
  humpty::SolveOptions options;
  options.order = humpty::OrderMethod::search;
  auto report = humpty::solve(test::published_puzzle(), nullptr, options);
  REQUIRE(!report.ok());
  CHECK(report.message().find("--order search needs data") == 0);
}
