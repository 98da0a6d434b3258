// One connection's watchlist (Pusher protocol §4.4): the watched user ids,
// what is known of each (online, offline, not yet known), and when the
// client is told what. Pure; the connection actor feeds it the answers of
// its watchlist channel joins and their online/offline events.
//
// The client first gets one frame with the status of every watched id, once
// all are known; after that, one frame per change. Events that arrive
// before the first frame only update the status it will show.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace starling {

/// What to tell the client: ids that are online and offline.
struct watchlist_update {
  std::vector<std::string> online;  ///< Went (or are) online.
  std::vector<std::string> offline; ///< Went (or are) offline.
};

/// The watched ids of one connection and their status.
class watchlist {
public:
  /// Ids to start and to stop watching after replace().
  struct change {
    std::vector<std::string> watch;   ///< New ids: join their channels.
    std::vector<std::string> unwatch; ///< Dropped ids: leave their channels.
  };

  /// Replaces the watched ids with `ids` (duplicates ignored); `self_id` is
  /// the connection's own user, online while it is connected, so it needs
  /// no channel. The first frame is due again (for the whole new list) once
  /// every id is known.
  change replace(const std::vector<std::string>& ids,
                 const std::string& self_id);

  /// The join of `id`'s channel answered: online when its roster is not
  /// empty. Returns the first frame when this made every status known.
  std::optional<watchlist_update> joined(const std::string& id, bool online);

  /// `id` went online or offline. Returns the frame to send now, if any.
  std::optional<watchlist_update> changed(const std::string& id, bool online);

  /// The join of `id`'s channel failed: it counts as offline.
  std::optional<watchlist_update> failed(const std::string& id);

  /// Returns the first frame when every status is known and it has not
  /// gone out yet (after replace(), every id may be known already).
  std::optional<watchlist_update> first_frame() { return first_frame_if_ready(); }

  /// Returns whether `id` is watched.
  bool watches(const std::string& id) const { return status_.count(id) > 0; }

  /// Returns the number of watched ids.
  std::size_t size() const { return status_.size(); }

private:
  enum class status { unknown, online, offline };

  std::optional<watchlist_update> first_frame_if_ready();

  std::map<std::string, status> status_;
  bool told_ = false; // The first frame went out.
};

} // namespace starling
