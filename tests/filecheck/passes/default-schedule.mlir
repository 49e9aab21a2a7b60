// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=2}' | filecheck %s --check-prefix=CPU
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1}' | filecheck %s --check-prefix=ONE
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=2 vectorize=false}' | filecheck %s --check-prefix=SCALAR
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{vectorize=false gpu=true}' | filecheck %s --check-prefix=GPU
// The default schedule annotates each nest: the outer spatial loop runs across threads, the
// innermost spatial loop is vectorized (for matmul that is j: the reduction loop moves outside
// it, so the vector accumulates along j); one thread keeps every loop serial; gpu binds loops to CUDA axes.

func.func @mm(%x: tensor<n x 16 x f32>, %w: tensor<16 x 12 x f32>) -> tensor<n x 12 x f32> {
  %h = graph.matmul %x, %w : tensor<n x 12 x f32>
  %r = graph.relu %h : tensor<n x 12 x f32>
  func.return %r : tensor<n x 12 x f32>
}

// CPU:      loop.for %{{.*}} {kind = "parallel", label = "i"}
// CPU:          loop.for %{{.*}} {kind = "parallel", label = "j{{[_0-9]*}}", vectorize = true}
// CPU-NEXT:       loop.block {{.*}}label = "matmul"
// CPU:      loop.for %{{.*}} {kind = "parallel", label = "i0"}
// CPU-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "i1", vectorize = true}
// CPU-NEXT:     loop.block {{.*}}label = "relu"

// ONE-NOT:  kind = "parallel"
// ONE:      loop.for %{{.*}} {label = "i"}
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
