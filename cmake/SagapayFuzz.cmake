# sagapay_add_fuzz(<name> SOURCES <files...> LIBS <targets...>)
# A libFuzzer target beside the code it fuzzes (`<module>/<name>.cpp`). Added only when
# SAGAPAY_FUZZ is ON (the `fuzz` preset: clang with -fsanitize=fuzzer-no-link,address,undefined on
# everything); the target links with -fsanitize=fuzzer, which brings libFuzzer's main. Every
# target joins `sagapay_fuzz`, the one target `scripts/fuzz.sh` builds. Seeds: fuzz/corpus/<name>/.
option(SAGAPAY_FUZZ "Build the libFuzzer targets (needs clang: the fuzz preset)" OFF)

if(SAGAPAY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SAGAPAY_FUZZ needs clang (libFuzzer): use `cmake --preset fuzz`")
  endif()
  add_custom_target(sagapay_fuzz)
endif()

function(sagapay_add_fuzz name)
  if(NOT SAGAPAY_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/fuzz")
  add_dependencies(sagapay_fuzz ${name})
endfunction()
