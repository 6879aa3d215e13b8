using System.Runtime.InteropServices;

namespace Cluster.Torch.Native;

/// <summary>The C ABI of libclustertorch (src/Torch/native/include/clustertorch.h), one line per entry point.</summary>
internal static unsafe partial class LibTorch
{
    internal const string Library = "clustertorch";

    // errors and bookkeeping
    [LibraryImport(Library)] internal static partial IntPtr ct_last_error();
    [LibraryImport(Library)] internal static partial long ct_live_tensors();
    [LibraryImport(Library)] internal static partial IntPtr ct_torch_version();
    [LibraryImport(Library)] internal static partial int ct_has_fused_attention();
    [LibraryImport(Library)] internal static partial int ct_has_distributed(int backend);
    [LibraryImport(Library)] internal static partial int ct_cuda_is_available();
    [LibraryImport(Library)] internal static partial int ct_cuda_device_count();
    [LibraryImport(Library)] internal static partial int ct_cuda_synchronize(int deviceIndex);
    [LibraryImport(Library)] internal static partial int ct_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int ct_get_num_threads();
    [LibraryImport(Library)] internal static partial void ct_cpu_memory_stats_get(out CpuMemoryStats stats);
    [LibraryImport(Library)] internal static partial void ct_cpu_empty_cache();
    [LibraryImport(Library)] internal static partial void ct_cpu_reset_peak_memory_stats();
    [LibraryImport(Library)] internal static partial long ct_cpu_set_cache_limit(long bytes);

    // lifetime and metadata
    [LibraryImport(Library)] internal static partial void ct_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial long* ct_tensor_sizes(TensorHandle t, out int ndim);
    [LibraryImport(Library)] internal static partial int ct_tensor_dtype(TensorHandle t);
    [LibraryImport(Library)] internal static partial int ct_tensor_device(TensorHandle t, out int type, out int index);
    [LibraryImport(Library)] internal static partial long ct_tensor_numel(TensorHandle t);
    [LibraryImport(Library)] internal static partial int ct_tensor_is_contiguous(TensorHandle t);
    [LibraryImport(Library)] internal static partial int ct_tensor_requires_grad(TensorHandle t);
    [LibraryImport(Library)] internal static partial int ct_tensor_set_requires_grad(TensorHandle t, int requiresGrad);
    [LibraryImport(Library)] internal static partial int ct_tensor_is_leaf(TensorHandle t);
    [LibraryImport(Library)] internal static partial IntPtr ct_tensor_data_ptr(TensorHandle t);
    [LibraryImport(Library)] internal static partial IntPtr ct_tensor_to_string(TensorHandle t);
    [LibraryImport(Library)] internal static partial void ct_string_free(IntPtr s);
    [LibraryImport(Library)] internal static partial int ct_tensor_item(TensorHandle t, out double asDouble, out long asInt64);

    // creation
    [LibraryImport(Library)] internal static partial IntPtr ct_empty(long* shape, int ndim, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Library)] internal static partial IntPtr ct_full(long* shape, int ndim, double value, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Library)] internal static partial IntPtr ct_arange(double start, double end, double step, int dtype, int devType, int devIndex);
    [LibraryImport(Library)] internal static partial IntPtr ct_from_blob(void* data, long* shape, int ndim, int dtype, delegate* unmanaged<IntPtr, void> deleter, IntPtr context);
    [LibraryImport(Library)] internal static partial IntPtr ct_clone(TensorHandle t);
    [LibraryImport(Library)] internal static partial IntPtr ct_contiguous(TensorHandle t);
    [LibraryImport(Library)] internal static partial IntPtr ct_detach(TensorHandle t);
    [LibraryImport(Library)] internal static partial IntPtr ct_to(TensorHandle t, int dtype, int devType, int devIndex, int copy);
    [LibraryImport(Library)] internal static partial int ct_copy_(TensorHandle dst, TensorHandle src);
    [LibraryImport(Library)] internal static partial int ct_fill_(TensorHandle t, double value);
    [LibraryImport(Library)] internal static partial int ct_set_data(TensorHandle t, TensorHandle src);

    // the hottest entry points again over raw handles: the caller keeps the owning TensorHandles alive
    // (GC.KeepAlive) instead of paying SafeHandle marshalling's interlocked add-ref/release per argument
    [LibraryImport(Library, EntryPoint = "ct_unary")] internal static partial IntPtr ct_unary_raw(UnaryOp op, IntPtr a);
    [LibraryImport(Library, EntryPoint = "ct_binary")] internal static partial IntPtr ct_binary_raw(BinaryOp op, IntPtr a, IntPtr b, double alpha);
    [LibraryImport(Library, EntryPoint = "ct_binary_scalar")] internal static partial IntPtr ct_binary_scalar_raw(BinaryOp op, IntPtr a, double b);
    [LibraryImport(Library, EntryPoint = "ct_view")] internal static partial IntPtr ct_view_raw(IntPtr a, long* shape, int ndim, int reshape);

    // elementwise maths
    [LibraryImport(Library)] internal static partial IntPtr ct_unary(UnaryOp op, TensorHandle a);
    [LibraryImport(Library)] internal static partial int ct_unary_(UnaryOp op, TensorHandle a);
    [LibraryImport(Library)] internal static partial IntPtr ct_binary(BinaryOp op, TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Library)] internal static partial int ct_binary_(BinaryOp op, TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Library)] internal static partial IntPtr ct_binary_scalar(BinaryOp op, TensorHandle a, double b);
    [LibraryImport(Library)] internal static partial int ct_binary_scalar_(BinaryOp op, TensorHandle a, double b);
    [LibraryImport(Library)] internal static partial IntPtr ct_rsub_scalar(double a, TensorHandle b);
    [LibraryImport(Library)] internal static partial IntPtr ct_clamp(TensorHandle a, double min, double max);
    [LibraryImport(Library)] internal static partial IntPtr ct_where(TensorHandle cond, TensorHandle a, TensorHandle b);
    [LibraryImport(Library)] internal static partial IntPtr ct_masked_fill(TensorHandle a, TensorHandle mask, double value);
    [LibraryImport(Library)] internal static partial IntPtr ct_linear(TensorHandle x, TensorHandle w, TensorHandle b);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ct_einsum(string equation, IntPtr* operands, int n);
    [LibraryImport(Library)] internal static partial IntPtr ct_tril(TensorHandle a, long diagonal, int upper);

    // reductions
    [LibraryImport(Library)] internal static partial IntPtr ct_reduce(ReduceOp op, TensorHandle a, long* dims, int ndims, int keepdim, int dtype);
    [LibraryImport(Library)] internal static partial int ct_max_dim(TensorHandle a, long dim, int keepdim, int isMin, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial IntPtr ct_argmax(TensorHandle a, long dim, int hasDim, int keepdim, int isMin);
    [LibraryImport(Library)] internal static partial int ct_topk(TensorHandle a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial IntPtr ct_norm(TensorHandle a, double p, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr ct_cumsum(TensorHandle a, long dim, int dtype);

    // shape and indexing
    [LibraryImport(Library)] internal static partial IntPtr ct_view(TensorHandle a, long* shape, int ndim, int reshape);
    [LibraryImport(Library)] internal static partial IntPtr ct_permute(TensorHandle a, long* dims, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr ct_transpose(TensorHandle a, long d0, long d1);
    [LibraryImport(Library)] internal static partial IntPtr ct_slice(TensorHandle a, long dim, long start, long end, long step);
    [LibraryImport(Library)] internal static partial IntPtr ct_narrow(TensorHandle a, long dim, long start, long length);
    [LibraryImport(Library)] internal static partial IntPtr ct_select(TensorHandle a, long dim, long index);
    [LibraryImport(Library)] internal static partial IntPtr ct_index_select(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Library)] internal static partial IntPtr ct_gather(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Library)] internal static partial IntPtr ct_scatter(TensorHandle a, long dim, TensorHandle index, TensorHandle src);
    [LibraryImport(Library)] internal static partial IntPtr ct_expand(TensorHandle a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr ct_repeat(TensorHandle a, long* repeats, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr ct_squeeze(TensorHandle a, long dim, int all);
    [LibraryImport(Library)] internal static partial IntPtr ct_unsqueeze(TensorHandle a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr ct_flatten(TensorHandle a, long start, long end);
    [LibraryImport(Library)] internal static partial IntPtr ct_as_strided(TensorHandle a, long* size, long* stride, int ndim, long offset);
    [LibraryImport(Library)] internal static partial IntPtr ct_cat(IntPtr* tensors, int n, long dim, int stack);
    [LibraryImport(Library)] internal static partial int ct_split(TensorHandle a, long* sizes, int n, long dim, IntPtr* outputs);

    // neural-network functions
    [LibraryImport(Library)] internal static partial IntPtr ct_softmax(TensorHandle a, long dim, int dtype, int log);
    [LibraryImport(Library)] internal static partial IntPtr ct_layer_norm(TensorHandle x, long* shape, int ndim, TensorHandle w, TensorHandle b, double eps);
    [LibraryImport(Library)] internal static partial IntPtr ct_gelu(TensorHandle x, int tanhApproximation);
    [LibraryImport(Library)] internal static partial IntPtr ct_dropout(TensorHandle x, double p, int train);
    [LibraryImport(Library)] internal static partial IntPtr ct_embedding(TensorHandle weight, TensorHandle indices, long paddingIdx);
    [LibraryImport(Library)] internal static partial IntPtr ct_cross_entropy(TensorHandle logits, TensorHandle target, TensorHandle weight, int reduction, long ignoreIndex, double labelSmoothing);
    [LibraryImport(Library)] internal static partial IntPtr ct_mse_loss(TensorHandle a, TensorHandle b, int reduction);
    [LibraryImport(Library)] internal static partial IntPtr ct_bce_with_logits(TensorHandle x, TensorHandle y, TensorHandle weight, TensorHandle posWeight, int reduction);
    [LibraryImport(Library)] internal static partial IntPtr ct_normalize(TensorHandle x, double p, long dim, double eps);
    [LibraryImport(Library)] internal static partial IntPtr ct_sdpa(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, double dropoutP, int isCausal, double scale, int forceExact);

    // autograd and optimisation
    [LibraryImport(Library)] internal static partial int ct_backward(TensorHandle t, TensorHandle grad, int retainGraph);
    [LibraryImport(Library)] internal static partial int ct_grad(TensorHandle t, out IntPtr grad);
    [LibraryImport(Library)] internal static partial int ct_clear_grad(TensorHandle t);
    [LibraryImport(Library)] internal static partial int ct_set_grad(TensorHandle t, TensorHandle grad);
    [LibraryImport(Library)] internal static partial int ct_grad_enabled();
    [LibraryImport(Library)] internal static partial int ct_set_grad_enabled(int enabled);
    [LibraryImport(Library)] internal static partial IntPtr ct_inference_mode_enter();
    [LibraryImport(Library)] internal static partial void ct_inference_mode_exit(IntPtr guard);
    [LibraryImport(Library)] internal static partial IntPtr ct_autocast_enter(int devType, int dtype);
    [LibraryImport(Library)] internal static partial void ct_autocast_exit(IntPtr guard);
    [LibraryImport(Library)] internal static partial int ct_autocast_enabled(int devType);
    [LibraryImport(Library)] internal static partial int ct_clip_grad_norm(IntPtr* parameters, int n, double maxNorm, double normType, out double total);
    [LibraryImport(Library)] internal static unsafe partial int ct_clip_grad_norm_flat(TensorHandle flat, long* sizes, int n, double maxNorm, out double total);
    [LibraryImport(Library)] internal static partial int ct_adamw_step_flat(TensorHandle param, TensorHandle grad, TensorHandle expAvg, TensorHandle expAvgSq, TensorHandle decay, double lr, double beta1, double beta2, double eps, double weightDecay, long step);
    [LibraryImport(Library)] internal static partial int ct_adamw_step(TensorHandle param, TensorHandle expAvg, TensorHandle expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, long step);

    // random numbers
    [LibraryImport(Library)] internal static partial int ct_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr ct_generator_new(ulong seed);
    [LibraryImport(Library)] internal static partial void ct_generator_free(IntPtr g);
    [LibraryImport(Library)] internal static partial IntPtr ct_rand(RandomKind kind, long* shape, int ndim, double a, double b, int dtype, int devType, int devIndex, IntPtr gen);
    [LibraryImport(Library)] internal static partial int ct_init_(RandomKind kind, TensorHandle t, double a, double b, IntPtr gen);
    [LibraryImport(Library)] internal static partial IntPtr ct_bernoulli(TensorHandle probs, IntPtr gen);
    [LibraryImport(Library)] internal static partial IntPtr ct_randperm(long n, int devType, int devIndex, IntPtr gen);

    // torch.distributed
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ct_store_new(string host, int port, int isServer, long timeoutMs);
    [LibraryImport(Library)] internal static partial int ct_store_port(IntPtr store);
    [LibraryImport(Library)] internal static partial void ct_store_free(IntPtr store);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ct_group_new(int backend, IntPtr store, int rank, int size, string hostname, long timeoutMs);
    [LibraryImport(Library)] internal static partial void ct_group_free(IntPtr group);
    [LibraryImport(Library)] internal static partial int ct_group_all_reduce(IntPtr group, TensorHandle t, int average);
    [LibraryImport(Library)] internal static partial int ct_group_broadcast(IntPtr group, TensorHandle t, int root);
    [LibraryImport(Library)] internal static partial int ct_group_all_gather(IntPtr group, TensorHandle input, IntPtr* outputs, int n);
    [LibraryImport(Library)] internal static partial int ct_group_barrier(IntPtr group);

    // gradient buckets
    [LibraryImport(Library)] internal static partial IntPtr ct_grad_buckets_new(IntPtr* parameters, int n, long* offsets, int* bucketOf, int buckets, TensorHandle flat);
    [LibraryImport(Library)] internal static partial int ct_grad_buckets_arm(IntPtr buckets);
    [LibraryImport(Library)] internal static partial int ct_grad_buckets_finish(IntPtr buckets);
    [LibraryImport(Library)] internal static partial int ct_grad_buckets_abort(IntPtr buckets);
    [LibraryImport(Library)] internal static partial int ct_grad_buckets_wait(IntPtr buckets, int bucket, long timeoutMs);
    [LibraryImport(Library)] internal static partial void ct_grad_buckets_free(IntPtr buckets);

    // benchmarking and profiling
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int ct_profiler_start(string path);
    [LibraryImport(Library)] internal static partial int ct_profiler_stop();
    [LibraryImport(Library)] internal static partial double ct_bench_native_loop(int op, TensorHandle a, TensorHandle b, long iterations);
}
