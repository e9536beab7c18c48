# opsgate_library(NAME SOURCES ... DEPS ...): one static library per module, named
# opsgate_<NAME>. DEPS are PUBLIC only when a header of this module includes them;
# everything else is PRIVATE so that wrong-way includes fail to build.
set(OPSGATE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# GCC 12 at -O2/-O3 reports false -Wrestrict positives inside libstdc++'s
# std::string operator+ (GCC bug 105329); they are not actionable in our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND OPSGATE_WARNINGS -Wno-restrict)
endif()
if(OPSGATE_WERROR)
  list(APPEND OPSGATE_WARNINGS -Werror)
endif()

if(OPSGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(OPSGATE_FUZZ)
  # Instrument every library for coverage so the fuzzer sees into them.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
endif()

# Boost.Asio/Beast: keep heavy headers out of most units, and use the standalone
# separate-compilation units only where they are included.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW
                        BOOST_ASIO_DISABLE_STD_ALIGNED_ALLOC)

function(opsgate_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(opsgate_${name} STATIC ${ARG_SOURCES})
  target_include_directories(opsgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(opsgate_${name} PRIVATE ${OPSGATE_WARNINGS})
  target_link_libraries(opsgate_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# opsgate_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
# Label "unit" unless LABELS says otherwise.
function(opsgate_test name)
  if(NOT OPSGATE_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${OPSGATE_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_PREFIX "${name}."
                       PROPERTIES LABELS "${ARG_LABELS}"
                       ENVIRONMENT "OPSGATE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# opsgate_fuzzer(NAME SOURCE CORPUS DEPS ...): a libFuzzer target. Under clang with
# OPSGATE_FUZZ it links -fsanitize=fuzzer; otherwise it links a replay main and ctest
# runs every file of the seed corpus through it (label "fuzz-replay").
function(opsgate_fuzzer name)
  cmake_parse_arguments(ARG "" "SOURCE;CORPUS" "DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCE})
  target_compile_options(${name} PRIVATE ${OPSGATE_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(OPSGATE_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/test/fuzz/replay_main.cc)
    if(OPSGATE_TESTS)
      add_test(NAME ${name}_corpus_replay COMMAND ${name} ${ARG_CORPUS})
      set_tests_properties(${name}_corpus_replay PROPERTIES LABELS "fuzz-replay")
    endif()
  endif()
endfunction()

include(GoogleTest)
