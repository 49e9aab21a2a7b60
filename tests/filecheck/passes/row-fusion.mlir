// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1}' | filecheck %s
// Row fusion: a softmax's four nests (row max, exponentials, row sum, division) run as one nest
// over the rows, each step computing one row (compute_at from the last nest backwards); the
// reductions along the row are vectorized as reductions. A layer norm's three nests likewise.
// A row max that is also returned cannot move under another nest: nothing is fused there.

func.func @softmax(%x: tensor<4x100xf32>) -> tensor<4x100xf32> {
  %y = graph.softmax %x {axis = -1} : tensor<4x100xf32>
  func.return %y : tensor<4x100xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK:         loop.for %{{.*}} {label = "d0{{.*}}"} (%[[ROW:.*]]: index) {
// CHECK:           loop.for %{{.*}} {kind = "reduction", label = "{{.*}}", vectorize = true}
// CHECK:             loop.block {{.*}} {label = "softmax", iter_kinds = "SR"
// CHECK:           loop.for %{{.*}} {label = "{{.*}}", vectorize = true}
// CHECK:             loop.block {{.*}} {label = "softmax_1", iter_kinds = "SS"
// CHECK:           loop.for %{{.*}} {kind = "reduction", label = "{{.*}}", vectorize = true}
// CHECK:             loop.block {{.*}} {label = "softmax_2", iter_kinds = "SR"
// CHECK:           loop.for %{{.*}} {label = "{{.*}}", vectorize = true}
// CHECK-NEXT:        loop.block %[[ROW]], %{{.*}} {label = "softmax_3", iter_kinds = "SS"
// CHECK-NOT:   loop.for
// CHECK:         func.return

func.func @layer_norm(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %y = graph.layer_norm %x : tensor<8x64xf32>
  func.return %y : tensor<8x64xf32>
}

// CHECK-LABEL: func.func @layer_norm
// CHECK:         loop.for %{{.*}} {label = "d0{{.*}}"}
// CHECK:           loop.block {{.*}} {label = "layer_norm", iter_kinds = "SR"
// CHECK:           loop.block {{.*}} {label = "layer_norm_1", iter_kinds = "SR"
// CHECK:           loop.block {{.*}} {label = "layer_norm_2", iter_kinds = "SS"
// CHECK-NOT:   loop.for
// CHECK:         func.return

func.func @shared(%x: tensor<4x100xf32>) -> (tensor<4x1xf32>, tensor<4x100xf32>) {
  %m = graph.reduce_max %x {axes = [1]} : tensor<4x1xf32>
  %y = graph.sub %x, %m : tensor<4x100xf32>
  func.return %m, %y : tensor<4x1xf32>, tensor<4x100xf32>
}

// CHECK-LABEL: func.func @shared
// CHECK:         loop.for
// CHECK:           loop.block {{.*}} {label = "reduce_max"
// CHECK:         loop.for
// CHECK:           loop.block {{.*}} {label = "sub"
