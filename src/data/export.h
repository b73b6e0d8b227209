// Writing a run's chunks to a folder for any Python framework: per chunk features (float32
// [rows x width]), mask (uint8, same shape), labels (int64), split (uint8: 0 train, 1 validation,
// 2 test) and origin (int64 [rows x 2]: file index, tree entry), as .npy or .csv; plus
// feature_names.json and export.json (layout, conventions, chunk list, report).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/pipeline.h"
#include "data/producer.h"

namespace m4h::data {

enum class ExportFormat { kNpy, kCsv };

struct ExportProgress {
  int64_t events = 0;  // written so far
  int64_t total = 0;   // planned
  int64_t chunks = 0;
  double seconds = 0;
};

struct ExportSummary {
  int64_t chunks = 0;
  int64_t events = 0;
  double seconds = 0;
  ProducerReport report;
};

// Streams every chunk of `pipeline` into `dir` (created if needed). Throws m4h::Error (kIo, and
// whatever reading and pre-processing throw).
ExportSummary export_dataset(const Pipeline& pipeline, const std::string& dir, ExportFormat format,
                             const std::function<void(const ExportProgress&)>& progress = {});

// The CSV text of a [rows x cols] float32 array with a header line (shortest round-trip floats).
std::string csv_of(const float* values, int64_t rows, int64_t cols,
                   const std::vector<std::string>& header);

}  // namespace m4h::data
