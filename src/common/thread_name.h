// Names for Tally's threads, as `top -H`, `ps -L`, `perf` and debuggers show them.
#pragma once

#include <string>
#include <string_view>

namespace tally {

// Names the calling thread. Linux keeps 15 bytes of a name; a longer one is cut.
void NameCurrentThread(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string CurrentThreadName();

}  // namespace tally
