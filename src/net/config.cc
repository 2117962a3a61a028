#include "net/config.h"

#include <algorithm>

#include <sys/socket.h>

#include <limits>
#include <set>

namespace runvm::net {
namespace {

using nlohmann::json;

constexpr int64_t kMinMtu = 68;  // IPv4's minimum; the kernel's too
constexpr int64_t kMaxMtu = 65535;
constexpr size_t kMaxNameLength = 15;  // IFNAMSIZ less the NUL

// ---------------------------------------------------------------------------
// Typed access; every error names the field, e.g. "interfaces[1].mtu".

std::string member(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string element(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

Failure bad(const std::string& path, const std::string& problem) {
  return fail(path + ": " + problem);
}

// The member, or null when absent or JSON null.
const json* find(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<const json*> require(const json& object, const std::string& path,
                            std::string_view key) {
  const json* v = find(object, key);
  if (!v) return bad(member(path, key), "is required");
  return v;
}

Result<std::string> get_string(const json& v, const std::string& path) {
  if (!v.is_string()) return bad(path, "expected a string");
  return v.get<std::string>();
}

// An integer within [min, max]; JSON floats, strings and booleans are not.
Result<int64_t> get_integer(const json& v, const std::string& path, int64_t min, int64_t max) {
  if (!v.is_number_integer()) return bad(path, "expected an integer");
  bool in_range = v.is_number_unsigned()
                      ? v.get<uint64_t>() <= static_cast<uint64_t>(max)
                      : v.get<int64_t>() >= min && v.get<int64_t>() <= max;
  if (!in_range)
    return bad(path, "out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
  return v.get<int64_t>();
}

Result<int64_t> require_integer(const json& object, const std::string& path,
                                std::string_view key, int64_t min, int64_t max) {
  const json* v = TRY(require(object, path, key));
  return get_integer(*v, member(path, key), min, max);
}

Result<std::string> require_string(const json& object, const std::string& path,
                                   std::string_view key) {
  const json* v = TRY(require(object, path, key));
  return get_string(*v, member(path, key));
}

Result<const json*> require_array(const json& object, const std::string& path,
                                  std::string_view key) {
  const json* v = TRY(require(object, path, key));
  if (!v->is_array()) return bad(member(path, key), "expected an array");
  return v;
}

Status expect_object(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path.empty() ? "network config" : path, "expected an object");
  return ok();
}

// ---------------------------------------------------------------------------
// Field values

Result<int> get_family(const json& object, const std::string& path) {
  std::string name = TRY(require_string(object, path, "family"));
  if (name == "inet") return AF_INET;
  if (name == "inet6") return AF_INET6;
  return bad(member(path, "family"), "unknown address family \"" + name +
                                         "\" (expected \"inet\" or \"inet6\")");
}

// The address in canonical text.
Result<std::string> get_ip(const json& object, const std::string& path,
                           std::string_view key, int family) {
  std::string text = TRY(require_string(object, path, key));
  IpAddress ip = TRY_CTX(parse_ip(family, text), member(path, key));
  return format_ip(ip);
}

Result<int> get_prefix(const json& object, const std::string& path, int family) {
  int max = static_cast<int>(8 * address_size(family));
  return static_cast<int>(TRY(require_integer(object, path, "prefix_length", 0, max)));
}

Status check_name(const std::string& name, const std::string& path) {
  // The kernel's dev_valid_name, narrowed to printable ASCII.
  bool printable = true;
  for (char c : name)
    if (c <= ' ' || c > '~' || c == '/' || c == ':') printable = false;
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == ".." || !printable)
    return bad(path, "invalid interface name \"" + name +
                         "\" (1 to 15 printable characters, no '/', ':' or spaces)");
  return ok();
}

Result<Mac> get_mac(const json& object, const std::string& path) {
  std::string text = TRY(require_string(object, path, "mac"));
  Mac mac = TRY_CTX(parse_mac(text), member(path, "mac"));
  if (mac[0] & 1) return bad(member(path, "mac"), "multicast address " + text);
  if (mac == Mac{}) return bad(member(path, "mac"), "all-zero address");
  return mac;
}

// ---------------------------------------------------------------------------
// Objects

Result<Address> parse_address(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Address a;
  a.family = TRY(get_family(v, path));
  a.address = TRY(get_ip(v, path, "address", a.family));
  a.prefix_length = TRY(get_prefix(v, path, a.family));
  return a;
}

Result<InterfaceConfig> parse_interface(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  InterfaceConfig i;
  i.name = TRY(require_string(v, path, "name"));
  TRY(check_name(i.name, member(path, "name")));
  i.mac = TRY(get_mac(v, path));
  i.mtu = static_cast<uint32_t>(TRY(require_integer(v, path, "mtu", kMinMtu, kMaxMtu)));
  if (const json* addresses = find(v, "addresses")) {
    std::string p = member(path, "addresses");
    if (!addresses->is_array()) return bad(p, "expected an array");
    for (size_t k = 0; k < addresses->size(); ++k)
      i.addresses.push_back(TRY(parse_address((*addresses)[k], element(p, k))));
  }
  return i;
}

Status parse_route_options(const json& v, const std::string& path, Route& r) {
  if (const json* m = find(v, "metric"))
    r.metric = static_cast<uint32_t>(TRY(get_integer(*m, member(path, "metric"), 0,
                                                     std::numeric_limits<uint32_t>::max())));
  if (const json* s = find(v, "scope"))
    r.scope = static_cast<int>(TRY(get_integer(*s, member(path, "scope"), 0, 255)));
  if (const json* o = find(v, "onlink")) {
    if (!o->is_boolean()) return bad(member(path, "onlink"), "expected a boolean");
    r.onlink = o->get<bool>();
  }
  return ok();
}

Result<Route> parse_route(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Route r;
  r.family = TRY(get_family(v, path));
  r.destination = TRY(get_ip(v, path, "destination", r.family));
  r.prefix_length = TRY(get_prefix(v, path, r.family));
  if (!only_prefix_bits(*parse_ip(r.family, r.destination), r.prefix_length))
    return bad(member(path, "destination"), r.destination + "/" +
                                                std::to_string(r.prefix_length) +
                                                " has bits set past the prefix");
  if (const json* g = find(v, "gateway"); g && !(g->is_string() && g->get<std::string>().empty()))
    r.gateway = TRY(get_ip(v, path, "gateway", r.family));
  r.device = TRY(require_string(v, path, "device"));
  TRY(parse_route_options(v, path, r));
  return r;
}

Result<Neighbor> parse_neighbor(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Neighbor n;
  n.family = TRY(get_family(v, path));
  n.address = TRY(get_ip(v, path, "address", n.family));
  std::string mac = TRY(require_string(v, path, "mac"));
  n.mac = TRY_CTX(parse_mac(mac), member(path, "mac"));
  n.device = TRY(require_string(v, path, "device"));
  return n;
}

Result<ArpSetting> parse_arp(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  ArpSetting a;
  a.scope = TRY(require_string(v, path, "scope"));
  a.key = TRY(require_string(v, path, "key"));
  auto known = std::find_if(std::begin(kArpKeys), std::end(kArpKeys), [&](const auto& k) { return k.first == a.key; });
  if (known == std::end(kArpKeys)) return bad(member(path, "key"), "not an ARP setting runvm carries: " + a.key);
  a.value = static_cast<int>(TRY(require_integer(v, path, "value", 0, known->second)));
  return a;
}

// Rules across fields: the guest finds links by MAC and renames them, so
// names and MACs must be unique, and a route needs a configured device.
Status check_references(const NetworkConfig& config) {
  std::set<std::string> names;
  std::set<Mac> macs;
  for (size_t k = 0; k < config.interfaces.size(); ++k) {
    const InterfaceConfig& i = config.interfaces[k];
    if (!names.insert(i.name).second)
      return bad(element("interfaces", k) + ".name", "duplicate interface name " + i.name);
    if (!macs.insert(i.mac).second)
      return bad(element("interfaces", k) + ".mac", "duplicate MAC " + format_mac(i.mac));
  }
  for (size_t k = 0; k < config.routes.size(); ++k)
    if (!names.count(config.routes[k].device))
      return bad(element("routes", k) + ".device",
                 "no interface named \"" + config.routes[k].device + "\"");
  for (size_t k = 0; k < config.neighbors.size(); ++k)
    if (!names.count(config.neighbors[k].device))
      return bad(element("neighbors", k) + ".device",
                 "no interface named \"" + config.neighbors[k].device + "\"");
  for (size_t k = 0; k < config.arp.size(); ++k)
    if (config.arp[k].scope != "all" && !names.count(config.arp[k].scope))
      return bad(element("arp", k) + ".scope", "neither \"all\" nor an interface: \"" + config.arp[k].scope + "\"");
  return ok();
}

Result<NetworkConfig> parse_config(const json& v) {
  TRY(expect_object(v, ""));
  NetworkConfig config;
  const json* interfaces = TRY(require_array(v, "", "interfaces"));
  for (size_t k = 0; k < interfaces->size(); ++k)
    config.interfaces.push_back(TRY(parse_interface((*interfaces)[k], element("interfaces", k))));
  if (find(v, "routes")) {
    const json* routes = TRY(require_array(v, "", "routes"));
    for (size_t k = 0; k < routes->size(); ++k)
      config.routes.push_back(TRY(parse_route((*routes)[k], element("routes", k))));
  }
  if (find(v, "neighbors")) {
    const json* neighbors = TRY(require_array(v, "", "neighbors"));
    for (size_t k = 0; k < neighbors->size(); ++k)
      config.neighbors.push_back(TRY(parse_neighbor((*neighbors)[k], element("neighbors", k))));
  }
  if (find(v, "arp")) {
    const json* arp = TRY(require_array(v, "", "arp"));
    for (size_t k = 0; k < arp->size(); ++k) config.arp.push_back(TRY(parse_arp((*arp)[k], element("arp", k))));
  }
  TRY(check_references(config));
  return config;
}

json address_json(const Address& a) {
  return {{"family", family_name(a.family)}, {"address", a.address},
          {"prefix_length", a.prefix_length}};
}

json route_json(const Route& r) {
  json out = {{"family", family_name(r.family)}, {"destination", r.destination},
              {"prefix_length", r.prefix_length}, {"device", r.device},
              {"metric", r.metric}, {"scope", r.scope}, {"onlink", r.onlink}};
  if (!r.gateway.empty()) out["gateway"] = r.gateway;
  return out;
}

}  // namespace

json to_json(const NetworkConfig& config) {
  json interfaces = json::array();
  for (const InterfaceConfig& i : config.interfaces) {
    json addresses = json::array();
    for (const Address& a : i.addresses) addresses.push_back(address_json(a));
    interfaces.push_back({{"name", i.name}, {"mac", format_mac(i.mac)}, {"mtu", i.mtu},
                          {"addresses", addresses}});
  }
  json routes = json::array();
  for (const Route& r : config.routes) routes.push_back(route_json(r));
  json neighbors = json::array();
  for (const Neighbor& n : config.neighbors)
    neighbors.push_back({{"family", family_name(n.family)}, {"address", n.address},
                         {"mac", format_mac(n.mac)}, {"device", n.device}});
  json arp = json::array();
  for (const ArpSetting& a : config.arp) arp.push_back({{"scope", a.scope}, {"key", a.key}, {"value", a.value}});
  return {{"interfaces", interfaces}, {"routes", routes}, {"neighbors", neighbors}, {"arp", arp}};
}

// The checks above never let nlohmann throw, but the message comes from
// outside the process: a missed case must still be an error, not an abort.
Result<NetworkConfig> from_json(const json& value) {
  try {
    return parse_config(value);
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("network config: ") + e.what());
  }
}

Result<NetworkConfig> parse_network_config(std::string_view text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return fail("network config: not valid JSON");
  return from_json(parsed);
}

std::string describe(const Address& address) {
  return address.address + "/" + std::to_string(address.prefix_length);
}

std::string describe(const ArpSetting& a) {
  return "net.ipv4.conf." + a.scope + "." + a.key + "=" + std::to_string(a.value);
}

std::string describe(const Neighbor& n) {
  return n.address + " lladdr " + format_mac(n.mac) + " dev " + n.device;
}

std::string describe(const Route& r) {
  std::string out = r.prefix_length == 0 ? "default"
                                         : r.destination + "/" + std::to_string(r.prefix_length);
  if (!r.gateway.empty()) out += " via " + r.gateway;
  out += " dev " + r.device;
  if (r.metric) out += " metric " + std::to_string(r.metric);
  if (r.scope) out += " scope " + std::to_string(r.scope);
  if (r.onlink) out += " onlink";
  return out;
}

}  // namespace runvm::net
