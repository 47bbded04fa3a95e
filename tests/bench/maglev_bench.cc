// Time to build one Maglev ring: what lbd pays on every backend change.
// Arguments: number of backends, ring size.
#include <benchmark/benchmark.h>

#include "core/maglev.h"

namespace {

std::vector<xlb::maglev::Endpoint> backends(uint32_t count, bool mixed_weights) {
  std::vector<xlb::maglev::Endpoint> endpoints;
  for (uint32_t i = 0; i < count; ++i)
    endpoints.push_back({"198.19." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":0", i,
                         mixed_weights ? 1 + i % 4 : 1});
  return endpoints;
}

void run(benchmark::State& state, bool mixed_weights) {
  auto endpoints = backends(static_cast<uint32_t>(state.range(0)), mixed_weights);
  auto ring_size = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(xlb::maglev::build_ring(endpoints, ring_size, 0));
}

void BM_BuildRingEqualWeights(benchmark::State& state) { run(state, false); }
void BM_BuildRingMixedWeights(benchmark::State& state) { run(state, true); }

void sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"backends", "M"})->ArgsProduct({{10, 100, 1000}, {65537, 655373}})->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_BuildRingEqualWeights)->Apply(sizes);
BENCHMARK(BM_BuildRingMixedWeights)->Apply(sizes);
