// msgpack encoding and defensive decoding of the envelopes between nodes.
#include "bridge/envelope.hpp"

#include <exception>
#include <limits>
#include <tuple>

#include <msgpack.hpp>

namespace starling::bridge {

namespace {

// Field ids, per kind. Wire format: a removed field's id is retired, never
// given to a new field (centrifuge controlpb does the same).
namespace event_field {
constexpr uint64_t origin_node = 1;
constexpr uint64_t app_id = 2;
constexpr uint64_t channel = 3;
constexpr uint64_t seq = 4;
constexpr uint64_t event = 5;
constexpr uint64_t data = 6;
// 7 (data_is_json) is retired: kind 1 (client event) says it. Still read:
// true means a client event.
constexpr uint64_t retired_data_is_json = 7;
constexpr uint64_t user_id = 8;
constexpr uint64_t exclude_socket_id = 9;
constexpr uint64_t kind = 10;
constexpr uint64_t count = 11;
constexpr uint64_t published_ns = 12;
} // namespace event_field

namespace announce_field {
constexpr uint64_t node_id = 1;
constexpr uint64_t host = 2;
constexpr uint64_t port = 3;
constexpr uint64_t epoch = 4;
} // namespace announce_field

namespace goodbye_field {
constexpr uint64_t node_id = 1;
constexpr uint64_t epoch = 2;
} // namespace goodbye_field

constexpr uint64_t bit(uint64_t field) {
  return uint64_t{1} << field;
}

// -- encoding ----------------------------------------------------------------

/// Lets msgpack's packer append straight to the output string.
struct string_writer {
  std::string& out;
  void write(const char* bytes, std::size_t size) {
    out.append(bytes, size);
  }
};

using packer = msgpack::packer<string_writer>;

void pack_string(packer& pk, uint64_t field, const std::string& value) {
  pk.pack_uint64(field);
  auto size = static_cast<uint32_t>(value.size());
  pk.pack_str(size);
  pk.pack_str_body(value.data(), size);
}

void pack_uint(packer& pk, uint64_t field, uint64_t value) {
  pk.pack_uint64(field);
  pk.pack_uint64(value);
}

void pack_header(packer& pk, envelope_kind kind, uint32_t field_count) {
  pk.pack_array(3);
  pk.pack_uint64(envelope_version);
  pk.pack_uint8(static_cast<uint8_t>(kind));
  pk.pack_map(field_count);
}

void pack_body(packer& pk, const event_envelope& ev) {
  // Optional fields at their default are left out: this is the hot path.
  uint32_t count = 5 + !ev.data.empty() + (ev.kind != 0) + !ev.user_id.empty()
                   + (ev.count != 0) + !ev.exclude_socket_id.empty()
                   + (ev.published_ns != 0);
  pack_header(pk, envelope_kind::event, count);
  pack_string(pk, event_field::origin_node, ev.origin_node);
  pack_string(pk, event_field::app_id, ev.app_id);
  pack_string(pk, event_field::channel, ev.channel);
  pack_uint(pk, event_field::seq, ev.seq);
  pack_string(pk, event_field::event, ev.event);
  if (!ev.data.empty())
    pack_string(pk, event_field::data, ev.data);
  if (ev.kind != 0)
    pack_uint(pk, event_field::kind, ev.kind);
  if (!ev.user_id.empty())
    pack_string(pk, event_field::user_id, ev.user_id);
  if (ev.count != 0)
    pack_uint(pk, event_field::count, ev.count);
  if (!ev.exclude_socket_id.empty())
    pack_string(pk, event_field::exclude_socket_id, ev.exclude_socket_id);
  if (ev.published_ns != 0)
    pack_uint(pk, event_field::published_ns, ev.published_ns);
}

void pack_body(packer& pk, const announce_envelope& ann) {
  pack_header(pk, envelope_kind::announce, 4);
  pack_string(pk, announce_field::node_id, ann.node_id);
  pack_string(pk, announce_field::host, ann.host);
  pack_uint(pk, announce_field::port, ann.port);
  pack_uint(pk, announce_field::epoch, ann.epoch);
}

void pack_body(packer& pk, const goodbye_envelope& bye) {
  pack_header(pk, envelope_kind::goodbye, 2);
  pack_string(pk, goodbye_field::node_id, bye.node_id);
  pack_uint(pk, goodbye_field::epoch, bye.epoch);
}

// -- decoding ----------------------------------------------------------------

// Bounds for untrusted input: msgpack allocates an array's or map's elements
// as soon as it reads the header, so a 5-byte "array of 4 billion" would
// otherwise allocate 96 GiB. The envelope nests two deep ([.., {..}]); a
// little room is left for fields that newer nodes may add.
const msgpack::unpack_limit input_limits{/*array*/ 16, /*map*/ 64,
                                         /*str*/ 64 << 20, /*bin*/ 64 << 20,
                                         /*ext*/ 0, /*depth*/ 4};

// Strings may point into the input instead of being copied into the zone;
// decode copies them into the envelope before the input goes away.
bool reference_input(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

bool read(const msgpack::object& obj, std::string& out) {
  if (obj.type == msgpack::type::STR) {
    out.assign(obj.via.str.ptr, obj.via.str.size);
    return true;
  }
  if (obj.type == msgpack::type::BIN) {
    out.assign(obj.via.bin.ptr, obj.via.bin.size);
    return true;
  }
  return false;
}

bool read(const msgpack::object& obj, uint64_t& out) {
  if (obj.type != msgpack::type::POSITIVE_INTEGER)
    return false;
  out = obj.via.u64;
  return true;
}

bool read(const msgpack::object& obj, uint16_t& out) {
  uint64_t value = 0;
  if (!read(obj, value) || value > std::numeric_limits<uint16_t>::max())
    return false;
  out = static_cast<uint16_t>(value);
  return true;
}

bool read(const msgpack::object& obj, uint8_t& out) {
  uint64_t value = 0;
  if (!read(obj, value) || value > std::numeric_limits<uint8_t>::max())
    return false;
  out = static_cast<uint8_t>(value);
  return true;
}

bool read(const msgpack::object& obj, bool& out) {
  if (obj.type != msgpack::type::BOOLEAN)
    return false;
  out = obj.via.boolean;
  return true;
}

/// Reads the field `id` into `out` if it is one of the kind's known fields.
/// Returns false on a type mismatch; unknown ids are skipped.
bool read_field(uint64_t id, const msgpack::object& val, event_envelope& out) {
  switch (id) {
    case event_field::origin_node: return read(val, out.origin_node);
    case event_field::app_id: return read(val, out.app_id);
    case event_field::channel: return read(val, out.channel);
    case event_field::seq: return read(val, out.seq);
    case event_field::event: return read(val, out.event);
    case event_field::data: return read(val, out.data);
    case event_field::retired_data_is_json: {
      bool json = false;
      if (!read(val, json))
        return false;
      if (json && out.kind == 0)
        out.kind = 1;
      return true;
    }
    case event_field::kind:
      // Kinds this node knows (starling::event_kind); others are garbage.
      return read(val, out.kind) && out.kind <= 4;
    case event_field::count: return read(val, out.count);
    case event_field::user_id: return read(val, out.user_id);
    case event_field::exclude_socket_id:
      return read(val, out.exclude_socket_id);
    case event_field::published_ns: return read(val, out.published_ns);
    default: return true;
  }
}

bool read_field(uint64_t id, const msgpack::object& val,
                announce_envelope& out) {
  switch (id) {
    case announce_field::node_id: return read(val, out.node_id);
    case announce_field::host: return read(val, out.host);
    case announce_field::port: return read(val, out.port);
    case announce_field::epoch: return read(val, out.epoch);
    default: return true;
  }
}

bool read_field(uint64_t id, const msgpack::object& val,
                goodbye_envelope& out) {
  switch (id) {
    case goodbye_field::node_id: return read(val, out.node_id);
    case goodbye_field::epoch: return read(val, out.epoch);
    default: return true;
  }
}

constexpr uint64_t required_fields(const event_envelope&) {
  return bit(event_field::origin_node) | bit(event_field::app_id)
         | bit(event_field::channel) | bit(event_field::seq)
         | bit(event_field::event);
}

constexpr uint64_t required_fields(const announce_envelope&) {
  return bit(announce_field::node_id) | bit(announce_field::host)
         | bit(announce_field::port) | bit(announce_field::epoch);
}

constexpr uint64_t required_fields(const goodbye_envelope&) {
  return bit(goodbye_field::node_id) | bit(goodbye_field::epoch);
}

template <class Envelope>
std::optional<envelope> read_body(const msgpack::object& body) {
  if (body.type != msgpack::type::MAP)
    return std::nullopt;
  Envelope out;
  uint64_t seen = 0;
  const auto& map = body.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    uint64_t id = 0;
    if (!read(map.ptr[i].key, id))
      return std::nullopt;
    // Known ids are all below 64; a repeated one is a malformed envelope,
    // not a last-one-wins update.
    if (id < 64) {
      if (seen & bit(id))
        return std::nullopt;
      seen |= bit(id);
    }
    if (!read_field(id, map.ptr[i].val, out))
      return std::nullopt;
  }
  auto required = required_fields(out);
  if ((seen & required) != required)
    return std::nullopt;
  return envelope{std::move(out)};
}

std::optional<envelope> read_envelope(const msgpack::object& root) {
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 3)
    return std::nullopt;
  const auto* items = root.via.array.ptr;
  uint64_t version = 0;
  uint64_t kind = 0;
  if (!read(items[0], version) || version != envelope_version)
    return std::nullopt;
  if (!read(items[1], kind))
    return std::nullopt;
  switch (kind) {
    case static_cast<uint64_t>(envelope_kind::event):
      return read_body<event_envelope>(items[2]);
    case static_cast<uint64_t>(envelope_kind::announce):
      return read_body<announce_envelope>(items[2]);
    case static_cast<uint64_t>(envelope_kind::goodbye):
      return read_body<goodbye_envelope>(items[2]);
    default:
      return std::nullopt;
  }
}

} // namespace

bool operator==(const event_envelope& lhs, const event_envelope& rhs) {
  auto fields = [](const event_envelope& x) {
    return std::tie(x.origin_node, x.app_id, x.channel, x.seq, x.event, x.data,
                    x.kind, x.user_id, x.count, x.exclude_socket_id,
                    x.published_ns);
  };
  return fields(lhs) == fields(rhs);
}

bool operator==(const announce_envelope& lhs, const announce_envelope& rhs) {
  return lhs.node_id == rhs.node_id && lhs.host == rhs.host
         && lhs.port == rhs.port && lhs.epoch == rhs.epoch;
}

bool operator==(const goodbye_envelope& lhs, const goodbye_envelope& rhs) {
  return lhs.node_id == rhs.node_id && lhs.epoch == rhs.epoch;
}

envelope_kind kind_of(const envelope& env) {
  struct visitor {
    envelope_kind operator()(const event_envelope&) const {
      return envelope_kind::event;
    }
    envelope_kind operator()(const announce_envelope&) const {
      return envelope_kind::announce;
    }
    envelope_kind operator()(const goodbye_envelope&) const {
      return envelope_kind::goodbye;
    }
  };
  return std::visit(visitor{}, env);
}

std::string encode(const envelope& env) {
  std::string out;
  string_writer writer{out};
  packer pk{writer};
  std::visit([&pk](const auto& body) { pack_body(pk, body); }, env);
  return out;
}

std::optional<envelope> decode(std::string_view bytes) noexcept {
  if (bytes.empty())
    return std::nullopt;
  try {
    std::size_t offset = 0;
    auto handle = msgpack::unpack(bytes.data(), bytes.size(), offset,
                                  reference_input, nullptr, input_limits);
    // Exactly one envelope: trailing bytes mean a framing bug or garbage.
    if (offset != bytes.size())
      return std::nullopt;
    return read_envelope(handle.get());
  } catch (const std::exception&) {
    // msgpack's unpack_error (truncated or malformed input), its size and
    // depth limit errors, and bad_alloc: all mean "not an envelope".
    return std::nullopt;
  }
}

} // namespace starling::bridge
