include(GoogleTest)

# sagapay_add_test(<name> SOURCES <files...> LIBS <targets...> [LABEL unit|postgres|redis|kafka|e2e])
# LABEL names the server the test needs; `ctest -L unit` runs the hermetic ones.
function(sagapay_add_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()
