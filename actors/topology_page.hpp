// Paging of the lists in /topology: a node with 100,000 connections and
// 50,000 channels answers with one sorted page of each, not all of them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "actors/protocol/admin.hpp"

namespace starling {

/// Largest page /topology answers, whatever `limit` asks.
inline constexpr uint32_t max_topology_page = 1000;

/// One page of a list of names.
struct name_page {
  std::vector<std::string> names; ///< Sorted; at most the request's limit.
  std::size_t total = 0;          ///< Names in the whole list.
  std::size_t matched = 0;        ///< Names that match the search.
  bool more = false;              ///< Matching names follow this page.
};

/// The names of `all` that contain `req.search`, sort after `req.after`,
/// first `req.limit` (capped by max_topology_page) of them in order. Linear
/// in the list plus the page's sort.
name_page page_of(std::vector<std::string> all, const topology_request& req);

} // namespace starling
