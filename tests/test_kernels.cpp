#include <cstring>

#include "catch.hpp"
#include "kernels.hpp"
#include "support.hpp"

namespace {

// y = epilogue(b + x W^T), one element at a time in the documented order.
std::vector<float> naive(const humpty::Layer& layer, const std::vector<float>& x, std::size_t count,
                         humpty::Epilogue epilogue, const std::vector<float>& y0) {
  std::vector<float> y(count * layer.rows);
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t j = 0; j < layer.rows; ++j) {
      float acc = layer.bias[j];
      for (std::size_t k = 0; k < layer.cols; ++k)
        acc += x[r * layer.cols + k] * layer.weight[j * layer.cols + k];
      if (epilogue == humpty::Epilogue::relu) acc = acc > 0 ? acc : 0.0f;
      if (epilogue == humpty::Epilogue::add) acc = y0[r * layer.rows + j] + acc;
      y[r * layer.rows + j] = acc;
    }
  }
  return y;
}

}  // namespace

TEST_CASE("the packed kernel equals the naive sum bit for bit, on every kernel", "[kernels]") {
  using humpty::Epilogue;
  for (auto [rows, cols, count] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1},
                                   {5, 3, 7},
                                   {16, 48, 13},
                                   {96, 48, 48},
                                   {48, 96, 50},
                                   {33, 17, 101}}) {
    humpty::Layer layer = test::random_layer(rows, cols, rows * 1000 + cols);
    humpty::Layer inputs = test::random_layer(count, cols, count + 7, 2.0f);
    humpty::Layer start = test::random_layer(count, rows, count + 9, 1.0f);
    humpty::PackedLinear packed = humpty::pack_linear(layer);
    const std::size_t stride = packed.out_padded;
    for (Epilogue epilogue : {Epilogue::store, Epilogue::relu, Epilogue::add}) {
      std::vector<float> expected = naive(layer, inputs.weight, count, epilogue, start.weight);
      for (bool generic : {false, true}) {
        std::vector<float> y(count * stride, 0.0f);
        for (std::size_t r = 0; r < count; ++r)
          std::memcpy(&y[r * stride], &start.weight[r * rows], rows * sizeof(float));
        if (generic) {
          humpty::linear_rows_generic(packed, inputs.weight.data(), cols, count, y.data(), stride, epilogue);
        } else {
          humpty::linear_rows(packed, inputs.weight.data(), cols, count, y.data(), stride, epilogue);
        }
        for (std::size_t r = 0; r < count; ++r) {
          for (std::size_t j = 0; j < rows; ++j) {
            INFO("shape " << rows << "x" << cols << " rows " << count << " generic " << generic);
            REQUIRE(y[r * stride + j] == expected[r * rows + j]);
          }
          // Padding columns stay zero for store and relu (the stream relies on it).
          if (epilogue != Epilogue::add) {
            for (std::size_t j = rows; j < stride; ++j) REQUIRE(y[r * stride + j] == 0.0f);
          }
        }
      }
    }
  }
  CHECK((std::string(humpty::kernel_name()) == "avx2" || std::string(humpty::kernel_name()) == "generic"));
}
