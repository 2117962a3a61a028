// libFuzzer target: arbitrary bytes as config.json (and as an exec's
// process.json). parse_spec must return a value or an error, never crash
// or throw; what it accepts must serialise for the guest without throwing.
// Run with scripts/fuzz.sh spec_fuzz.
#include <string>

#include <nlohmann/json.hpp>

#include "oci/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto spec = runvm::oci::parse_spec(text)) {
    (void)runvm::oci::process_to_json(spec->process).dump();
    (void)runvm::oci::mounts_to_json(spec->mounts).dump();
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded())
    if (auto p = runvm::oci::process_from_json(j)) (void)runvm::oci::process_to_json(*p).dump();
  return 0;
}
