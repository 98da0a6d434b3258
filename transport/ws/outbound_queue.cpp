// The outbound queue of a WebSocket session (outbound_queue.hpp).
#include "transport/ws/outbound_queue.hpp"

#include <algorithm>

namespace starling::transport::ws {

send_result outbound_budget::reserve(std::size_t size) {
  auto bytes = bytes_.fetch_add(size, std::memory_order_relaxed) + size;
  auto frames = frames_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (bytes > max_bytes_ || frames > max_frames_) {
    release(size, 1);
    return send_result::dropped;
  }
  return bytes * 2 > max_bytes_ ? send_result::backpressure
                                 : send_result::queued;
}

void outbound_budget::release(std::size_t bytes, std::size_t frames) {
  bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  frames_.fetch_sub(frames, std::memory_order_relaxed);
}

bool outbound_budget::fits(std::size_t size) const {
  return bytes() + size <= max_bytes_ && frames() + 1 <= max_frames_;
}

void outbound_queue::push(ws_opcode op, frame_ptr payload, bool counted) {
  item x;
  x.header_size = static_cast<uint8_t>(
    websocket_header(op, payload->size(), x.header.data()));
  x.payload = std::move(payload);
  x.counted = counted;
  items_.push_back(std::move(x));
}

void outbound_queue::push_raw(frame_ptr bytes) {
  item x;
  x.payload = std::move(bytes);
  items_.push_back(std::move(x));
}

std::size_t outbound_queue::gather(out_buffer* out, std::size_t max) const {
  std::size_t n = 0;
  auto offset = offset_;
  for (auto i = head_; i < items_.size() && n + 2 <= max; ++i) {
    auto& x = items_[i];
    if (offset < x.header_size)
      out[n++] = out_buffer{x.header.data() + offset, x.header_size - offset};
    auto body = offset > x.header_size ? offset - x.header_size : 0;
    if (body < x.payload->size())
      out[n++] = out_buffer{x.payload->data() + body, x.payload->size() - body};
    offset = 0;
  }
  return n;
}

released outbound_queue::consume(std::size_t n) {
  released out;
  while (n > 0 && head_ < items_.size()) {
    auto& x = items_[head_];
    auto left = x.size() - offset_;
    if (n < left) {
      offset_ += n;
      return out;
    }
    n -= left;
    if (x.counted) {
      out.bytes += x.payload->size();
      ++out.frames;
    }
    x.payload.reset();
    offset_ = 0;
    ++head_;
  }
  return out;
}

released outbound_queue::sum(std::vector<item>::const_iterator first,
                             std::vector<item>::const_iterator last) {
  released out;
  for (; first != last; ++first)
    if (first->counted && first->payload) {
      out.bytes += first->payload->size();
      ++out.frames;
    }
  return out;
}

released outbound_queue::drop_unstarted() {
  auto keep = head_ + (offset_ > 0 ? 1 : 0);
  keep = std::min(keep, items_.size());
  auto first = items_.begin() + static_cast<std::ptrdiff_t>(keep);
  auto out = sum(first, items_.end());
  items_.erase(first, items_.end());
  return out;
}

released outbound_queue::clear() {
  auto first = items_.begin() + static_cast<std::ptrdiff_t>(head_);
  auto out = sum(first, items_.end());
  items_.clear();
  head_ = 0;
  offset_ = 0;
  return out;
}

void outbound_queue::compact() {
  if (!empty())
    return;
  items_.clear();
  head_ = 0;
  offset_ = 0;
  // A burst may have grown it; an idle connection keeps no buffer.
  if (items_.capacity() > 64)
    items_.shrink_to_fit();
}

void outbound_queue::release_storage() {
  if (!empty())
    return;
  std::vector<item>().swap(items_);
  head_ = 0;
  offset_ = 0;
}

} // namespace starling::transport::ws
