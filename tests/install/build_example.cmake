# cmake -P script behind the install tests (CMakeLists.txt beside it). MODE=find_package: install this
# build's library component into a fresh prefix and configure examples/cpp against it; MODE=
# add_subdirectory: configure examples/cpp with the source tree vendored (CPU backend, to stay quick).
# Then build the program and run it.
file(REMOVE_RECURSE ${WORK_DIR})
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix --component library
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  set(how -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  set(how -DFP4MOE_SOURCE_DIR=${SOURCE_DIR} -DFP4MOE_CUDA=OFF)
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/cpp -B ${WORK_DIR}/build -G ${GENERATOR}
                        -DCMAKE_BUILD_TYPE=Release ${how}
                OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --target moe_layer OUTPUT_QUIET
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${WORK_DIR}/build/moe_layer COMMAND_ERROR_IS_FATAL ANY)
