#pragma once

// The load generator's latency histogram: the node's own (modules/metrics), at
// 128 sub-buckets over the whole uint64 range (every value within 0.79%).

#include "modules/metrics/histogram.hpp"

namespace stairkv::bench {

using histogram = metrics::basic_histogram<7>;

}  // namespace stairkv::bench
