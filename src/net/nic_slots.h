// The guest's half of NICs added and removed while the container runs.
//
// The VM boots with a few spare virtio-net devices (runtime/network.h).
// Each NIC has a slot MAC that names it for good; a spare wears it and
// waits in a parking network namespace of the agent's, so the container
// (which shares the guest's root namespace) never sees it. When the host
// joins a spare to a new container interface, the NIC takes the
// interface's MAC and moves to the root namespace, where apply.h configures
// it; when the interface goes, the NIC takes its slot MAC again and goes
// back to the parking namespace, which drops its addresses and routes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/address_text.h"
#include "net/netlink.h"

namespace runvm::net {

// One NIC: its slot MAC and, when it carries an interface, that MAC.
struct NicSlot {
  Mac slot{};
  std::optional<Mac> mac;

  bool operator==(const NicSlot&) const = default;
};

// The `nics` member of the create and network_update messages:
// [{"slot": "02:72:76:00:00:01", "mac": "02:42:ac:11:00:02" or null}, ...].
// At most kMaxSlots, slot MACs distinct.
Result<std::vector<NicSlot>> nic_slots_from_json(const nlohmann::json& json);

class NicSlots {
 public:
  static constexpr size_t kMaxSlots = 64;

  // Takes the NICs as they booted (a NIC carrying an interface wears that
  // MAC, a spare its slot MAC). Run in the namespace the container will use.
  static Result<NicSlots> set_up(const std::vector<NicSlot>& slots);
  NicSlots(NicSlots&&) noexcept;
  NicSlots& operator=(NicSlots&&) = delete;  // a running parker would be lost
  ~NicSlots();  // waits for the parking

  // Starts parking the spares on a thread of its own: moving a NIC costs a
  // TCG guest tens of milliseconds, time the engine's way from create to
  // start can overlap. The caller must not fork until wait_parked().
  void start_parking();
  // The spares are out of sight once this returns ok (the first call waits;
  // later ones return the same answer).
  Status wait_parked();

  // Moves NICs in and out of the parking namespace until each slot carries
  // what `wanted` says, leaving new ones down, under temporary names, for
  // apply_network_config. A slot not known from set_up is an error.
  Status follow(const std::vector<NicSlot>& wanted);

 private:
  struct State;
  explicit NicSlots(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace runvm::net
