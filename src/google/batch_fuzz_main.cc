// libFuzzer entry point; scripts/fuzz.sh builds and runs it (see batch_fuzz.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "google/batch_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  telemeet::google::FuzzGoogleBatchAnswer(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
