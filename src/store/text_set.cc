#include "store/text_set.h"

#include <algorithm>

#include "common/hash.h"

namespace tally::store {

size_t TextSet::FindSlot(uint64_t hash, std::string_view text) const {
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].used && (slots_[i].hash != hash || slots_[i].text != text)) {
    i = (i + 1) & mask;
  }
  return i;
}

bool TextSet::Contains(std::string_view text) const {
  if (slots_.empty()) return false;
  return slots_[FindSlot(Hash64(text), text)].used;
}

bool TextSet::Insert(std::string_view text) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old(std::max<size_t>(64, slots_.size() * 2));
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.used) slots_[FindSlot(slot.hash, slot.text)] = slot;
    }
  }
  const uint64_t hash = Hash64(text);
  Slot& slot = slots_[FindSlot(hash, text)];
  if (slot.used) return false;
  slot = Slot{hash, texts_.Add(text), true};
  ++size_;
  return true;
}

}  // namespace tally::store
