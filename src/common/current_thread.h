// The calling thread's name (as `top -H`, `ps -L`, `perf` and debuggers show it) and priority.
#pragma once

#include <string>
#include <string_view>

namespace tally {

// Names the calling thread. Linux keeps 15 bytes of a name; a longer one is cut.
void NameCurrentThread(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string CurrentThreadName();

// Sets the calling thread's niceness (only this thread's: a Linux thread is its own scheduling
// entity). Best effort: a refusal leaves it at the process's priority.
void NiceCurrentThread(int nice);

}  // namespace tally
