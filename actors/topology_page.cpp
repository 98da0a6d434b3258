// Paging of /topology lists (see topology_page.hpp).
#include "actors/topology_page.hpp"

#include <algorithm>

namespace starling {

name_page page_of(std::vector<std::string> all, const topology_request& req) {
  name_page out;
  out.total = all.size();
  auto keep = [&](const std::string& name) {
    return (req.search.empty() || name.find(req.search) != std::string::npos)
           && (req.after.empty() || name > req.after);
  };
  std::size_t matched = 0;
  for (auto& name : all)
    if (req.search.empty() || name.find(req.search) != std::string::npos)
      ++matched;
  out.matched = matched;
  all.erase(std::remove_if(all.begin(), all.end(),
                           [&](const std::string& n) { return !keep(n); }),
            all.end());
  auto limit = static_cast<std::size_t>(
    std::min<uint32_t>(req.limit, max_topology_page));
  if (all.size() > limit) {
    out.more = true;
    std::nth_element(all.begin(), all.begin() + static_cast<long>(limit),
                     all.end());
    all.resize(limit);
  }
  std::sort(all.begin(), all.end());
  out.names = std::move(all);
  return out;
}

} // namespace starling
