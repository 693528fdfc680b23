#include "store/text_arena.h"

#include <cstring>

namespace tally::store {

std::string_view TextArena::Add(std::string_view text) {
  if (text.empty()) return {};
  if (text.size() > left_) {
    // A text longer than a quarter chunk gets a chunk of its own, so that the current chunk's
    // remainder is not wasted on it.
    if (text.size() > kChunkBytes / 4) {
      auto own = std::make_unique<char[]>(text.size());
      std::memcpy(own.get(), text.data(), text.size());
      std::string_view view(own.get(), text.size());
      // Keep the current chunk last, so that later small texts still fill it.
      chunks_.insert(chunks_.empty() ? chunks_.end() : chunks_.end() - 1, std::move(own));
      bytes_ += text.size();
      return view;
    }
    chunks_.push_back(std::make_unique<char[]>(kChunkBytes));
    next_ = chunks_.back().get();
    left_ = kChunkBytes;
    bytes_ += kChunkBytes;
  }
  std::memcpy(next_, text.data(), text.size());
  std::string_view view(next_, text.size());
  next_ += text.size();
  left_ -= text.size();
  return view;
}

}  // namespace tally::store
