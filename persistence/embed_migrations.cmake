# Writes OUTPUT: a C++ file that defines all_migrations from the .sql files
# in DIR, in file name order. Runs at build time, so an edited migration is
# compiled in without re-running CMake by hand.
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "")
set(count 0)
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" sql)
  string(APPEND body "  {\"${name}\", R\"facilityd_sql(${sql})facilityd_sql\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from persistence/migrations/*.sql; do not edit.\n"
  "#include \"persistence/migrations.hpp\"\n"
  "namespace facilityd {\n"
  "const migration all_migrations[] = {\n${body}};\n"
  "const size_t all_migrations_count = ${count};\n"
  "}  // namespace facilityd\n")
configure_file("${OUTPUT}.tmp" "${OUTPUT}" COPYONLY)
