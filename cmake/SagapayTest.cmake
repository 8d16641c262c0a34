include(GoogleTest)

# sagapay_add_test(<name> SOURCES <files...> LIBS <targets...> [LABEL unit|postgres|redis|kafka|e2e]
#                  [PER_SUITE [SERIAL <Suite>...]])
# LABEL names the server the test needs; `ctest -L unit` runs the hermetic ones. One CTest test
# per GoogleTest test, or with PER_SUITE one per suite (sagapay_add_suite_tests below).
function(sagapay_add_test name)
  cmake_parse_arguments(ARG "PER_SUITE" "LABEL" "SOURCES;LIBS;SERIAL" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
  if(ARG_PER_SUITE)
    sagapay_add_suite_tests(${name} PREFIX "${ARG_LABEL}." LABEL ${ARG_LABEL}
      SERIAL ${ARG_SERIAL})
  else()
    gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

# sagapay_add_suite_tests(<target> PREFIX <p> LABEL <label> [ENVIRONMENT VAR=value...]
#                         [SERIAL <Suite>...] [EXCLUDE <Suite>...]): one CTest
# test per GoogleTest suite of <target> (named <p><Suite>, running --gtest_filter=<Suite>.*),
# instead of one per test. For the end-to-end suites: a suite starts its stack once
# (StackSuite::SetUpTestSuite) and its tests share it, which one process per test would undo.
# The suites are read from the sources' TEST/TEST_F lines (re-read when a source changes).
# SERIAL suites run alone (RUN_SERIAL): those that check a latency budget, which a second stack
# running beside them on 2 cores would measure instead. EXCLUDE suites get no test here.
# Every suite test has a high COST, so `ctest -j` starts these long tests first and the short
# ones fill the gaps, instead of two long suites finishing last.
function(sagapay_add_suite_tests target)
  cmake_parse_arguments(ARG "" "PREFIX;LABEL" "ENVIRONMENT;SERIAL;EXCLUDE" ${ARGN})
  get_target_property(sources ${target} SOURCES)
  set(suites)
  foreach(source IN LISTS sources)
    set(path ${CMAKE_CURRENT_SOURCE_DIR}/${source})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
    file(STRINGS ${path} lines REGEX "^TEST(_F)?\\([A-Za-z0-9_]+,")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^TEST(_F)?\\(([A-Za-z0-9_]+),.*" "\\2" suite "${line}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  if(NOT suites)
    message(FATAL_ERROR "sagapay_add_suite_tests: no TEST/TEST_F suite in the sources of ${target}")
  endif()
  foreach(suite IN LISTS suites)
    if(suite IN_LIST ARG_EXCLUDE)
      continue()
    endif()
    add_test(NAME ${ARG_PREFIX}${suite} COMMAND ${target} --gtest_filter=${suite}.*)
    # A suite runs all its tests: longer than one test, so its own bound (ctest --timeout is
    # only the default of tests without one).
    set_tests_properties(${ARG_PREFIX}${suite} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT 1800
      COST 1000)
    if(suite IN_LIST ARG_SERIAL)
      set_tests_properties(${ARG_PREFIX}${suite} PROPERTIES RUN_SERIAL TRUE)
    endif()
    if(ARG_ENVIRONMENT)
      set_tests_properties(${ARG_PREFIX}${suite} PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")
    endif()
  endforeach()
endfunction()
