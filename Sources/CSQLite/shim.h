#ifndef PBAUTH_CSQLITE_SHIM_H
#define PBAUTH_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro that casts -1 to a function pointer, which
/// Swift cannot import; this constant gives it a name Swift can use.
static const sqlite3_destructor_type pbauth_sqlite_transient = SQLITE_TRANSIENT;
#endif
