# sluice_add_library(NAME SOURCES ... [DEPS ...])
#   A static library `sluice_<NAME>` whose include root is the project's src/ (so code includes
#   "model/Model.h"), plus abi/ for the BPF-shared structs.
function(sluice_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sluice_${name} STATIC ${ARG_SOURCES})
  target_include_directories(sluice_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(sluice_${name} PUBLIC ${ARG_DEPS})
endfunction()

# sluice_add_test(NAME SOURCES ... [DEPS ...] [LABELS ...])
#   A GoogleTest executable registered with CTest (one CTest entry per test case, via
#   gtest_discover_tests). LABELS: unit (no privileges), bpf, integration (root + namespaces).
function(sluice_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    SLUICE_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SLUICE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
