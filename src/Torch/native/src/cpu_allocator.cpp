// A caching allocator for large CPU tensors, installed as libtorch's CPU allocator when the library
// loads (CLUSTER_CPU_ALLOCATOR=default keeps libtorch's own).
//
// Why: glibc serves every request above 32 MiB with a fresh mmap and unmaps it on free, so each
// large tensor is paid for again in page faults, one per 4 KiB page, and the kernel zeroes every
// page. Training at 512 tokens allocates and frees gigabytes of activations per step; on a 2-core
// VM the faults took about a third of a roberta-base forward+backward (sys time 69 s of 111 s for
// five passes). PyTorch solves the same problem on CUDA with a caching allocator; this is the CPU
// counterpart. Freed blocks of 256 KiB and more are kept and handed out again for requests of
// (nearly) the same size, so a training loop stops touching the kernel after its first step.
// Of several free blocks of one size the last freed goes out first, as glibc's heap does: its
// memory is likely still in the CPU's cache (handing out the oldest instead made copies 35% slower
// in a roberta-base forward at 128 tokens, 236 ms against 141 ms of 2 s under the profiler).
// Blocks of 4 MiB and more are 2 MiB aligned and advised as transparent huge pages, which makes the
// first touch of a new block cheap as well.
//
// Memory held: mapped memory is kept within twice the program's own peak of live large tensors. A
// request that finds no cached block of its size maps a new one, first unmapping the blocks that
// were freed longest ago when it would cross that bound. Why twice and not once: one step of a
// loop needs different mixes of sizes at different moments (a 96 MiB block now, three 32 MiB ones
// later), and blocks are never split, so a bound of once the peak made a training loop unmap and
// map the same blocks every step (measured: roberta-base forward+backward at 512 tokens got slower
// than with no cache at all). The cache is further capped (half the memory of the machine or of
// the cgroup, CLUSTER_CPU_CACHE_LIMIT_MB, or ct_cpu_set_cache_limit), and empty_cache() returns it.
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace {

constexpr size_t kMinCached = size_t{256} << 10;  // below this glibc's heap already reuses memory
constexpr size_t kGrain = size_t{64} << 10;       // size granularity of cached blocks under 4 MiB
constexpr size_t kHugePage = size_t{2} << 20;     // x86-64's transparent huge page

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Requests of 4 MiB and more take whole huge pages; below that, 64 KiB steps.
size_t block_size(size_t n) { return n >= 2 * kHugePage ? round_up(n, kHugePage) : round_up(n, kGrain); }

// Physical memory, or the cgroup's limit where that is lower (a Kubernetes pod's).
size_t machine_memory() {
  size_t bytes = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream file(path);
    unsigned long long limit = 0;
    if (file >> limit && limit > 0 && limit < bytes) bytes = static_cast<size_t>(limit);
  }
  return bytes;
}

size_t default_limit() {
  if (const char* mb = std::getenv("CLUSTER_CPU_CACHE_LIMIT_MB")) return static_cast<size_t>(std::strtoull(mb, nullptr, 10)) << 20;
  return machine_memory() / 2;
}

void* map_block(size_t size) {
  if (size < 2 * kHugePage) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // Over-map by one huge page and trim both ends, so the block starts on a huge-page boundary.
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto start = reinterpret_cast<uintptr_t>(raw);
  auto aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  size_t tail = start + size + kHugePage - (aligned + size);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  return reinterpret_cast<void*>(aligned);
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback), limit_(default_limit()) {}

  // libtorch 1.13 declares allocate const and 2.3+ non-const; declaring both overrides whichever
  // the headers have. copy_data is pure virtual from 2.3 on and unused before.
  c10::DataPtr allocate(size_t n) const { return const_cast<CachingCpuAllocator*>(this)->take(n); }
  c10::DataPtr allocate(size_t n) { return take(n); }
  void copy_data(void* dest, const void* src, size_t count) const { std::memcpy(dest, src, count); }
  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

  static CachingCpuAllocator* instance;

  ct_cpu_memory_stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {instance == this && c10::GetCPUAllocator() == this ? 1 : 0,
            static_cast<int64_t>(live_bytes_),
            static_cast<int64_t>(cached_bytes_),
            static_cast<int64_t>(peak_mapped_),
            static_cast<int64_t>(limit_),
            hits_,
            misses_};
  }

  void empty_cache() { unmap(drain(SIZE_MAX)); }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_mapped_ = mapped_;
  }

  size_t set_limit(size_t bytes) {
    size_t previous;
    std::vector<std::pair<void*, size_t>> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      previous = limit_;
      limit_ = bytes;
      if (cached_bytes_ > limit_) dropped = drain_locked(cached_bytes_ - limit_);
    }
    unmap(dropped);
    return previous;
  }

 private:
  c10::DataPtr take(size_t n) {
    if (n < kMinCached) return fallback_->allocate(n);
    const size_t size = block_size(n);
    std::vector<std::pair<void*, size_t>> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // the smallest cached block that fits, if it wastes at most a quarter of the request; of
      // several that size, the one freed last, whose memory is most likely still in the CPU's cache
      auto it = free_.lower_bound(size);
      if (it != free_.end()) it = std::prev(free_.upper_bound(it->first));
      if (it != free_.end() && it->first <= size + size / 4) {
        auto [bytes, data] = *it;
        forget_locked(it);
        cached_bytes_ -= bytes;
        hits_++;
        return own_locked(data, bytes);
      }
      misses_++;
      const size_t bound = 2 * std::max(peak_live_, live_bytes_ + size);
      if (mapped_ + size > bound) dropped = drain_locked(mapped_ + size - bound);
    }
    unmap(dropped);
    void* data = map_block(size);
    if (data == nullptr) {
      empty_cache();
      data = map_block(size);
    }
    if (data == nullptr) {
      std::lock_guard<std::mutex> lock(mutex_);
      TORCH_CHECK(false, "CPU allocator: out of memory allocating ", n >> 20, " MiB (", live_bytes_ >> 20,
                  " MiB in use by large tensors)");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    mapped_ += size;
    peak_mapped_ = std::max(peak_mapped_, mapped_);
    return own_locked(data, size);
  }

  c10::DataPtr own_locked(void* data, size_t size) {
    live_.emplace(data, size);
    live_bytes_ += size;
    peak_live_ = std::max(peak_live_, live_bytes_);
    return {data, data, &release_any, c10::Device(c10::DeviceType::CPU)};
  }

  // The deleter of every block (and of raw allocations, whose small ones come from the fallback).
  static void release_any(void* data) {
    if (data == nullptr) return;
    if (!instance->release(data)) instance->fallback_->raw_deleter()(data);
  }

  bool release(void* data) {
    size_t size;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(data);
      if (it == live_.end()) return false;
      size = it->second;
      live_.erase(it);
      live_bytes_ -= size;
      if (cached_bytes_ + size <= limit_) {
        auto block = free_.emplace(size, data);
        freed_order_.emplace(++clock_, block);
        freed_at_.emplace(data, clock_);
        cached_bytes_ += size;
        return true;
      }
      mapped_ -= size;
    }
    munmap(data, size);
    return true;
  }

  using FreeBlocks = std::multimap<size_t, void*>;

  void forget_locked(FreeBlocks::iterator block) {
    auto at = freed_at_.find(block->second);
    freed_order_.erase(at->second);
    freed_at_.erase(at);
    free_.erase(block);
  }

  // Takes at least `bytes` (or everything) out of the cache, longest-unused blocks first, for unmapping.
  std::vector<std::pair<void*, size_t>> drain_locked(size_t bytes) {
    std::vector<std::pair<void*, size_t>> out;
    size_t taken = 0;
    while (taken < bytes && !freed_order_.empty()) {
      auto block = freed_order_.begin()->second;
      out.emplace_back(block->second, block->first);
      taken += block->first;
      forget_locked(block);
    }
    cached_bytes_ -= taken;
    mapped_ -= taken;
    return out;
  }

  std::vector<std::pair<void*, size_t>> drain(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    return drain_locked(bytes);
  }

  static void unmap(const std::vector<std::pair<void*, size_t>>& blocks) {
    for (auto [data, size] : blocks) munmap(data, size);
  }

  c10::Allocator* const fallback_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  FreeBlocks free_;                                        // cached blocks by size, for best fit
  std::map<uint64_t, FreeBlocks::iterator> freed_order_;   // the same blocks by when they were freed
  std::unordered_map<void*, uint64_t> freed_at_;
  uint64_t clock_ = 0;
  size_t live_bytes_ = 0, peak_live_ = 0, cached_bytes_ = 0, mapped_ = 0, peak_mapped_ = 0, limit_;
  int64_t hits_ = 0, misses_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

// Never destroyed: tensors freed during process exit still reach it.
CachingCpuAllocator* install() {
  auto* allocator = new CachingCpuAllocator(c10::GetCPUAllocator());
  CachingCpuAllocator::instance = allocator;
  const char* choice = std::getenv("CLUSTER_CPU_ALLOCATOR");
  if (choice == nullptr || std::strcmp(choice, "default") != 0) c10::SetCPUAllocator(allocator, /*priority=*/1);
  return allocator;
}

CachingCpuAllocator* const installed = install();

}  // namespace

CT_API void ct_cpu_memory_stats_get(ct_cpu_memory_stats* out) { *out = installed->stats(); }

CT_API void ct_cpu_empty_cache(void) { installed->empty_cache(); }

CT_API void ct_cpu_reset_peak_memory_stats(void) { installed->reset_peak(); }

CT_API int64_t ct_cpu_set_cache_limit(int64_t bytes) {
  return static_cast<int64_t>(installed->set_limit(static_cast<size_t>(std::max<int64_t>(bytes, 0))));
}
