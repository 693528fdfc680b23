# Writes OUTPUT, a C++ file defining the catalog text of INPUT as a string constant.
file(READ ${INPUT} content)
string(LENGTH "${content}" len)
set(out "// Generated from data/meters.tsv. Do not edit.\nnamespace tally::domain {\nextern const char* const kBuiltinMetersTsv;\nconst char* const kBuiltinMetersTsv = R\"tally_meters(${content})tally_meters\";\n}  // namespace tally::domain\n")
file(WRITE ${OUTPUT} "${out}")
