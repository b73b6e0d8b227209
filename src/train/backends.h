// The trainer implementations behind make_trainer() (train/trainer.cc), each in its own
// translation unit so that torch and XGBoost headers stay there.
#pragma once

#include <memory>

#include "train/trainer.h"

namespace m4h::train {

// TorchScript files and {"type": "mlp"} descriptions (torch_trainer.cc).
std::unique_ptr<Trainer> make_torch_trainer(const TrainerOptions& options);
// {"type": "xgboost", ...} descriptions (xgboost_trainer.cc); `json_text` is the file's text.
std::unique_ptr<Trainer> make_xgboost_trainer(const TrainerOptions& options, const std::string& json_text);

}  // namespace m4h::train
