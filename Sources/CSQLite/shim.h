#ifndef PBAUTH_CSQLITE_SHIM_H
#define PBAUTH_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro that casts -1 to a function pointer, which
/// Swift cannot import; this constant gives it a name Swift can use.
static const sqlite3_destructor_type pbauth_sqlite_transient = SQLITE_TRANSIENT;

/// Turns off SQLite's memory statistics, which are on by default: with them, every
/// allocation of every connection takes one process-wide mutex (Debian's build also
/// omits the per-connection lookaside allocator), so threads reading in parallel
/// contend on it. Must run before the library initializes (before the first open).
/// sqlite3_config is variadic, which Swift cannot call.
static inline int pbauth_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
