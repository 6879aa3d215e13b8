// The flat C ABI of libclustertorch. No C++ exception crosses it: a call that fails returns
// NULL (tensor results) or -1 (status results) and leaves the message in ct_last_error().
// Handles are opaque; every ct_tensor returned must be released with ct_tensor_free.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
#define CT_API extern "C" __attribute__((visibility("default")))
#else
#define CT_API __attribute__((visibility("default")))
#endif

typedef void* ct_tensor;
typedef void* ct_generator;
typedef void* ct_store;
typedef void* ct_group;
typedef void* ct_grad_buckets;
typedef void (*ct_deleter)(void* context);

// errors and bookkeeping
CT_API const char* ct_last_error(void);
CT_API int64_t ct_live_tensors(void);
CT_API const char* ct_torch_version(void);
CT_API int ct_has_fused_attention(void);
CT_API int ct_has_distributed(int backend);  // 0 gloo, 1 nccl
CT_API int ct_cuda_is_available(void);
CT_API int ct_cuda_device_count(void);
CT_API int ct_cuda_synchronize(int device_index);
CT_API int ct_set_num_threads(int n);
CT_API int ct_get_num_threads(void);

// the caching allocator for large CPU tensors (cpu_allocator.cpp); sizes in bytes
typedef struct {
  int64_t caching;          // 1 when it is libtorch's CPU allocator (CLUSTER_CPU_ALLOCATOR unset)
  int64_t allocated_bytes;  // in large tensors now
  int64_t cached_bytes;     // freed, kept for reuse
  int64_t peak_reserved_bytes;
  int64_t cache_limit_bytes;
  int64_t hits;             // large requests served from the cache
  int64_t misses;           // large requests that mapped new memory
} ct_cpu_memory_stats;
CT_API void ct_cpu_memory_stats_get(ct_cpu_memory_stats* out);
CT_API void ct_cpu_empty_cache(void);
CT_API void ct_cpu_reset_peak_memory_stats(void);  // peak_reserved_bytes := what is reserved now
CT_API int64_t ct_cpu_set_cache_limit(int64_t bytes);  // returns the previous limit

// lifetime and metadata
CT_API void ct_tensor_free(ct_tensor t);
CT_API const int64_t* ct_tensor_sizes(ct_tensor t, int* ndim);
CT_API int ct_tensor_dtype(ct_tensor t);
CT_API int ct_tensor_device(ct_tensor t, int* type, int* index);
CT_API int64_t ct_tensor_numel(ct_tensor t);
CT_API int ct_tensor_is_contiguous(ct_tensor t);
CT_API int ct_tensor_requires_grad(ct_tensor t);
CT_API int ct_tensor_set_requires_grad(ct_tensor t, int requires_grad);
CT_API int ct_tensor_is_leaf(ct_tensor t);
CT_API void* ct_tensor_data_ptr(ct_tensor t);
CT_API char* ct_tensor_to_string(ct_tensor t);
CT_API void ct_string_free(char* s);
CT_API int ct_tensor_item(ct_tensor t, double* as_double, int64_t* as_int64);

// creation
CT_API ct_tensor ct_empty(const int64_t* shape, int ndim, int dtype, int dev_type, int dev_index, int requires_grad);
CT_API ct_tensor ct_full(const int64_t* shape, int ndim, double value, int dtype, int dev_type, int dev_index, int requires_grad);
CT_API ct_tensor ct_arange(double start, double end, double step, int dtype, int dev_type, int dev_index);
CT_API ct_tensor ct_from_blob(void* data, const int64_t* shape, int ndim, int dtype, ct_deleter deleter, void* context);
CT_API ct_tensor ct_clone(ct_tensor t);
CT_API ct_tensor ct_contiguous(ct_tensor t);
CT_API ct_tensor ct_detach(ct_tensor t);
CT_API ct_tensor ct_to(ct_tensor t, int dtype, int dev_type, int dev_index, int copy);
CT_API int ct_copy_(ct_tensor dst, ct_tensor src);
CT_API int ct_fill_(ct_tensor t, double value);
CT_API int ct_set_data(ct_tensor t, ct_tensor src);

// elementwise maths: op codes are ct_unary_op / ct_binary_op in Cluster.Torch (Native/OpCodes.cs)
CT_API ct_tensor ct_unary(int op, ct_tensor a);
CT_API int ct_unary_(int op, ct_tensor a);
CT_API ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b, double alpha);
CT_API int ct_binary_(int op, ct_tensor a, ct_tensor b, double alpha);
CT_API ct_tensor ct_binary_scalar(int op, ct_tensor a, double b);
CT_API int ct_binary_scalar_(int op, ct_tensor a, double b);
CT_API ct_tensor ct_rsub_scalar(double a, ct_tensor b);
CT_API ct_tensor ct_clamp(ct_tensor a, double min, double max);  // NaN = no bound
CT_API ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
CT_API ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value);
CT_API ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b_or_null);
CT_API ct_tensor ct_einsum(const char* equation, const ct_tensor* operands, int n);
CT_API ct_tensor ct_tril(ct_tensor a, int64_t diagonal, int upper);

// reductions: ndims == 0 reduces over all dimensions; dtype < 0 keeps the input's
CT_API ct_tensor ct_reduce(int op, ct_tensor a, const int64_t* dims, int ndims, int keepdim, int dtype);
CT_API int ct_max_dim(ct_tensor a, int64_t dim, int keepdim, int is_min, ct_tensor* values, ct_tensor* indices);
CT_API ct_tensor ct_argmax(ct_tensor a, int64_t dim, int has_dim, int keepdim, int is_min);
CT_API int ct_topk(ct_tensor a, int64_t k, int64_t dim, int largest, int sorted, ct_tensor* values, ct_tensor* indices);
CT_API ct_tensor ct_norm(ct_tensor a, double p, const int64_t* dims, int ndims, int keepdim);
CT_API ct_tensor ct_cumsum(ct_tensor a, int64_t dim, int dtype);

// shape and indexing
CT_API ct_tensor ct_view(ct_tensor a, const int64_t* shape, int ndim, int reshape);
CT_API ct_tensor ct_permute(ct_tensor a, const int64_t* dims, int ndim);
CT_API ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1);
CT_API ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step);
CT_API ct_tensor ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length);
CT_API ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index);
CT_API ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index);
CT_API ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index);
CT_API ct_tensor ct_scatter(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src);
CT_API ct_tensor ct_expand(ct_tensor a, const int64_t* shape, int ndim);
CT_API ct_tensor ct_repeat(ct_tensor a, const int64_t* repeats, int ndim);
CT_API ct_tensor ct_squeeze(ct_tensor a, int64_t dim, int all);
CT_API ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim);
CT_API ct_tensor ct_flatten(ct_tensor a, int64_t start, int64_t end);
CT_API ct_tensor ct_as_strided(ct_tensor a, const int64_t* size, const int64_t* stride, int ndim, int64_t offset);
CT_API ct_tensor ct_cat(const ct_tensor* ts, int n, int64_t dim, int stack);
CT_API int ct_split(ct_tensor a, const int64_t* sizes, int n, int64_t dim, ct_tensor* out);

// neural-network functions
CT_API ct_tensor ct_softmax(ct_tensor a, int64_t dim, int dtype, int log);
CT_API ct_tensor ct_layer_norm(ct_tensor x, const int64_t* shape, int ndim, ct_tensor w, ct_tensor b, double eps);
CT_API ct_tensor ct_gelu(ct_tensor x, int tanh_approximation);
CT_API ct_tensor ct_dropout(ct_tensor x, double p, int train);
CT_API ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices, int64_t padding_idx);
CT_API ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, ct_tensor weight, int reduction,
                                  int64_t ignore_index, double label_smoothing);
CT_API ct_tensor ct_mse_loss(ct_tensor a, ct_tensor b, int reduction);
CT_API ct_tensor ct_bce_with_logits(ct_tensor x, ct_tensor y, ct_tensor weight, ct_tensor pos_weight, int reduction);
CT_API ct_tensor ct_normalize(ct_tensor x, double p, int64_t dim, double eps);
CT_API ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout_p, int is_causal,
                         double scale, int force_exact);

// autograd and optimisation
CT_API int ct_backward(ct_tensor t, ct_tensor grad, int retain_graph);
CT_API int ct_grad(ct_tensor t, ct_tensor* out);
CT_API int ct_clear_grad(ct_tensor t);
CT_API int ct_set_grad(ct_tensor t, ct_tensor g);
CT_API int ct_grad_enabled(void);
CT_API int ct_set_grad_enabled(int enabled);
CT_API void* ct_inference_mode_enter(void);
CT_API void ct_inference_mode_exit(void* guard);
CT_API void* ct_autocast_enter(int dev_type, int dtype);
CT_API void ct_autocast_exit(void* guard);
CT_API int ct_autocast_enabled(int dev_type);
CT_API int ct_clip_grad_norm(const ct_tensor* params, int n, double max_norm, double norm_type, double* total);
CT_API int ct_clip_grad_norm_flat(ct_tensor flat, const int64_t* sizes, int n, double max_norm, double* total);
CT_API int ct_adamw_step_flat(ct_tensor param, ct_tensor grad, ct_tensor exp_avg, ct_tensor exp_avg_sq, ct_tensor decay,
                              double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step);
CT_API int ct_adamw_step(ct_tensor param, ct_tensor exp_avg, ct_tensor exp_avg_sq, double lr, double beta1,
                         double beta2, double eps, double weight_decay, int64_t step);

// random numbers: gen may be NULL (the device's default generator)
CT_API int ct_manual_seed(uint64_t seed);
CT_API ct_generator ct_generator_new(uint64_t seed);
CT_API void ct_generator_free(ct_generator g);
CT_API ct_tensor ct_rand(int kind, const int64_t* shape, int ndim, double a, double b, int dtype, int dev_type,
                         int dev_index, ct_generator gen);
CT_API int ct_init_(int kind, ct_tensor t, double a, double b, ct_generator gen);
CT_API ct_tensor ct_bernoulli(ct_tensor probs, ct_generator gen);
CT_API ct_tensor ct_randperm(int64_t n, int dev_type, int dev_index, ct_generator gen);

// torch.distributed (c10d)
CT_API ct_store ct_store_new(const char* host, int port, int is_server, int64_t timeout_ms);
CT_API int ct_store_port(ct_store s);
CT_API void ct_store_free(ct_store s);
CT_API ct_group ct_group_new(int backend, ct_store s, int rank, int size, const char* hostname, int64_t timeout_ms);
CT_API void ct_group_free(ct_group g);
CT_API int ct_group_all_reduce(ct_group g, ct_tensor t, int average);
CT_API int ct_group_broadcast(ct_group g, ct_tensor t, int root);
CT_API int ct_group_all_gather(ct_group g, ct_tensor input, ct_tensor* outputs, int n);
CT_API int ct_group_barrier(ct_group g);

// gradient buckets: parameters' finished gradients copied into a flat buffer by grad-accumulator hooks
// during backward, a bucket at a time, for a reduction that overlaps backward (grad_buckets.cpp)
CT_API ct_grad_buckets ct_grad_buckets_new(const ct_tensor* params, int n, const int64_t* offsets, const int* bucket_of,
                                           int buckets, ct_tensor flat);
CT_API int ct_grad_buckets_arm(ct_grad_buckets h);
CT_API int ct_grad_buckets_finish(ct_grad_buckets h);
CT_API int ct_grad_buckets_abort(ct_grad_buckets h);
CT_API int ct_grad_buckets_wait(ct_grad_buckets h, int bucket, int64_t timeout_ms);
CT_API void ct_grad_buckets_free(ct_grad_buckets h);

// profiling: libtorch's op profiler, written as a Chrome trace to path when stopped
CT_API int ct_profiler_start(const char* path);
CT_API int ct_profiler_stop(void);

// benchmarking: nanoseconds per call of the same op in a pure C++ loop
CT_API double ct_bench_native_loop(int op, ct_tensor a, ct_tensor b, int64_t iterations);
