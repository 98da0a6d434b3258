// A map from names to values kept in one vector, for the few entries a
// connection holds (its subscriptions, capped per connection): one
// allocation and no hash buckets, where an unordered_map costs a node per
// entry plus a bucket array. Lookups scan; order is insertion order, except
// that erasing moves the last entry into the gap.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling {

/// A small name -> T map (see above). Inserting or erasing invalidates
/// references and iterators, as in a vector.
template <class T>
class name_map {
public:
  using value_type = std::pair<std::string, T>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  iterator find(std::string_view name) {
    return std::find_if(entries_.begin(), entries_.end(),
                        [name](const value_type& e) { return e.first == name; });
  }

  const_iterator find(std::string_view name) const {
    return std::find_if(entries_.begin(), entries_.end(),
                        [name](const value_type& e) { return e.first == name; });
  }

  std::size_t count(std::string_view name) const {
    return find(name) == end() ? 0 : 1;
  }

  /// The entry of `name`, default-made if missing.
  T& operator[](const std::string& name) {
    if (auto i = find(name); i != end())
      return i->second;
    entries_.emplace_back(name, T{});
    return entries_.back().second;
  }

  void erase(iterator i) {
    if (i + 1 != entries_.end())
      *i = std::move(entries_.back());
    entries_.pop_back();
    if (entries_.empty())
      entries_.shrink_to_fit(); // a connection that left all its channels
  }

  void erase(std::string_view name) {
    if (auto i = find(name); i != end())
      erase(i);
  }

private:
  std::vector<value_type> entries_;
};

} // namespace starling
