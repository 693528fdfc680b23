// TextArena: append-only storage for the index's interned text (subscription IDs, meter keys
// and spellings, resource instances and their instanceData JSON). Text is never moved or freed
// before the arena itself, so a std::string_view of it stays valid for the arena's life; the
// index shares the arena with every AggregatePage it returns, whose rows are views into it.
//
// Owner: UsageIndex (through a shared_ptr that pages share). Thread-safety: Add() must not run
// concurrently with another Add() or bytes(); the text already added may be read from any
// thread at any time (Add never writes to bytes it handed out).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace tally::store {

class TextArena {
 public:
  TextArena() = default;
  TextArena(const TextArena&) = delete;
  TextArena& operator=(const TextArena&) = delete;

  // Copies `text` into the arena and returns a view of the copy (an empty view for empty text).
  std::string_view Add(std::string_view text);

  // Heap held by the arena, in bytes.
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kChunkBytes = size_t{1} << 20;

  std::vector<std::unique_ptr<char[]>> chunks_;
  char* next_ = nullptr;
  size_t left_ = 0;
  size_t bytes_ = 0;
};

}  // namespace tally::store
