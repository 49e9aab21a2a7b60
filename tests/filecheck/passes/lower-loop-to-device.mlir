// RUN: lamina-opt %s --split-input-file -p 'lower-graph-to-loop,apply-schedule,default-schedule{threads=2},lower-loop-to-device' | filecheck %s --check-prefix=CPU
// RUN: lamina-opt %s --split-input-file -p 'lower-graph-to-loop,apply-schedule,lower-loop-to-device{target=cuda}' | filecheck %s --check-prefix=GPU
// RUN: not lamina-opt %s --split-input-file -p 'lower-graph-to-loop,lower-loop-to-device{target=wasm}' 2>&1 | filecheck %s --check-prefix=BAD
// Scheduled loops become device code: a vectorized loop is a vector loop (8 lanes of f32 on
// this target's descriptions) plus a scalar tail, a parallel loop a parallel_for, symbolic dims
// runtime symbols, intermediates views of one planned workspace (a trailing byte buffer whose
// size is a formula over the symbols); loops bound to CUDA axes become kernels and launches.

func.func @ew(%x: tensor<n x 20 x f32>) -> tensor<n x 19 x f32> {
  %e = graph.exp %x : tensor<n x 20 x f32>
  %a = graph.slice %e {starts = [0], ends = [19], axes = [1]} : tensor<n x 19 x f32>
  %b = graph.slice %e {starts = [1], ends = [20], axes = [1]} : tensor<n x 19 x f32>
  %r = graph.mul %a, %b : tensor<n x 19 x f32>
  func.return %r : tensor<n x 19 x f32>
}

// (exp is read at two elements per product, so elementwise fusion keeps it a nest of its own:
// one exp per element.)
// CPU-LABEL: func.func @ew(
// CPU-SAME:    %[[X:[0-9]+]]: memref<n x 20 x f32>, %[[Y:[0-9]+]]: memref<n x 19 x f32>, %[[WS:[0-9]+]]: memref<80*n+64 x ui8>)
// CPU-SAME:    lamina.workspace = "80*n+64"
// CPU:         %[[N:[0-9]+]] = device.symbol "n" : index
// CPU:         %[[TMP:[0-9]+]] = device.workspace_view %[[WS]], %{{[0-9]+}} {type = memref<n x 20 x f32>}
// CPU:         device.parallel_for %{{[0-9]+}}, %{{[0-9]+}} (%[[I:[0-9]+]]: index) {
// CPU:           device.for %{{[0-9]+}}, %[[MAIN:[0-9]+]] {step = 8} (%[[J:[0-9]+]]: index) {
// CPU-NEXT:        %[[V:[0-9]+]] = device.vload %[[X]], %[[I]], %[[J]] {lanes = 8} : vector<8xf32>
// CPU-NEXT:        %[[E:[0-9]+]] = math.exp %[[V]] : vector<8xf32>
// CPU-NEXT:        device.vstore %[[E]], %[[TMP]], %[[I]], %[[J]]
// CPU-NEXT:      }
// The tail: the iterations a whole vector does not cover, one at a time.
// CPU-NEXT:      device.for %[[MAIN]], %{{[0-9]+}} (%[[T:[0-9]+]]: index) {
// CPU-NEXT:        %[[S:[0-9]+]] = device.load %[[X]], %[[I]], %[[T]] : f32
// CPU-NEXT:        math.exp %[[S]] : f32
// CPU:         device.parallel_for
// CPU:           device.vload %[[TMP]]
// CPU:           arith.mulf %{{[0-9]+}}, %{{[0-9]+}} : vector<8xf32>
// CPU:           device.vstore %{{[0-9]+}}, %[[Y]]
// CPU-NOT:     loop.

// For the GPU every nest runs on the device: one left unbound is a kernel of one thread.
// GPU-LABEL: func.func private @ew_kernel0(
// GPU-SAME:    attributes {lamina.gpu_kernel}
// GPU:       func.func @ew(
// GPU:         device.launch {{.*}}{callee = @ew_kernel0, grid = [1, 1, 1], block = [1, 1, 1]}
// GPU:         device.launch {{.*}}{callee = @ew_kernel1, grid = [1, 1, 1], block = [1, 1, 1]}

// BAD: error: lower-loop-to-device: unknown target 'wasm' (targets: llvm, c, cuda)

// -----

// A local cache buffer with a static size lives on the stack; a fully unrolled reduction loop
// of static extent becomes six copies of the body in place, and only the first, at k = 0,
// stores the accumulator's initial zero (no guard: k is a constant in each copy).
func.func @mm(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @mm () {
  %m = schedule.get_block "matmul"
  %cache = schedule.cache_read %m {index = 1}
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.unroll %k
}

// CPU-LABEL: func.func @mm(
// CPU:         %[[CACHE:[0-9]+]] = device.alloca {shape = [6, 5], element = f32} : memref<6x5xf32>
// CPU:         device.store %{{[0-9]+}}, %[[CACHE]]
// CPU:         device.for
// CPU-NEXT:      device.for
// CPU-NOT:         device.if
// CPU:             %[[ZERO:[0-9]+]] = arith.constant 0.0 : f32
// CPU-NEXT:        device.store %[[ZERO]], %2
// CPU-NOT:         arith.constant 0.0 : f32
// CPU-COUNT-6:     device.load %[[CACHE]]
// CPU-NOT:         device.load %[[CACHE]]
// CPU-NOT:         device.for
// CPU:         func.return
// CPU:         func.return

// -----

// Loops bound to CUDA axes: the nest becomes a kernel reading block and thread ids, launched
// over a grid of the bound extents.
func.func @mmgpu(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @mmgpu () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.bind %i {thread = "blockIdx.x"}
  schedule.bind %j {thread = "threadIdx.x"}
}

// GPU-LABEL: func.func private @mmgpu_kernel0(
// GPU-SAME:    attributes {lamina.gpu_kernel}
// GPU:         device.block_id "x"
// GPU:         device.if
// GPU:         device.thread_id "x"
// GPU:         device.if
// GPU:         arith.mulf
// GPU:       func.func @mmgpu(
// GPU-NEXT:    arith.constant
// GPU:         device.launch {{.*}}{callee = @mmgpu_kernel0, grid = [4, 1, 1], block = [5, 1, 1]}
// GPU-NEXT:    func.return
