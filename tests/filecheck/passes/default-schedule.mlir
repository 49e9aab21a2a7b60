// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=2}' | filecheck %s --check-prefix=CPU
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1}' | filecheck %s --check-prefix=ONE
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=2 vectorize=false}' | filecheck %s --check-prefix=SCALAR
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{vectorize=false gpu=true}' | filecheck %s --check-prefix=GPU
// The default schedule gives the matmul (a contraction nest) its register tile: the batch loop
// i (symbolic) split into unrolled tiles of 6 rows, the last one guarded, its outer loop across
// threads; the init split off before the reduction, the reduction outside the vectorized j (the
// vector accumulates along j); the relu after it runs inside the tile (epilogue fusion). One
// thread keeps every loop serial; gpu binds loops to CUDA axes.

func.func @mm(%x: tensor<n x 16 x f32>, %w: tensor<16 x 12 x f32>) -> tensor<n x 12 x f32> {
  %h = graph.matmul %x, %w : tensor<n x 12 x f32>
  %r = graph.relu %h : tensor<n x 12 x f32>
  func.return %r : tensor<n x 12 x f32>
}

// CPU:      loop.for %{{.*}} {kind = "parallel", label = "i_0"}
// CPU-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "i_1_init"}
// CPU-NEXT:     loop.for %{{.*}} {kind = "parallel", label = "j_init", vectorize = true}
// CPU:            loop.if
// CPU-NEXT:         loop.block {{.*}}label = "matmul_init"
// CPU:        loop.for %{{.*}} {kind = "reduction", label = "k"}
// CPU-NEXT:     loop.for %{{.*}} {kind = "parallel", label = "i_1", unroll = 6}
// CPU-NEXT:       loop.for %{{.*}} {kind = "parallel", label = "j", vectorize = true}
// CPU:              loop.if
// CPU-NEXT:           loop.block {{.*}}label = "matmul"
// CPU:        loop.for %{{.*}} {kind = "parallel", label = "relu_0"}
// CPU-NEXT:     loop.for %{{.*}} {kind = "parallel", label = "relu_1", vectorize = true}
// CPU:            loop.block {{.*}}label = "relu"
// CPU-NOT:  loop.for

// ONE-NOT:  kind = "parallel"
// ONE:      loop.for %{{.*}} {label = "i_0"}
// ONE:      vectorize = true
// ONE-NOT:  kind = "parallel"

// SCALAR-NOT: vectorize
// SCALAR:     loop.for %{{.*}} {kind = "parallel", label = "i"}
// SCALAR-NOT: vectorize

// GPU:      thread = "blockIdx.x"
// GPU:      loop.block {{.*}}label = "matmul"
// GPU:      thread = "blockIdx.x"
// GPU:      loop.block {{.*}}label = "relu"
// GPU-NOT:  vectorize
