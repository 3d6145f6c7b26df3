// names.hpp - feature names that survive humpty's own formats: the .humpty reader and writer and
// the CSV writer check them alike (bundle.cpp).
#pragma once

#include <string>

#include "humpty/model.hpp"
#include "humpty/result.hpp"

namespace humpty {

// What is wrong with a feature name, or "" (see bundle.cpp).
std::string feature_name_problem(const std::string& name);

// The first feature name of `data` with a problem, as "path: feature name 2 'a,b': ...".
Status check_feature_names(const Dataset& data, const std::string& path);

}  // namespace humpty
