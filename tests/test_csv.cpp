#include "catch.hpp"
#include "humpty/model.hpp"
#include "support.hpp"

using humpty::parse_csv;

TEST_CASE("CSV: features before pred, optional true, any number of rows", "[csv]") {
  auto data = parse_csv("a,b,pred,true\n1,2.5,3,4\r\n-1e-3,7,0.125,-2\n", "t.csv");
  REQUIRE(data.ok());
  CHECK(data->rows == 2);
  CHECK(data->features == 2);
  CHECK(data->feature_names == std::vector<std::string>{"a", "b"});
  CHECK(data->x == std::vector<float>{1.0f, 2.5f, -1e-3f, 7.0f});
  CHECK(data->pred == std::vector<double>{3, 0.125});
  CHECK(data->truth == std::vector<double>{4, -2});
  auto no_truth = parse_csv("x,pred,note\n1,2,9\n", "t.csv");
  REQUIRE(no_truth.ok());
  CHECK(!no_truth->has_truth());
  CHECK(no_truth->pred == std::vector<double>{2});
}

TEST_CASE("CSV: a network of several outputs has pred_0, pred_1, ... side by side", "[csv]") {
  auto data = parse_csv("a,b,pred_0,pred_1,pred_2,true,note\n1,2,3,4,5,6,7\n8,9,10,11,12,13,14\n", "m.csv");
  REQUIRE(data.ok());
  CHECK(data->features == 2);
  CHECK(data->outputs == 3);
  CHECK(data->pred == std::vector<double>{3, 10});
  CHECK(data->pred_rest == std::vector<double>{4, 11, 5, 12});  // output by output
  CHECK(!data->has_truth());                                    // `true` is not read with several outputs
  auto single = parse_csv("a,pred\n1,2\n", "s.csv");
  REQUIRE(single.ok());
  CHECK(single->outputs == 1);
  CHECK(single->pred_rest.empty());
  CHECK(parse_csv("a,pred_0,b\n1,2,3\n", "e.csv").message() ==
        "e.csv:1: 'pred_0' but no 'pred_1' right after it (one output is named 'pred')");
  CHECK(parse_csv("a,pred,pred_0,pred_1\n1,2,3,4\n", "e.csv").message() == "e.csv:1: two 'pred' columns");
  CHECK(parse_csv("a,pred_0,pred_1\n1,2,x\n", "e.csv").message() ==
        "e.csv:2:5: column 'pred_1': expected a number, got 'x'");
}

TEST_CASE("CSV: the targets of several outputs are true_0, true_1, ... side by side, all or none", "[csv]") {
  auto data = parse_csv("a,pred_0,pred_1,note,true_0,true_1\n1,2,3,x,4,5\n6,7,8,y,9,10\n", "t.csv");
  REQUIRE(data.ok());
  CHECK(data->outputs == 2);
  CHECK(data->truth == std::vector<double>{4, 9});
  CHECK(data->truth_rest == std::vector<double>{5, 10});
  CHECK(parse_csv("a,pred_0,pred_1,pred_2,true_0,true_1\n1,2,3,4,5,6\n", "e.csv").message() ==
        "e.csv:1:5: 2 target columns true_0 .. for 3 outputs (give true_0 .. true_2 side by side, or none)");
  CHECK(parse_csv("a,pred_0,pred_1,true_0,true_1,true_0\n1,2,3,4,5,6\n", "e.csv").message() ==
        "e.csv:1: two 'true_0' columns");
  CHECK(parse_csv("a,pred_0,pred_1,true_0,true_1\n1,2,3,4,z\n", "e.csv").message() ==
        "e.csv:2:9: column 'true_1': expected a number, got 'z'");
  // One output: true_0 is just another column, and `true` the target.
  auto single = parse_csv("a,pred,true_0,true\n1,2,3,4\n", "s.csv");
  REQUIRE(single.ok());
  CHECK(single->truth == std::vector<double>{4});
  CHECK(single->truth_rest.empty());
}

TEST_CASE("CSV: pandas' unnamed index column is left out, and only that", "[csv]") {
  auto indexed = parse_csv(",a,b,pred,true\n0,1,2.5,3,4\n1,-1e-3,7,0.125,-2\n2,5,6,7,8\n", "i.csv");
  REQUIRE(indexed.ok());
  CHECK(indexed->index_dropped);
  CHECK(indexed->features == 2);
  CHECK(indexed->feature_names == std::vector<std::string>{"a", "b"});
  CHECK(indexed->x == std::vector<float>{1.0f, 2.5f, -1e-3f, 7.0f, 5.0f, 6.0f});
  CHECK(indexed->pred == std::vector<double>{3, 0.125, 7});
  // Kept: a named first column, an unnamed one that does not count the rows, a lone feature.
  for (const char* text : {"id,a,pred\n0,1,2\n1,3,4\n", ",a,pred\n0,1,2\n2,3,4\n", ",a,pred\n1,1,2\n2,3,4\n",
                           ",pred\n0,2\n1,4\n"}) {
    auto kept = parse_csv(text, "k.csv");
    REQUIRE(kept.ok());
    INFO(text);
    CHECK(!kept->index_dropped);
    CHECK(kept->features == kept->feature_names.size());
    CHECK(kept->x.size() == 2 * kept->features);
    CHECK(kept->x[0] == float(text[std::string(text).find('\n') + 1] - '0'));
  }
}

TEST_CASE("CSV: quoted names and numbers, R's row names and a byte order mark are read", "[csv]") {
  // Python's csv.writer with QUOTE_NONNUMERIC quotes the names, QUOTE_ALL the numbers too.
  auto plain = parse_csv("a,b,pred,true\n1,2.5,3,4\n-1e-3,7,0.125,-2\n", "p.csv");
  REQUIRE(plain.ok());
  for (const char* text :
       {"\"a\",\"b\",\"pred\",\"true\"\n1,2.5,3,4\n-1e-3,7,0.125,-2\n",
        "\"a\",\"b\",\"pred\",\"true\"\r\n\"1\",\"2.5\",\"3\",\"4\"\r\n\"-1e-3\",7,0.125,\"-2\"\r\n",
        "\xEF\xBB\xBF"
        "a,b,pred,true\n1,2.5,3,4\n-1e-3,7,0.125,-2\n"}) {
    INFO(text);
    auto read = parse_csv(text, "q.csv");
    REQUIRE(read.ok());
    CHECK(read->feature_names == plain->feature_names);
    CHECK(read->x == plain->x);
    CHECK(read->pred == plain->pred);
    CHECK(read->truth == plain->truth);
  }
  // R's write.csv: row names "1", "2", ... under the name "": left out, as pandas' index is.
  auto r = parse_csv("\"\",\"a\",\"b\",\"pred\"\n\"1\",1,2.5,3\n\"2\",-1e-3,7,0.125\n", "r.csv");
  REQUIRE(r.ok());
  CHECK(r->index_dropped);
  CHECK(r->feature_names == std::vector<std::string>{"a", "b"});
  CHECK(r->x == std::vector<float>{1.0f, 2.5f, -1e-3f, 7.0f});
  // An unquoted unnamed column counting from 1 is not R's: kept (the test above), and a BOM before
  // pandas' index leaves it recognised.
  auto bom = parse_csv(
      "\xEF\xBB\xBF"
      ",a,pred\n0,1,2\n1,3,4\n",
      "b.csv");
  REQUIRE(bom.ok());
  CHECK(bom->index_dropped);
  CHECK(bom->features == 1);
}

TEST_CASE("CSV errors name file, line and column", "[csv]") {
  CHECK(parse_csv("", "e.csv").message() == "e.csv:1:1: empty file; expected a header row");
  CHECK(parse_csv("a,b\n1,2\n", "e.csv").message().find("e.csv:1: no 'pred' column") == 0);
  CHECK(parse_csv("pred\n1\n", "e.csv").message() == "e.csv:1: no feature columns before 'pred'");
  CHECK(parse_csv("a,pred\n", "e.csv").message() == "e.csv:2:1: no data rows after the header");
  CHECK(parse_csv("a,pred\n1,2\n3,abc\n", "e.csv").message() ==
        "e.csv:3:3: column 'pred': expected a number, got 'abc'");
  CHECK(parse_csv("a,pred\n1,2\n3\n", "e.csv").message() == "e.csv:3:2: expected 2 fields, got 1");
  CHECK(parse_csv("a,pred\n1,2,3\n", "e.csv").message() == "e.csv:2:4: expected 2 fields, got more");
  CHECK(parse_csv("a,pred\n1,nan\n", "e.csv").message() ==
        "e.csv:2:3: column 'pred': nan is not a finite number");
  CHECK(parse_csv("a,pred\n1,2\n\n3,4\n", "e.csv").message() == "e.csv:3:1: empty line");
  CHECK(parse_csv("\"a,b\",pred\n1,2\n", "e.csv").message() ==
        "e.csv:1:1: a quoted name with a comma or a quote inside it is not supported");
  CHECK(parse_csv("a,\"pr\"\"ed\"\n1,2\n", "e.csv").message() ==
        "e.csv:1:3: a quoted name with a comma or a quote inside it is not supported");
  CHECK(parse_csv("a,pred\n\"1,2\n", "e.csv").message() ==
        "e.csv:2:1: column 'a': expected a number, got '\"1'");
  CHECK(parse_csv("a,pred\n\"1\"x,2\n", "e.csv").message() ==
        "e.csv:2:1: column 'a': expected a number, got '\"1\"x'");
  CHECK(humpty::read_csv("/nonexistent.csv").message() ==
        "/nonexistent.csv: cannot open: No such file or directory");
}

TEST_CASE("the published data reads whole", "[csv][published]") {
  const humpty::Dataset& data = test::published_data();
  CHECK(data.rows == 10000);
  CHECK(data.features == 48);
  CHECK(data.has_truth());
  CHECK(data.feature_names.front() == "measurement_0");
}

TEST_CASE("CSV: a large file parses the same on any number of threads, errors first in the file", "[csv]") {
  // Over a megabyte: the parser cuts it into parts of 256 KiB, parsed in parallel.
  std::string text = "a,b,c,pred,true\n";
  const std::size_t rows = 40000;
  for (std::size_t r = 0; r < rows; ++r) {
    text += std::to_string(r) + ".25," + std::to_string(r % 7) + ",-1e-3," + std::to_string(r * 3) + ",0.5";
    text += r % 2 ? "\r\n" : "\n";
  }
  REQUIRE(text.size() > (std::size_t(1) << 20));
  auto one = parse_csv(text, "big.csv", 1);
  auto two = parse_csv(text, "big.csv", 2);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  CHECK(one->rows == rows);
  CHECK(one->x == two->x);
  CHECK(one->pred == two->pred);
  CHECK(one->truth == two->truth);
  CHECK(one->x[3 * 30000] == 30000.25f);
  CHECK(one->pred[rows - 1] == double(3 * (rows - 1)));

  // Errors in two parts: the one earlier in the file is reported, with its own line number.
  auto broken = text;
  auto line_start = [&](std::size_t line) {  // 1-based line number
    std::size_t at = 0;
    for (std::size_t l = 1; l < line; ++l) at = broken.find('\n', at) + 1;
    return at;
  };
  broken.replace(line_start(35001), 1, "x");
  broken.replace(line_start(20001), 1, "y");
  for (int threads : {1, 2}) {
    CHECK(parse_csv(broken, "big.csv", threads).message() ==
          "big.csv:20001:1: column 'a': expected a number, got 'y9999.25'");
  }
}
