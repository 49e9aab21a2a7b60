// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// decompose_reduction: the init leaves the block and runs in its own nest before the loop.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %init = schedule.decompose_reduction %m, %j
}

// CHECK:      loop.for %{{.*}} {kind = "parallel", label = "i"} (%[[I:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "j_init"} (%[[JI:.*]]: index) {
// CHECK-NEXT:     loop.block %[[I]], %[[JI]] {label = "matmul_init", iter_kinds = "SS", domain = [4, 5]}
// CHECK-NEXT:       loop.yield
// CHECK-NEXT:     } (%[[A:.*]]: index, %[[B:.*]]: index) {
// CHECK-NEXT:       %[[ZERO:.*]] = arith.constant 0.0 : f32
// CHECK-NEXT:       loop.store %[[ZERO]], %{{.*}}, %[[A]], %[[B]]
// CHECK:        loop.for %{{.*}} {kind = "parallel", label = "j"}
// CHECK-NEXT:     loop.for %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT:       loop.block {{.*}} {label = "matmul", iter_kinds = "SSR", domain = [4, 5, 6]} (%{{.*}}: index, %{{.*}}: index, %{{.*}}: index) {
// CHECK-NEXT:         loop.yield
// CHECK-NEXT:       } (
