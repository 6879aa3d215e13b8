// torch.distributed over c10d: a TCPStore for rendezvous and a Gloo (CPU) or NCCL (CUDA)
// process group. Gloo has no AVG reduction, so averages are a sum followed by a division,
// which gives NCCL and Gloo the same result.
#include "common.h"

#if defined(CLUSTER_WITH_GLOO) || defined(CLUSTER_WITH_NCCL)
#define CLUSTER_WITH_C10D
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef CLUSTER_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef CLUSTER_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#ifdef CLUSTER_WITH_C10D
namespace {

#if CT_TORCH_AT_LEAST(2, 0)
using GroupBase = c10d::Backend;
#else
using GroupBase = c10d::ProcessGroup;
#endif

struct Store {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

struct Group {
  c10::intrusive_ptr<GroupBase> pg;
  int rank;
  int size;
};

Group& G(ct_group g) {
  if (g == nullptr) throw std::invalid_argument("null process group handle");
  return *static_cast<Group*>(g);
}

void wait(const c10::intrusive_ptr<c10d::Work>& work) {
  if (!work->wait()) throw std::runtime_error("collective did not complete");
}

}  // namespace
#endif

CT_API int ct_has_distributed(int backend) {
#ifdef CLUSTER_WITH_NCCL
  if (backend == 1) return 1;
#endif
#ifdef CLUSTER_WITH_GLOO
  if (backend == 0) return 1;
#endif
  return 0;
}

#ifdef CLUSTER_WITH_C10D

CT_API ct_store ct_store_new(const char* host, int port, int is_server, int64_t timeout_ms) {
  CT_TRY
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = is_server != 0;
  opts.waitWorkers = false;
  opts.timeout = std::chrono::milliseconds(timeout_ms);
  return new Store{c10::make_intrusive<c10d::TCPStore>(std::string(host), opts)};
  CT_CATCH(nullptr)
}

CT_API int ct_store_port(ct_store s) { CT_TRY return static_cast<Store*>(s)->store->getPort(); CT_CATCH(-1) }
CT_API void ct_store_free(ct_store s) { delete static_cast<Store*>(s); }

CT_API ct_group ct_group_new(int backend, ct_store s, int rank, int size, const char* hostname, int64_t timeout_ms) {
  CT_TRY
  if (s == nullptr) throw std::invalid_argument("null store handle");
  auto store = c10::static_intrusive_pointer_cast<c10d::Store>(static_cast<Store*>(s)->store);
  auto timeout = std::chrono::milliseconds(timeout_ms);
#ifdef CLUSTER_WITH_GLOO
  if (backend == 0) {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    return new Group{pg, rank, size};
  }
#endif
#ifdef CLUSTER_WITH_NCCL
  if (backend == 1) {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
    return new Group{pg, rank, size};
  }
#endif
  if (backend == 0) throw std::invalid_argument("this libclustertorch was built without Gloo (install libgloo-dev and rebuild)");
  if (backend == 1) throw std::invalid_argument("this libclustertorch was built without NCCL (needs a CUDA libtorch and nccl.h)");
  throw std::invalid_argument("unknown process group backend " + std::to_string(backend));
  CT_CATCH(nullptr)
}

CT_API void ct_group_free(ct_group g) { delete static_cast<Group*>(g); }

CT_API int ct_group_all_reduce(ct_group g, ct_tensor t, int average) {
  CT_TRY
  auto& group = G(g);
  std::vector<at::Tensor> ts{ct::T(t)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  wait(group.pg->allreduce(ts, opts));
  if (average) ts[0].div_(group.size);
  return 0;
  CT_CATCH(-1)
}

CT_API int ct_group_broadcast(ct_group g, ct_tensor t, int root) {
  CT_TRY
  std::vector<at::Tensor> ts{ct::T(t)};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  wait(G(g).pg->broadcast(ts, opts));
  return 0;
  CT_CATCH(-1)
}

// outputs: n tensors shaped like input, one per rank, filled in place.
CT_API int ct_group_all_gather(ct_group g, ct_tensor input, ct_tensor* outputs, int n) {
  CT_TRY
  auto& group = G(g);
  if (n != group.size)
    throw std::invalid_argument("all_gather needs " + std::to_string(group.size) + " output tensors, got " + std::to_string(n));
  std::vector<std::vector<at::Tensor>> outs{ct::tensors(outputs, n)};
  std::vector<at::Tensor> ins{ct::T(input)};
  wait(group.pg->allgather(outs, ins));
  return 0;
  CT_CATCH(-1)
}

CT_API int ct_group_barrier(ct_group g) { CT_STATUS(wait(G(g).pg->barrier())) }

#else  // built without any c10d backend: every entry point reports why.

static const char* kNoDistributed = "this libclustertorch was built without c10d (install libgloo-dev and rebuild)";
CT_API ct_store ct_store_new(const char*, int, int, int64_t) { ct::set_error(kNoDistributed); return nullptr; }
CT_API int ct_store_port(ct_store) { ct::set_error(kNoDistributed); return -1; }
CT_API void ct_store_free(ct_store) {}
CT_API ct_group ct_group_new(int, ct_store, int, int, const char*, int64_t) { ct::set_error(kNoDistributed); return nullptr; }
CT_API void ct_group_free(ct_group) {}
CT_API int ct_group_all_reduce(ct_group, ct_tensor, int) { ct::set_error(kNoDistributed); return -1; }
CT_API int ct_group_broadcast(ct_group, ct_tensor, int) { ct::set_error(kNoDistributed); return -1; }
CT_API int ct_group_all_gather(ct_group, ct_tensor, ct_tensor*, int) { ct::set_error(kNoDistributed); return -1; }
CT_API int ct_group_barrier(ct_group) { ct::set_error(kNoDistributed); return -1; }

#endif
