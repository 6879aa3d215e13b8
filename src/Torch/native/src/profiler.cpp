// libtorch's own op profiler, for finding where a model's time goes (bench --trace). While one is
// recording, every aten op the process runs is timed and the events are written as a Chrome trace
// (chrome://tracing, or summed by bench/trace_summary.py) when it stops.
#include <torch/csrc/autograd/profiler_legacy.h>

#include <memory>
#include <mutex>

#include "common.h"

namespace {
std::mutex profile_mutex;
std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
}  // namespace

CT_API int ct_profiler_start(const char* path) {
  CT_TRY
  std::lock_guard<std::mutex> lock(profile_mutex);
  if (profile) throw std::logic_error("a profiler is already recording");
  profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(path));
  return 0;
  CT_CATCH(-1)
}

CT_API int ct_profiler_stop(void) {
  CT_TRY
  std::lock_guard<std::mutex> lock(profile_mutex);
  if (!profile) throw std::logic_error("no profiler is recording");
  profile.reset();  // writes the trace
  return 0;
  CT_CATCH(-1)
}
