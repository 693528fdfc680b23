// TextSet: an insert-only set of texts for lookups made on every record (the writer's known
// subscriptions). Open addressing on the texts' 64-bit hashes (Hash64), so that a lookup costs
// one hash, one slot and one comparison with the text, kept in a TextArena of the set's own;
// std::unordered_set<std::string> walked a bucket, a node and a heap string, three dependent
// cache misses a record.
//
// Thread-safety: none; the owner serialises every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "store/text_arena.h"

namespace tally::store {

class TextSet {
 public:
  bool Contains(std::string_view text) const;
  // Adds a copy of `text`; false if the set already holds it.
  bool Insert(std::string_view text);
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string_view text;
    bool used = false;
  };
  // The index of the slot holding `text`, or of the empty slot where it would go.
  size_t FindSlot(uint64_t hash, std::string_view text) const;

  std::vector<Slot> slots_;  // a power of two, at most half used
  size_t size_ = 0;
  TextArena texts_;
};

}  // namespace tally::store
