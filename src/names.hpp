// names.hpp - feature names and columns that survive humpty's own formats: the .humpty reader and
// writer and the CSV writer check them alike (bundle.cpp).
#pragma once

#include <string>

#include "humpty/model.hpp"
#include "humpty/result.hpp"

namespace humpty {

// What is wrong with a feature name, or "" (see bundle.cpp).
std::string feature_name_problem(const std::string& name);

// The first problem that would keep `data` from coming back whole from humpty's own formats: a
// feature name ("path: feature name 2 'a,b': ..."), or pred columns that do not match `outputs`
// (an in-memory dataset built by a caller).
Status check_data_columns(const Dataset& data, const std::string& path);

}  // namespace humpty
