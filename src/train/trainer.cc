#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "train/backends.h"

namespace m4h::train {

std::unique_ptr<Trainer> make_trainer(const TrainerOptions& options) {
  std::ifstream in(options.model_path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, options.model_path + ": no such model file");
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  if (c == '{') {
    in.seekg(0);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("type") && j["type"] == "xgboost")
      return make_xgboost_trainer(options, text);
  }
  return make_torch_trainer(options);
}

}  // namespace m4h::train
