# cmake -P script behind the install tests (CMakeLists.txt beside it). MODE=find_package: install this
# build's library component into a fresh prefix and configure examples/cpp against it; MODE=
# add_subdirectory: configure examples/cpp with the source tree vendored (CPU backend, to stay quick).
# Then build the program and run it. The build's compiler and linker flags travel along (a sanitizer
# build's library needs its runtime in the program too); a failing step prints its output.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
if(MODE STREQUAL "find_package")
  run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix --component library)
  set(how -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  set(how -DFP4MOE_SOURCE_DIR=${SOURCE_DIR} -DFP4MOE_CUDA=OFF)
endif()
run_step("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/cpp -B ${WORK_DIR}/build -G ${GENERATOR}
         -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}" ${how})
run_step("build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build --target moe_layer)
execute_process(COMMAND ${WORK_DIR}/build/moe_layer COMMAND_ERROR_IS_FATAL ANY)
