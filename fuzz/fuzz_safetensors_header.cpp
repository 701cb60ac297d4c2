// libFuzzer target: any byte string as a whole safetensors file. parse_safetensors must either
// throw fp4moe::Error or return a header whose every promise holds (offsets inside the data, sizes
// matching dtype and shape, no overlaps); anything else (a crash, a sanitizer report, another
// exception type escaping) is a bug.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"

namespace {

void check_promises(const fp4moe::SafetensorsHeader& h, size_t size) {
  if (h.data_offset > size) std::abort();
  const uint64_t data_size = size - h.data_offset;
  std::vector<const fp4moe::TensorInfo*> nonempty;
  for (const auto& t : h.tensors) {
    if (t.begin > t.end || t.end > data_size) std::abort();
    const int64_t numel = t.numel();
    if (numel < 0 || t.bytes() != uint64_t(numel) * fp4moe::dtype_bits(t.dtype) / 8) std::abort();
    if (h.find(t.name) != &t) std::abort();
    if (t.bytes() > 0) nonempty.push_back(&t);
  }
  std::sort(nonempty.begin(), nonempty.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < nonempty.size(); ++i)
    if (nonempty[i]->begin < nonempty[i - 1]->end) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    check_promises(fp4moe::parse_safetensors(data, size, "fuzz-input"), size);
  } catch (const fp4moe::Error&) {
    // A clear rejection is the expected outcome for most inputs.
  }
  return 0;
}
