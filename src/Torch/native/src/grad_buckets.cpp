// Gradient buckets for reducing while backward still runs, as DDP's Reducer does. A post hook on each
// parameter's grad accumulator copies the parameter's finished gradient into its slot of a flat buffer
// and, when the last parameter of a bucket is in, marks the bucket ready; another thread waits for the
// buckets in order and reduces each as soon as it is ready. Hooks act only while armed (the last
// micro-batch of a step), so the micro-batches before it accumulate without a copy (DDP's no_sync).
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "common.h"

namespace {

using torch::autograd::variable_list;

struct Buckets {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> slots;      // params[i]'s view of the flat buffer
  std::vector<int> bucket_of;         // params[i]'s bucket
  std::vector<int> size;              // parameters per bucket
  std::vector<int> pending;           // parameters of each bucket not yet copied this round
  std::vector<char> copied;           // params[i] copied this round
  bool armed = false;
  bool aborted = false;
  bool disposed = false;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // the hooks live on these
  std::vector<uintptr_t> hook_keys;

  // Called with the mutex held.
  void copy(size_t i) {
    c10::NoGradGuard no_grad;
    auto grad = params[i].grad();
    if (grad.defined()) slots[i].copy_(grad.reshape({-1}));
    else slots[i].zero_();
    copied[i] = 1;
    if (--pending[bucket_of[i]] == 0) changed.notify_all();
  }
};

// Holds the state weakly: a graph that outlives the buckets keeps the accumulator, not the state.
struct ReadyHook : torch::autograd::FunctionPostHook {
  ReadyHook(std::weak_ptr<Buckets> state, size_t index) : state(std::move(state)), index(index) {}
  variable_list operator()(const variable_list& outputs, const variable_list& inputs) override {
    if (auto s = state.lock()) {
      std::lock_guard<std::mutex> lock(s->mutex);
      if (s->armed && !s->disposed && !s->copied[index]) s->copy(index);
    }
    return outputs;
  }
  std::weak_ptr<Buckets> state;
  size_t index;
};

struct Handle {
  std::shared_ptr<Buckets> state;
};

// A counted reference, so a waiter keeps the state alive while it sleeps.
std::shared_ptr<Buckets> B(ct_grad_buckets h) {
  if (h == nullptr) throw std::invalid_argument("null gradient-buckets handle");
  auto s = static_cast<Handle*>(h)->state;
  if (s->disposed) throw std::invalid_argument("the gradient buckets were disposed");
  return s;
}

}  // namespace

// params[i] owns flat[offsets[i], offsets[i] + numel) and belongs to bucket bucket_of[i] (0..buckets-1).
CT_API ct_grad_buckets ct_grad_buckets_new(const ct_tensor* params, int n, const int64_t* offsets, const int* bucket_of,
                                           int buckets, ct_tensor flat) {
  CT_TRY
  auto state = std::make_shared<Buckets>();
  auto& buffer = ct::T(flat);
  if (buffer.dim() != 1 || !buffer.is_contiguous()) throw std::invalid_argument("the flat gradient buffer must be one contiguous dimension");
  state->size.assign(buckets, 0);
  for (int i = 0; i < n; i++) {
    auto& p = ct::T(params[i]);
    if (!p.requires_grad() || !p.is_leaf()) throw std::invalid_argument("parameter " + std::to_string(i) + " is not a leaf that requires grad");
    if (bucket_of[i] < 0 || bucket_of[i] >= buckets) throw std::invalid_argument("parameter " + std::to_string(i) + " has no bucket");
    if (offsets[i] < 0 || offsets[i] + p.numel() > buffer.numel())
      throw std::invalid_argument("parameter " + std::to_string(i) + " does not fit the flat buffer");
    if (p.scalar_type() != buffer.scalar_type() || p.device() != buffer.device())
      throw std::invalid_argument("parameter " + std::to_string(i) + " differs from the flat buffer in dtype or device");
    state->params.push_back(p);
    state->slots.push_back(buffer.narrow(0, offsets[i], p.numel()));
    state->bucket_of.push_back(bucket_of[i]);
    state->size[bucket_of[i]]++;
  }
  state->pending = state->size;
  state->copied.assign(n, 0);
  for (int i = 0; i < n; i++) {
    auto accumulator = torch::autograd::impl::grad_accumulator(state->params[i]);
    state->hook_keys.push_back(accumulator->add_post_hook(std::make_unique<ReadyHook>(state, i)));
    state->accumulators.push_back(std::move(accumulator));
  }
  return new Handle{state};
  CT_CATCH(nullptr)
}

// The next backward's hooks copy and count; every bucket starts the round waiting.
CT_API int ct_grad_buckets_arm(ct_grad_buckets h) {
  CT_TRY
  auto state = B(h);
  auto& s = *state;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.pending = s.size;
  std::fill(s.copied.begin(), s.copied.end(), 0);
  s.aborted = false;
  s.armed = true;
  return 0;
  CT_CATCH(-1)
}

// After backward: copies the parameters whose hook did not fire (unused this round; zeros if they
// have no gradient at all), so every bucket becomes ready, and disarms.
CT_API int ct_grad_buckets_finish(ct_grad_buckets h) {
  CT_TRY
  auto state = B(h);
  auto& s = *state;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.armed) throw std::logic_error("the gradient buckets were not armed");
  for (size_t i = 0; i < s.params.size(); i++)
    if (!s.copied[i]) s.copy(i);
  s.armed = false;
  s.changed.notify_all();
  return 0;
  CT_CATCH(-1)
}

// Backward failed: waiters return without their bucket, and the round is over.
CT_API int ct_grad_buckets_abort(ct_grad_buckets h) {
  CT_TRY
  auto state = B(h);
  auto& s = *state;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.aborted = true;
  s.armed = false;
  s.changed.notify_all();
  return 0;
  CT_CATCH(-1)
}

// 1: the bucket's slots hold their gradients; 0: the round was aborted; -1 with an error: timed out
// (a negative timeout waits for as long as it takes).
CT_API int ct_grad_buckets_wait(ct_grad_buckets h, int bucket, int64_t timeout_ms) {
  CT_TRY
  auto state = B(h);
  auto& s = *state;
  if (bucket < 0 || bucket >= static_cast<int>(s.size.size())) throw std::invalid_argument("no bucket " + std::to_string(bucket));
  std::unique_lock<std::mutex> lock(s.mutex);
  auto done = [&] { return s.aborted || s.pending[bucket] == 0; };
  if (timeout_ms < 0) s.changed.wait(lock, done);
  else if (!s.changed.wait_for(lock, std::chrono::milliseconds(timeout_ms), done))
    throw std::runtime_error("gradient bucket " + std::to_string(bucket) + " was not ready within " + std::to_string(timeout_ms) + " ms");
  return s.aborted ? 0 : 1;
  CT_CATCH(-1)
}

// Removes the hooks and lets the accumulators go.
CT_API void ct_grad_buckets_free(ct_grad_buckets h) {
  if (h == nullptr) return;
  auto* handle = static_cast<Handle*>(h);
  {
    auto& s = *handle->state;
    std::lock_guard<std::mutex> lock(s.mutex);
    s.disposed = true;
    s.aborted = true;
    s.changed.notify_all();
    for (size_t i = 0; i < s.accumulators.size(); i++) s.accumulators[i]->del_post_hook(s.hook_keys[i]);
    s.accumulators.clear();
    s.slots.clear();
    s.params.clear();
  }
  delete handle;
}
